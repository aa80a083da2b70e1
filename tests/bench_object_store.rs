//! `object_store.bench` against SeaweedFS S3 (started by `scripts/services.sh`) with the
//! read-write key, and against File stores on temporary directories: in-process (figures
//! ordered, caps, cancellation at many moments) and through the CLI's datanode playbook
//! (figures in the JSON report and as JUnit properties, the playbook's gates, Ctrl-C in the
//! throughput phase, `--include-performance` and `--read-only`). Every scenario lists the
//! bucket or directory afterwards: no object of the self-test, pre-existing objects untouched.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common;

use common::object_store::{dir_keeping_a_file, S3Server, Seeded};
use common::steps::{run_cleanup, run_step, step, TestCx};
use common::{checks, datanode_config, run_component, unique};
use futures::TryStreamExt;
use greptime_self_test::config::Component;
use greptime_self_test::plugins::{CleanupRegistry, StepCx};
use opendal::layers::RetryLayer;
use opendal::Operator;
use serde_json::{json, Value};

fn cx(cleanup: &CleanupRegistry, read_only: bool) -> StepCx {
    TestCx::new(Component::Datanode, &unique("bench"))
        .budget(Duration::from_secs(90))
        .read_only(read_only)
        .cleanup(cleanup)
        .build()
}

/// Short in-process runs: 2 measured seconds per direction after a 1 s warm-up, small
/// objects (SeaweedFS reclaims deleted space only when it vacuums).
fn params(store: Value) -> Value {
    json!({"store": store, "latency_ops": 10, "object_size": "64KiB", "concurrency": 2,
           "duration": "2s", "warmup": "1s"})
}

/// The S3 test server under a fresh root named after `tag`, seeded with a pre-existing object:
/// the store as a datanode config would give it, with the read-write key, and an admin
/// operator on the same root.
async fn s3(tag: &str) -> Option<Seeded> {
    let server = S3Server::from_env()?;
    let key = common::service("GST_S3_RW_KEY")?;
    let secret = common::service("GST_S3_RW_SECRET")?;
    let root = unique(tag);
    let admin = Operator::new(server.admin(&root).disable_ec2_metadata())
        .unwrap()
        // SeaweedFS may close a pooled connection just as it is reused: retry temporary errors
        .layer(RetryLayer::new())
        .finish();
    let store = json!({
        "type": "S3", "bucket": server.bucket, "root": root, "endpoint": server.endpoint,
        "region": server.region, "access_key_id": key, "secret_access_key": secret,
        "disable_ec2_metadata": true,
    });
    Some(Seeded::new(admin, store, "pre-existing/sst.parquet").await)
}

/// Whether a throughput object of the bench is under the root of `admin` (the PUT phase has
/// begun).
async fn throughput_started(admin: &Operator) -> bool {
    let lister = admin.lister_with(".greptime-self-test/").recursive(true);
    match lister.await {
        Ok(mut l) => {
            while let Ok(Some(entry)) = l.try_next().await {
                if entry.path().contains("/bench/obj/") {
                    return true;
                }
            }
            false
        }
        Err(_) => false,
    }
}

