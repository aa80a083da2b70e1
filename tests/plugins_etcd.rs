//! `etcd.*` steps against real etcd servers started by `scripts/services.sh`: plain
//! (`GST_ETCD_ENDPOINT`), auth-enabled (`GST_ETCD_AUTH_ENDPOINT`) and mutual TLS
//! (`GST_ETCD_TLS_ENDPOINT` with `GST_TLS_CA`, `GST_TLS_WRONG_CA`, `GST_TLS_CLIENT_CERT`,
//! `GST_TLS_CLIENT_KEY`). A missing variable fails the test under CI=true and skips it
//! otherwise. Every test writes under its own `gst-test-<uuid>/` prefix, so they run
//! concurrently; tests that need the plain etcd to themselves (comparing the store revision,
//! raising an alarm) take the write side of [`EXCLUSIVE`].

use std::time::Duration;

use crate::common;

use common::steps::{
    black_hole, closed_port, run_cleanup, run_step, silent_listener, step, TestCx,
};
use etcd_client::{AlarmAction, AlarmOptions, AlarmType, Client, DeleteOptions, GetOptions};
use greptime_self_test::config::Component;
use greptime_self_test::plugins::answer::{AnswerDeadline, Silence};
use greptime_self_test::plugins::{CleanupRegistry, ErrorKind, StepError, StepOutput};
use serde_json::{json, Value};
use tokio::sync::RwLockReadGuard;
use tokio::time::Instant;

/// The lock every test module takes around its use of the plain etcd.
use common::PLAIN_ETCD as EXCLUSIVE;

/// A context with `budget` until the deadline and undo actions going to `cleanup`.
fn cx(
    read_only: bool,
    cleanup: &CleanupRegistry,
    budget: Duration,
) -> greptime_self_test::plugins::StepCx {
    TestCx::new(Component::Metasrv, &format!("etcd-test-{}", uuid()))
        .budget(budget)
        .read_only(read_only)
        .cleanup(cleanup)
        .build()
}

fn uuid() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

/// A fresh key prefix for one test.
fn prefix() -> String {
    format!("gst-test-{}/", uuid())
}

/// Runs `name` with a 10 s budget, then its cleanup actions.
async fn run(name: &str, params: Value, read_only: bool) -> Result<StepOutput, StepError> {
    let cleanup = CleanupRegistry::default();
    let cx = cx(read_only, &cleanup, Duration::from_secs(10));
    let result = run_step(name, params, &cx).await;
    run_cleanup(&cleanup).await;
    result
}

/// Runs `name` as [`run`] does, with writes allowed, and expects it to fail with `kind`.
async fn run_failing(name: &str, params: Value, kind: ErrorKind) -> StepError {
    expect_err(run(name, params, false).await, kind)
}

async fn client(endpoint: &str) -> Client {
    Client::connect([endpoint], None)
        .await
        .expect("etcd client")
}

/// What a test writing to the plain etcd at `endpoint` starts with: the read side of
/// [`EXCLUSIVE`] (held until dropped), a client and a fresh key prefix.
async fn writer(endpoint: &str) -> (RwLockReadGuard<'static, ()>, Client, String) {
    let guard = EXCLUSIVE.read().await;
    (guard, client(endpoint).await, prefix())
}

/// Every key (and value) under `prefix`, in key order.
async fn dump(client: &Client, prefix: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut kv = client.kv_client();
    kv.get(prefix, Some(GetOptions::new().with_prefix()))
        .await
        .expect("range")
        .kvs()
        .iter()
        .map(|kv| (kv.key().to_vec(), kv.value().to_vec()))
        .collect()
}

async fn revision(client: &Client) -> i64 {
    let mut kv = client.kv_client();
    kv.get("gst-revision-probe", None)
        .await
        .expect("range")
        .header()
        .expect("header")
        .revision()
}

async fn delete_prefix(client: &Client, prefix: &str) {
    let mut kv = client.kv_client();
    kv.delete(prefix, Some(DeleteOptions::new().with_prefix()))
        .await
        .expect("delete");
}

/// Puts a few keys around the self-test namespace under `prefix`; returns them.
async fn seed(client: &Client, prefix: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut kv = client.kv_client();
    let binary: Vec<u8> = (0..=255u8).collect();
    for (key, value) in [
        (
            format!("{prefix}__table_name/greptime/public/t"),
            b"{\"id\":1024}".to_vec(),
        ),
        (
            format!("{prefix}__greptime_self_test"),
            b"not in the namespace".to_vec(),
        ),
        (format!("{prefix}__greptime_self_tesz/x"), binary.clone()),
        (format!("{prefix}zz"), binary),
    ] {
        kv.put(key, value, None).await.expect("seed put");
    }
    dump(client, prefix).await
}

