//! `sql.election`: what metasrv's leader election needs from the store, and who leads now.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::mysql::MySqlConnection;
use sqlx::postgres::PgConnection;
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Row, Type};

use time::macros::format_description;
use time::PrimitiveDateTime;

use super::client::{my_text, with_connection, SqlConn, SqlConnection};
use super::errors::{db_message, is_permission_denied, query_error, query_failed};
use super::metadata_table::my_facts;
use super::my_grants;
use super::my_session::replay_election_settings;
use super::sql_text::{check_name, pg_ident};
use super::{Backend, MetaTableParams, StoreParams};
use crate::plugins::{Step, StepCx, StepError};

/// metasrv's election key, after `store_key_prefix`.
const ELECTION_KEY: &str = "__metasrv_election";
/// metasrv's candidate keys, after `store_key_prefix`.
const CANDIDATES_ROOT: &str = "__metasrv_election_candidates/";
/// metasrv's separator between a lease value and its expiry time.
const LEASE_SEP: &str = "||__metadata_lease_sep||";

/// Reads, never writes, what metasrv's leader election will meet.
///
/// PostgreSQL: the election takes the session advisory lock `meta_election_lock_id`
/// (`pg_try_advisory_lock`) and sets `idle_session_timeout` (PostgreSQL 14+). This step looks
/// in `pg_locks` for a session of the current database holding that lock (without trying to
/// take it), and reads the leader row `{key_prefix}__metasrv_election` of the metadata table
/// (`<addr>||__metadata_lease_sep||<expiry>`), comparing its expiry with the server clock.
/// metasrv writes the expiry with `TO_CHAR(CURRENT_TIMESTAMP …)` in its session time zone,
/// the server default; this tool's sessions run in UTC (sqlx), so "now" is taken in the
/// server's `log_timezone`, which initdb sets to the same zone as `TimeZone`.
///
/// MySQL: the election uses its own table `<table>_election` (created at every start with
/// CREATE TABLE IF NOT EXISTS, seeded with INSERT IGNORE, locked with SELECT … FOR UPDATE,
/// written with INSERT/UPDATE/DELETE) and puts its own settings on every session (isolation
/// level, `wait_timeout`, `innodb_lock_wait_timeout`, `max_execution_time`). This step reports
/// whether that table exists, the user's privileges on it (information_schema) and the leader
/// row, then replays those session settings on its own session: the server's answer, not its
/// version string, says whether metasrv can start (MariaDB refuses `max_execution_time`).
pub struct Election;

/// Parameters of `sql.election`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ElectionParams {
    #[serde(flatten)]
    pub store: StoreParams,
    #[serde(flatten)]
    pub meta: MetaTableParams,
    /// metasrv `meta_election_lock_id` (PostgreSQL only, default 1).
    #[serde(default = "default_lock_id")]
    pub lock_id: u64,
    /// metasrv `store_key_prefix` (default empty): prefixes the election keys.
    #[serde(default)]
    pub key_prefix: String,
}

fn default_lock_id() -> u64 {
    1
}

