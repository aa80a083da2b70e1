//! `sql.privileges`: the role may create, read, write and delete its metadata, proven by
//! doing it without leaving anything behind.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::mysql::MySqlConnection;
use sqlx::postgres::{PgArguments, PgConnection, PgRow};
use sqlx::query::Query;
use sqlx::{ColumnIndex, Decode, Postgres, Row, Type};
use tokio::time::Instant;

use super::client::{
    db_message, is_permission_denied, my_exec, pg_exec, probe_key, probe_name, query_error,
    with_session, ConnectOpts, Session, SqlConn,
};
use super::metadata_table::{my_facts, pg15_public_note, pg_facts, MyTableFacts, PgTableFacts};
use super::{default_auto_create_schema, Backend, MetaTableParams, StoreParams};
use crate::plugins::{millis, ErrorKind, Step, StepCx, StepError};

/// Proves that the role can do what metasrv does with its metadata, without leaving anything.
///
/// PostgreSQL: one transaction that is always rolled back (PostgreSQL DDL is transactional):
/// `CREATE SCHEMA IF NOT EXISTS` (with `auto_create_schema` and a schema), metasrv's exact
/// `CREATE TABLE IF NOT EXISTS`, an INSERT of the probe row `__greptime_self_test/<run id>`,
/// metasrv's upsert (`INSERT … ON CONFLICT (k) DO UPDATE`), its point SELECT and its DELETE …
/// RETURNING, each under a savepoint so that every missing privilege is found, then ROLLBACK.
/// Nothing is ever committed, so a cancelled run leaves nothing either.
///
/// MySQL (DDL commits implicitly): when the metadata table exists, the same INSERT, upsert
/// (`ON DUPLICATE KEY UPDATE`), SELECT and DELETE of the probe row run in a transaction that is
/// rolled back, and CREATE (which metasrv's CREATE TABLE IF NOT EXISTS needs at every start)
/// is read from information_schema. When it does not exist, a probe table
/// `greptime_self_test_<run id>` is created with metasrv's DDL, written, read and dropped; its
/// removal is registered with the engine before it is created (the cleanup ends this run's
/// session first, so a statement still in flight cannot recreate it). A user that may not DROP
/// gets no probe table: the verdict then comes from information_schema.
///
/// With `--read-only`, nothing is written: the table is read with metasrv's point SELECT and
/// the other privileges come from the catalog (`has_*_privilege`, information_schema).
pub struct Privileges;

/// Parameters of `sql.privileges`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PrivilegesParams {
    #[serde(flatten)]
    pub store: StoreParams,
    #[serde(flatten)]
    pub meta: MetaTableParams,
    /// metasrv `auto_create_schema` (PostgreSQL only, default true).
    #[serde(default = "default_auto_create_schema")]
    pub auto_create_schema: bool,
}