/// Asserts that a writing step left nothing in the self-test namespace under `prefix` and did
/// not touch the keys [`seed`] put there.
async fn assert_only_the_seed_is_left(
    client: &Client,
    prefix: &str,
    seeded: &[(Vec<u8>, Vec<u8>)],
) {
    assert!(dump(client, &format!("{prefix}__greptime_self_test/"))
        .await
        .is_empty());
    assert_eq!(
        dump(client, prefix).await,
        seeded,
        "pre-existing keys unchanged"
    );
}

fn tls_params(mode: &str, ca: &str, cert: &str, key: &str) -> Value {
    json!({"mode": mode, "ca_cert_path": ca, "cert_path": cert, "key_path": key, "watch": false})
}

fn expect_err(result: Result<StepOutput, StepError>, kind: ErrorKind) -> StepError {
    match result {
        Ok(out) => panic!("expected {kind:?}, got output {}", out.value),
        Err(e) => {
            assert_eq!(e.kind, kind, "{}: {:?}", e.message, e.hint);
            e
        }
    }
}

/// Asserts that `text` (an error message or hint) contains `needle`, showing `text` if not.
#[track_caller]
fn assert_contains(text: &str, needle: &str) {
    assert!(text.contains(needle), "`{needle}` expected in: {text}");
}

#[test]
fn params_are_checked() {
    let probe = step("etcd.probe");
    assert!(probe
        .check_params(&json!({"endpoints": ["a:1"], "value_size": "1500KiB"}))
        .is_ok());
    assert!(probe
        .check_params(&json!({"endpoints": ["a:1"], "value_size": "1.5 parsecs"}))
        .is_err());
    assert!(step("etcd.endpoint")
        .check_params(&json!({"endpoint": "a:1", "tls": {"mode": "verify-ca"}}))
        .is_err());
    assert!(step("etcd.cluster")
        .check_params(&json!({"endpoints": ["a:1"], "tls": {"sslmode": "x"}}))
        .is_err());
}

#[tokio::test]
async fn tls_with_an_http_endpoint_is_misconfigured_as_metasrv_fails_to_start() {
    let err = run_failing(
        "etcd.endpoint",
        json!({"endpoint": "http://127.0.0.1:2379", "tls": {"mode": "require"}}),
        ErrorKind::Misconfigured,
    )
    .await;
    assert_contains(&err.message, "http://");
}

#[tokio::test]
async fn a_missing_ca_file_is_named() {
    let err = run_failing(
        "etcd.endpoint",
        json!({"endpoint": "https://127.0.0.1:2379",
               "tls": {"ca_cert_path": "/nonexistent/ca.pem"}}),
        ErrorKind::Misconfigured,
    )
    .await;
    assert_contains(&err.message, "backend_tls.ca_cert_path");
}

#[tokio::test]
async fn empty_store_addrs_is_misconfigured() {
    for name in ["etcd.cluster", "etcd.probe", "etcd.metadata"] {
        run_failing(
            name,
            json!({"endpoints": [" ", ""]}),
            ErrorKind::Misconfigured,
        )
        .await;
    }
}

#[tokio::test]
async fn healthy_endpoint_reports_its_status() {
    let (ep,) = need!("GST_ETCD_ENDPOINT");
    for endpoint in [ep.clone(), format!("http://{ep}")] {
        let out = run(
            "etcd.endpoint",
            json!({"endpoint": endpoint, "endpoints": [endpoint],
                   "tls": tls_params("prefer", "", "", "")}),
            false,
        )
        .await
        .expect("healthy endpoint");
        let v = &out.value;
        assert_eq!(v["endpoint"], endpoint);
        assert_eq!(
            v["tls"], false,
            "prefer with non-https endpoints is plaintext"
        );
        assert!(v["version"].as_str().unwrap().starts_with("3."), "{v}");
        assert!(!v["cluster_id"].as_str().unwrap().is_empty());
        assert_eq!(v["leader"], v["member_id"], "a single member leads");
        assert_eq!(v["is_leader"], true);
        assert!(v["raft_index"].as_u64().unwrap() > 0);
        assert!(v["raft_term"].as_u64().unwrap() > 0);
        assert!(v["db_size"].as_i64().unwrap() > 0);
        assert!(v["db_size_in_use"].as_i64().unwrap() > 0);
        assert_eq!(v["alarms"], json!([]));
        assert!(v["latency_ms"].as_f64().unwrap() > 0.0);
        assert!(!out.details.is_empty());
    }
}

