//! `sql.privileges` on MySQL, where DDL commits: the probe row written in a rolled-back
//! transaction when the metadata table exists, a probe table created and dropped when it does
//! not, and what may be left behind registered with the engine's cleanup first.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::mysql::MySqlConnection;
use tokio::time::Instant;

use super::client::{exec, ConnectOpts, SqlConn};
use super::errors::{db_message, query_error};
use super::metadata_table::{my_facts, MyTableFacts};
use super::my_grants;
use super::privileges::{lock_budget, probe_values, Outcomes, PrivilegesOutput, PrivilegesParams};
use super::sql_text::{kv_columns, point_select, probe_key, probe_name, quoted, upsert};
use super::Backend;
use crate::plugins::{StepCx, StepError};

/// What the MySQL cleanup must undo if the run is cut short.
struct MyCleanup {
    opts: ConnectOpts,
    /// `CONNECTION_ID()` of the probing session, ended first so none of its statements can
    /// still run.
    connection_id: u64,
    /// A probe table to drop.
    table: Option<String>,
    /// A probe row to delete (only for non-transactional engines; InnoDB rolls it back).
    row: Option<(String, Vec<u8>)>,
    /// True while something may be left behind.
    pending: Arc<AtomicBool>,
}

impl MyCleanup {
    async fn run(self) -> Result<(), String> {
        if !self.pending.load(Ordering::SeqCst) {
            return Ok(());
        }
        let SqlConn::My(mut conn) = self.opts.reconnect(Duration::from_secs(5)).await? else {
            return Err("the cleanup connection is not a MySQL connection".into());
        };
        let _ = exec(
            &mut conn,
            &format!("KILL CONNECTION {}", self.connection_id),
        )
        .await;
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let alive: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ?",
            )
            .bind(self.connection_id)
            .fetch_one(&mut conn)
            .await
            .unwrap_or(0);
            if alive == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut problems = Vec::new();
        if let Some(table) = &self.table {
            if let Err(e) = exec(&mut conn, &format!("DROP TABLE IF EXISTS `{table}`")).await {
                problems.push(format!(
                    "cannot drop probe table `{table}`: {}",
                    db_message(&e)
                ));
            }
        }
        if let Some((table, key)) = &self.row {
            if let Err(e) = sqlx::query(&format!("DELETE FROM `{table}` WHERE k = ?"))
                .bind(key)
                .execute(&mut conn)
                .await
            {
                problems.push(format!(
                    "cannot delete the probe row from `{table}`: {}",
                    db_message(&e)
                ));
            }
        }
        SqlConn::My(conn).close().await;
        if problems.is_empty() {
            self.pending.store(false, Ordering::SeqCst);
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

/// Proves (or, read-only, looks up) every privilege metasrv needs on MySQL.
pub(super) async fn check(
    conn: &mut MySqlConnection,
    opts: ConnectOpts,
    params: &PrivilegesParams,
    cx: &StepCx,
) -> Result<PrivilegesOutput, StepError> {
    let backend = Backend::MysqlStore;
    let table = params.meta.table.as_str();
    let facts = my_facts(conn, table).await?;
    let shown = quoted(backend, None, table);
    let mut notes = Vec::new();
    if facts.roles_active {
        notes.push(
            "a role is active: privileges granted through roles are not listed in \
             information_schema; catalog verdicts treat them as unknown"
                .into(),
        );
    }
    let mut outcomes = Outcomes::default();
    let refusal = refusal(&facts, table);
    let key = probe_key(&cx.run_id);
    let catalog =
        |facts: &MyTableFacts, privilege: &str| facts.has(privilege) || facts.roles_active;

    if cx.read_only || (!facts.exists && !catalog(&facts, "DROP")) {
        if !cx.read_only {
            notes.push(
                "the user may not DROP tables, so no probe table was created (it could not be \
                 removed); the verdicts come from information_schema"
                    .into(),
            );
        }
        outcomes.grant("create_table", catalog(&facts, "CREATE"), "CREATE");
        if facts.exists {
            for (op, privilege) in [
                ("insert", "INSERT"),
                ("update", "UPDATE"),
                ("delete", "DELETE"),
            ] {
                outcomes.grant(op, catalog(&facts, privilege), privilege);
            }
            let select = point_select(backend, &shown);
            let select = sqlx::query(&select).bind(key.as_bytes());
            outcomes
                .run("select", "SELECT", select.fetch_all(&mut *conn))
                .await;
        } else {
            for (op, privilege) in [
                ("insert", "INSERT"),
                ("update", "UPDATE"),
                ("select", "SELECT"),
                ("delete", "DELETE"),
            ] {
                outcomes.grant(op, catalog(&facts, privilege), privilege);
            }
        }
        return outcomes.finish(
            backend,
            cx.read_only,
            "privilege_catalog",
            &facts.user,
            shown,
            facts.exists,
            (None, None),
            notes,
            &refusal,
        );
    }

    let connection_id: u64 = sqlx::query_scalar("SELECT CONNECTION_ID()")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| query_error(backend, &e, "reading the connection id"))?;
    let wait = lock_budget(cx).as_secs().max(1);
    exec(
        conn,
        &format!("SET SESSION innodb_lock_wait_timeout = {wait}, lock_wait_timeout = {wait}"),
    )
    .await
    .map_err(|e| query_error(backend, &e, "setting lock wait timeouts"))?;
    let (v1, v2) = probe_values(&cx.run_id);
    let pending = Arc::new(AtomicBool::new(false));
    let transactional = facts
        .engine
        .as_deref()
        .is_none_or(|e| e.eq_ignore_ascii_case("InnoDB"));

    if facts.exists {
        // DDL would commit; CREATE is read from the catalog instead.
        outcomes.grant("create_table", catalog(&facts, "CREATE"), "CREATE");
        if !transactional {
            notes.push(format!(
                "the table uses the {} engine, which ignores ROLLBACK; the probe row was \
                 deleted explicitly",
                facts.engine.as_deref().unwrap_or("?")
            ));
        }
        cx.on_cleanup(
            format!("probe row {key} in `{}`.{shown}", facts.database),
            MyCleanup {
                opts,
                connection_id,
                table: None,
                row: (!transactional).then(|| (table.to_string(), key.clone().into_bytes())),
                pending: Arc::clone(&pending),
            }
            .run(),
        );
        pending.store(true, Ordering::SeqCst);
        exec(conn, "START TRANSACTION")
            .await
            .map_err(|e| query_error(backend, &e, "starting the probe transaction"))?;
        let work = probe_ops(conn, table, &key, &v1, &v2, &mut outcomes).await;
        let rollback = outcomes.timed("rollback", exec(conn, "ROLLBACK")).await;
        work.map_err(|e| query_error(backend, &e, "the probe transaction"))?;
        rollback.map_err(|e| query_error(backend, &e, "ROLLBACK of the probe transaction"))?;
        pending.store(false, Ordering::SeqCst);
        return outcomes.finish(
            backend,
            false,
            "rolled_back_transaction",
            &facts.user,
            shown,
            true,
            (Some(key), None),
            notes,
            &refusal,
        );
    }

    let probe = probe_name(&cx.run_id, "");
    cx.on_cleanup(
        format!("probe table `{}`.`{probe}`", facts.database),
        MyCleanup {
            opts,
            connection_id,
            table: Some(probe.clone()),
            row: None,
            pending: Arc::clone(&pending),
        }
        .run(),
    );
    pending.store(true, Ordering::SeqCst);
    let create = format!("CREATE TABLE `{probe}`{};", kv_columns(backend));
    let created = outcomes
        .run("create_table", "CREATE", exec(conn, &create))
        .await
        .is_some();
    if created {
        let work = probe_ops(conn, &probe, &key, &v1, &v2, &mut outcomes).await;
        let drop = format!("DROP TABLE `{probe}`");
        let dropped = outcomes.timed("drop", exec(conn, &drop)).await;
        work.map_err(|e| query_error(backend, &e, "writing the probe table"))?;
        dropped.map_err(|e| {
            query_error(
                backend,
                &e,
                &format!("DROP TABLE `{probe}` (the engine's cleanup retries it)"),
            )
        })?;
    }
    pending.store(false, Ordering::SeqCst);
    outcomes.finish(
        backend,
        false,
        "probe_table",
        &facts.user,
        shown,
        false,
        (Some(key), Some(probe)),
        notes,
        &refusal,
    )
}

/// INSERT, metasrv's upsert, its point SELECT and its DELETE of the probe row in `table`.
/// Statement errors are recorded; only a lost connection is returned.
async fn probe_ops(
    conn: &mut MySqlConnection,
    table: &str,
    key: &str,
    v1: &[u8],
    v2: &[u8],
    outcomes: &mut Outcomes,
) -> Result<(), sqlx::Error> {
    let backend = Backend::MysqlStore;
    let table = quoted(backend, None, table);
    let insert = format!("INSERT INTO {table} (k, v) VALUES (?, ?)");
    let insert = sqlx::query(&insert).bind(key.as_bytes()).bind(v1);
    outcomes
        .run_unless_lost("insert", "INSERT", insert.execute(&mut *conn))
        .await?;

    let upsert = upsert(backend, &table);
    let upsert = sqlx::query(&upsert).bind(key.as_bytes()).bind(v2);
    outcomes
        .run_unless_lost("update", "UPDATE", upsert.execute(&mut *conn))
        .await?;

    let select = point_select(backend, &table);
    let select = sqlx::query(&select).bind(key.as_bytes());
    if let Some(rows) = outcomes
        .run_unless_lost("select", "SELECT", select.fetch_all(&mut *conn))
        .await?
    {
        outcomes.read_back(&rows, v2);
    }

    let delete = format!("DELETE FROM {table} WHERE k = ?;");
    let delete = sqlx::query(&delete).bind(key.as_bytes());
    outcomes
        .run_unless_lost("delete", "DELETE", delete.execute(&mut *conn))
        .await?;
    Ok(())
}

/// Message and hint for refused MySQL statements.
fn refusal<'a>(
    facts: &'a MyTableFacts,
    table: &'a str,
) -> impl Fn(&[String]) -> (String, String) + 'a {
    move |refused: &[String]| {
        let mut list: Vec<&str> = Vec::new();
        for privilege in refused {
            if !list.contains(&privilege.as_str()) {
                list.push(privilege);
            }
        }
        let message = if list.is_empty() {
            format!(
                "statements metasrv runs on `{}`.`{table}` fail",
                facts.database
            )
        } else {
            format!(
                "user {} lacks {} on `{}`.`{table}`, which metasrv needs",
                facts.user,
                list.join(", "),
                facts.database
            )
        };
        (
            message,
            format!(
                "grant what metasrv needs (it also creates and locks `{table}_election`):\n{}",
                my_grants::metasrv_grant_hint(&facts.database, &facts.user)
            ),
        )
    }
}
