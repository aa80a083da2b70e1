//! The fixes the SQL steps print, run as printed against the real PostgreSQL and MariaDB
//! servers: each test gives a fresh user too few privileges, takes the command lines (`$ `) of
//! the failing check's hint, runs them as the administrator, and reruns the check, which must
//! then pass.

use greptime_self_test::plugins::ErrorKind;
use serde_json::json;

use crate::plugins_sql::{
    assert_mentions, guarded, my_exec, password_of, pg_exec, uid, with_database, Scenario,
};

/// `url` with its user and password replaced.
fn as_user(url: &str, user: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let host = rest.split_once('@').unwrap().1;
    format!("{scheme}://{user}:{password}@{host}")
}

#[tokio::test]
async fn mysql_printed_grant_fixes_metasrvs_privileges_and_election() {
    let (admin, rw) = need!("GST_MYSQL_ADMIN_URL", "GST_MYSQL_RW_URL");
    let id = uid();
    let user = format!("gst_fix_{id}");
    let password = format!("pw-{id}");
    let table = format!("gst_{id}");
    my_exec(
        &admin,
        &format!("CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'"),
    )
    .await;
    // Enough to open a session on the database, nothing metasrv needs beyond reading.
    my_exec(
        &admin,
        &format!("GRANT SELECT ON `greptime`.* TO '{user}'@'%'"),
    )
    .await;
    let url = as_user(&rw, &user, &password);
    let body = async {
        let my = Scenario::mysql(format!("my-fix-{id}"));
        let params = my.params(&url, json!({"table": table}));

        let e = my
            .fails(
                "sql.privileges",
                params.clone(),
                ErrorKind::Rejected,
                &[&user],
            )
            .await;
        let hint = e.hint.clone().unwrap_or_default();
        assert!(!hint.contains(&password), "{hint}");
        let fix = crate::common::hint_commands(&hint);
        assert_eq!(fix.len(), 1, "one GRANT: {hint}");
        assert_mentions(
            &fix[0],
            &["GRANT", "CREATE", "`greptime`.*", &format!("'{user}'@'%'")],
        );

        let before = my.ok("sql.election", params.clone()).await;
        assert_eq!(before["can_create_election_table"], false, "{before}");
        assert_eq!(before["grant"], fix[0].as_str(), "{before}");
        assert!(before["missing_privileges"]
            .as_array()
            .is_some_and(|m| m.iter().any(|p| p == "CREATE")));

        for statement in &fix {
            my_exec(&admin, statement).await;
        }

        my.ok("sql.privileges", params.clone()).await;
        let after = my.ok("sql.election", params).await;
        assert_eq!(after["can_create_election_table"], true, "{after}");
        assert_eq!(after["can_lock_election_table"], true, "{after}");
        assert!(after.get("grant").is_none(), "{after}");
    };
    guarded(
        body,
        my_exec(
            &admin,
            &format!(
                "DROP USER IF EXISTS '{user}'@'%'; DROP TABLE IF EXISTS `{table}`, \
                 `{table}_election`"
            ),
        ),
    )
    .await;
}

#[tokio::test]
async fn postgres_printed_grant_fixes_a_role_that_may_not_create_the_table() {
    let (admin, rw) = need!("GST_PG_ADMIN_URL", "GST_PG_RW_URL");
    let id = uid();
    let role = format!("gst_fix_{id}");
    let password = format!("pw-{id}");
    let table = format!("gst_{id}");
    pg_exec(
        &admin,
        &format!("CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'"),
    )
    .await;
    let url = with_database(&as_user(&rw, &role, &password), "greptime_meta");
    assert_eq!(password_of(&url), password);
    let body = async {
        let pg = Scenario::pg(format!("pg-fix-{id}"));
        let params = pg.params(&url, json!({"table": table}));

        // The services revoke CONNECT from PUBLIC, and PostgreSQL 15 lets no new role create
        // in `public`: two fixes, each printed by the check that meets it.
        let mut applied = Vec::new();
        for _ in 0..3 {
            let e = match pg.run("sql.metadata_table", params.clone(), false).await {
                Ok(_) => break,
                Err(e) => e,
            };
            assert_eq!(e.kind, ErrorKind::Rejected, "{}", e.message);
            let hint = e.hint.clone().unwrap_or_default();
            let fix = crate::common::hint_commands(&hint);
            assert!(!fix.is_empty(), "no command in the hint: {hint}");
            for statement in fix {
                pg_exec(&admin, &statement).await;
                applied.push(statement);
            }
        }
        assert_eq!(
            applied,
            [
                format!("GRANT CONNECT ON DATABASE \"greptime_meta\" TO \"{role}\";"),
                format!("GRANT CREATE ON SCHEMA \"public\" TO \"{role}\";"),
            ]
        );
        pg.ok("sql.metadata_table", params.clone()).await;
        pg.ok("sql.privileges", params).await;
    };
    guarded(
        body,
        pg_exec(
            &admin,
            &format!(
                "DROP TABLE IF EXISTS public.\"{table}\"; DROP OWNED BY \"{role}\"; \
                 DROP ROLE \"{role}\""
            ),
        ),
    )
    .await;
}
