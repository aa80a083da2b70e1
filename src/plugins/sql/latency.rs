//! `sql.latency`: upsert and point-select latency of the metadata store, measured with
//! metasrv's statements.

use std::sync::Arc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::client::{self, within, SqlConn};
use super::errors::{is_permission_denied, query_error};
use super::sql_text::{
    check_name, kv_columns, point_select, probe_key, probe_name, quoted, upsert,
};
use super::{Backend, MetaTableParams, StoreParams};
use crate::plugins::{millis, LatencySummary, Step, StepCx, StepError};

/// Most operations per kind a run may ask for.
const MAX_OPERATIONS: u32 = 5000;
/// Largest value a run may write.
const MAX_VALUE_SIZE: usize = 1 << 20;

/// Measures metasrv's upsert and point SELECT, one statement at a time on one connection,
/// against a TEMPORARY table created with metasrv's DDL (PostgreSQL `(k bytea PRIMARY KEY,
/// v bytea)`, MySQL `(k VARBINARY(3072) PRIMARY KEY, v MEDIUMBLOB)`). The temporary table
/// belongs to this session only and vanishes with it; it is also dropped explicitly, and the
/// engine's cleanup drops it on the same session if the run is cut short.
///
/// PostgreSQL does not WAL-log temporary tables, and MySQL's temporary tables skip the binlog,
/// so each upsert's commit does not wait for the durable log flush a real metasrv write waits
/// for: read the upsert figures as a lower bound (network round trip plus execution).
///
/// The first half of the upserts insert new keys, the second half update them. The run stops
/// early (`truncated`) when the step's deadline comes close. With `--read-only`, only point
/// SELECTs run, on the real metadata table when it exists.
pub struct Latency;

/// Parameters of `sql.latency`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LatencyParams {
    #[serde(flatten)]
    pub store: StoreParams,
    #[serde(flatten)]
    pub meta: MetaTableParams,
    /// Operations of each kind (default 200, at most 5000).
    #[serde(default = "default_operations")]
    pub operations: u32,
    /// Bytes per written value (default 256, at most 1 MiB).
    #[serde(default = "default_value_size")]
    pub value_size: usize,
}

fn default_operations() -> u32 {
    200
}

fn default_value_size() -> usize {
    256
}

/// Output of `sql.latency`. Latencies are per statement, in milliseconds; upsert figures are
/// null in a read-only run, select figures null when nothing could be read.
#[derive(Debug, Serialize, JsonSchema)]
pub struct LatencyOutput {
    /// The backend checked.
    pub backend: Backend,
    /// True in a `--read-only` run: only SELECTs ran.
    pub read_only: bool,
    /// The table measured: the temporary probe table, or the metadata table when read-only.
    pub table: String,
    /// Whether `table` is a temporary table (not WAL-logged; see the step documentation).
    pub temporary: bool,
    /// Operations of each kind asked for (after the cap).
    pub requested_operations: u32,
    /// Operations of each kind completed (the smaller count when a kind stopped early).
    pub operations: u32,
    /// Upserts completed.
    pub upsert_operations: u32,
    /// Point SELECTs completed.
    pub select_operations: u32,
    /// Bytes per written value.
    pub value_size: usize,
    /// True when the run stopped early to finish before its deadline.
    pub truncated: bool,
    /// Median upsert latency.
    pub upsert_p50_ms: Option<f64>,
    /// 90th percentile upsert latency.
    pub upsert_p90_ms: Option<f64>,
    /// 99th percentile upsert latency.
    pub upsert_p99_ms: Option<f64>,
    /// Slowest upsert.
    pub upsert_max_ms: Option<f64>,
    /// Median point-select latency.
    pub select_p50_ms: Option<f64>,
    /// 90th percentile point-select latency.
    pub select_p90_ms: Option<f64>,
    /// 99th percentile point-select latency.
    pub select_p99_ms: Option<f64>,
    /// Slowest point select.
    pub select_max_ms: Option<f64>,
    /// Things to know.
    pub notes: Vec<String>,
}