/// Output of `sql.election`. Fields that do not apply to the backend are left out.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ElectionOutput {
    /// The backend checked.
    pub backend: Backend,
    /// The table holding the election rows, as metasrv writes it.
    pub election_table: String,
    /// Whether that table exists.
    pub election_table_exists: bool,
    /// The leader key read: `{key_prefix}__metasrv_election`.
    pub election_key: String,
    /// The leader's address (its `grpc.server_addr`) from the leader row, or null when no
    /// row exists (no metasrv has led yet) or it cannot be read.
    pub election_leader: Option<String>,
    /// Whether the leader's lease has expired by the server clock (the leader stopped
    /// renewing it: it is down, or lost the store).
    pub leader_expired: Option<bool>,
    /// Time until the leader's lease expires, in milliseconds (negative: expired that long
    /// ago).
    pub leader_expires_in_ms: Option<i64>,
    /// Candidate metasrv addresses whose candidate lease has not expired.
    pub candidates: Vec<String>,
    /// PostgreSQL: `meta_election_lock_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock_id: Option<u64>,
    /// PostgreSQL: whether another session of this database holds the advisory lock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock_held: Option<bool>,
    /// PostgreSQL: the backend pid holding the advisory lock (the leading metasrv, or another
    /// application using the same lock id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_by_pid: Option<i32>,
    /// PostgreSQL: user of the session holding the lock (null when not visible to this role).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_by_user: Option<String>,
    /// PostgreSQL: `application_name` of the session holding the lock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_by_application: Option<String>,
    /// PostgreSQL: client address of the session holding the lock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_by_client_addr: Option<String>,
    /// PostgreSQL: whether the server has `idle_session_timeout` (PostgreSQL 14+), which the
    /// election sets on its session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_session_timeout_supported: Option<bool>,
    /// MySQL: whether the user may create the election table (CREATE), which metasrv does at
    /// every start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub can_create_election_table: Option<bool>,
    /// MySQL: whether the user may lock and write the election table (SELECT, INSERT,
    /// UPDATE, DELETE), which SELECT … FOR UPDATE and the lease updates need.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub can_lock_election_table: Option<bool>,
    /// MySQL: whether the server accepted the settings metasrv's election puts on each new
    /// session (`SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE`, then `SET SESSION
    /// wait_timeout = ?, innodb_lock_wait_timeout = ?, max_execution_time = ?` with 5, 2 and
    /// 5000), replayed on this step's session; when false, metasrv's start-up fails.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_settings_accepted: Option<bool>,
    /// MySQL: the statement the server refused (null when it accepted them all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused_statement: Option<String>,
    /// MySQL: the server's answer to that statement, with its error number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    /// MySQL: the system variable the server does not know (`max_execution_time` on
    /// MariaDB), from an "Unknown system variable" answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown_variable: Option<String>,
    /// MySQL: the user's privileges on the election table per information_schema.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privileges: Option<Vec<String>>,
    /// MySQL: privileges the election needs that the user lacks (empty when a role is active,
    /// as role grants are not listed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_privileges: Vec<String>,
    /// MySQL: the GRANT an administrator runs to give the session's user (`CURRENT_USER()`)
    /// what metasrv needs, when privileges are missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant: Option<String>,
    /// Things to know.
    pub notes: Vec<String>,
}

impl ElectionOutput {
    /// An output with nothing read yet; the leader key is metasrv's under `key_prefix`.
    fn new(backend: Backend, election_table: String, key_prefix: &str) -> Self {
        Self {
            backend,
            election_table,
            election_table_exists: false,
            election_key: format!("{key_prefix}{ELECTION_KEY}"),
            election_leader: None,
            leader_expired: None,
            leader_expires_in_ms: None,
            candidates: Vec::new(),
            lock_id: None,
            lock_held: None,
            held_by_pid: None,
            held_by_user: None,
            held_by_application: None,
            held_by_client_addr: None,
            idle_session_timeout_supported: None,
            can_create_election_table: None,
            can_lock_election_table: None,
            session_settings_accepted: None,
            refused_statement: None,
            refusal: None,
            unknown_variable: None,
            privileges: None,
            missing_privileges: Vec::new(),
            grant: None,
            notes: Vec::new(),
        }
    }

