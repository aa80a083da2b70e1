//! `sql.*` steps against the real PostgreSQL 15 and MariaDB servers started by
//! `scripts/services.sh` (`GST_PG_*`, `GST_MYSQL_*`, `GST_TLS_*`). A missing variable fails the
//! test under CI=true and skips it otherwise.
//!
//! Every test that needs tables or schemas creates its own, named `gst_<uuid>`, through the
//! admin URL and drops them at the end, so the tests run concurrently. After each scenario,
//! passing or failing, the test lists the store through the admin URL: no object named after
//! the run id may remain, the fixture tables must hold exactly the rows they held before, and
//! the objects a failing check must not create are absent.

use std::collections::BTreeSet;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::str::FromStr;
use std::time::Duration;

mod common;

use common::steps::{
    assert_example_parses, assert_matches_output_schema, closed_port, run_cleanup, run_step, step,
    TestCx,
};
use futures::FutureExt;
use greptime_self_test::config::Component;
use greptime_self_test::plugins::{CleanupRegistry, ErrorKind, StepError, StepOutput};
use serde_json::{json, Value};
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection, Executor, Row};

const STEPS: [&str; 5] = [
    "sql.connect",
    "sql.metadata_table",
    "sql.privileges",
    "sql.election",
    "sql.latency",
];

/// The value of a `GST_*` variable. Missing: panics under CI=true, else notes the skip.
fn var(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => Some(value),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but {name} is not set: run the tests through scripts/services.sh"
            );
            eprintln!("note: {name} is not set (start scripts/services.sh); test skipped");
            None
        }
    }
}

/// Gets `GST_*` variables or returns from the test.
macro_rules! need {
    ($($name:literal),+) => {
        ($(match var($name) { Some(v) => v, None => return },)+)
    };
}

/// A unique lower-case id for names and run ids.
fn uid() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..16].to_string()
}

/// Runs a step in a fresh context with a 20 s budget.
async fn run(
    name: &str,
    params: Value,
    run_id: &str,
    read_only: bool,
) -> Result<StepOutput, StepError> {
    run_within(name, params, run_id, read_only, Duration::from_secs(20)).await
}

/// Runs a step in a fresh context with `budget` until its deadline, then its cleanup.
async fn run_within(
    name: &str,
    params: Value,
    run_id: &str,
    read_only: bool,
    budget: Duration,
) -> Result<StepOutput, StepError> {
    let cleanup = CleanupRegistry::default();
    let cx = TestCx::new(Component::Metasrv, run_id)
        .budget(budget)
        .read_only(read_only)
        .cleanup(&cleanup)
        .build();
    let result = run_step(name, params, &cx).await;
    run_cleanup(&cleanup).await;
    if let Ok(out) = &result {
        assert_matches_output_schema(name, &out.value);
    }
    result
}

/// Runs a step that must succeed and returns its output.
async fn ok(name: &str, params: Value, run_id: &str) -> Value {
    match run(name, params, run_id, false).await {
        Ok(out) => out.value,
        Err(e) => panic!(
            "{name} failed: {:?}: {} (hint: {:?})",
            e.kind, e.message, e.hint
        ),
    }
}

/// Runs a step that must fail with `kind` and returns the error.
async fn fails(name: &str, params: Value, run_id: &str, kind: ErrorKind) -> StepError {
    match run(name, params, run_id, false).await {
        Ok(out) => panic!("{name} passed, expected {kind:?}: {}", out.value),
        Err(e) => {
            assert_eq!(e.kind, kind, "{name}: {} (hint: {:?})", e.message, e.hint);
            e
        }
    }
}

/// The error text a person reads: message and hint.
fn text(e: &StepError) -> String {
    format!("{} | {}", e.message, e.hint.as_deref().unwrap_or(""))
}

/// The password of a URL (`scheme://user:password@…`).
fn password_of(url: &str) -> String {
    let rest = url.split_once("://").unwrap().1;
    let userinfo = rest.split('@').next().unwrap();
    userinfo
        .split_once(':')
        .map(|(_, p)| p.to_string())
        .unwrap_or_default()
}

/// `url` with another password.
fn with_password(url: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (userinfo, host) = rest.split_once('@').unwrap();
    let user = userinfo.split(':').next().unwrap();
    format!("{scheme}://{user}:{password}@{host}")
}

/// `url` with another path (database), keeping the query.
fn with_database(url: &str, database: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let query = tail
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    format!("{scheme}://{authority}/{database}{query}")
}

/// `url` with `param` appended to its query.
fn with_param(url: &str, param: &str) -> String {
    if url.contains('?') {
        format!("{url}&{param}")
    } else {
        format!("{url}?{param}")
    }
}

/// `url` pointing at another port.
fn with_port(url: &str, port: u16) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (userinfo, hostpath) = rest.split_once('@').unwrap();
    let (hostport, path) = hostpath.split_once('/').unwrap_or((hostpath, ""));
    let host = hostport.rsplit_once(':').map_or(hostport, |(h, _)| h);
    format!("{scheme}://{userinfo}@{host}:{port}/{path}")
}

/// Asserts no message or hint repeats `password`.
fn assert_no_password(e: &StepError, password: &str) {
    assert!(!password.is_empty());
    assert!(!text(e).contains(password), "password leaked: {}", text(e));
}