impl Step for Latency {
    const NAME: &'static str = "sql.latency";
    const SUMMARY: &'static str =
        "Measure upsert and point-select latency of a SQL metadata store (temporary table)";
    const SHAREABLE: bool = true;
    const EXAMPLE: &'static str = "backend: mysql_store\n\
store_addr: mysql://greptime:password@127.0.0.1:3306/greptime\n\
operations: 200\nvalue_size: 256\n";
    type Params = LatencyParams;
    type Output = LatencyOutput;

    async fn run(&self, params: Self::Params, cx: &StepCx) -> Result<Self::Output, StepError> {
        let backend = params.store.backend;
        check_name(backend, "meta_table_name", &params.meta.table)?;
        let mut notes = Vec::new();
        let operations = params.operations.clamp(1, MAX_OPERATIONS);
        if operations != params.operations {
            notes.push(format!(
                "operations {} capped to {operations}",
                params.operations
            ));
        }
        let value_size = params.value_size.min(MAX_VALUE_SIZE);
        if value_size != params.value_size {
            notes.push(format!(
                "value_size {} capped to {value_size}",
                params.value_size
            ));
        }
        let connection = client::connect(&params.store, cx).await?;
        let shared = Arc::new(Mutex::new(Some(connection.conn)));
        let mut out = LatencyOutput {
            backend,
            read_only: cx.read_only,
            table: String::new(),
            temporary: !cx.read_only,
            requested_operations: operations,
            operations: 0,
            upsert_operations: 0,
            select_operations: 0,
            value_size,
            truncated: false,
            upsert_p50_ms: None,
            upsert_p90_ms: None,
            upsert_p99_ms: None,
            upsert_max_ms: None,
            select_p50_ms: None,
            select_p90_ms: None,
            select_p99_ms: None,
            select_max_ms: None,
            notes,
        };
        let result = if cx.read_only {
            let table = quoted(backend, params.meta.schema(), &params.meta.table);
            out.table = table.clone();
            within(
                cx,
                "measuring select latency",
                read_only_run(&shared, &table, operations, cx, &mut out),
            )
            .await
        } else {
            let table = probe_name(&cx.run_id, "_lat");
            out.table = table.clone();
            cx.on_cleanup(
                format!("temporary table {table} (session-scoped)"),
                drop_temporary(Arc::clone(&shared), table.clone()),
            );
            within(
                cx,
                "measuring upsert and select latency",
                probe_run(&shared, &table, operations, value_size, cx, &mut out),
            )
            .await
        };
        if cx.read_only {
            if let Some(conn) = shared.lock().await.take() {
                conn.close().await;
            }
        } else {
            // Dropped here, however the measurement ended; the cleanup then finds nothing.
            let _ = drop_temporary(Arc::clone(&shared), out.table.clone()).await;
        }
        result?;
        out.operations = if cx.read_only {
            out.select_operations
        } else {
            out.upsert_operations.min(out.select_operations)
        };
        Ok(out)
    }

    fn details(output: &Self::Output) -> Vec<String> {
        output.notes.iter().map(|n| format!("note: {n}")).collect()
    }
}

impl LatencyOutput {
    /// Counts and summarizes the latencies measured (no upserts in a read-only run), and
    /// whether the measurement stopped early.
    fn record(&mut self, truncated: bool, upserts: &[f64], selects: &[f64]) {
        self.truncated = truncated;
        self.upsert_operations = upserts.len() as u32;
        self.select_operations = selects.len() as u32;
        [
            self.upsert_p50_ms,
            self.upsert_p90_ms,
            self.upsert_p99_ms,
            self.upsert_max_ms,
        ] = figures(upserts);
        [
            self.select_p50_ms,
            self.select_p90_ms,
            self.select_p99_ms,
            self.select_max_ms,
        ] = figures(selects);
    }
}