#[tokio::test]
async fn cluster_endpoints_agree() {
    let (ep,) = need!("GST_ETCD_ENDPOINT");
    let out = run(
        "etcd.cluster",
        json!({"endpoints": [ep, format!("http://{ep}")]}),
        false,
    )
    .await
    .expect("cluster");
    let v = &out.value;
    assert_eq!(v["agree"], true, "{v}");
    assert_eq!(v["reachable"], 2);
    assert_eq!(v["unreachable"], 0);
    assert_eq!(v["cluster_ids"].as_array().unwrap().len(), 1);
    assert_eq!(v["leaders"].as_array().unwrap().len(), 1);
    assert_eq!(v["members"][0]["reachable"], true);
    assert_eq!(v["members"][0]["error"], Value::Null);
    assert_eq!(v["tls"], false);
}

#[tokio::test]
async fn a_dead_endpoint_is_unreachable_and_reported_by_the_cluster() {
    let (ep,) = need!("GST_ETCD_ENDPOINT");
    let dead = format!("127.0.0.1:{}", closed_port());
    let err = run_failing(
        "etcd.endpoint",
        json!({"endpoint": dead}),
        ErrorKind::Unreachable,
    )
    .await;
    assert_contains(&err.message, "connection refused");
    assert_contains(&err.hint.unwrap(), &dead);

    let out = run("etcd.cluster", json!({"endpoints": [ep, dead]}), false)
        .await
        .expect("one endpoint is reachable");
    let v = &out.value;
    assert_eq!(v["reachable"], 1);
    assert_eq!(v["unreachable"], 1);
    assert_eq!(v["agree"], true, "the reachable endpoints agree: {v}");
    let member = &v["members"][1];
    assert_eq!(member["endpoint"], dead);
    assert_eq!(member["reachable"], false);
    assert_eq!(member["error_kind"], "Unreachable");
    assert_contains(member["error"].as_str().unwrap(), "connection refused");

    let err = run_failing(
        "etcd.cluster",
        json!({"endpoints": [dead]}),
        ErrorKind::Unreachable,
    )
    .await;
    assert_contains(&err.message, "no etcd endpoint is reachable");
}

// ------------------------------------------------------------- silent endpoints

/// Runs `name` with a 15 s budget and a first-answer deadline of `answer` (as
/// `--answer-timeout` sets it), then its cleanup; returns the result and the step's time.
async fn run_answering(
    name: &str,
    params: Value,
    answer: Duration,
) -> (Result<StepOutput, StepError>, Duration) {
    let cleanup = CleanupRegistry::default();
    let cx =
        cx(false, &cleanup, Duration::from_secs(15)).with_answer(AnswerDeadline::from_run(answer));
    let started = Instant::now();
    let result = run_step(name, params, &cx).await;
    let took = started.elapsed();
    run_cleanup(&cleanup).await;
    (result, took)
}

/// Asserts the step was judged within `limit` plus the slack a loaded test host needs.
#[track_caller]
fn within(took: Duration, limit: Duration, what: &str) {
    let bound = limit + Duration::from_millis(1500);
    assert!(took <= bound, "{what}: took {took:?}, more than {bound:?}");
}

/// Every etcd step against a port that takes the connection and never answers: judged
/// accepted-but-silent within the first-answer deadline (GreptimeDB's etcd client has no
/// timeout to cap it), the endpoint named, and the hint says metasrv's requests have no limit.
#[tokio::test]
async fn silent_etcd_is_accepted_silent_within_the_deadline() {
    let silent = silent_listener().await;
    for name in [
        "etcd.endpoint",
        "etcd.cluster",
        "etcd.probe",
        "etcd.metadata",
        "etcd.latency",
    ] {
        let params = if name == "etcd.endpoint" {
            json!({"endpoint": silent.addr})
        } else {
            json!({"endpoints": [silent.addr]})
        };
        let (result, took) = run_answering(name, params, Duration::from_secs(1)).await;
        let e = expect_err(result, ErrorKind::Timeout);
        within(took, Duration::from_secs(1), name);
        assert_eq!(
            e.silence,
            Some(Silence::AcceptedSilent),
            "{name}: {}",
            e.message
        );
        assert_contains(&e.message, &silent.addr);
        assert_contains(&e.message, "within 1s (`--answer-timeout`)");
        assert_contains(e.hint.as_deref().unwrap_or(""), "sets no request timeout");
    }
}

/// TLS on (`backend_tls.mode = require`) against a port that never answers the handshake:
/// TLS-stalled, and GreptimeDB would wait without bound (no connect or request timeout).
#[tokio::test]
async fn silent_etcd_with_tls_is_a_stalled_handshake() {
    let silent = silent_listener().await;
    let (result, took) = run_answering(
        "etcd.endpoint",
        json!({"endpoint": silent.addr, "tls": {"mode": "require"}}),
        Duration::from_secs(1),
    )
    .await;
    let e = expect_err(result, ErrorKind::Timeout);
    within(took, Duration::from_secs(1), "TLS stalled");
    assert_eq!(e.silence, Some(Silence::TlsStalled), "{}", e.message);
    assert_contains(&e.message, "did not answer the TLS handshake within 1s");
    let hint = e.hint.unwrap_or_default();
    assert_contains(&hint, "without bound");
    assert_contains(&hint, "`backend_tls.mode`");
}