/// Runs `body`, then `cleanup`, even when `body` panics.
async fn guarded<C: Future<Output = ()>>(body: impl Future<Output = ()>, cleanup: C) {
    let outcome = AssertUnwindSafe(body).catch_unwind().await;
    cleanup.await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

// ------------------------------------------------------------------------------------------
// PostgreSQL fixtures

/// An admin connection to the `greptime_meta` database.
async fn pg_admin(admin_url: &str) -> PgConnection {
    PgConnectOptions::from_str(admin_url)
        .unwrap()
        .database("greptime_meta")
        .disable_statement_logging()
        .connect()
        .await
        .expect("admin connection to PostgreSQL")
}

async fn pg_exec(admin_url: &str, sql: &str) {
    let mut conn = pg_admin(admin_url).await;
    conn.execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    conn.close().await.ok();
}

/// Schemas and tables of `greptime_meta` whose names contain any of `needles`, plus every
/// row (k, v) of the given fixture tables: what must not change across a scenario.
async fn pg_state(
    admin_url: &str,
    needles: &[&str],
    tables: &[&str],
) -> (BTreeSet<String>, Vec<Vec<(Vec<u8>, Vec<u8>)>>) {
    let mut conn = pg_admin(admin_url).await;
    let mut objects = BTreeSet::new();
    for needle in needles {
        let rows = sqlx::query(
            "SELECT 'schema ' || nspname FROM pg_namespace WHERE position($1 in nspname) > 0 \
             UNION ALL SELECT 'table ' || n.nspname || '.' || c.relname FROM pg_class c \
               JOIN pg_namespace n ON n.oid = c.relnamespace \
               WHERE position($1 in c.relname) > 0 AND c.relkind IN ('r', 'p') \
                 AND c.relpersistence <> 't'",
        )
        .bind(needle)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        objects.extend(rows.iter().map(|r| r.get::<String, _>(0)));
    }
    let mut contents = Vec::new();
    for table in tables {
        let rows = sqlx::query(&format!("SELECT k, v FROM {table} ORDER BY k"))
            .fetch_all(&mut conn)
            .await
            .unwrap();
        contents.push(rows.iter().map(|r| (r.get(0), r.get(1))).collect());
    }
    conn.close().await.ok();
    (objects, contents)
}

fn pg_params(url: &str, extra: Value) -> Value {
    let mut params = json!({"backend": "postgres_store", "store_addr": url});
    params
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    params
}

// ------------------------------------------------------------------------------------------
// MySQL fixtures

async fn my_admin(admin_url: &str) -> MySqlConnection {
    MySqlConnectOptions::from_str(admin_url)
        .unwrap()
        .database("greptime")
        .disable_statement_logging()
        .connect()
        .await
        .expect("admin connection to MySQL")
}

async fn my_exec(admin_url: &str, sql: &str) {
    let mut conn = my_admin(admin_url).await;
    conn.execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    conn.close().await.ok();
}

/// Tables of the `greptime` database whose names contain any of `needles`, plus every row
/// of the given fixture tables.
async fn my_state(
    admin_url: &str,
    needles: &[&str],
    tables: &[&str],
) -> (BTreeSet<String>, Vec<Vec<(Vec<u8>, Vec<u8>)>>) {
    let mut conn = my_admin(admin_url).await;
    let mut objects = BTreeSet::new();
    for needle in needles {
        let rows = sqlx::query(
            "SELECT CAST(TABLE_NAME AS CHAR) FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = 'greptime' AND LOCATE(?, TABLE_NAME) > 0",
        )
        .bind(needle)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        objects.extend(rows.iter().map(|r| r.get::<String, _>(0)));
    }
    let mut contents = Vec::new();
    for table in tables {
        let rows = sqlx::query(&format!("SELECT k, v FROM `{table}` ORDER BY k"))
            .fetch_all(&mut conn)
            .await
            .unwrap();
        contents.push(rows.iter().map(|r| (r.get(0), r.get(1))).collect());
    }
    conn.close().await.ok();
    (objects, contents)
}

fn my_params(url: &str, extra: Value) -> Value {
    let mut params = json!({"backend": "mysql_store", "store_addr": url});
    params
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    params
}

// ------------------------------------------------------------------------------------------
// Parameters

#[test]
fn examples_parse_and_params_are_strict() {
    for name in STEPS {
        assert_example_parses(name);
    }
    let connect = step("sql.connect");
    assert!(connect
        .check_params(&json!({"backend": "etcd_store", "store_addr": "x"}))
        .is_err());
    assert!(connect
        .check_params(
            &json!({"backend": "mysql_store", "store_addr": "x", "tls": {"mode": "verify-ca"}})
        )
        .is_err());
    assert!(connect
        .check_params(&json!({"backend": "mysql_store", "store_addr": "x", "timeout": "1s"}))
        .is_err());
    // metasrv's whole [backend_tls] table is accepted, `watch` included.
    assert!(connect
        .check_params(&json!({"backend": "postgres_store", "store_addr": "x",
            "tls": {"mode": "verify_full", "ca_cert_path": "", "cert_path": "", "key_path": "", "watch": false}}))
        .is_ok());
    assert!(step("sql.metadata_table")
        .check_params(&json!({"backend": "postgres_store", "store_addr": "x", "schema": null}))
        .is_ok());
}

/// A server that accepts TCP connections and never says a word: connecting must time out
/// within the step's budget (or the connection string's connect_timeout), as a Timeout.
#[tokio::test]
async fn silent_servers_time_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let _held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let run_id = format!("silent-{}", uid());
    for params in [
        my_params(
            &format!("mysql://u:secret-pw@127.0.0.1:{port}/db"),
            json!({}),
        ),
        pg_params(
            &format!("postgresql://u:secret-pw@127.0.0.1:{port}/db"),
            json!({}),
        ),
    ] {
        let started = std::time::Instant::now();
        let e = run_within(
            "sql.connect",
            params,
            &run_id,
            false,
            Duration::from_millis(1500),
        )
        .await
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Timeout, "{}", text(&e));
        assert!(
            e.message.contains(&format!("127.0.0.1:{port}")),
            "{}",
            text(&e)
        );
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "the step overran its deadline"
        );
        assert_no_password(&e, "secret-pw");
    }
    let e = run_within(
        "sql.connect",
        pg_params(
            &format!("host=127.0.0.1 port={port} user=u connect_timeout=1"),
            json!({}),
        ),
        &run_id,
        false,
        Duration::from_secs(10),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout);
    assert!(e.message.contains("connect_timeout=1"), "{}", text(&e));
}

// ------------------------------------------------------------------------------------------
// PostgreSQL