/// p50, p90, p99 and max of latencies in milliseconds, all null when there are none.
fn figures(samples: &[f64]) -> [Option<f64>; 4] {
    LatencySummary::of(samples).map_or([None; 4], |s| [s.p50, s.p90, s.p99, s.max].map(Some))
}

/// Drops the temporary table on the session that owns it (the only one that can see it) and
/// closes that session. Never fails: a temporary table goes with its session anyway.
async fn drop_temporary(shared: Arc<Mutex<Option<SqlConn>>>, table: String) -> Result<(), String> {
    let Some(mut conn) = shared.lock().await.take() else {
        return Ok(());
    };
    let drop = match conn {
        SqlConn::Pg(_) => format!("DROP TABLE IF EXISTS pg_temp.\"{table}\""),
        SqlConn::My(_) => format!("DROP TEMPORARY TABLE IF EXISTS `{table}`"),
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), conn.exec(&drop)).await;
    conn.close().await;
    Ok(())
}

/// Whether to stop before the deadline: leave at least a second, and time for a few more
/// of the slowest operation seen.
fn near_deadline(cx: &StepCx, slowest_ms: f64) -> bool {
    let reserve =
        Duration::from_millis(1000).max(Duration::from_secs_f64(slowest_ms * 3.0 / 1000.0));
    cx.remaining() < reserve
}

/// Times statements one at a time and stops every run of them when the deadline comes close.
struct Stopwatch<'a> {
    cx: &'a StepCx,
    backend: Backend,
    /// The slowest statement so far, in milliseconds.
    slowest: f64,
    /// Whether a run stopped early.
    truncated: bool,
}

impl<'a> Stopwatch<'a> {
    fn new(cx: &'a StepCx, backend: Backend) -> Self {
        Self {
            cx,
            backend,
            slowest: 0.0,
            truncated: false,
        }
    }

    /// Runs `statement` for `key(0)`, `key(1)`, … up to `operations` times unless the
    /// deadline comes close, and returns the latency of each in milliseconds.
    async fn time(
        &mut self,
        conn: &mut SqlConn,
        statement: &Statement,
        operations: u32,
        key: impl Fn(u32) -> Vec<u8>,
    ) -> Result<Vec<f64>, StepError> {
        let mut samples = Vec::with_capacity(operations as usize);
        for i in 0..operations {
            if near_deadline(self.cx, self.slowest) {
                self.truncated = true;
                break;
            }
            let key = key(i);
            let started = Instant::now();
            statement
                .run(conn, &key)
                .await
                .map_err(|e| query_error(self.backend, &e, statement.what()))?;
            let ms = millis(started.elapsed());
            self.slowest = self.slowest.max(ms);
            samples.push(ms);
        }
        Ok(samples)
    }
}

/// A statement of metasrv's that is measured, as SQL of the connection's backend.
enum Statement {
    /// The upsert of a value (on PostgreSQL it also returns the previous value, as metasrv's
    /// does).
    Upsert { sql: String, value: Vec<u8> },
    /// The point SELECT.
    PointSelect { sql: String },
}

impl Statement {
    /// The statement's name in errors.
    fn what(&self) -> &'static str {
        match self {
            Statement::Upsert { .. } => "upsert",
            Statement::PointSelect { .. } => "point select",
        }
    }

    /// Runs the statement for `key`.
    async fn run(&self, conn: &mut SqlConn, key: &[u8]) -> Result<(), sqlx::Error> {
        match (self, conn) {
            (Statement::Upsert { sql, value }, SqlConn::Pg(pg)) => sqlx::query(sql)
                .bind(key)
                .bind(key)
                .bind(value)
                .fetch_all(&mut *pg)
                .await
                .map(drop),
            (Statement::Upsert { sql, value }, SqlConn::My(my)) => sqlx::query(sql)
                .bind(key)
                .bind(value)
                .execute(&mut *my)
                .await
                .map(drop),
            (Statement::PointSelect { sql }, SqlConn::Pg(pg)) => sqlx::query(sql)
                .bind(key)
                .fetch_optional(&mut *pg)
                .await
                .map(drop),
            (Statement::PointSelect { sql }, SqlConn::My(my)) => sqlx::query(sql)
                .bind(key)
                .fetch_optional(&mut *my)
                .await
                .map(drop),
        }
    }
}