/// An endpoint whose SYNs are dropped: black-holed within the deadline (GreptimeDB would wait
/// for the operating system's connect timeout).
#[tokio::test]
async fn black_holed_etcd_is_judged_within_the_deadline() {
    let hole = black_hole().await;
    let (result, took) = run_answering(
        "etcd.endpoint",
        json!({"endpoint": hole.addr}),
        Duration::from_secs(1),
    )
    .await;
    let e = expect_err(result, ErrorKind::Timeout);
    within(took, Duration::from_secs(1), "black-holed");
    assert_eq!(e.silence, Some(Silence::BlackHoled), "{}", e.message);
    assert_contains(
        &e.message,
        &format!("etcd {} did not answer the TCP connection", hole.addr),
    );
    assert_contains(
        &e.hint.unwrap_or_default(),
        "`backend_client.connect_timeout`",
    );
}

/// A closed port: refused at once, and the report says so.
#[tokio::test]
async fn refused_etcd_is_named_refused() {
    let dead = format!("127.0.0.1:{}", closed_port());
    let (result, took) = run_answering(
        "etcd.endpoint",
        json!({"endpoint": dead}),
        Duration::from_secs(5),
    )
    .await;
    let e = expect_err(result, ErrorKind::Unreachable);
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert_eq!(e.silence, Some(Silence::Refused));
    assert_contains(&e.message, "connection refused");
}

/// Three silent endpoints in `store_addrs`: each gets its first request at once, so the step
/// is judged in about one deadline, not three, and names all three.
#[tokio::test]
async fn three_silent_endpoints_are_judged_within_one_deadline() {
    let silent = [
        silent_listener().await,
        silent_listener().await,
        silent_listener().await,
    ];
    let endpoints: Vec<&str> = silent.iter().map(|s| s.addr.as_str()).collect();
    for name in ["etcd.probe", "etcd.metadata", "etcd.cluster"] {
        let (result, took) = run_answering(
            name,
            json!({"endpoints": endpoints}),
            Duration::from_secs(1),
        )
        .await;
        let e = expect_err(result, ErrorKind::Timeout);
        within(took, Duration::from_secs(1), name);
        assert_eq!(
            e.silence,
            Some(Silence::AcceptedSilent),
            "{name}: {}",
            e.message
        );
        for endpoint in &endpoints {
            assert_contains(&e.message, endpoint);
        }
    }
    // Black-holed, TLS-stalled and silent at once: still one deadline, no common silence.
    let hole = black_hole().await;
    let (result, took) = run_answering(
        "etcd.cluster",
        json!({"endpoints": [hole.addr, endpoints[0]], "tls": {"mode": "require"}}),
        Duration::from_secs(1),
    )
    .await;
    let e = expect_err(result, ErrorKind::Timeout);
    within(took, Duration::from_secs(1), "mixed");
    assert_eq!(e.silence, None, "{}", e.message);
}

/// A silent endpoint among a live one: the probe fails naming only the silent endpoint (the
/// balancer would hide it), within one deadline; `etcd.cluster` reports it as data.
#[tokio::test]
async fn a_silent_endpoint_among_live_ones_is_named() {
    let (ep,) = need!("GST_ETCD_ENDPOINT");
    let silent = silent_listener().await;
    let (result, took) = run_answering(
        "etcd.metadata",
        json!({"endpoints": [ep, silent.addr], "key_prefix": prefix()}),
        Duration::from_secs(1),
    )
    .await;
    let e = expect_err(result, ErrorKind::Timeout);
    within(took, Duration::from_secs(1), "silent among live");
    assert_eq!(e.silence, Some(Silence::AcceptedSilent));
    assert_contains(&e.message, &silent.addr);
    assert!(!e.message.contains(&ep), "{}", e.message);
    assert_contains(&e.hint.unwrap_or_default(), "spreads its requests");

    let (result, took) = run_answering(
        "etcd.cluster",
        json!({"endpoints": [ep, silent.addr]}),
        Duration::from_secs(1),
    )
    .await;
    within(took, Duration::from_secs(1), "cluster, silent among live");
    let out = result.expect("one endpoint answers").value;
    assert_eq!(out["reachable"], 1, "{out}");
    assert_eq!(out["members"][1]["no_answer"], "accepted_silent", "{out}");
    assert_eq!(out["members"][0]["no_answer"], Value::Null, "{out}");
}

