//! `sql.privileges` on PostgreSQL: metasrv's DDL and statements run in one transaction that
//! is always rolled back, each under a savepoint, or read from the privilege catalog in a
//! read-only run.

use sqlx::postgres::{PgArguments, PgConnection, PgRow};
use sqlx::query::Query;
use sqlx::{Postgres, Row};

use super::client::exec;
use super::errors::query_error;
use super::metadata_table::{pg15_public_note, pg_facts, pg_role, PgTableFacts};
use super::privileges::{lock_budget, probe_values, Outcomes, PrivilegesOutput, PrivilegesParams};
use super::sql_text::{kv_columns, point_select, probe_key, upsert};
use super::Backend;
use crate::plugins::{StepCx, StepError};

/// Runs `query` under a savepoint, so a refused statement does not abort the transaction.
async fn pg_try(
    conn: &mut PgConnection,
    query: Query<'_, Postgres, PgArguments>,
) -> Result<Vec<PgRow>, sqlx::Error> {
    exec(conn, "SAVEPOINT greptime_self_test").await?;
    match query.fetch_all(&mut *conn).await {
        Ok(rows) => {
            exec(conn, "RELEASE SAVEPOINT greptime_self_test").await?;
            Ok(rows)
        }
        Err(e) => {
            let _ = exec(conn, "ROLLBACK TO SAVEPOINT greptime_self_test").await;
            Err(e)
        }
    }
}

/// Proves (or, read-only, looks up) every privilege metasrv needs on PostgreSQL.
pub(super) async fn check(
    conn: &mut PgConnection,
    params: &PrivilegesParams,
    schema_param: Option<&str>,
    cx: &StepCx,
) -> Result<PrivilegesOutput, StepError> {
    let backend = Backend::PostgresStore;
    let facts = pg_facts(conn, &params.meta.table, schema_param).await?;
    let ident = facts.ident.clone();
    let table_existed = facts.table_schema.is_some();
    let user = facts.user.clone();
    let mut notes = Vec::new();
    let mut outcomes = Outcomes::default();
    let schema_for_create = schema_param.filter(|_| params.auto_create_schema);
    let key = probe_key(&cx.run_id);
    let refusal = refusal(&facts, schema_param, params.auto_create_schema);

    if cx.read_only {
        if schema_for_create.is_some() {
            outcomes.grant(
                "create_schema",
                facts.can_create_schema,
                format!("CREATE on database \"{}\"", facts.database),
            );
        }
        // A schema that does not exist yet is created (and owned) by the role only with
        // auto_create_schema.
        outcomes.grant(
            "create_table",
            facts.can_create_table && (facts.schema_exists || params.auto_create_schema),
            format!(
                "CREATE on schema \"{}\"",
                facts.schema.as_deref().unwrap_or("(none)")
            ),
        );
        if table_existed {
            let row = sqlx::query(
                "SELECT has_table_privilege($1, 'INSERT'), has_table_privilege($1, 'UPDATE'), \
                        has_table_privilege($1, 'DELETE')",
            )
            .bind(&ident)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| query_error(backend, &e, "reading the table privileges"))?;
            for (i, op) in ["insert", "update", "delete"].into_iter().enumerate() {
                let privilege = format!("{} on {ident}", op.to_ascii_uppercase());
                outcomes.grant(op, row.try_get(i).unwrap_or(false), privilege);
            }
            let select = point_select(backend, &ident);
            let select = sqlx::query(&select).bind(key.as_bytes());
            outcomes
                .run(
                    "select",
                    format!("SELECT on {ident}"),
                    select.fetch_all(&mut *conn),
                )
                .await;
        } else {
            notes.push(format!(
                "{ident} does not exist; once metasrv creates it, the role owns it and has every \
                 privilege on it"
            ));
        }
        return outcomes.finish(
            backend,
            true,
            "privilege_catalog",
            &user,
            ident,
            table_existed,
            (None, None),
            notes,
            &refusal,
        );
    }

    let (v1, v2) = probe_values(&cx.run_id);
    let budget = lock_budget(cx).as_millis();
    exec(
        conn,
        &format!(
            "BEGIN; SET LOCAL lock_timeout = {budget}; SET LOCAL statement_timeout = {budget}"
        ),
    )
    .await
    .map_err(|e| query_error(backend, &e, "starting the probe transaction"))?;

    let work = async {
        if let Some(schema) = schema_for_create {
            let create = format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"");
            outcomes
                .run(
                    "create_schema",
                    format!("CREATE on database \"{}\"", facts.database),
                    pg_try(conn, sqlx::query(&create)),
                )
                .await;
        }
        let schema_shown = facts.schema.as_deref().unwrap_or("(none)");
        let create = format!("CREATE TABLE IF NOT EXISTS {ident}{}", kv_columns(backend));
        let created = outcomes
            .run(
                "create_table",
                format!("CREATE on schema \"{schema_shown}\""),
                pg_try(conn, sqlx::query(&create)),
            )
            .await
            .is_some();
        if !(table_existed || created) {
            return Ok::<(), sqlx::Error>(());
        }
        let insert = format!("INSERT INTO {ident} (k, v) VALUES ($1, $2)");
        let insert = sqlx::query(&insert).bind(key.as_bytes()).bind(&v1);
        outcomes
            .run("insert", format!("INSERT on {ident}"), pg_try(conn, insert))
            .await;

        let upsert = upsert(backend, &ident);
        let upsert = sqlx::query(&upsert)
            .bind(key.as_bytes())
            .bind(key.as_bytes())
            .bind(&v2);
        outcomes
            .run("update", format!("UPDATE on {ident}"), pg_try(conn, upsert))
            .await;

        let select = point_select(backend, &ident);
        let select = sqlx::query(&select).bind(key.as_bytes());
        if let Some(rows) = outcomes
            .run("select", format!("SELECT on {ident}"), pg_try(conn, select))
            .await
        {
            outcomes.read_back(&rows, &v2);
        }

        let delete = format!("DELETE FROM {ident} WHERE k = $1 RETURNING k,v;");
        let delete = sqlx::query(&delete).bind(key.as_bytes());
        outcomes
            .run(
                "delete",
                format!("DELETE (and SELECT, for RETURNING) on {ident}"),
                pg_try(conn, delete),
            )
            .await;
        Ok(())
    }
    .await;
    let rollback = outcomes.timed("rollback", exec(conn, "ROLLBACK")).await;
    work.map_err(|e| query_error(backend, &e, "the probe transaction"))?;
    rollback.map_err(|e| {
        query_error(
            backend,
            &e,
            "ROLLBACK of the probe transaction (nothing was committed)",
        )
    })?;
    if outcomes.read_back == Some(false) {
        notes.push("the SELECT did not return the value the upsert wrote".into());
    }
    outcomes.finish(
        backend,
        false,
        "rolled_back_transaction",
        &user,
        ident,
        table_existed,
        (Some(key), None),
        notes,
        &refusal,
    )
}