/// Creates the temporary probe table `table` with metasrv's DDL, then times `operations`
/// upserts (the first half insert, the second half update) and as many point SELECTs.
async fn probe_run(
    shared: &Arc<Mutex<Option<SqlConn>>>,
    table: &str,
    operations: u32,
    value_size: usize,
    cx: &StepCx,
    out: &mut LatencyOutput,
) -> Result<(), StepError> {
    let backend = out.backend;
    let mut guard = shared.lock().await;
    let conn = guard.as_mut().expect("the session is open");
    let distinct = (operations / 2).max(1);
    let key = |i: u32| format!("{}/{}", probe_key(&cx.run_id), i % distinct).into_bytes();
    let value: Vec<u8> = (0..value_size).map(|i| (i % 251) as u8).collect();
    let quoted_table = quoted(backend, None, table);
    let create = format!(
        "CREATE TEMPORARY TABLE {quoted_table}{}",
        kv_columns(backend)
    );
    conn.exec(&create)
        .await
        .map_err(|e| create_error(backend, &e, table))?;
    let upsert = Statement::Upsert {
        sql: upsert(backend, &quoted_table),
        value,
    };
    let select = Statement::PointSelect {
        sql: point_select(backend, &quoted_table),
    };
    let mut watch = Stopwatch::new(cx, backend);
    let upserts = watch.time(conn, &upsert, operations, key).await?;
    let selects = watch.time(conn, &select, operations, key).await?;
    drop(guard);
    out.record(watch.truncated, &upserts, &selects);
    Ok(())
}

fn create_error(backend: Backend, e: &sqlx::Error, table: &str) -> StepError {
    let error = query_error(backend, e, &format!("creating the temporary table {table}"));
    if is_permission_denied(e) {
        let hint = match backend {
            Backend::PostgresStore => {
                "grant the role TEMPORARY on the database (PostgreSQL grants it to PUBLIC by \
                 default), or run without --include-performance"
            }
            Backend::MysqlStore => {
                "GRANT CREATE TEMPORARY TABLES ON the database TO the user, or run without \
                 --include-performance"
            }
        };
        error.with_hint(hint)
    } else {
        error
    }
}

/// Times `operations` point SELECTs of this run's probe key on the existing metadata table
/// `table` (quoted), writing nothing.
async fn read_only_run(
    shared: &Arc<Mutex<Option<SqlConn>>>,
    table: &str,
    operations: u32,
    cx: &StepCx,
    out: &mut LatencyOutput,
) -> Result<(), StepError> {
    let mut guard = shared.lock().await;
    let conn = guard.as_mut().expect("the session is open");
    let key = probe_key(&cx.run_id).into_bytes();
    let exists = match conn {
        SqlConn::Pg(pg) => sqlx::query_scalar::<_, bool>("SELECT to_regclass($1) IS NOT NULL")
            .bind(table)
            .fetch_one(&mut *pg)
            .await
            .unwrap_or(false),
        SqlConn::My(my) => sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND \
             TABLE_NAME = ?",
        )
        .bind(table.trim_matches('`'))
        .fetch_one(&mut *my)
        .await
        .map(|n| n > 0)
        .unwrap_or(false),
    };
    if !exists {
        out.notes.push(format!(
            "read-only run and {table} does not exist: nothing to measure"
        ));
        return Ok(());
    }
    let select = Statement::PointSelect {
        sql: point_select(out.backend, table),
    };
    let mut watch = Stopwatch::new(cx, out.backend);
    let selects = watch
        .time(conn, &select, operations, |_| key.clone())
        .await?;
    out.record(watch.truncated, &[], &selects);
    Ok(())
}