    /// Reads the leader row and the candidate rows with `sql` (its two parameters: the leader
    /// key and a LIKE pattern of the candidate keys under `key_prefix`) and fills the leader and
    /// candidate fields, comparing expiry times with the server's `now`. Rows this role may not
    /// read leave a note.
    async fn read_leader<'c, DB, E>(
        &mut self,
        conn: E,
        sql: &str,
        now: &str,
        key_prefix: &str,
    ) -> Result<(), StepError>
    where
        DB: Database,
        E: Executor<'c, Database = DB>,
        for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
        for<'q> Vec<u8>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
        usize: ColumnIndex<DB::Row>,
    {
        let candidates = format!("{key_prefix}{CANDIDATES_ROOT}");
        let rows = sqlx::query(sql)
            .bind(self.election_key.as_bytes().to_vec())
            .bind(like_prefix(&candidates).into_bytes())
            .fetch_all(conn)
            .await;
        match rows {
            Ok(rows) => {
                let pairs = rows
                    .iter()
                    .filter_map(|r| Some((r.try_get(0).ok()?, r.try_get(1).ok()?)))
                    .collect();
                self.read_leases(pairs, now, &candidates);
            }
            Err(e) if is_permission_denied(&e) => self
                .notes
                .push(format!("the leader row cannot be read: {}", db_message(&e))),
            Err(e) => return Err(query_error(self.backend, &e, "reading the election rows")),
        }
        Ok(())
    }

    /// Fills the leader and candidate fields from `(key, value)` rows and the server's "now".
    fn read_leases(&mut self, rows: Vec<(Vec<u8>, Vec<u8>)>, now: &str, candidates_root: &str) {
        let now_ms = naive_ms(now);
        for (key, value) in rows {
            let key = String::from_utf8_lossy(&key).into_owned();
            let value = String::from_utf8_lossy(&value).into_owned();
            let Some((holder, expiry)) = split_lease(&value) else {
                self.notes
                    .push(format!("row {key} does not hold a lease value"));
                continue;
            };
            let remaining = naive_ms(expiry).zip(now_ms).map(|(e, n)| e - n);
            if key == self.election_key {
                self.election_leader = Some(holder.to_string());
                self.leader_expires_in_ms = remaining;
                self.leader_expired = remaining.map(|ms| ms <= 0);
            } else if let Some(addr) = key.strip_prefix(candidates_root) {
                if remaining.is_some_and(|ms| ms > 0) {
                    self.candidates.push(addr.to_string());
                }
            }
        }
        self.candidates.sort();
    }
}

impl Step for Election {
    const NAME: &'static str = "sql.election";
    const SUMMARY: &'static str =
        "Check what metasrv's leader election needs from the SQL store, and read the leader";
    const SHAREABLE: bool = true;
    const EXAMPLE: &'static str = "backend: postgres_store\n\
store_addr: host=127.0.0.1 port=5432 user=greptime password=secret dbname=greptime_meta\n\
table: greptime_metakv\nschema: \"\"\nlock_id: 1\nkey_prefix: \"\"\n";
    type Params = ElectionParams;
    type Output = ElectionOutput;

    async fn run(&self, params: Self::Params, cx: &StepCx) -> Result<Self::Output, StepError> {
        let backend = params.store.backend;
        let schema = params.meta.checked_schema(backend)?;
        match backend {
            Backend::PostgresStore => {
                if params.lock_id > i64::MAX as u64 {
                    return Err(StepError::misconfigured(format!(
                        "meta_election_lock_id {} is above PostgreSQL's bigint range; \
                         pg_try_advisory_lock({}) fails",
                        params.lock_id, params.lock_id
                    ))
                    .with_hint("use a lock id between 0 and 9223372036854775807"));
                }
            }
            Backend::MysqlStore => check_name(
                backend,
                "meta_table_name (with the `_election` suffix metasrv adds)",
                &format!("{}_election", params.meta.table),
            )?,
        }
        with_connection(
            &params.store,
            cx,
            "reading the election state",
            async |connection: &mut SqlConnection| match &mut connection.conn {
                SqlConn::Pg(conn) => check_pg(conn, &params, schema).await,
                SqlConn::My(conn) => check_my(conn, &params).await,
            },
        )
        .await
    }

    fn details(output: &Self::Output) -> Vec<String> {
        output.notes.iter().map(|n| format!("note: {n}")).collect()
    }
}