#[tokio::test]
async fn pg_healthy_store_passes_and_leaves_nothing() {
    let (admin, rw) = need!("GST_PG_ADMIN_URL", "GST_PG_RW_URL");
    let id = uid();
    let table = format!("gst_{id}");
    let run_id = format!("pg-ok-{id}");
    let before = pg_state(&admin, &[&id], &[]).await;

    let out = ok("sql.connect", pg_params(&rw, json!({})), &run_id).await;
    assert_eq!(out["backend"], "postgres_store");
    assert_eq!(out["user"], "gt_rw");
    assert_eq!(out["database"], "greptime_meta");
    assert!(out["version_num"].as_u64().unwrap() >= 150_000, "{out}");
    assert!(out["server_version"].as_str().unwrap().starts_with("15"));
    assert_eq!(out["election_supported"], true);
    assert_eq!(out["version_warning"], Value::Null);
    assert_eq!(out["is_mariadb"], false);
    // sslmode defaults to prefer and the server offers TLS.
    assert_eq!(out["tls"], true, "{out}");
    assert_eq!(out["address_form"], "uri");
    assert!(out["connect_ms"].as_f64().unwrap() > 0.0);

    let params = pg_params(&rw, json!({"table": table}));
    let out = ok("sql.metadata_table", params.clone(), &run_id).await;
    assert_eq!(out["table_exists"], false);
    assert_eq!(out["can_create_table"], true);
    assert_eq!(out["schema"], "public");
    assert_eq!(out["schema_source"], "search_path");
    assert_eq!(out["v_is_blob"], false);

    let out = ok("sql.privileges", params.clone(), &run_id).await;
    assert_eq!(out["method"], "rolled_back_transaction");
    assert_eq!(out["read_only"], false);
    assert_eq!(
        out["proven"],
        json!(["create_table", "insert", "update", "select", "delete"])
    );
    assert_eq!(out["create_schema"], Value::Null);
    assert_eq!(out["read_back"], true);
    assert_eq!(out["probe_key"], format!("__greptime_self_test/{run_id}"));

    let out = ok(
        "sql.election",
        pg_params(
            &rw,
            json!({"table": table, "lock_id": 7_000_000_001u64, "key_prefix": ""}),
        ),
        &run_id,
    )
    .await;
    assert_eq!(out["lock_held"], false);
    assert_eq!(out["election_table_exists"], false);
    assert_eq!(out["election_leader"], Value::Null);
    assert_eq!(out["idle_session_timeout_supported"], true);
    assert!(out.get("max_execution_time_supported").is_none(), "{out}");

    let out = ok(
        "sql.latency",
        pg_params(
            &rw,
            json!({"table": table, "operations": 20, "value_size": 64}),
        ),
        &run_id,
    )
    .await;
    assert_eq!(out["operations"], 20);
    assert_eq!(out["temporary"], true);
    for kind in ["upsert", "select"] {
        let p50 = out[format!("{kind}_p50_ms")].as_f64().unwrap();
        let max = out[format!("{kind}_max_ms")].as_f64().unwrap();
        assert!(p50 > 0.0 && p50 <= max, "{out}");
    }

    assert_eq!(
        pg_state(&admin, &[&id], &[]).await,
        before,
        "the checks left something"
    );
}

#[tokio::test]
async fn pg_existing_table_rows_are_unchanged_and_read_only_writes_nothing() {
    let (admin, rw) = need!("GST_PG_ADMIN_URL", "GST_PG_RW_URL");
    let id = uid();
    let schema = format!("gst_{id}");
    let table = format!("gst_{id}");
    let qualified = format!("\"{schema}\".\"{table}\"");
    let prefix = format!("gst-{id}/");
    pg_exec(
        &admin,
        &format!(
            "CREATE SCHEMA \"{schema}\" AUTHORIZATION gt_rw; \
             CREATE TABLE {qualified}(k bytea PRIMARY KEY, v bytea); \
             ALTER TABLE {qualified} OWNER TO gt_rw; \
             INSERT INTO {qualified} VALUES ('\\x00ff'::bytea, '\\xdeadbeef'::bytea), \
               (convert_to('__greptime_self_test/other-run', 'UTF8'), 'keep me'::bytea), \
               (convert_to('{prefix}__metasrv_election', 'UTF8'), convert_to('10.9.8.7:3002' || \
                 '||__metadata_lease_sep||' || TO_CHAR((CURRENT_TIMESTAMP AT TIME ZONE \
                 current_setting('log_timezone')) + INTERVAL '60 seconds', 'YYYY-MM-DD HH24:MI:SS.MS'), 'UTF8')), \
               (convert_to('{prefix}__metasrv_election_candidates/10.9.8.7:3002', 'UTF8'), convert_to('{{}}' || \
                 '||__metadata_lease_sep||' || TO_CHAR((CURRENT_TIMESTAMP AT TIME ZONE \
                 current_setting('log_timezone')) + INTERVAL '600 seconds', 'YYYY-MM-DD HH24:MI:SS.MS'), 'UTF8'))"
        ),
    )
    .await;
    let body = async {
        let run_id = format!("pg-exist-{id}");
        let before = pg_state(&admin, &[&id, &run_id], &[&qualified]).await;
        let params = pg_params(
            &rw,
            json!({"table": table, "schema": schema, "auto_create_schema": true}),
        );

        let out = ok("sql.metadata_table", params.clone(), &run_id).await;
        assert_eq!(out["table_exists"], true);
        assert_eq!(out["schema_exists"], true);
        assert_eq!(out["can_create_schema"], true);
        assert_eq!(out["k_type"], "bytea");
        assert_eq!(out["v_type"], "bytea");
        assert_eq!(out["k_is_unique"], true);
        assert_eq!(out["qualified_table"], qualified);

        let out = ok("sql.privileges", params.clone(), &run_id).await;
        assert_eq!(
            out["proven"],
            json!([
                "create_schema",
                "create_table",
                "insert",
                "update",
                "select",
                "delete"
            ])
        );
        assert_eq!(out["table_existed"], true);
        assert_eq!(
            pg_state(&admin, &[&id, &run_id], &[&qualified]).await,
            before
        );

        // Read-only: SELECT proven, the rest from the catalog, nothing written.
        let out = run("sql.privileges", params.clone(), &run_id, true)
            .await
            .expect("read-only privileges")
            .value;
        assert_eq!(out["read_only"], true);
        assert_eq!(out["method"], "privilege_catalog");
        assert_eq!(out["proven"], json!(["select"]));
        assert_eq!(
            out["granted"],
            json!([
                "create_schema",
                "create_table",
                "insert",
                "update",
                "delete"
            ])
        );
        let out = run(
            "sql.latency",
            pg_params(
                &rw,
                json!({"table": table, "schema": schema, "operations": 10}),
            ),
            &run_id,
            true,
        )
        .await
        .expect("read-only latency")
        .value;
        assert_eq!(out["read_only"], true);
        assert_eq!(out["upsert_p50_ms"], Value::Null);
        assert_eq!(out["select_operations"], 10);

        let out = ok(
            "sql.election",
            pg_params(
                &rw,
                json!({"table": table, "schema": schema, "lock_id": 7_000_000_002u64, "key_prefix": prefix}),
            ),
            &run_id,
        )
        .await;
        assert_eq!(out["election_table_exists"], true);
        assert_eq!(out["election_leader"], "10.9.8.7:3002");
        assert_eq!(out["leader_expired"], false);
        let left = out["leader_expires_in_ms"].as_i64().unwrap();
        assert!((30_000..=61_000).contains(&left), "{out}");
        assert_eq!(out["candidates"], json!(["10.9.8.7:3002"]));

        assert_eq!(
            pg_state(&admin, &[&id, &run_id], &[&qualified]).await,
            before
        );
    };
    guarded(
        body,
        pg_exec(&admin, &format!("DROP SCHEMA \"{schema}\" CASCADE")),
    )
    .await;
}