#[tokio::test]
async fn auth_enabled_etcd_is_unusable_by_greptimedb() {
    let (ep,) = need!("GST_ETCD_AUTH_ENDPOINT");
    let err = run_failing(
        "etcd.endpoint",
        json!({"endpoint": ep}),
        ErrorKind::Rejected,
    )
    .await;
    assert_contains(&err.message, "requires authentication");
    assert_contains(&err.message, "cannot authenticate");
    assert!(!err.message.to_lowercase().contains("wrong password"));
    for (name, params) in [
        (
            "etcd.probe",
            json!({"endpoints": [ep], "key_prefix": prefix()}),
        ),
        ("etcd.metadata", json!({"endpoints": [ep]})),
    ] {
        let err = run_failing(name, params, ErrorKind::Rejected).await;
        assert_contains(&err.message, "cannot authenticate");
    }
}

#[tokio::test]
async fn mutual_tls_passes_with_ca_and_client_certificate() {
    let (ep, ca, cert, key) = need!(
        "GST_ETCD_TLS_ENDPOINT",
        "GST_TLS_CA",
        "GST_TLS_CLIENT_CERT",
        "GST_TLS_CLIENT_KEY"
    );
    for mode in ["prefer", "require", "verify_ca", "verify_full"] {
        let out = run(
            "etcd.endpoint",
            json!({"endpoint": ep, "endpoints": [ep], "tls": tls_params(mode, &ca, &cert, &key)}),
            false,
        )
        .await
        .unwrap_or_else(|e| panic!("mode {mode}: {}: {:?}", e.message, e.hint));
        assert_eq!(out.value["tls"], true, "mode {mode}");
        assert_eq!(out.value["is_leader"], true);
    }
    // `require` with a bare host:port also uses TLS.
    let bare = ep.trim_start_matches("https://");
    let out = run(
        "etcd.endpoint",
        json!({"endpoint": bare, "tls": tls_params("require", &ca, &cert, &key)}),
        false,
    )
    .await
    .expect("bare host:port with require");
    assert_eq!(out.value["tls"], true);

    let prefix = prefix();
    let out = run(
        "etcd.probe",
        json!({"endpoints": [ep], "tls": tls_params("verify_ca", &ca, &cert, &key),
               "key_prefix": prefix, "value_size": 4096}),
        false,
    )
    .await
    .expect("probe over mTLS");
    assert_eq!(out.value["tls"], true);
}

#[tokio::test]
async fn mutual_tls_without_client_certificate_is_rejected() {
    let (ep, ca, cert) = need!("GST_ETCD_TLS_ENDPOINT", "GST_TLS_CA", "GST_TLS_CLIENT_CERT");
    // No identity at all, and only a certificate (metasrv then sends none either).
    for cert in ["", cert.as_str()] {
        let err = run_failing(
            "etcd.endpoint",
            json!({"endpoint": ep, "tls": tls_params("require", &ca, cert, "")}),
            ErrorKind::Rejected,
        )
        .await;
        assert_contains(&err.message, "rejected the TLS handshake");
        let hint = err.hint.unwrap();
        assert_contains(&hint, "backend_tls.cert_path");
        assert_contains(&hint, "backend_tls.key_path");
    }
}

#[tokio::test]
async fn mutual_tls_with_the_wrong_ca_is_rejected_naming_the_ca() {
    let (ep, wrong, cert, key) = need!(
        "GST_ETCD_TLS_ENDPOINT",
        "GST_TLS_WRONG_CA",
        "GST_TLS_CLIENT_CERT",
        "GST_TLS_CLIENT_KEY"
    );
    for ca in [wrong.as_str(), ""] {
        let err = run_failing(
            "etcd.endpoint",
            json!({"endpoint": ep, "tls": tls_params("verify_ca", ca, &cert, &key)}),
            ErrorKind::Rejected,
        )
        .await;
        assert_contains(&err.message, "not trusted");
        assert_contains(&err.hint.unwrap(), "backend_tls.ca_cert_path");
    }
}

#[tokio::test]
async fn prefer_with_http_endpoints_is_plaintext() {
    let (tls_ep, ca, cert, key) = need!(
        "GST_ETCD_TLS_ENDPOINT",
        "GST_TLS_CA",
        "GST_TLS_CLIENT_CERT",
        "GST_TLS_CLIENT_KEY"
    );
    // The TLS etcd written without https://: metasrv's `prefer` then talks plaintext, which the
    // TLS server refuses.
    let bare = tls_ep.trim_start_matches("https://").to_string();
    let err = run_failing(
        "etcd.endpoint",
        json!({"endpoint": bare, "tls": tls_params("prefer", &ca, &cert, &key)}),
        ErrorKind::Rejected,
    )
    .await;
    assert_contains(&err.message, "requires TLS");
    // One https endpoint among plain ones: still plaintext.
    let err = run_failing(
        "etcd.endpoint",
        json!({"endpoint": bare, "endpoints": [tls_ep, "127.0.0.1:2379"],
               "tls": tls_params("prefer", &ca, &cert, &key)}),
        ErrorKind::Rejected,
    )
    .await;
    assert_contains(&err.message, "requires TLS");
    // And `disable` with an https:// endpoint still uses TLS for that URL in etcd-client.
}