/// Output of `sql.privileges`. Each operation is true (proven, or granted per the catalog in
/// a read-only run), false (refused) or null (not applicable or not tried).
#[derive(Debug, Serialize, JsonSchema)]
pub struct PrivilegesOutput {
    /// The backend checked.
    pub backend: Backend,
    /// True in a `--read-only` run: nothing was written.
    pub read_only: bool,
    /// How the verdicts were reached: `rolled_back_transaction`, `probe_table` or
    /// `privilege_catalog`.
    pub method: String,
    /// The session's user.
    pub user: String,
    /// The metadata table as metasrv writes it.
    pub table: String,
    /// Whether the metadata table existed before the check.
    pub table_existed: bool,
    /// The key of the probe row written (and removed) in the metadata table.
    pub probe_key: Option<String>,
    /// MySQL: the probe table created and dropped when the metadata table does not exist.
    pub probe_table: Option<String>,
    /// PostgreSQL `CREATE SCHEMA IF NOT EXISTS` (with `auto_create_schema` and a schema).
    pub create_schema: Option<bool>,
    /// metasrv's `CREATE TABLE IF NOT EXISTS` (MySQL with an existing table: CREATE per
    /// information_schema).
    pub create_table: Option<bool>,
    /// INSERT of the probe row.
    pub insert: Option<bool>,
    /// metasrv's upsert on the probe row (INSERT … ON CONFLICT / ON DUPLICATE KEY UPDATE,
    /// which also needs UPDATE).
    pub update: Option<bool>,
    /// metasrv's point SELECT.
    pub select: Option<bool>,
    /// metasrv's DELETE of the probe row.
    pub delete: Option<bool>,
    /// Whether the SELECT returned the value the upsert wrote.
    pub read_back: Option<bool>,
    /// The operations proven by running them.
    pub proven: Vec<String>,
    /// The operations granted per the catalog but not run (read-only runs; MySQL CREATE on
    /// an existing table).
    pub granted: Vec<String>,
    /// Time per statement, in milliseconds.
    pub timings_ms: IndexMap<String, f64>,
    /// Time for the whole check after connecting, in milliseconds.
    pub total_ms: f64,
    /// Things to know (e.g. a non-transactional table engine).
    pub notes: Vec<String>,
}

impl Step for Privileges {
    const NAME: &'static str = "sql.privileges";
    const SUMMARY: &'static str =
        "Prove the role may create, read, write and delete its metadata, leaving nothing behind";
    const SHAREABLE: bool = true;
    const EXAMPLE: &'static str = "backend: mysql_store\n\
store_addr: mysql://greptime:password@127.0.0.1:3306/greptime\n\
tls:\n  mode: prefer\ntable: greptime_metakv\n";
    type Params = PrivilegesParams;
    type Output = PrivilegesOutput;

    async fn run(&self, params: Self::Params, cx: &StepCx) -> Result<Self::Output, StepError> {
        let schema = params.meta.checked_schema(params.store.backend)?;
        let (mut output, started) = with_session(
            &params.store,
            cx,
            "proving the privileges",
            async |session: &mut Session| {
                let opts = session.opts.clone();
                let started = Instant::now();
                let output = match &mut session.conn {
                    SqlConn::Pg(conn) => pg_check(conn, &params, schema, cx).await,
                    SqlConn::My(conn) => my_check(conn, opts, &params, cx).await,
                }?;
                Ok((output, started))
            },
        )
        .await?;
        output.total_ms = millis(started.elapsed());
        Ok(output)
    }

    fn details(output: &Self::Output) -> Vec<String> {
        let mut lines: Vec<String> = output
            .timings_ms
            .iter()
            .map(|(op, ms)| format!("{op}: {ms:.2} ms"))
            .collect();
        lines.extend(output.notes.iter().map(|n| format!("note: {n}")));
        lines
    }
}

/// The operations in report order.
const OPS: [&str; 6] = [
    "create_schema",
    "create_table",
    "insert",
    "update",
    "select",
    "delete",
];

/// What happened to each operation.
#[derive(Default)]
struct Outcomes {
    /// `op` → proven (`Ok`) or refused (`Err` with the privilege it needs).
    ran: IndexMap<&'static str, Result<(), (String, sqlx::Error)>>,
    /// `op` → granted per the catalog (not run), and the privilege it needs.
    catalog: IndexMap<&'static str, (bool, String)>,
    timings: IndexMap<String, f64>,
    read_back: Option<bool>,
}

impl Outcomes {
    /// Awaits `statement` and records its time under `name`.
    async fn timed<T>(&mut self, name: &str, statement: impl Future<Output = T>) -> T {
        let started = Instant::now();
        let output = statement.await;
        self.timings
            .insert(name.to_string(), millis(started.elapsed()));
        output
    }

