//! `sql.latency`: upsert and point-select latency of the metadata store, measured with
//! metasrv's statements.

use std::sync::Arc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::client::{
    self, check_name, my_exec, percentile, pg_exec, pg_ident, probe_key, probe_name, query_error,
    within, SqlConn, Store,
};
use super::{default_table, Backend, BackendTls};
use crate::plugins::{millis, Step, StepCx, StepError};

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
    /// metasrv `backend`: `postgres_store` or `mysql_store`.
    pub backend: Backend,
    /// metasrv `store_addrs[0]`: a `postgres://` URI or libpq keyword string, or a
    /// `mysql://` URL (see `sql.connect`).
    pub store_addr: String,
    /// metasrv `[backend_tls]` (`mode`, `ca_cert_path`, `cert_path`, `key_path`), applied as
    /// metasrv applies it; default mode `prefer`.
    #[serde(default)]
    pub tls: BackendTls,
    /// metasrv `meta_table_name` (default `greptime_metakv`): read in `--read-only` runs.
    #[serde(default = "default_table")]
    pub table: String,
    /// metasrv `meta_schema_name` (PostgreSQL only; empty or null: none).
    #[serde(default)]
    pub schema: Option<String>,
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
    const EXAMPLE: &'static str = "backend: mysql_store\n\
store_addr: mysql://greptime:password@127.0.0.1:3306/greptime\n\
operations: 200\nvalue_size: 256\n";
    type Params = LatencyParams;
    type Output = LatencyOutput;

    async fn run(&self, params: Self::Params, cx: &StepCx) -> Result<Self::Output, StepError> {
        check_name(params.backend, "meta_table_name", &params.table)?;
        let schema = params.schema.clone().filter(|s| !s.is_empty());
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
        let store = Store {
            backend: params.backend,
            store_addr: &params.store_addr,
            tls: &params.tls,
        };
        let session = client::connect(&store, cx).await?;
        let shared = Arc::new(Mutex::new(Some(session.conn)));
        let mut out = LatencyOutput {
            backend: params.backend,
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
            let table = match params.backend {
                Backend::PostgresStore => pg_ident(schema.as_deref(), &params.table),
                Backend::MysqlStore => format!("`{}`", params.table),
            };
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
                probe_run(
                    &shared,
                    params.backend,
                    &table,
                    operations,
                    value_size,
                    cx,
                    &mut out,
                ),
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

/// Drops the temporary table on the session that owns it (the only one that can see it) and
/// closes that session. Never fails: a temporary table goes with its session anyway.
async fn drop_temporary(shared: Arc<Mutex<Option<SqlConn>>>, table: String) -> Result<(), String> {
    let Some(mut conn) = shared.lock().await.take() else {
        return Ok(());
    };
    let drop = async {
        match &mut conn {
            SqlConn::Pg(pg) => {
                pg_exec(pg, &format!("DROP TABLE IF EXISTS pg_temp.\"{table}\"")).await
            }
            SqlConn::My(my) => {
                my_exec(my, &format!("DROP TEMPORARY TABLE IF EXISTS `{table}`")).await
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), drop).await;
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

fn fill(
    samples: &mut [f64],
    p50: &mut Option<f64>,
    p90: &mut Option<f64>,
    p99: &mut Option<f64>,
    max: &mut Option<f64>,
) {
    if samples.is_empty() {
        return;
    }
    samples.sort_by(f64::total_cmp);
    let sorted = &*samples;
    *p50 = Some(percentile(sorted, 0.5));
    *p90 = Some(percentile(sorted, 0.9));
    *p99 = Some(percentile(sorted, 0.99));
    *max = sorted.last().copied();
}

#[allow(clippy::too_many_arguments)]
async fn probe_run(
    shared: &Arc<Mutex<Option<SqlConn>>>,
    backend: Backend,
    table: &str,
    operations: u32,
    value_size: usize,
    cx: &StepCx,
    out: &mut LatencyOutput,
) -> Result<(), StepError> {
    let mut guard = shared.lock().await;
    let conn = guard.as_mut().expect("the session is open");
    let distinct = (operations / 2).max(1);
    let key = |i: u32| format!("{}/{}", probe_key(&cx.run_id), i % distinct).into_bytes();
    let value: Vec<u8> = (0..value_size).map(|i| (i % 251) as u8).collect();
    let mut upserts = Vec::with_capacity(operations as usize);
    let mut selects = Vec::with_capacity(operations as usize);
    let mut slowest = 0.0f64;

    match conn {
        SqlConn::Pg(pg) => {
            pg_exec(
                pg,
                &format!("CREATE TEMPORARY TABLE \"{table}\"(k bytea PRIMARY KEY, v bytea)"),
            )
            .await
            .map_err(|e| create_error(backend, &e, table))?;
            let upsert = format!(
                "WITH prev AS (SELECT k,v FROM \"{table}\" WHERE k IN ($1)), update AS (INSERT \
                 INTO \"{table}\" (k, v) VALUES ($2,$3) ON CONFLICT (k) DO UPDATE SET v = \
                 excluded.v) SELECT k, v FROM prev;"
            );
            let select = format!("SELECT k, v FROM \"{table}\" WHERE k = $1");
            for i in 0..operations {
                if near_deadline(cx, slowest) {
                    out.truncated = true;
                    break;
                }
                let k = key(i);
                let started = Instant::now();
                sqlx::query(&upsert)
                    .bind(&k)
                    .bind(&k)
                    .bind(&value)
                    .fetch_all(&mut *pg)
                    .await
                    .map_err(|e| query_error(backend, &e, "upsert"))?;
                let ms = millis(started.elapsed());
                slowest = slowest.max(ms);
                upserts.push(ms);
            }
            for i in 0..operations {
                if near_deadline(cx, slowest) {
                    out.truncated = true;
                    break;
                }
                let started = Instant::now();
                sqlx::query(&select)
                    .bind(key(i))
                    .fetch_optional(&mut *pg)
                    .await
                    .map_err(|e| query_error(backend, &e, "point select"))?;
                let ms = millis(started.elapsed());
                slowest = slowest.max(ms);
                selects.push(ms);
            }
        }
        SqlConn::My(my) => {
            my_exec(
                my,
                &format!(
                    "CREATE TEMPORARY TABLE `{table}`(k VARBINARY(3072) PRIMARY KEY, v MEDIUMBLOB)"
                ),
            )
            .await
            .map_err(|e| create_error(backend, &e, table))?;
            let upsert = format!(
                "INSERT INTO `{table}` (k, v) VALUES (?, ?) ON DUPLICATE KEY UPDATE v = VALUES(v);"
            );
            let select = format!("SELECT k, v FROM `{table}` WHERE k = ?");
            for i in 0..operations {
                if near_deadline(cx, slowest) {
                    out.truncated = true;
                    break;
                }
                let started = Instant::now();
                sqlx::query(&upsert)
                    .bind(key(i))
                    .bind(&value)
                    .execute(&mut *my)
                    .await
                    .map_err(|e| query_error(backend, &e, "upsert"))?;
                let ms = millis(started.elapsed());
                slowest = slowest.max(ms);
                upserts.push(ms);
            }
            for i in 0..operations {
                if near_deadline(cx, slowest) {
                    out.truncated = true;
                    break;
                }
                let started = Instant::now();
                sqlx::query(&select)
                    .bind(key(i))
                    .fetch_optional(&mut *my)
                    .await
                    .map_err(|e| query_error(backend, &e, "point select"))?;
                let ms = millis(started.elapsed());
                slowest = slowest.max(ms);
                selects.push(ms);
            }
        }
    }
    drop(guard);
    out.upsert_operations = upserts.len() as u32;
    out.select_operations = selects.len() as u32;
    fill(
        &mut upserts,
        &mut out.upsert_p50_ms,
        &mut out.upsert_p90_ms,
        &mut out.upsert_p99_ms,
        &mut out.upsert_max_ms,
    );
    fill(
        &mut selects,
        &mut out.select_p50_ms,
        &mut out.select_p90_ms,
        &mut out.select_p99_ms,
        &mut out.select_max_ms,
    );
    Ok(())
}

fn create_error(backend: Backend, e: &sqlx::Error, table: &str) -> StepError {
    let error = query_error(backend, e, &format!("creating the temporary table {table}"));
    if client::is_permission_denied(e) {
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
    let mut selects = Vec::new();
    let mut slowest = 0.0f64;
    let backend = out.backend;
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
    let select = match conn {
        SqlConn::Pg(_) => format!("SELECT k, v FROM {table} WHERE k = $1"),
        SqlConn::My(_) => format!("SELECT k, v FROM {table} WHERE k = ?"),
    };
    for _ in 0..operations {
        if near_deadline(cx, slowest) {
            out.truncated = true;
            break;
        }
        let started = Instant::now();
        let result = match conn {
            SqlConn::Pg(pg) => sqlx::query(&select)
                .bind(&key)
                .fetch_optional(&mut *pg)
                .await
                .map(drop),
            SqlConn::My(my) => sqlx::query(&select)
                .bind(&key)
                .fetch_optional(&mut *my)
                .await
                .map(drop),
        };
        result.map_err(|e| query_error(backend, &e, "point select"))?;
        let ms = millis(started.elapsed());
        slowest = slowest.max(ms);
        selects.push(ms);
    }
    out.select_operations = selects.len() as u32;
    fill(
        &mut selects,
        &mut out.select_p50_ms,
        &mut out.select_p90_ms,
        &mut out.select_p99_ms,
        &mut out.select_max_ms,
    );
    Ok(())
}