#[tokio::test]
async fn pg_connection_faults_are_named() {
    let (rw,) = need!("GST_PG_RW_URL");
    let password = password_of(&rw);
    let run_id = format!("pg-faults-{}", uid());

    let down = with_port(&rw, closed_port());
    let e = fails(
        "sql.connect",
        pg_params(&down, json!({})),
        &run_id,
        ErrorKind::Unreachable,
    )
    .await;
    assert!(text(&e).contains("connection refused"), "{}", text(&e));
    assert_no_password(&e, &password);

    let wrong = with_password(&rw, "not-the-password");
    let e = fails(
        "sql.connect",
        pg_params(&wrong, json!({})),
        &run_id,
        ErrorKind::Rejected,
    )
    .await;
    assert!(
        e.message
            .contains("password authentication failed for user `gt_rw`"),
        "{}",
        text(&e)
    );
    assert!(
        text(&e).contains("wrong user or password in store_addrs"),
        "{}",
        text(&e)
    );
    assert!(!text(&e).contains("not-the-password"));

    let missing_db = format!("gst_missing_{}", uid());
    let e = fails(
        "sql.metadata_table",
        pg_params(&with_database(&rw, &missing_db), json!({})),
        &run_id,
        ErrorKind::Rejected,
    )
    .await;
    assert!(
        e.message
            .contains(&format!("database `{missing_db}` does not exist")),
        "{}",
        text(&e)
    );
    assert!(text(&e).contains("CREATE DATABASE"), "{}", text(&e));
    assert_no_password(&e, &password);

    // sslmode values tokio-postgres does not know make metasrv fail to start.
    let e = fails(
        "sql.connect",
        pg_params(&with_param(&rw, "sslmode=verify-full"), json!({})),
        &run_id,
        ErrorKind::Misconfigured,
    )
    .await;
    assert!(
        text(&e).contains("invalid value for option `sslmode`"),
        "{}",
        text(&e)
    );
    let e = fails(
        "sql.connect",
        pg_params(&with_param(&rw, "sslrootcert=/ca.pem"), json!({})),
        &run_id,
        ErrorKind::Misconfigured,
    )
    .await;
    assert!(
        text(&e).contains("unknown option `sslrootcert`"),
        "{}",
        text(&e)
    );
    assert_no_password(&e, &password);

    // An etcd-style address is no PostgreSQL connection string.
    let e = fails(
        "sql.connect",
        pg_params("127.0.0.1:2379", json!({})),
        &run_id,
        ErrorKind::Misconfigured,
    )
    .await;
    assert!(text(&e).contains("postgresql://"), "{}", text(&e));
}

#[tokio::test]
async fn pg_role_without_create_on_public_is_rejected() {
    let (admin, ro) = need!("GST_PG_ADMIN_URL", "GST_PG_RO_URL");
    let id = uid();
    let table = format!("gst_{id}");
    let run_id = format!("pg-ro-{id}");
    let before = pg_state(&admin, &[&id], &[]).await;
    let params = pg_params(&ro, json!({"table": table}));

    let e = fails(
        "sql.metadata_table",
        params.clone(),
        &run_id,
        ErrorKind::Rejected,
    )
    .await;
    for needle in ["CREATE", "schema \"public\"", "PostgreSQL 15", "gt_ro"] {
        assert!(text(&e).contains(needle), "{needle}: {}", text(&e));
    }
    assert!(e
        .hint
        .as_deref()
        .unwrap()
        .contains("GRANT CREATE ON SCHEMA \"public\" TO \"gt_ro\""));

    let e = fails(
        "sql.privileges",
        params.clone(),
        &run_id,
        ErrorKind::Rejected,
    )
    .await;
    for needle in [
        "CREATE on schema \"public\"",
        "PostgreSQL 15",
        "gt_ro",
        "permission denied for schema public",
    ] {
        assert!(text(&e).contains(needle), "{needle}: {}", text(&e));
    }
    assert_no_password(&e, &password_of(&ro));

    // Read-only reaches the same verdict from the catalog.
    let e = run("sql.privileges", params, &run_id, true)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Rejected);
    for needle in [
        "CREATE on schema \"public\"",
        "PostgreSQL 15",
        "not granted",
    ] {
        assert!(text(&e).contains(needle), "{needle}: {}", text(&e));
    }

    assert_eq!(pg_state(&admin, &[&id], &[]).await, before);
}

#[tokio::test]
async fn pg_missing_schema_without_auto_create_is_rejected() {
    let (admin, rw) = need!("GST_PG_ADMIN_URL", "GST_PG_RW_URL");
    let id = uid();
    let schema = format!("gst_{id}");
    let run_id = format!("pg-noschema-{id}");
    let params = pg_params(
        &rw,
        json!({"table": "greptime_metakv", "schema": schema, "auto_create_schema": false}),
    );
    for name in ["sql.metadata_table", "sql.privileges"] {
        let e = fails(name, params.clone(), &run_id, ErrorKind::Rejected).await;
        let missing = format!("schema \"{schema}\" does not exist");
        for needle in [missing.as_str(), "auto_create_schema = false", "3F000"] {
            assert!(text(&e).contains(needle), "{name} {needle}: {}", text(&e));
        }
    }
    // With auto_create_schema the role (owner of the database) may create it, and the proof
    // creates nothing that survives.
    let params = pg_params(
        &rw,
        json!({"table": "greptime_metakv", "schema": schema, "auto_create_schema": true}),
    );
    let out = ok("sql.metadata_table", params.clone(), &run_id).await;
    assert_eq!(out["schema_exists"], false);
    assert_eq!(out["can_create_schema"], true);
    assert_eq!(out["can_create_table"], true);
    let out = ok("sql.privileges", params, &run_id).await;
    assert_eq!(out["create_schema"], true);
    assert_eq!(out["create_table"], true);
    assert!(
        pg_state(&admin, &[&id], &[]).await.0.is_empty(),
        "schema left behind"
    );
}