    /// Runs `statement`, the proof of `op`, which needs `privilege`, timed, and records
    /// whether it was refused; returns what it returned.
    async fn run<T>(
        &mut self,
        op: &'static str,
        privilege: impl Into<String>,
        statement: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Option<T> {
        let result = self.timed(op, statement).await;
        self.record(op, privilege, result)
    }

    /// As [`Outcomes::run`], but a lost connection is returned instead of recorded.
    async fn run_unless_lost<T>(
        &mut self,
        op: &'static str,
        privilege: &str,
        statement: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<Option<T>, sqlx::Error> {
        match self.timed(op, statement).await {
            Err(e @ sqlx::Error::Io(_)) => Err(e),
            result => Ok(self.record(op, privilege, result)),
        }
    }

    /// Records whether `op`, which needs `privilege`, was proven or refused; returns what its
    /// statement returned.
    fn record<T>(
        &mut self,
        op: &'static str,
        privilege: impl Into<String>,
        result: Result<T, sqlx::Error>,
    ) -> Option<T> {
        match result {
            Ok(value) => {
                self.ran.insert(op, Ok(()));
                Some(value)
            }
            Err(e) => {
                self.ran.insert(op, Err((privilege.into(), e)));
                None
            }
        }
    }

    /// Records whether the first row the SELECT returned holds `value`, what the upsert wrote.
    fn read_back<R: Row>(&mut self, rows: &[R], value: &[u8])
    where
        usize: ColumnIndex<R>,
        for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    {
        self.read_back = Some(
            rows.first()
                .and_then(|row| row.try_get::<Vec<u8>, _>(1).ok())
                .is_some_and(|v| v == value),
        );
    }

    /// Records what the catalog says about `op`, which needs `privilege`.
    fn grant(&mut self, op: &'static str, granted: bool, privilege: impl Into<String>) {
        self.catalog.insert(op, (granted, privilege.into()));
    }

    fn granted(&self, op: &str) -> Option<bool> {
        self.catalog.get(op).map(|(granted, _)| *granted)
    }

    fn state(&self, op: &str) -> Option<bool> {
        match self.ran.get(op) {
            Some(result) => Some(result.is_ok()),
            None => self.granted(op),
        }
    }

    /// The output, with the step's verdict: an error naming every refused privilege.
    #[allow(clippy::too_many_arguments)]
    fn finish(
        self,
        backend: Backend,
        read_only: bool,
        method: &str,
        user: &str,
        table: String,
        table_existed: bool,
        probe: (Option<String>, Option<String>),
        notes: Vec<String>,
        refusal_context: &dyn Fn(&[String]) -> (String, String),
    ) -> Result<PrivilegesOutput, StepError> {
        let mut refused: Vec<String> = Vec::new();
        let mut timeout: Option<String> = None;
        let mut other: Vec<String> = Vec::new();
        for op in OPS {
            match self.ran.get(op) {
                Some(Err((privilege, e))) => {
                    let detail = format!("{op} ({}): {}", privilege, db_message(e));
                    if is_permission_denied(e) {
                        refused.push(privilege.clone());
                        other.push(detail);
                    } else if query_error(backend, e, op).kind == ErrorKind::Timeout {
                        timeout.get_or_insert(detail);
                    } else {
                        other.push(detail);
                    }
                }
                Some(Ok(())) => {}
                None => {
                    if let Some((false, privilege)) = self.catalog.get(op) {
                        refused.push(privilege.clone());
                        other.push(format!("{op} ({privilege}): not granted per the catalog"));
                    }
                }
            }
        }
        if let Some(detail) = timeout {
            return Err(StepError::timeout(format!(
                "proving the privileges on {table} was blocked by a lock: {detail}"
            ))
            .with_hint(
                "another session (a running metasrv?) holds a lock on the metadata table; retry, \
                 or run the check while metasrv is stopped",
            ));
        }
        if !other.is_empty() {
            let (message, hint) = refusal_context(&refused);
            return Err(
                StepError::rejected(format!("{message}: {}", other.join("; "))).with_hint(hint),
            );
        }
        let proven = OPS
            .iter()
            .filter(|op| matches!(self.ran.get(**op), Some(Ok(()))))
            .map(|op| op.to_string())
            .collect();
        let granted = OPS
            .iter()
            .filter(|op| !self.ran.contains_key(**op) && self.granted(op) == Some(true))
            .map(|op| op.to_string())
            .collect();
        Ok(PrivilegesOutput {
            backend,
            read_only,
            method: method.into(),
            user: user.into(),
            table,
            table_existed,
            probe_key: probe.0,
            probe_table: probe.1,
            create_schema: self.state("create_schema"),
            create_table: self.state("create_table"),
            insert: self.state("insert"),
            update: self.state("update"),
            select: self.state("select"),
            delete: self.state("delete"),
            read_back: self.read_back,
            proven,
            granted,
            timings_ms: self.timings,
            total_ms: 0.0,
            notes,
        })
    }
}

/// The probe values: the INSERT writes the first, the upsert the second.
fn probe_values(run_id: &str) -> (Vec<u8>, Vec<u8>) {
    (
        format!("greptime-self-test probe {run_id} (insert)").into_bytes(),
        format!("greptime-self-test probe {run_id} (upsert)").into_bytes(),
    )
}

/// Milliseconds the server may wait for a lock or run a statement: half the time left, at
/// least one second.
fn lock_budget(cx: &StepCx) -> Duration {
    (cx.remaining() / 2).max(Duration::from_secs(1))
}

// ---------------------------------------------------------------------------------------
// PostgreSQL

/// Runs `query` under a savepoint, so a refused statement does not abort the transaction.
async fn pg_try(
    conn: &mut PgConnection,
    query: Query<'_, Postgres, PgArguments>,
) -> Result<Vec<PgRow>, sqlx::Error> {
    pg_exec(conn, "SAVEPOINT greptime_self_test").await?;
    match query.fetch_all(&mut *conn).await {
        Ok(rows) => {
            pg_exec(conn, "RELEASE SAVEPOINT greptime_self_test").await?;
            Ok(rows)
        }
        Err(e) => {
            let _ = pg_exec(conn, "ROLLBACK TO SAVEPOINT greptime_self_test").await;
            Err(e)
        }
    }
}

async fn pg_check(
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
    let refusal = pg_refusal(&facts, schema_param, params.auto_create_schema);

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
            let select = format!("SELECT k, v FROM {ident} WHERE k = $1");
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
    pg_exec(
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
        let create = format!("CREATE TABLE IF NOT EXISTS {ident}(k bytea PRIMARY KEY, v bytea)");
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

        let upsert = format!(
            "WITH prev AS (SELECT k,v FROM {ident} WHERE k IN ($1)), update AS (INSERT INTO \
             {ident} (k, v) VALUES ($2,$3) ON CONFLICT (k) DO UPDATE SET v = excluded.v) \
             SELECT k, v FROM prev;"
        );
        let upsert = sqlx::query(&upsert)
            .bind(key.as_bytes())
            .bind(key.as_bytes())
            .bind(&v2);
        outcomes
            .run("update", format!("UPDATE on {ident}"), pg_try(conn, upsert))
            .await;

        let select = format!("SELECT k, v FROM {ident} WHERE k = $1");
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
    let rollback = outcomes.timed("rollback", pg_exec(conn, "ROLLBACK")).await;
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
fn pg_refusal<'a>(
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
                    "create the schema (CREATE SCHEMA \"{schema}\" AUTHORIZATION \"{user}\") or \
                     set auto_create_schema = true"
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
        } else {
            format!(
                "role `{user}` is refused {} on {}{pg15}",
                refused.join(", "),
                facts.ident
            )
        };
        (
            message,
            format!(
                "grant the role what metasrv needs: GRANT CREATE ON SCHEMA \"{schema}\" TO \
                 \"{user}\" (or set meta_schema_name to a schema it owns); GRANT SELECT, INSERT, \
                 UPDATE, DELETE ON {} TO \"{user}\"{}",
                facts.ident,
                if schema_param.is_some() && auto_create_schema {
                    format!(
                        "; GRANT CREATE ON DATABASE \"{}\" TO \"{user}\"",
                        facts.database
                    )
                } else {
                    String::new()
                }
            ),
        )
    }
}

// ---------------------------------------------------------------------------------------
// MySQL

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
        let _ = my_exec(
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
            if let Err(e) = my_exec(&mut conn, &format!("DROP TABLE IF EXISTS `{table}`")).await {
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

async fn my_check(
    conn: &mut MySqlConnection,
    opts: ConnectOpts,
    params: &PrivilegesParams,
    cx: &StepCx,
) -> Result<PrivilegesOutput, StepError> {
    let backend = Backend::MysqlStore;
    let table = params.meta.table.as_str();
    let facts = my_facts(conn, table).await?;
    let shown = format!("`{table}`");
    let mut notes = Vec::new();
    if facts.roles_active {
        notes.push(
            "a role is active: privileges granted through roles are not listed in \
             information_schema; catalog verdicts treat them as unknown"
                .into(),
        );
    }
    let mut outcomes = Outcomes::default();
    let refusal = my_refusal(&facts, table);
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
            let select = format!("SELECT k, v FROM `{table}` WHERE k = ?");
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
    my_exec(
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
        my_exec(conn, "START TRANSACTION")
            .await
            .map_err(|e| query_error(backend, &e, "starting the probe transaction"))?;
        let work = my_ops(conn, table, &key, &v1, &v2, &mut outcomes).await;
        let rollback = outcomes.timed("rollback", my_exec(conn, "ROLLBACK")).await;
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
    let create = format!("CREATE TABLE `{probe}`(k VARBINARY(3072) PRIMARY KEY, v MEDIUMBLOB);");
    let created = outcomes
        .run("create_table", "CREATE", my_exec(conn, &create))
        .await
        .is_some();
    if created {
        let work = my_ops(conn, &probe, &key, &v1, &v2, &mut outcomes).await;
        let drop = format!("DROP TABLE `{probe}`");
        let dropped = outcomes.timed("drop", my_exec(conn, &drop)).await;
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
async fn my_ops(
    conn: &mut MySqlConnection,
    table: &str,
    key: &str,
    v1: &[u8],
    v2: &[u8],
    outcomes: &mut Outcomes,
) -> Result<(), sqlx::Error> {
    let insert = format!("INSERT INTO `{table}` (k, v) VALUES (?, ?)");
    let insert = sqlx::query(&insert).bind(key.as_bytes()).bind(v1);
    outcomes
        .run_unless_lost("insert", "INSERT", insert.execute(&mut *conn))
        .await?;

    let upsert = format!(
        "INSERT INTO `{table}` (k, v) VALUES (?, ?) ON DUPLICATE KEY UPDATE v = VALUES(v);"
    );
    let upsert = sqlx::query(&upsert).bind(key.as_bytes()).bind(v2);
    outcomes
        .run_unless_lost("update", "UPDATE", upsert.execute(&mut *conn))
        .await?;

    let select = format!("SELECT k, v FROM `{table}` WHERE k = ?");
    let select = sqlx::query(&select).bind(key.as_bytes());
    if let Some(rows) = outcomes
        .run_unless_lost("select", "SELECT", select.fetch_all(&mut *conn))
        .await?
    {
        outcomes.read_back(&rows, v2);
    }

    let delete = format!("DELETE FROM `{table}` WHERE k = ?;");
    let delete = sqlx::query(&delete).bind(key.as_bytes());
    outcomes
        .run_unless_lost("delete", "DELETE", delete.execute(&mut *conn))
        .await?;
    Ok(())
}

/// Message and hint for refused MySQL statements.
fn my_refusal<'a>(
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
                "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER ON `{}`.* TO the user \
                 (metasrv also creates and locks `{table}_election`)",
                facts.database
            ),
        )
    }
}