#[tokio::test]
async fn probe_passes_and_leaves_nothing() {
    let (ep,) = need!("GST_ETCD_ENDPOINT");
    let (_writer, etcd, prefix) = writer(&ep).await;
    let before = seed(&etcd, &prefix).await;

    let out = run(
        "etcd.probe",
        json!({"endpoints": [ep], "tls": tls_params("prefer", "", "", ""),
               "key_prefix": prefix, "max_txn_ops": 128, "value_size": "1500KiB"}),
        false,
    )
    .await
    .expect("probe passes");
    let v = &out.value;
    let namespace = v["namespace"].as_str().unwrap();
    assert!(
        namespace.starts_with(&format!("{prefix}__greptime_self_test/etcd-test-")),
        "{namespace}"
    );
    assert_eq!(v["read_only"], false);
    assert_eq!(v["txn_ops"], 128);
    assert_eq!(v["large_value_bytes"], 1500 * 1024);
    for key in ["put_ms", "get_ms", "delete_ms", "txn_ms", "large_put_ms"] {
        assert!(v[key].as_f64().unwrap() > 0.0, "{key}: {v}");
    }
    assert!(v["revision_after"].as_i64().unwrap() > v["revision_before"].as_i64().unwrap());

    assert_only_the_seed_is_left(&etcd, &prefix, &before).await;
    delete_prefix(&etcd, &prefix).await;
}

#[tokio::test]
async fn probe_above_etcd_max_txn_ops_is_rejected() {
    let (ep,) = need!("GST_ETCD_ENDPOINT");
    let (_writer, etcd, prefix) = writer(&ep).await;
    let err = run_failing(
        "etcd.probe",
        json!({"endpoints": [ep], "key_prefix": prefix, "max_txn_ops": 200}),
        ErrorKind::Rejected,
    )
    .await;
    assert_contains(&err.message, "max_txn_ops");
    assert_contains(&err.message, "--max-txn-ops");
    assert_contains(&err.hint.unwrap(), "--max-txn-ops");
    assert!(dump(&etcd, &prefix).await.is_empty(), "nothing left");
}

#[tokio::test]
async fn probe_of_a_value_above_max_request_bytes_is_rejected() {
    let (ep,) = need!("GST_ETCD_ENDPOINT");
    let (_writer, etcd, prefix) = writer(&ep).await;
    for size in [json!(1_600_000), json!("2MiB")] {
        let err = run_failing(
            "etcd.probe",
            json!({"endpoints": [ep], "key_prefix": prefix, "value_size": size}),
            ErrorKind::Rejected,
        )
        .await;
        assert_contains(&err.message, "--max-request-bytes");
        assert_contains(&err.message, "max_metadata_value_size");
        assert_contains(&err.hint.unwrap(), "--max-request-bytes");
        assert!(dump(&etcd, &prefix).await.is_empty(), "nothing left");
    }
}

#[tokio::test]
async fn keys_of_other_runs_are_left_alone_with_a_warning() {
    let (ep,) = need!("GST_ETCD_ENDPOINT");
    let (_writer, etcd, prefix) = writer(&ep).await;
    let stray = format!("{prefix}__greptime_self_test/old-run/probe-1/kv");
    etcd.kv_client()
        .put(stray.clone(), "x", None)
        .await
        .unwrap();

    for (name, params) in [
        (
            "etcd.probe",
            json!({"endpoints": [ep], "key_prefix": prefix}),
        ),
        (
            "etcd.latency",
            json!({"endpoints": [ep], "key_prefix": prefix, "operations": 5}),
        ),
    ] {
        let out = run(name, params, false)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let warnings = out.value["warnings"].as_array().unwrap();
        assert_eq!(warnings.len(), 1, "{name}: {warnings:?}");
        let warning = warnings[0].as_str().unwrap();
        assert_contains(warning, &stray);
        assert_contains(warning, "etcdctl --endpoints=");
        assert_contains(warning, "del --prefix");
    }
    let left = dump(&etcd, &prefix).await;
    assert_eq!(left.len(), 1, "only the stray key, untouched");
    assert_eq!(left[0], (stray.into_bytes(), b"x".to_vec()));
    delete_prefix(&etcd, &prefix).await;
}

