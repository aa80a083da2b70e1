//! `sql.privileges`: the role may create, read, write and delete its metadata, proven by
//! doing it without leaving anything behind.
//!
//! The step, its output and the bookkeeping both stores share are here; the probes are in
//! `pg_privileges.rs` and `my_privileges.rs`.

use std::future::Future;
use std::time::Duration;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::{ColumnIndex, Decode, Row, Type};
use tokio::time::Instant;

use super::client::{with_connection, SqlConn, SqlConnection};
use super::errors::{db_message, is_lock_timeout, is_permission_denied};
use super::{default_auto_create_schema, my_privileges, pg_privileges};
use super::{Backend, MetaTableParams, StoreParams};
use crate::plugins::{millis, Step, StepCx, StepError};

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
        let (mut output, started) = with_connection(
            &params.store,
            cx,
            "proving the privileges",
            async |connection: &mut SqlConnection| {
                let opts = connection.opts.clone();
                let started = Instant::now();
                let output = match &mut connection.conn {
                    SqlConn::Pg(conn) => pg_privileges::check(conn, &params, schema, cx).await,
                    SqlConn::My(conn) => my_privileges::check(conn, opts, &params, cx).await,
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
pub(super) struct Outcomes {
    /// `op` → proven (`Ok`) or refused (`Err` with the privilege it needs).
    ran: IndexMap<&'static str, Result<(), (String, sqlx::Error)>>,
    /// `op` → granted per the catalog (not run), and the privilege it needs.
    catalog: IndexMap<&'static str, (bool, String)>,
    timings: IndexMap<String, f64>,
    pub(super) read_back: Option<bool>,
}

impl Outcomes {
    /// Awaits `statement` and records its time under `name`.
    pub(super) async fn timed<T>(&mut self, name: &str, statement: impl Future<Output = T>) -> T {
        let started = Instant::now();
        let output = statement.await;
        self.timings
            .insert(name.to_string(), millis(started.elapsed()));
        output
    }

    /// Runs `statement`, the proof of `op`, which needs `privilege`, timed, and records
    /// whether it was refused; returns what it returned.
    pub(super) async fn run<T>(
        &mut self,
        op: &'static str,
        privilege: impl Into<String>,
        statement: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Option<T> {
        let result = self.timed(op, statement).await;
        self.record(op, privilege, result)
    }

    /// As [`Outcomes::run`], but a lost connection is returned instead of recorded.
    pub(super) async fn run_unless_lost<T>(
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
    pub(super) fn read_back<R: Row>(&mut self, rows: &[R], value: &[u8])
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
    pub(super) fn grant(&mut self, op: &'static str, granted: bool, privilege: impl Into<String>) {
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
    pub(super) fn finish(
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
                    } else if is_lock_timeout(e) {
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
pub(super) fn probe_values(run_id: &str) -> (Vec<u8>, Vec<u8>) {
    (
        format!("greptime-self-test probe {run_id} (insert)").into_bytes(),
        format!("greptime-self-test probe {run_id} (upsert)").into_bytes(),
    )
}

/// Milliseconds the server may wait for a lock or run a statement: half the time left, at
/// least one second.
pub(super) fn lock_budget(cx: &StepCx) -> Duration {
    (cx.remaining() / 2).max(Duration::from_secs(1))
}