#[tokio::test]
async fn pg_tls_modes_follow_metasrv() {
    let (rw, tls_url, ca, wrong_ca) = need!(
        "GST_PG_RW_URL",
        "GST_PG_TLS_URL",
        "GST_TLS_CA",
        "GST_TLS_WRONG_CA"
    );
    let run_id = format!("pg-tls-{}", uid());

    // The server accepts gt_tls only over TLS (pg_hba hostssl / hostnossl reject).
    let plain = tls_url.replace("sslmode=require", "sslmode=disable");
    let e = fails(
        "sql.connect",
        pg_params(&plain, json!({})),
        &run_id,
        ErrorKind::Rejected,
    )
    .await;
    assert!(e.message.contains("only over TLS"), "{}", text(&e));
    assert!(
        e.hint.as_deref().unwrap().contains("sslmode"),
        "{}",
        text(&e)
    );
    assert_no_password(&e, &password_of(&tls_url));
    let out = ok("sql.connect", pg_params(&tls_url, json!({})), &run_id).await;
    assert_eq!(out["tls"], true);
    assert_eq!(out["user"], "gt_tls");

    // backend_tls.mode = disable: metasrv cannot start (#7734), nothing is connected.
    let e = fails(
        "sql.connect",
        pg_params(&rw, json!({"tls": {"mode": "disable"}})),
        &run_id,
        ErrorKind::Misconfigured,
    )
    .await;
    assert!(
        e.message
            .contains("Cannot create TLS connector for Disable mode"),
        "{}",
        text(&e)
    );
    assert!(e.message.contains("#7734"));
    assert!(e.hint.as_deref().unwrap().contains("sslmode"));

    // verify_ca: the wrong CA is rejected naming ca_cert_path, the right one passes.
    let e = fails(
        "sql.connect",
        pg_params(
            &rw,
            json!({"tls": {"mode": "verify_ca", "ca_cert_path": wrong_ca}}),
        ),
        &run_id,
        ErrorKind::Rejected,
    )
    .await;
    assert!(
        text(&e).contains("backend_tls.ca_cert_path"),
        "{}",
        text(&e)
    );
    assert!(text(&e).contains(&wrong_ca), "{}", text(&e));
    let out = ok(
        "sql.connect",
        pg_params(
            &rw,
            json!({"tls": {"mode": "verify_ca", "ca_cert_path": ca}}),
        ),
        &run_id,
    )
    .await;
    assert_eq!(out["tls"], true);
    assert!(
        out["tls_plan"].as_str().unwrap().contains("verify_ca"),
        "{out}"
    );
    // verify_full: the server certificate names 127.0.0.1 and localhost.
    let out = ok(
        "sql.connect",
        pg_params(
            &rw.replace("127.0.0.1", "localhost"),
            json!({"tls": {"mode": "verify_full", "ca_cert_path": ca}}),
        ),
        &run_id,
    )
    .await;
    assert_eq!(out["tls"], true);
    // sslmode=disable decides over any backend_tls mode: no TLS at all.
    let out = ok(
        "sql.connect",
        pg_params(
            &with_param(&rw, "sslmode=disable"),
            json!({"tls": {"mode": "verify_full", "ca_cert_path": ca}}),
        ),
        &run_id,
    )
    .await;
    assert_eq!(out["tls"], false);
    // A CA file that does not exist makes metasrv fail at start-up.
    let e = fails(
        "sql.connect",
        pg_params(
            &rw,
            json!({"tls": {"mode": "verify_ca", "ca_cert_path": "/nonexistent/ca.pem"}}),
        ),
        &run_id,
        ErrorKind::Misconfigured,
    )
    .await;
    assert!(
        text(&e).contains("backend_tls.ca_cert_path"),
        "{}",
        text(&e)
    );
    // A Unix socket host with sslmode=prefer: InvalidDnsNameError in metasrv (#7734).
    let e = fails(
        "sql.connect",
        pg_params(
            "host=/var/run/postgresql user=gt_rw dbname=greptime_meta",
            json!({}),
        ),
        &run_id,
        ErrorKind::Misconfigured,
    )
    .await;
    assert!(text(&e).contains("InvalidDnsNameError"), "{}", text(&e));
}

#[tokio::test]
async fn pg_libpq_keyword_form_connects() {
    let (rw,) = need!("GST_PG_RW_URL");
    let password = password_of(&rw);
    let hostport = rw.split('@').nth(1).unwrap().split('/').next().unwrap();
    let (host, port) = hostport.rsplit_once(':').unwrap();
    let quoted = password.replace('\\', "\\\\").replace('\'', "\\'");
    let keywords = format!(
        "host={host} port={port} user=gt_rw password='{quoted}' dbname=greptime_meta \
         sslmode=disable connect_timeout=5 application_name=gst-test"
    );
    let run_id = format!("pg-kw-{}", uid());
    let out = ok("sql.connect", pg_params(&keywords, json!({})), &run_id).await;
    assert_eq!(out["address_form"], "keywords");
    assert_eq!(out["tls"], false);
    assert_eq!(out["user"], "gt_rw");
    assert_eq!(out["database"], "greptime_meta");

    let wrong = keywords.replace(&format!("'{quoted}'"), "'wrong pass'");
    let e = fails(
        "sql.connect",
        pg_params(&wrong, json!({})),
        &run_id,
        ErrorKind::Rejected,
    )
    .await;
    assert!(
        text(&e).contains("wrong user or password in store_addrs"),
        "{}",
        text(&e)
    );
    assert!(!text(&e).contains("wrong pass"));
}

#[tokio::test]
async fn pg_advisory_lock_held_by_another_session_is_reported() {
    let (admin, rw) = need!("GST_PG_ADMIN_URL", "GST_PG_RW_URL");
    let lock_id: u64 =
        0x0000_0005_0000_0000 | (u64::from(uuid::Uuid::new_v4().as_fields().0) & 0xffff);
    let mut holder = pg_admin(&admin).await;
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut holder)
        .await
        .unwrap();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(lock_id as i64)
        .execute(&mut holder)
        .await
        .unwrap();
    let run_id = format!("pg-lock-{}", uid());
    let out = ok(
        "sql.election",
        pg_params(
            &rw,
            json!({"lock_id": lock_id, "table": format!("gst_{}", uid())}),
        ),
        &run_id,
    )
    .await;
    assert_eq!(out["lock_held"], true, "{out}");
    assert_eq!(out["held_by_pid"], pid);
    assert_eq!(out["election_leader"], Value::Null);
    assert!(
        out["notes"].to_string().contains("another application"),
        "{out}"
    );
    // Another lock id is free.
    let out = ok(
        "sql.election",
        pg_params(&rw, json!({"lock_id": lock_id + 1})),
        &run_id,
    )
    .await;
    assert_eq!(out["lock_held"], false);
    holder.close().await.ok();
}

// ------------------------------------------------------------------------------------------
// MySQL