/// Message and hint for refused PostgreSQL statements.
fn refusal<'a>(
    facts: &'a PgTableFacts,
    schema_param: Option<&'a str>,
    auto_create_schema: bool,
) -> impl Fn(&[String]) -> (String, String) + 'a {
    move |refused: &[String]| {
        let user = &facts.user;
        let schema = facts.schema.as_deref().unwrap_or("public");
        if schema_param.is_some() && !facts.schema_exists && !auto_create_schema {
            return (
                format!(
                    "schema \"{schema}\" does not exist and auto_create_schema = false; metasrv \
                     fails at start-up with SQLSTATE 3F000"
                ),
                format!(
                    "create the schema, or set auto_create_schema = true:\n$ CREATE SCHEMA \
                     \"{schema}\" AUTHORIZATION {};",
                    pg_role(user)
                ),
            );
        }
        let pg15 = if refused.iter().any(|p| p.starts_with("CREATE on schema")) {
            pg15_public_note(schema, facts.version_num)
        } else {
            ""
        };
        let message = if refused.is_empty() {
            format!("statements metasrv runs on {} fail", facts.ident)
        } else if refused.iter().all(|p| p.contains(" on ")) {
            format!("role `{user}` is refused {}{pg15}", refused.join(", "))
        } else {
            format!(
                "role `{user}` is refused {} on {}{pg15}",
                refused.join(", "),
                facts.ident
            )
        };
        let role = pg_role(user);
        let mut hint = format!(
            "grant the role what metasrv needs (or set meta_schema_name to a schema it \
             owns):\n$ GRANT CREATE ON SCHEMA \"{schema}\" TO {role};"
        );
        if facts.table_schema.is_some() {
            hint.push_str(&format!(
                "\n$ GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {role};",
                facts.ident
            ));
        }
        if schema_param.is_some() && auto_create_schema {
            hint.push_str(&format!(
                "\n$ GRANT CREATE ON DATABASE \"{}\" TO {role};",
                facts.database
            ));
        }
        (message, hint)
    }
}