#[tokio::test]
async fn read_only_steps_write_nothing() {
    let (ep,) = need!("GST_ETCD_ENDPOINT");
    let _alone = EXCLUSIVE.write().await;
    let etcd = client(&ep).await;
    let prefix = prefix();
    let before = revision(&etcd).await;

    let out = run(
        "etcd.probe",
        json!({"endpoints": [ep], "key_prefix": prefix}),
        true,
    )
    .await
    .expect("read-only probe");
    let v = &out.value;
    assert_eq!(v["read_only"], true);
    for key in [
        "put_ms",
        "get_ms",
        "txn_ms",
        "large_put_ms",
        "revision_after",
    ] {
        assert_eq!(v[key], Value::Null, "{key}");
    }
    assert_eq!(v["revision_before"], before);

    let out = run(
        "etcd.latency",
        json!({"endpoints": [ep], "key_prefix": prefix, "operations": 20}),
        true,
    )
    .await
    .expect("read-only latency");
    assert_eq!(out.value["put_p50_ms"], Value::Null);
    assert!(out.value["get_p50_ms"].as_f64().unwrap() > 0.0);

    for name in ["etcd.metadata", "etcd.cluster"] {
        run(name, json!({"endpoints": [ep]}), true)
            .await
            .expect(name);
    }
    run("etcd.endpoint", json!({"endpoint": ep}), true)
        .await
        .expect("endpoint");
    assert_eq!(
        revision(&etcd).await,
        before,
        "the store revision is unchanged"
    );
    assert!(dump(&etcd, &prefix).await.is_empty());
}

#[tokio::test]
async fn a_probe_cancelled_midway_is_cleaned_up() {
    let (ep,) = need!("GST_ETCD_ENDPOINT");
    let (_writer, etcd, prefix) = writer(&ep).await;
    let mut interrupted_after_registering = 0;
    // cancel ever later until the probe finishes first: how long it takes depends on the
    // machine's load, so fixed moments could all land before its first write
    let mut delay_ms = 1u64;
    loop {
        let cleanup = CleanupRegistry::default();
        let cx = cx(false, &cleanup, Duration::from_secs(10));
        let params = json!({"endpoints": [ep], "key_prefix": prefix,
                            "value_size": 1_000_000, "max_txn_ops": 128});
        let step = run_step("etcd.probe", params, &cx);
        let finished = tokio::time::timeout(Duration::from_millis(delay_ms), step)
            .await
            .is_ok();
        // what a killed run would leave: every key is on a lease, so etcd removes it in time
        let mut kv = etcd.kv_client();
        let written = kv
            .get(prefix.as_str(), Some(GetOptions::new().with_prefix()))
            .await
            .unwrap();
        for key in written.kvs() {
            assert_ne!(key.lease(), 0, "{} has no lease", key.key_str().unwrap());
        }
        let actions = run_cleanup(&cleanup).await;
        if !finished && actions > 0 {
            interrupted_after_registering += 1;
        }
        assert!(
            dump(&etcd, &prefix).await.is_empty(),
            "keys left after a cancel at {delay_ms} ms"
        );
        if finished || delay_ms > 10_000 {
            break;
        }
        delay_ms += delay_ms / 4 + 1;
    }
    assert!(
        interrupted_after_registering > 0,
        "no cancellation landed between the first write and the end"
    );
    // a put still in flight when its step was dropped fails on the revoked lease instead of
    // landing after the cleanup
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(dump(&etcd, &prefix).await.is_empty(), "a late put landed");
}

#[tokio::test]
async fn metadata_reports_keys_and_the_election_leader() {
    let (ep,) = need!("GST_ETCD_ENDPOINT");
    let (_writer, etcd, prefix) = writer(&ep).await;

    let params = json!({"endpoints": [ep], "key_prefix": prefix});

    let out = run("etcd.metadata", params.clone(), false)
        .await
        .expect("metadata on an empty prefix");
    assert_eq!(out.value["metadata_keys"], 0);
    assert_eq!(out.value["election_leader"], Value::Null);
    assert_eq!(out.value["candidates"], 0);

    let mut kv = etcd.kv_client();
    for (key, value) in [
        ("__metasrv_election/abc", "127.0.0.1:3002"),
        ("__metasrv_election/def", "127.0.0.2:3002"),
        ("__metasrv_election_candidates/127.0.0.1:3002", "{}"),
        ("__metasrv_election_candidates/127.0.0.2:3002", "{}"),
        ("__table_name/greptime/public/t", "{}"),
    ] {
        kv.put(format!("{prefix}{key}"), value, None).await.unwrap();
    }

    let out = run("etcd.metadata", params, false).await.expect("metadata");
    let v = &out.value;
    assert_eq!(v["metadata_keys"], 5);
    assert_eq!(
        v["election_leader"], "127.0.0.1:3002",
        "the oldest key leads"
    );
    assert_eq!(v["election_key"], format!("{prefix}__metasrv_election/abc"));
    assert_eq!(v["candidates"], 2);
    assert_eq!(
        v["candidate_addrs"],
        json!(["127.0.0.1:3002", "127.0.0.2:3002"])
    );
    delete_prefix(&etcd, &prefix).await;
}