async fn check_pg(
    conn: &mut PgConnection,
    params: &ElectionParams,
    schema: Option<&str>,
) -> Result<ElectionOutput, StepError> {
    let backend = Backend::PostgresStore;
    let ident = pg_ident(schema, &params.meta.table);
    let mut out = ElectionOutput::new(backend, ident.clone(), &params.key_prefix);
    out.lock_id = Some(params.lock_id);

    let version: i64 = sqlx::query_scalar("SELECT current_setting('server_version_num')::int8")
        .fetch_one(&mut *conn)
        .await
        .map_err(query_failed(backend, "reading the server version"))?;
    out.idle_session_timeout_supported = Some(version >= 140_000);

    let id = params.lock_id;
    let holder = sqlx::query(
        "SELECT l.pid, a.usename::text, a.application_name, host(a.client_addr) \
         FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted \
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
           AND l.classid::int8 = $1 AND l.objid::int8 = $2 AND l.objsubid = 1 \
           AND l.pid <> pg_backend_pid() \
         LIMIT 1",
    )
    .bind((id >> 32) as i64)
    .bind((id & 0xffff_ffff) as i64)
    .fetch_optional(&mut *conn)
    .await
    .map_err(query_failed(backend, "reading pg_locks"))?;
    out.lock_held = Some(holder.is_some());
    if let Some(row) = holder {
        out.held_by_pid = row.try_get(0).ok();
        out.held_by_user = row.try_get(1).ok().flatten();
        out.held_by_application = row.try_get(2).ok().flatten();
        out.held_by_client_addr = row.try_get(3).ok().flatten();
    }

    let row = sqlx::query(
        "SELECT to_regclass($1) IS NOT NULL, \
                TO_CHAR(CURRENT_TIMESTAMP AT TIME ZONE current_setting('log_timezone'), \
                        'YYYY-MM-DD HH24:MI:SS.MS')",
    )
    .bind(&ident)
    .fetch_one(&mut *conn)
    .await;
    let (exists, now) = match row {
        Ok(row) => (
            row.try_get::<bool, _>(0).unwrap_or(false),
            row.try_get::<String, _>(1).unwrap_or_default(),
        ),
        // No USAGE on the schema: the table cannot be looked at.
        Err(e) if is_permission_denied(&e) => {
            out.notes
                .push(format!("{ident} cannot be looked up: {}", db_message(&e)));
            (false, String::new())
        }
        Err(e) => return Err(query_error(backend, &e, "looking up the metadata table")),
    };
    out.election_table_exists = exists;
    if exists {
        let sql = format!("SELECT k, v FROM {ident} WHERE k = $1 OR k LIKE $2");
        out.read_leader(&mut *conn, &sql, &now, &params.key_prefix)
            .await?;
    }
    if out.lock_held == Some(true) && out.election_leader.is_none() {
        out.notes.push(format!(
            "advisory lock {id} is held by pid {} but no leader row exists: another application \
             may use the same meta_election_lock_id",
            out.held_by_pid.unwrap_or_default()
        ));
    }
    if version < 140_000 {
        out.notes.push(
            "PostgreSQL before 14 has no idle_session_timeout: metasrv's election cannot \
             initialise its session"
                .into(),
        );
    }
    Ok(out)
}