#[tokio::test]
async fn mysql_healthy_store_passes_and_leaves_nothing() {
    let (admin, rw) = need!("GST_MYSQL_ADMIN_URL", "GST_MYSQL_RW_URL");
    let id = uid();
    let table = format!("gst_{id}");
    let run_id = format!("my-ok-{id}");
    let before = my_state(&admin, &[&id], &[]).await;

    let out = ok("sql.connect", my_params(&rw, json!({})), &run_id).await;
    assert_eq!(out["backend"], "mysql_store");
    assert_eq!(out["is_mariadb"], true);
    assert_eq!(out["user"], "gt_rw@%");
    assert_eq!(out["database"], "greptime");
    assert_eq!(
        out["tls"], true,
        "backend_tls prefer and a TLS server: {out}"
    );
    assert!(out["version_num"].as_u64().unwrap() >= 100_000);
    assert_eq!(out["election_supported"], false);
    let warning = out["version_warning"].as_str().unwrap();
    assert!(
        warning.contains("expected: [5.7, 8.0]") && warning.contains("max_execution_time"),
        "{warning}"
    );

    let params = my_params(&rw, json!({"table": table}));
    let out = ok("sql.metadata_table", params.clone(), &run_id).await;
    assert_eq!(out["table_exists"], false);
    assert_eq!(out["can_create_table"], true);
    assert_eq!(out["can_alter"], true);
    assert_eq!(out["v_is_blob"], false);

    let out = ok("sql.privileges", params.clone(), &run_id).await;
    assert_eq!(out["method"], "probe_table");
    let probe = out["probe_table"].as_str().unwrap().to_string();
    assert!(probe.starts_with("greptime_self_test_my_ok_"), "{probe}");
    assert_eq!(
        out["proven"],
        json!(["create_table", "insert", "update", "select", "delete"])
    );
    assert_eq!(out["read_back"], true);
    assert!(
        my_state(&admin, &[&probe], &[]).await.0.is_empty(),
        "probe table left"
    );

    let out = ok("sql.election", params.clone(), &run_id).await;
    assert_eq!(out["max_execution_time_supported"], false);
    assert_eq!(out["election_table"], format!("`{table}_election`"));
    assert_eq!(out["election_table_exists"], false);
    assert_eq!(out["can_create_election_table"], true);
    assert_eq!(out["can_lock_election_table"], true);
    assert!(out.get("held_by_pid").is_none());

    let out = ok(
        "sql.latency",
        my_params(&rw, json!({"operations": 20})),
        &run_id,
    )
    .await;
    assert_eq!(out["operations"], 20);
    assert!(out["upsert_p99_ms"].as_f64().unwrap() > 0.0);

    assert_eq!(
        my_state(&admin, &[&id, "greptime_self_test_my_ok"], &[])
            .await
            .0,
        before.0
    );
}

#[tokio::test]
async fn mysql_existing_table_rows_are_unchanged() {
    let (admin, rw) = need!("GST_MYSQL_ADMIN_URL", "GST_MYSQL_RW_URL");
    let id = uid();
    let table = format!("gst_{id}");
    let election = format!("{table}_election");
    let prefix = format!("gst-{id}/");
    my_exec(
        &admin,
        &format!("CREATE TABLE `{table}`(k VARBINARY(3072) PRIMARY KEY, v MEDIUMBLOB)"),
    )
    .await;
    my_exec(&admin, &format!("INSERT INTO `{table}` VALUES (X'00FF', X'DEADBEEF'), ('__greptime_self_test/other-run', 'keep me')")).await;
    my_exec(
        &admin,
        &format!("CREATE TABLE `{election}`(k VARBINARY(3072) PRIMARY KEY, v BLOB)"),
    )
    .await;
    my_exec(
        &admin,
        &format!(
            "INSERT INTO `{election}` VALUES ('__place_holder_for_lock', ''), \
             ('{prefix}__metasrv_election', CONCAT('10.9.8.7:3002', '||__metadata_lease_sep||', \
               DATE_FORMAT(DATE_ADD(NOW(4), INTERVAL -60 SECOND), '%Y-%m-%d %T.%f')))"
        ),
    )
    .await;
    let body = async {
        let run_id = format!("my-exist-{id}");
        let before = my_state(
            &admin,
            &[&id, "greptime_self_test_my_exist"],
            &[&table, &election],
        )
        .await;
        let params = my_params(&rw, json!({"table": table}));

        let out = ok("sql.metadata_table", params.clone(), &run_id).await;
        assert_eq!(out["table_exists"], true);
        assert_eq!(out["k_type"], "varbinary(3072)");
        assert_eq!(out["v_type"], "mediumblob");
        assert_eq!(out["engine"], "InnoDB");

        let out = ok("sql.privileges", params.clone(), &run_id).await;
        assert_eq!(out["method"], "rolled_back_transaction");
        assert_eq!(
            out["proven"],
            json!(["insert", "update", "select", "delete"])
        );
        assert_eq!(out["granted"], json!(["create_table"]));
        assert_eq!(out["read_back"], true);

        let out = run("sql.privileges", params.clone(), &run_id, true)
            .await
            .unwrap()
            .value;
        assert_eq!(out["read_only"], true);
        assert_eq!(out["proven"], json!(["select"]));

        let out = ok(
            "sql.election",
            my_params(&rw, json!({"table": table, "key_prefix": prefix})),
            &run_id,
        )
        .await;
        assert_eq!(out["election_table_exists"], true);
        assert_eq!(out["election_leader"], "10.9.8.7:3002");
        assert_eq!(out["leader_expired"], true);
        assert!(
            out["leader_expires_in_ms"].as_i64().unwrap() < -50_000,
            "{out}"
        );

        let out = run(
            "sql.latency",
            my_params(&rw, json!({"table": table, "operations": 5})),
            &run_id,
            true,
        )
        .await
        .unwrap()
        .value;
        assert_eq!(out["select_operations"], 5);

        assert_eq!(
            my_state(
                &admin,
                &[&id, "greptime_self_test_my_exist"],
                &[&table, &election]
            )
            .await,
            before
        );
    };
    guarded(
        body,
        my_exec(
            &admin,
            &format!("DROP TABLE IF EXISTS `{table}`, `{election}`"),
        ),
    )
    .await;
}