/// Every entry of a directory tree, relative path → bytes (directories as empty).
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let path = e.unwrap().path();
            let rel = path.strip_prefix(dir).unwrap().display().to_string();
            if path.is_dir() {
                stack.push(path);
                out.insert(format!("{rel}/"), Vec::new());
            } else {
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

fn num(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
}

/// Latencies ordered p50 ≤ p90 ≤ p99 ≤ max; throughput slowest ≤ median ≤ fastest, with
/// `segments` full segments per direction; every byte written accounted for.
fn assert_figures(v: &Value, segments: f64, latency_ops: f64) {
    for dir in ["put", "get", "get_ttfb"] {
        let [p50, p90, p99, max] =
            ["p50", "p90", "p99", "max"].map(|q| num(v, &format!("{dir}_{q}_ms")));
        assert!(
            p50 > 0.0 && p50 <= p90 && p90 <= p99 && p99 <= max,
            "{dir}: {v}"
        );
    }
    assert!(num(v, "get_ttfb_p50_ms") <= num(v, "get_p50_ms"), "{v}");
    for dir in ["put", "get"] {
        for unit in ["mib_s", "objects_s"] {
            let [slow, med, fast] =
                ["slowest", "median", "fastest"].map(|q| num(v, &format!("{dir}_{unit}_{q}")));
            assert!(
                slow > 0.0 && slow <= med && med <= fast,
                "{dir} {unit}: {v}"
            );
        }
        assert_eq!(num(v, &format!("{dir}_segments")), segments, "{v}");
        assert!(num(v, &format!("{dir}_objects")) >= 2.0, "{v}");
    }
    assert_eq!(num(v, "segments"), 2.0 * segments, "{v}");
    assert_eq!(
        num(v, "bytes_written"),
        num(v, "put_objects") * num(v, "object_size") + 4096.0 * latency_ops,
        "{v}"
    );
    assert!(v["stopped_early"].is_null(), "{v}");
    assert_eq!(v["warnings"], json!([]), "{v}");
}

#[test]
fn a_file_store_with_an_object_size_is_accepted() {
    assert!(step("object_store.bench")
        .check_params(&json!({"store": {"type": "File"}, "object_size": 1048576}))
        .is_ok());
}

#[tokio::test]
async fn s3_short_run_has_ordered_figures_and_leaves_nothing() {
    let Some(s3) = s3("bench").await else {
        return;
    };
    let cleanup = CleanupRegistry::default();
    let out = run_step(
        "object_store.bench",
        params(s3.store.clone()),
        &cx(&cleanup, false),
    )
    .await
    .expect("bench");
    assert_figures(&out.value, 2.0, 10.0);
    assert_eq!(run_cleanup(&cleanup).await, 1);
    s3.finish().await;
}

#[tokio::test]
async fn s3_run_cancelled_in_the_throughput_phase_leaves_nothing() {
    let Some(s3) = s3("bench-cancel").await else {
        return;
    };
    let cleanup = CleanupRegistry::default();
    let cx = cx(&cleanup, false);
    let mut p = params(s3.store.clone());
    p["duration"] = json!("30s");
    let run = run_step("object_store.bench", p, &cx);
    let started = async {
        while !throughput_started(&s3.admin).await {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::select! {
        ended = run => panic!("a 30 s run ended first: {ended:?}"),
        seen = tokio::time::timeout(Duration::from_secs(20), started) => {
            seen.expect("the throughput phase started within 20 s, so the cancellation hit it");
        }
    }
    assert_eq!(run_cleanup(&cleanup).await, 1);
    s3.finish().await;
}

#[tokio::test]
async fn file_run_stops_at_max_bytes_keeps_other_runs_objects_and_leaves_nothing() {
    let tmp = dir_keeping_a_file();
    let before = tree(tmp.path());
    let mut p = params(json!({"type": "File"}));
    p["data_home"] = json!(tmp.path());
    // a cap below what the PUT phase would write: it stops early, the figures stay ordered
    p["max_bytes"] = json!("1280KiB");
    let cleanup = CleanupRegistry::default();
    let out = run_step("object_store.bench", p.clone(), &cx(&cleanup, false))
        .await
        .expect("bench");
    let v = &out.value;
    assert!(num(v, "put_p50_ms") <= num(v, "put_p99_ms"), "{v}");
    assert!(
        num(v, "get_ttfb_p99_ms") <= num(v, "get_ttfb_max_ms"),
        "{v}"
    );
    assert_eq!(
        num(v, "put_objects"),
        20.0,
        "1280 KiB of 64 KiB objects: {v}"
    );
    assert_eq!(num(v, "bytes_written"), 1280.0 * 1024.0 + 10.0 * 4096.0);
    assert!(
        v["stopped_early"]
            .as_str()
            .unwrap()
            .contains("put: max_bytes reached"),
        "{v}"
    );
    assert_eq!(run_cleanup(&cleanup).await, 1);
    assert_eq!(tree(tmp.path()), before);

    // another run's object under .greptime-self-test/: a warning, and it is left alone
    let foreign = tmp.path().join(".greptime-self-test/other-run");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("small.bin"), b"theirs").unwrap();
    let with_foreign = tree(tmp.path());
    let cleanup = CleanupRegistry::default();
    let out = run_step("object_store.bench", p, &cx(&cleanup, false))
        .await
        .expect("another run's objects do not stop the bench");
    assert!(
        out.value["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("other self-test runs")),
        "{}",
        out.value
    );
    run_cleanup(&cleanup).await;
    assert_eq!(tree(tmp.path()), with_foreign);
}

/// The regression test of the flaky cleanup: cancelled at 20 moments of the throughput phase
/// (small objects, so writes are nearly always in flight), the File store is left exactly as
/// it was each time, `.tmp/` included.
#[tokio::test]
async fn file_run_cancelled_at_many_moments_leaves_nothing() {
    let tmp = dir_keeping_a_file();
    let before = tree(tmp.path());
    let p = json!({"store": {"type": "File"}, "data_home": tmp.path(), "latency_ops": 2,
                   "object_size": "256KiB", "concurrency": 4, "duration": "5s", "warmup": "0s"});
    for i in 0..20 {
        let cleanup = CleanupRegistry::default();
        let cx = cx(&cleanup, false);
        let run = run_step("object_store.bench", p.clone(), &cx);
        let cut = Duration::from_millis(30 + i * 7);
        assert!(tokio::time::timeout(cut, run).await.is_err());
        assert_eq!(run_cleanup(&cleanup).await, 1);
        assert_eq!(tree(tmp.path()), before, "cancelled after {cut:?}");
    }
}

#[tokio::test]
async fn file_read_only_run_reads_existing_objects_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("data/greptime/public")).unwrap();
    std::fs::write(
        tmp.path().join("data/greptime/public/a.parquet"),
        vec![7u8; 10_000],
    )
    .unwrap();
    std::fs::write(tmp.path().join("data/empty"), b"").unwrap();
    let before = tree(tmp.path());
    let mut p = params(json!({"type": "File"}));
    p["data_home"] = json!(tmp.path().join("data"));
    let cleanup = CleanupRegistry::default();
    let out = run_step("object_store.bench", p, &cx(&cleanup, true))
        .await
        .expect("read-only bench");
    let v = &out.value;
    assert_eq!(v["read_only"], true);
    assert_eq!(num(v, "bytes_written"), 0.0);
    assert!(num(v, "get_ttfb_p50_ms") > 0.0, "{v}");
    assert!(
        v["put_p50_ms"].is_null() && v["put_mib_s_median"].is_null(),
        "{v}"
    );
    assert_eq!(run_cleanup(&cleanup).await, 0);
    assert_eq!(tree(tmp.path()), before);
}

// ---- through the CLI: the datanode playbook ----

/// Short CLI runs: 1 measured second per direction, no warm-up, small objects.
const QUICK: [&str; 10] = [
    "--var",
    "bench_latency_ops=5",
    "--var",
    "bench_object_size=64KiB",
    "--var",
    "bench_concurrency=2",
    "--var",
    "bench_duration=1s",
    "--var",
    "bench_warmup=0s",
];

/// A temporary directory holding a datanode config whose `[storage]` is the S3 store of `s3`.
fn s3_datanode_config(s3: &Seeded) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let s = |k: &str| s3.store[k].as_str().unwrap().to_string();
    let storage = format!(
        "[storage]\ntype = \"S3\"\nbucket = \"{}\"\nroot = \"{}\"\nendpoint = \"{}\"\n\
         region = \"{}\"\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\n\
         disable_ec2_metadata = true\n",
        s("bucket"),
        s("root"),
        s("endpoint"),
        s("region"),
        s("access_key_id"),
        s("secret_access_key")
    );
    let config = datanode_config(dir.path(), &storage);
    (dir, config)
}