#[tokio::test]
async fn latency_figures_are_ordered_and_nothing_is_left() {
    let (ep,) = need!("GST_ETCD_ENDPOINT");
    let (_writer, etcd, prefix) = writer(&ep).await;
    let before = seed(&etcd, &prefix).await;
    let out = run(
        "etcd.latency",
        json!({"endpoints": [ep], "key_prefix": prefix, "operations": 50, "value_size": 128}),
        false,
    )
    .await
    .expect("latency");
    let v = &out.value;
    assert_eq!(v["operations"], 50);
    for op in ["put", "get"] {
        let get = |q: &str| v[format!("{op}_{q}_ms")].as_f64().unwrap();
        assert!(get("p50") > 0.0, "{v}");
        assert!(get("p50") <= get("p90"), "{v}");
        assert!(get("p90") <= get("p99"), "{v}");
        assert!(get("p99") <= get("max"), "{v}");
    }
    assert_eq!(out.details.len(), 2);
    assert_only_the_seed_is_left(&etcd, &prefix, &before).await;
    delete_prefix(&etcd, &prefix).await;

    let err = run_failing(
        "etcd.latency",
        json!({"endpoints": [ep], "operations": 10001}),
        ErrorKind::CouldNotRun,
    )
    .await;
    assert_contains(&err.message, "10000");
}

#[tokio::test]
async fn an_active_alarm_is_reported_and_the_probe_fails_on_it() {
    let (ep,) = need!("GST_ETCD_ENDPOINT");
    let _alone = EXCLUSIVE.write().await;
    let etcd = client(&ep).await;
    let member = etcd
        .maintenance_client()
        .status()
        .await
        .unwrap()
        .header()
        .unwrap()
        .member_id();
    let alarm = |action: AlarmAction| {
        let mut maintenance = etcd.maintenance_client();
        async move {
            let mut options = AlarmOptions::new();
            options.with_member(member);
            maintenance
                .alarm(action, AlarmType::Nospace, Some(options))
                .await
                .expect("alarm request");
        }
    };
    let prefix = prefix();
    let cleanup = CleanupRegistry::default();
    let cx = cx(false, &cleanup, Duration::from_secs(10));

    // Nothing may panic while the alarm is raised: it would stay raised for every other test.
    alarm(AlarmAction::Activate).await;
    let endpoint = run_step("etcd.endpoint", json!({"endpoint": ep}), &cx).await;
    let probe = run_step(
        "etcd.probe",
        json!({"endpoints": [ep], "key_prefix": prefix}),
        &cx,
    )
    .await;
    alarm(AlarmAction::Deactivate).await;
    run_cleanup(&cleanup).await;

    let out = endpoint.expect("an alarm is data, not an error");
    assert_eq!(
        out.value["alarms"],
        json!([format!("NOSPACE (member {member:x})")])
    );
    assert!(out.details.iter().any(|d| d.contains("NOSPACE")));
    let err = expect_err(probe, ErrorKind::Rejected);
    assert_contains(&err.message, "out of space");
    assert_contains(&err.hint.unwrap(), "alarm disarm");
    assert!(dump(&etcd, &prefix).await.is_empty());
}

#[tokio::test]
async fn a_dead_endpoint_among_several_is_named_and_the_probe_leaves_nothing() {
    let (ep,) = need!("GST_ETCD_ENDPOINT");
    let (_writer, etcd, prefix) = writer(&ep).await;
    let dead = format!("127.0.0.1:{}", closed_port());
    // Every endpoint gets the probe's first request, as metasrv's client spreads its requests
    // over all of them: every run fails naming the dead endpoint (proof the probe reached it),
    // not the live one, and never leaves a key.
    for _ in 0..3 {
        let e = run(
            "etcd.probe",
            json!({"endpoints": [ep, dead], "key_prefix": prefix, "value_size": 1024}),
            false,
        )
        .await
        .expect_err("a dead endpoint in the set fails the probe");
        assert_eq!(e.kind, ErrorKind::Unreachable, "{}", e.message);
        assert_contains(&e.message, &dead);
        assert!(!e.message.contains(&ep), "{}", e.message);
        assert_contains(&e.hint.unwrap(), "spreads its requests");
        assert!(dump(&etcd, &prefix).await.is_empty(), "keys left behind");
    }
}