#[tokio::test]
async fn mysql_connection_faults_are_named() {
    let (rw,) = need!("GST_MYSQL_RW_URL");
    let password = password_of(&rw);
    let run_id = format!("my-faults-{}", uid());

    let e = fails(
        "sql.connect",
        my_params(&with_port(&rw, closed_port()), json!({})),
        &run_id,
        ErrorKind::Unreachable,
    )
    .await;
    assert!(text(&e).contains("connection refused"), "{}", text(&e));
    assert_no_password(&e, &password);

    let e = fails(
        "sql.connect",
        my_params(&with_password(&rw, "not-the-password"), json!({})),
        &run_id,
        ErrorKind::Rejected,
    )
    .await;
    assert!(
        text(&e).contains("Access denied for user 'gt_rw'"),
        "{}",
        text(&e)
    );
    assert!(
        text(&e).contains("wrong user or password in store_addrs"),
        "{}",
        text(&e)
    );

    let missing = format!("gst_missing_{}", uid());
    let e = fails(
        "sql.connect",
        my_params(&with_database(&rw, &missing), json!({})),
        &run_id,
        ErrorKind::Rejected,
    )
    .await;
    assert!(
        e.message
            .contains(&format!("database `{missing}` does not exist")),
        "{}",
        text(&e)
    );
    assert!(text(&e).contains("CREATE DATABASE"));
    assert_no_password(&e, &password);

    let e = fails(
        "sql.connect",
        my_params("not a url", json!({})),
        &run_id,
        ErrorKind::Misconfigured,
    )
    .await;
    assert!(text(&e).contains("mysql://"), "{}", text(&e));
}

#[tokio::test]
async fn mysql_select_only_user_and_blob_column_are_found() {
    let (admin, rw, ro) = need!(
        "GST_MYSQL_ADMIN_URL",
        "GST_MYSQL_RW_URL",
        "GST_MYSQL_RO_URL"
    );
    let id = uid();
    let table = format!("gst_{id}");
    let blob = format!("gst_{id}_blob");
    my_exec(
        &admin,
        &format!("CREATE TABLE `{table}`(k VARBINARY(3072) PRIMARY KEY, v MEDIUMBLOB)"),
    )
    .await;
    my_exec(&admin, &format!("INSERT INTO `{table}` VALUES ('a', 'b')")).await;
    my_exec(
        &admin,
        &format!("CREATE TABLE `{blob}`(k VARBINARY(3072) PRIMARY KEY, v BLOB)"),
    )
    .await;
    let body = async {
        let run_id = format!("my-ro-{id}");
        let before = my_state(&admin, &[&id, "greptime_self_test_my_ro"], &[&table, &blob]).await;

        let e = fails(
            "sql.privileges",
            my_params(&ro, json!({"table": table})),
            &run_id,
            ErrorKind::Rejected,
        )
        .await;
        for needle in ["INSERT", "UPDATE", "DELETE", "CREATE", "gt_ro"] {
            assert!(e.message.contains(needle), "{needle}: {}", text(&e));
        }
        assert!(e.hint.as_deref().unwrap().contains("GRANT"));
        assert_no_password(&e, &password_of(&ro));
        // For a table that does not exist, a user that may not DROP gets no probe table.
        let e = fails(
            "sql.privileges",
            my_params(&ro, json!({"table": format!("gst_{}", uid())})),
            &run_id,
            ErrorKind::Rejected,
        )
        .await;
        assert!(e.message.contains("INSERT"), "{}", text(&e));

        let out = ok(
            "sql.metadata_table",
            my_params(&rw, json!({"table": blob})),
            &run_id,
        )
        .await;
        assert_eq!(out["v_is_blob"], true);
        assert_eq!(out["v_type"], "blob");
        assert_eq!(out["can_alter"], true);
        assert!(out["notes"].to_string().contains("MEDIUMBLOB"));
        let e = fails(
            "sql.metadata_table",
            my_params(&ro, json!({"table": blob})),
            &run_id,
            ErrorKind::Rejected,
        )
        .await;
        assert!(e.message.contains("CREATE"), "{}", text(&e));

        assert_eq!(
            my_state(&admin, &[&id, "greptime_self_test_my_ro"], &[&table, &blob]).await,
            before
        );
    };
    guarded(
        body,
        my_exec(&admin, &format!("DROP TABLE IF EXISTS `{table}`, `{blob}`")),
    )
    .await;
}

#[tokio::test]
async fn mysql_tls_modes_follow_metasrv() {
    let (rw, tls_url, ca, wrong_ca) = need!(
        "GST_MYSQL_RW_URL",
        "GST_MYSQL_TLS_URL",
        "GST_TLS_CA",
        "GST_TLS_WRONG_CA"
    );
    let run_id = format!("my-tls-{}", uid());

    // gt_tls is REQUIRE SSL: with backend_tls disable the URL's ssl-mode=DISABLED is kept.
    let e = fails(
        "sql.connect",
        my_params(
            &with_param(&tls_url, "ssl-mode=DISABLED"),
            json!({"tls": {"mode": "disable"}}),
        ),
        &run_id,
        ErrorKind::Rejected,
    )
    .await;
    assert!(e.message.contains("without TLS"), "{}", text(&e));
    assert!(
        e.hint.as_deref().unwrap().contains("backend_tls.mode"),
        "{}",
        text(&e)
    );
    assert_no_password(&e, &password_of(&tls_url));
    // Any other mode overrides the URL's ssl-mode, and the account connects over TLS.
    let out = ok(
        "sql.connect",
        my_params(
            &with_param(&tls_url, "ssl-mode=DISABLED"),
            json!({"tls": {"mode": "require"}}),
        ),
        &run_id,
    )
    .await;
    assert_eq!(out["tls"], true);
    assert!(out["notes"].to_string().contains("overrides"), "{out}");

    let e = fails(
        "sql.connect",
        my_params(
            &rw,
            json!({"tls": {"mode": "verify_ca", "ca_cert_path": wrong_ca}}),
        ),
        &run_id,
        ErrorKind::Rejected,
    )
    .await;
    assert!(
        text(&e).contains("backend_tls.ca_cert_path"),
        "{}",
        text(&e)
    );
    let out = ok(
        "sql.connect",
        my_params(
            &rw,
            json!({"tls": {"mode": "verify_ca", "ca_cert_path": ca}}),
        ),
        &run_id,
    )
    .await;
    assert_eq!(out["tls"], true);
    let out = ok(
        "sql.connect",
        my_params(
            &rw,
            json!({"tls": {"mode": "verify_full", "ca_cert_path": ca}}),
        ),
        &run_id,
    )
    .await;
    assert_eq!(out["tls"], true);
    let e = fails(
        "sql.connect",
        my_params(&rw, json!({"tls": {"mode": "verify_ca"}})),
        &run_id,
        ErrorKind::Misconfigured,
    )
    .await;
    assert!(text(&e).contains("ca_cert_path"), "{}", text(&e));
    // disable keeps a URL without ssl-mode at PREFERRED: TLS is still used.
    let out = ok(
        "sql.connect",
        my_params(&rw, json!({"tls": {"mode": "disable"}})),
        &run_id,
    )
    .await;
    assert_eq!(out["tls"], true);
}