fn file_toml(data_home: &Path) -> String {
    format!(
        "[storage]\ntype = \"File\"\ndata_home = \"{}\"\n",
        data_home.display()
    )
}

/// Runs the datanode playbook on `config` with `args`; returns the JSON report and all output.
fn datanode(dir: &Path, config: &Path, args: &[&str]) -> (Value, String) {
    let (r, report) = run_component("datanode", dir, config, args);
    assert_eq!(r.code, 3, "the metasrv is unreachable: {}", r.all());
    (report, r.all())
}

fn benches(report: &Value) -> Vec<&Value> {
    checks(report, "object_store_bench")
}

/// The message of a check in the report.
fn message(check: &Value) -> &str {
    check["message"].as_str().unwrap()
}

#[tokio::test]
async fn cli_figures_reach_json_and_junit_and_nothing_is_left() {
    let Some(s3) = s3("bench-cli").await else {
        return;
    };
    let (dir, config) = s3_datanode_config(&s3);
    let junit = dir.path().join("junit.xml");
    let mut args = vec![
        "--include-performance",
        "--junit-file",
        junit.to_str().unwrap(),
    ];
    args.extend(QUICK);
    let (report, all) = datanode(dir.path(), &config, &args);
    let found = benches(&report);
    assert_eq!(found.len(), 1, "{report}");
    let bench = found[0];
    assert_eq!(bench["status"], "pass", "{bench}");
    assert!(message(bench).contains("nothing left behind"), "{bench}");
    let metrics = &bench["metrics"];
    assert_figures(&bench_metrics_as_output(metrics), 1.0, 5.0);
    assert!(
        !all.contains(s3.store["secret_access_key"].as_str().unwrap()),
        "the secret key reached the output"
    );
    assert!(!all.contains("PUT throughput"), "a progress bar on a pipe");

    let xml = std::fs::read_to_string(&junit).unwrap();
    let instance = bench["instance"].as_str().unwrap();
    let numeric: Vec<(&String, &Value)> = metrics
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, v)| v.is_number())
        .collect();
    assert!(numeric.len() >= 30, "{metrics}");
    for (name, value) in numeric {
        let property = format!(r#"<property name="metric.{instance}.{name}" value="{value}"/>"#);
        assert!(xml.contains(&property), "{property} not in {xml}");
    }
    if let Some(xsd) = common::junit_validator() {
        common::assert_valid_xml(&junit, &xsd);
    }
    s3.finish().await;
}