/// A LIKE pattern matching `prefix` literally, then anything (`\` is PostgreSQL's and MySQL's
/// default LIKE escape).
fn like_prefix(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

async fn check_my(
    conn: &mut MySqlConnection,
    params: &ElectionParams,
) -> Result<ElectionOutput, StepError> {
    let backend = Backend::MysqlStore;
    let table = format!("{}_election", params.meta.table);
    let mut out = ElectionOutput::new(backend, format!("`{table}`"), &params.key_prefix);
    if params.meta.schema().is_some() {
        out.notes
            .push("meta_schema_name is ignored by metasrv for MySQL".into());
    }

    // the session's database and user, whether the election table exists, the user's
    // privileges on it and whether a role is active, read as for the metadata table
    let facts = my_facts(conn, &table).await?;
    let database = facts.database.clone();
    out.election_table_exists = facts.exists;
    let clock = sqlx::query("SELECT DATE_FORMAT(NOW(4), '%Y-%m-%d %T.%f')")
        .fetch_one(&mut *conn)
        .await
        .map_err(query_failed(backend, "reading the server clock"))?;
    let now = my_text(&clock, 0).unwrap_or_default();
    let has = |p: &str| facts.has(p);
    out.privileges = Some(facts.privileges.clone());
    if facts.roles_active {
        out.notes.push(
            "a role is active: privileges granted through roles are not listed in \
             information_schema, so the election's privileges were not judged"
                .into(),
        );
    } else {
        out.can_create_election_table = Some(has("CREATE"));
        out.can_lock_election_table =
            Some(has("SELECT") && has("INSERT") && has("UPDATE") && has("DELETE"));
        out.missing_privileges = ["CREATE", "SELECT", "INSERT", "UPDATE", "DELETE"]
            .into_iter()
            .filter(|p| !has(p))
            .map(String::from)
            .collect();
        if !out.missing_privileges.is_empty() {
            out.grant = Some(my_grants::grant_statement(
                my_grants::METASRV_PRIVILEGES,
                &database,
                &facts.user,
            ));
        }
    }

    if out.election_table_exists {
        let sql = format!("SELECT k, v FROM `{table}` WHERE k = ? OR k LIKE ?");
        out.read_leader(&mut *conn, &sql, &now, &params.key_prefix)
            .await?;
    }

    // Last: these change this session's settings, and the session ends with the step.
    let refusal = replay_election_settings(conn).await?;
    out.session_settings_accepted = Some(refusal.is_none());
    if let Some(refusal) = refusal {
        out.refused_statement = Some(refusal.statement.to_string());
        out.refusal = Some(refusal.error);
        out.unknown_variable = refusal.unknown_variable;
    }
    Ok(out)
}

/// Splits an election lease value `<value>||__metadata_lease_sep||<expiry>`.
fn split_lease(value: &str) -> Option<(&str, &str)> {
    value.split_once(LEASE_SEP)
}

/// Milliseconds since the epoch of a naive `YYYY-MM-DD HH:MM:SS[.fff…]` timestamp, to compare
/// lease expiry times written by the server with the server's own clock (both in the same
/// zone, so reading them as UTC keeps their difference).
fn naive_ms(text: &str) -> Option<i64> {
    let format = format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    let at = PrimitiveDateTime::parse(text.trim(), format).ok()?;
    i64::try_from(at.assume_utc().unix_timestamp_nanos().div_euclid(1_000_000)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_prefixes_are_escaped() {
        assert_eq!(
            like_prefix("a_b%__metasrv_election_candidates/"),
            "a\\_b\\%\\_\\_metasrv\\_election\\_candidates/%"
        );
    }

    #[test]
    fn leases_give_leader_and_live_candidates() {
        let mut out = ElectionOutput::new(Backend::PostgresStore, "\"t\"".into(), "p");
        let lease = |value: &str, expiry: &str| format!("{value}{}{expiry}", LEASE_SEP);
        out.read_leases(
            vec![
                (
                    b"p__metasrv_election".to_vec(),
                    lease("10.0.0.1:3002", "2026-11-25 10:00:03.000").into_bytes(),
                ),
                (
                    b"p__metasrv_election_candidates/10.0.0.1:3002".to_vec(),
                    lease("{}", "2026-11-25 10:09:00.000").into_bytes(),
                ),
                (
                    b"p__metasrv_election_candidates/10.0.0.2:3002".to_vec(),
                    lease("{}", "2026-11-25 09:00:00.000").into_bytes(),
                ),
            ],
            "2026-11-25 10:00:00.500",
            "p__metasrv_election_candidates/",
        );
        assert_eq!(out.election_leader.as_deref(), Some("10.0.0.1:3002"));
        assert_eq!(out.leader_expires_in_ms, Some(2500));
        assert_eq!(out.leader_expired, Some(false));
        assert_eq!(out.candidates, ["10.0.0.1:3002"]);
    }

    #[test]
    fn naive_timestamps_compare_as_the_server_wrote_them() {
        let a = naive_ms("2026-11-25 10:00:00.123").unwrap();
        let b = naive_ms("2026-11-25 10:00:05.123456").unwrap();
        assert_eq!(b - a, 5000);
        assert_eq!(naive_ms("1970-01-01 00:00:01.5"), Some(1500));
        assert_eq!(
            naive_ms("2000-03-01 00:00:00.000").unwrap() - naive_ms("2000-02-28 00:00:00").unwrap(),
            2 * 86_400_000
        );
        assert!(naive_ms("yesterday").is_none());
    }
}