/// Polls `work` at most `polls` times, then drops it, as the engine drops a step on timeout or
/// Ctrl-C; `None` when it was cut before finishing.
async fn cut_after_polls<F: Future>(work: F, polls: usize) -> Option<F::Output> {
    let mut work = std::pin::pin!(work);
    let mut left = polls;
    std::future::poll_fn(move |cx| {
        if left == 0 {
            return std::task::Poll::Ready(None);
        }
        left -= 1;
        work.as_mut().poll(cx).map(Some)
    })
    .await
}

/// A TCP proxy on 127.0.0.1 to `target` that holds every chunk for a millisecond, so the
/// client waits (and the step yields to the runtime, where the engine can cut it) at every
/// round trip; on loopback the server often answers before the client even looks.
async fn slow_proxy(target: u16) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    async fn pump(
        mut from: tokio::net::tcp::OwnedReadHalf,
        mut to: tokio::net::tcp::OwnedWriteHalf,
    ) {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = from.read(&mut buf).await {
            if n == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
            if to.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", target)).await else {
                continue;
            };
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            tokio::spawn(pump(client_read, server_write));
            tokio::spawn(pump(server_read, client_write));
        }
    });
    port
}

/// The port of a URL.
fn port_of(url: &str) -> u16 {
    let hostport = url.split('@').nth(1).unwrap().split('/').next().unwrap();
    hostport.rsplit_once(':').unwrap().1.parse().unwrap()
}

/// Runs `sql.privileges` polled at most `polls` times (then dropped, as the engine drops a
/// step on timeout or Ctrl-C), then the drained cleanup actions, as the engine runs them.
/// True when the run finished before the cut (and then it must have passed).
async fn privileges_cut(params: &Value, run_id: &str, polls: usize) -> bool {
    let cleanup = CleanupRegistry::default();
    let cx = TestCx::new(Component::Metasrv, run_id)
        .budget(Duration::from_secs(20))
        .cleanup(&cleanup)
        .build();
    let finished = cut_after_polls(run_step("sql.privileges", params.clone(), &cx), polls).await;
    run_cleanup(&cleanup).await;
    match finished {
        Some(result) => {
            result.expect("privileges");
            true
        }
        None => false,
    }
}

/// Cuts `sql.privileges` with `params` after 1, 2, 3, … polls until a run finishes: every
/// point where the engine could cancel it. After each cut, `state()` must equal `before`.
/// Returns how many runs were cut.
async fn cut_everywhere<S, Fut>(
    params: Value,
    run_prefix: &str,
    before: &S,
    state: impl Fn() -> Fut,
) -> usize
where
    S: PartialEq + std::fmt::Debug,
    Fut: Future<Output = S>,
{
    for polls in 1..=500 {
        let finished = privileges_cut(&params, &format!("{run_prefix}-{polls}"), polls).await;
        assert_eq!(
            &state().await,
            before,
            "left behind after a cut at poll {polls}: {params}"
        );
        if finished {
            return polls - 1;
        }
    }
    panic!("sql.privileges did not finish within 500 polls: {params}");
}

/// A MySQL privileges run cut short at every point, then the engine's cleanup: nothing the
/// run created remains, and the metadata table's rows are unchanged. Both MySQL paths: the
/// existing table (probe row in a transaction) and a missing one (probe table). The
/// connection goes through a proxy that delays each answer, so the step yields at every
/// statement.
#[tokio::test]
async fn mysql_cancelled_privileges_leave_nothing() {
    let (admin, rw) = need!("GST_MYSQL_ADMIN_URL", "GST_MYSQL_RW_URL");
    let id = uid();
    let table = format!("gst_{id}");
    my_exec(
        &admin,
        &format!("CREATE TABLE `{table}`(k VARBINARY(3072) PRIMARY KEY, v MEDIUMBLOB)"),
    )
    .await;
    my_exec(
        &admin,
        &format!("INSERT INTO `{table}` VALUES (X'01', X'02')"),
    )
    .await;
    let body = async {
        let before = my_state(&admin, &[&id], &[&table]).await;
        let (needles, tables) = ([id.as_str()], [table.as_str()]);
        let state = || my_state(&admin, &needles, &tables);
        let slow = with_port(&rw, slow_proxy(port_of(&rw)).await);
        for (i, target) in [table.clone(), format!("gst_{id}_missing")]
            .into_iter()
            .enumerate()
        {
            let params = my_params(&slow, json!({"table": target}));
            let cuts = cut_everywhere(params, &format!("my-cut-{id}-{i}"), &before, state).await;
            assert!(cuts >= 10, "only {cuts} runs were cut on {target}");
        }
    };
    guarded(
        body,
        my_exec(&admin, &format!("DROP TABLE IF EXISTS `{table}`")),
    )
    .await;
}

/// The PostgreSQL probe transaction cut short at every point: nothing is ever committed, so
/// neither the schema it creates nor rows in an existing table survive.
#[tokio::test]
async fn pg_cancelled_privileges_leave_nothing() {
    let (admin, rw) = need!("GST_PG_ADMIN_URL", "GST_PG_RW_URL");
    let id = uid();
    let table = format!("gst_{id}");
    let qualified = format!("public.\"{table}\"");
    pg_exec(
        &admin,
        &format!(
            "CREATE TABLE {qualified}(k bytea PRIMARY KEY, v bytea); \
             ALTER TABLE {qualified} OWNER TO gt_rw; \
             INSERT INTO {qualified} VALUES ('\\x01'::bytea, '\\x02'::bytea)"
        ),
    )
    .await;
    let body = async {
        let before = pg_state(&admin, &[&id], &[&qualified]).await;
        // The server ends a dropped session's transaction when it sees the socket close;
        // what it did was never committed, so it is invisible meanwhile.
        let (needles, tables) = ([id.as_str()], [qualified.as_str()]);
        let state = || pg_state(&admin, &needles, &tables);
        let slow = with_port(&rw, slow_proxy(port_of(&rw)).await);
        for (i, params) in [
            pg_params(&slow, json!({"table": table})),
            pg_params(
                &slow,
                json!({"table": "greptime_metakv", "schema": format!("gst_{id}_new"), "auto_create_schema": true}),
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let cuts = cut_everywhere(params, &format!("pg-cut-{id}-{i}"), &before, state).await;
            assert!(cuts >= 10, "only {cuts} runs were cut");
        }
    };
    guarded(
        body,
        pg_exec(&admin, &format!("DROP TABLE IF EXISTS {qualified}")),
    )
    .await;
}