/// The report's metrics are the step output's fields, but only those set: `None` fields are
/// absent from the metrics, as they are null in the output.
fn bench_metrics_as_output(metrics: &Value) -> Value {
    let mut v = metrics.clone();
    v["stopped_early"] = v.get("stopped_early").cloned().unwrap_or(Value::Null);
    v["warnings"] = v.get("warnings").cloned().unwrap_or(json!([]));
    v
}

#[tokio::test]
async fn cli_ctrl_c_in_the_throughput_phase_leaves_nothing() {
    let Some(s3) = s3("bench-int").await else {
        return;
    };
    let (dir, config) = s3_datanode_config(&s3);
    let child = Command::new(env!("CARGO_BIN_EXE_greptime-self-test"))
        .args(["datanode", "-c"])
        .arg(&config)
        .args(["--output", "json", "--include-performance"])
        .args(QUICK)
        .args(["--var", "bench_duration=60s"])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !throughput_started(&s3.admin).await {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the throughput phase never began"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    common::interrupt(&child);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).expect("report written");
    assert_eq!(report["interrupted"], true);
    let bench = benches(&report)[0];
    assert_eq!(bench["message"], "interrupted", "{bench}");
    assert!(
        bench["details"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d.as_str().unwrap().starts_with("cleaned up object store")),
        "{bench}"
    );
    s3.finish().await;
}

#[test]
fn cli_gates_follow_the_vars() {
    let run = |extra: &[&str]| {
        let dir = tempfile::tempdir().unwrap();
        let config = datanode_config(dir.path(), &file_toml(&dir.path().join("data")));
        let mut args = vec!["--include-performance"];
        args.extend(QUICK);
        args.extend(extra);
        let (report, _) = datanode(dir.path(), &config, &args);
        let bench = benches(&report)[0].clone();
        assert!(!dir.path().join("data").exists(), "data_home left behind");
        bench
    };
    std::thread::scope(|s| {
        let ttfb_fail = s.spawn(|| run(&["--var", "bench_ttfb_p99_fail_ms=0"]));
        let ttfb_warn = s.spawn(|| run(&["--var", "bench_ttfb_p99_warn_ms=0"]));
        // a failed floor is not hidden by the TTFB warning
        let floor = s.spawn(|| {
            run(&[
                "--var",
                "bench_ttfb_p99_warn_ms=0",
                "--var",
                "bench_min_get_mib_s=100000000",
            ])
        });
        let bench = ttfb_fail.join().unwrap();
        assert_eq!(bench["status"], "fail", "{bench}");
        assert!(
            message(&bench).starts_with("GET time to first byte p99 ")
                && message(&bench).ends_with(" ms > 0 ms"),
            "{bench}"
        );
        let bench = ttfb_warn.join().unwrap();
        assert_eq!(bench["status"], "warn", "{bench}");
        assert!(message(&bench).ends_with(" ms > 0 ms"), "{bench}");
        let bench = floor.join().unwrap();
        assert_eq!(bench["status"], "fail", "{bench}");
        assert!(
            message(&bench).ends_with(" MiB/s < 100000000 MiB/s"),
            "{bench}"
        );
    });
}

#[test]
fn cli_bench_needs_include_performance_and_only_reads_with_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("greptime")).unwrap();
    std::fs::write(data.join("greptime/a.parquet"), vec![1u8; 5000]).unwrap();
    let config = datanode_config(dir.path(), &file_toml(&data));

    let (report, _) = datanode(dir.path(), &config, &QUICK);
    let bench = benches(&report)[0];
    assert_eq!(bench["status"], "skipped", "{bench}");
    assert_eq!(bench["metrics"], json!({}), "{bench}");

    let before = tree(&data);
    let mut args = vec!["--include-performance", "--read-only"];
    args.extend(QUICK);
    let (report, _) = datanode(dir.path(), &config, &args);
    let bench = benches(&report)[0];
    assert_eq!(bench["status"], "pass", "{bench}");
    assert!(
        message(bench).starts_with("read-only run: GET TTFB"),
        "{bench}"
    );
    assert_eq!(bench["metrics"]["bytes_written"], 0, "{bench}");
    assert!(
        bench["metrics"].get("put_mib_s_median").is_none(),
        "{bench}"
    );
    assert_eq!(tree(&data), before, "a read-only run changed data_home");
}

/// A silent S3 endpoint: the benchmark's first request is judged at the first-answer deadline
/// (accepted but silent, naming `storage.http_client.timeout`), and no cleanup is registered.
#[tokio::test]
async fn silent_s3_endpoint_is_judged_at_the_answer_deadline() {
    use greptime_self_test::plugins::answer::{AnswerDeadline, Silence};
    let silent = common::steps::silent_listener().await;
    let store = json!({"type": "S3", "bucket": "greptime", "region": "us-east-1",
                       "endpoint": format!("http://{}", silent.addr),
                       "access_key_id": "AKIDEXAMPLE", "secret_access_key": "wJalrXUtnFEMIK7MDENGbPxRfiCY"});
    let cleanup = CleanupRegistry::default();
    let cx = cx(&cleanup, false).with_answer(AnswerDeadline::from_run(Duration::from_secs(1)));
    let started = Instant::now();
    let err = run_step("object_store.bench", params(store), &cx)
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(took <= Duration::from_millis(2500), "took {took:?}");
    assert_eq!(err.silence, Some(Silence::AcceptedSilent), "{err:?}");
    assert!(
        err.message.contains("within 1s (`--answer-timeout`)"),
        "{}",
        err.message
    );
    assert!(err
        .hint
        .as_deref()
        .unwrap()
        .contains("`storage.http_client.timeout = 30s`"));
    assert_eq!(run_cleanup(&cleanup).await, 0);
}
