//! End-to-end tests of the binary: example configs, reports, exit codes, bad input,
//! timeouts, engine semantics and secret masking.

use crate::common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::steps::closed_port;
use common::{
    assert_valid_xml, checks as check, datanode_config, dead_metasrv_config, hung_server,
    junit_validator, path, run, run_component, run_in,
};
use serde_json::Value;

fn json_of(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{stdout}"))
}

#[test]
fn standalone_example_passes_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let example = path("examples/standalone.toml");
    let r = run_in(
        dir.path(),
        &["standalone", "-c", example.to_str().unwrap()],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("Overall Result: PASS"), "{}", r.stdout);
    assert!(r.stdout.contains("✓"), "{}", r.stdout);
    assert!(r.stdout.contains("storage.data_home"), "{}", r.stdout);
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "probe directories left behind: {left:?}");
}

#[test]
fn datanode_with_a_dead_metasrv_reports_it_unreachable() {
    let example = dead_metasrv_config("datanode");
    let r = run(&["datanode", "-c", example.to_str().unwrap()]);
    assert_eq!(r.code, 3, "{}", r.all());
    let line = r
        .stdout
        .lines()
        .find(|l| l.contains("metasrv 127.0.0.1:3002"))
        .unwrap_or_else(|| panic!("no metasrv line:\n{}", r.stdout));
    assert!(line.contains('✗'), "{line}");
    assert!(
        r.stdout.contains("meta_client.metasrv_addrs"),
        "hint missing:\n{}",
        r.stdout
    );
    assert!(r.stdout.contains("Overall Result: FAIL"), "{}", r.stdout);
}

#[test]
fn frontend_with_nothing_running_fails_exactly_on_reachability() {
    let example = dead_metasrv_config("frontend");
    let r = run(&[
        "frontend",
        "-c",
        example.to_str().unwrap(),
        "--output",
        "json",
    ]);
    assert_eq!(r.code, 3, "{}", r.all());
    let report = json_of(&r.stdout);
    let failed: Vec<&Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail" || c["status"] == "error")
        .collect();
    assert!(!failed.is_empty());
    for c in failed {
        assert_eq!(
            c["id"], "metasrv_ask_leader",
            "only reachability may fail: {c}"
        );
        assert!(
            c["hint"]
                .as_str()
                .unwrap()
                .contains("meta_client.metasrv_addrs"),
            "{c}"
        );
    }
}

/// The project's full configs (every key each component reads, tests/fixtures/config) run with
/// a passing lint: no key GreptimeDB reads is reported. (GreptimeDB's own example files are not
/// clean: they set Kafka keys under `provider = "raft_engine"`, object-store keys under
/// `type = "File"`, and standalone's `max_concurrent_queries` and `[otlp]`, all ignored.)
#[test]
fn every_full_config_loads_without_false_warnings() {
    for component in ["metasrv", "frontend", "datanode", "flownode", "standalone"] {
        let example = path(&format!("tests/fixtures/config/{component}.toml"));
        // `render` resolves every var and renders every check's parameters without touching a
        // dependency (the fixtures name every store type, and nothing may be contacted)
        let r = run(&["render", component, "-c", example.to_str().unwrap()]);
        assert_eq!(r.code, 0, "{component}: {}", r.all());
        assert!(
            r.stdout.contains("config_findings: 0\n"),
            "{component}: {}",
            r.stdout
        );
        assert!(
            !r.stdout.contains("cannot render"),
            "{component}: {}",
            r.stdout
        );
    }
}

#[test]
fn every_bundled_example_runs_with_a_clean_lint() {
    for (component, expected) in [
        ("standalone", 0),
        ("metasrv", 3),
        ("frontend", 3),
        ("datanode", 3),
        ("flownode", 3),
    ] {
        let example = path(&format!("examples/{component}.toml"));
        let r = run(&[
            component,
            "-c",
            example.to_str().unwrap(),
            "--output",
            "json",
        ]);
        assert_eq!(r.code, expected, "{component}: {}", r.all());
        let report = json_of(&r.stdout);
        assert_eq!(
            check(&report, "config_lint")[0]["status"],
            "pass",
            "{component}"
        );
        assert_eq!(report["counts"]["errors"], 0, "{component}: {}", r.stdout);
    }
}

#[test]
fn the_write_cache_directory_is_probed_and_compared_with_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("datanode.toml");
    std::fs::write(
        &config,
        format!(
            "node_id = 1\n[meta_client]\nmetasrv_addrs = [\"127.0.0.1:{port}\"]\n\
             [storage]\ntype = \"S3\"\nbucket = \"b\"\nroot = \"r\"\ncache_path = \"./read-cache\"\n\
             [[region_engine]]\n[region_engine.mito]\nwrite_cache_path = \"./write-cache\"\nwrite_cache_size = \"1PiB\"\n",
            port = closed_port()
        ),
    )
    .unwrap();
    let r = run_in(
        dir.path(),
        &[
            "datanode",
            "-c",
            config.to_str().unwrap(),
            "--output",
            "json",
        ],
        &[],
    );
    let report = json_of(&r.stdout);
    let dirs = check(&report, "local_dir_writable");
    let by_key = |key: &str| {
        dirs.iter()
            .find(|c| c["title"].as_str().unwrap().contains(key))
            .unwrap_or_else(|| panic!("no check for {key}: {dirs:?}"))
    };
    // GreptimeDB 1.3 no longer keeps an object-store read cache: it only removes the old
    // directory under `cache_path` at start-up (src/datanode/src/store.rs,
    // clean_old_read_cache), so that path needs no room and gets no check
    assert!(
        dirs.iter()
            .all(|c| !c["title"].as_str().unwrap().contains("storage.cache_path")),
        "{dirs:?}"
    );
    let write_cache = by_key("write_cache_path");
    assert_eq!(write_cache["status"], "warn", "{write_cache}");
    assert!(
        write_cache["message"]
            .as_str()
            .unwrap()
            .contains("needs about"),
        "{write_cache}"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("datanode.toml")]);
}

#[test]
fn json_report_matches_its_schema() {
    let example = dead_metasrv_config("datanode");
    let r = run(&[
        "datanode",
        "-c",
        example.to_str().unwrap(),
        "--output",
        "json",
    ]);
    let report = json_of(&r.stdout);
    for key in [
        "component",
        "config_file",
        "timestamp",
        "overall",
        "counts",
        "duration_ms",
        "checks",
    ] {
        assert!(report.get(key).is_some(), "missing {key}");
    }
    assert_eq!(report["overall"], "FAIL");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(path("schemas/report.schema.json")).unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn junit_reports_validate_against_both_schemas() {
    let Some(xsd) = junit_validator() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let example = dead_metasrv_config("datanode");
    let default_xml = dir.path().join("default.xml");
    let gitlab_xml = dir.path().join("gitlab.xml");
    for (file, extra) in [(&default_xml, None), (&gitlab_xml, Some("--junit-gitlab"))] {
        let mut args = vec!["datanode", "-c", example.to_str().unwrap()];
        args.extend(["--junit-file", file.to_str().unwrap(), "--output", "junit"]);
        args.extend(extra);
        let r = run_in(dir.path(), &args, &[]);
        assert_eq!(r.code, 3, "{}", r.all());
        assert!(r.stdout.starts_with("<?xml"), "{}", r.stdout);
    }
    assert_valid_xml(&default_xml, &xsd);
    common::assert_no_case_output(&default_xml);
    assert_valid_xml(&gitlab_xml, &xsd);
    let xml = std::fs::read_to_string(&default_xml).unwrap();
    assert!(
        xml.contains("classname=\"greptime.datanode.datanode\""),
        "{xml}"
    );
    assert!(xml.contains("<failure"), "{xml}");
}

#[test]
fn exit_codes_distinguish_outcomes() {
    let dir = tempfile::tempdir().unwrap();
    let example = path("examples/standalone.toml");
    let example = example.to_str().unwrap();
    // 0: all passed
    assert_eq!(
        run_in(dir.path(), &["standalone", "-c", example], &[]).code,
        0
    );
    // 4: --strict and a warning (an unknown key)
    let typo = dir.path().join("typo.toml");
    let text = std::fs::read_to_string(example)
        .unwrap()
        .replace("[wal]", "[wal]\npurge_treshold = \"1GB\"");
    std::fs::write(&typo, text).unwrap();
    let r = run_in(
        dir.path(),
        &["standalone", "-c", typo.to_str().unwrap(), "--strict"],
        &[],
    );
    assert_eq!(r.code, 4, "{}", r.all());
    assert!(r.stdout.contains("purge_treshold"), "{}", r.stdout);
    let r = run_in(
        dir.path(),
        &["standalone", "-c", typo.to_str().unwrap()],
        &[],
    );
    assert_eq!(
        r.code,
        0,
        "warnings alone pass without --strict: {}",
        r.all()
    );
    // 3: a check failed
    let shared = dead_metasrv_config("datanode");
    assert_eq!(
        run_in(
            dir.path(),
            &["datanode", "-c", shared.to_str().unwrap()],
            &[]
        )
        .code,
        3
    );
    // 2: bad command line
    assert_eq!(
        run_in(dir.path(), &["standalone", "--no-such-flag"], &[]).code,
        2
    );
    // 1: the report cannot be written (an internal, local failure)
    let r = run_in(
        dir.path(),
        &[
            "standalone",
            "-c",
            example,
            "--json-file",
            "/nonexistent-dir/r.json",
        ],
        &[],
    );
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stderr.contains("/nonexistent-dir/r.json"), "{}", r.stderr);
}

#[test]
fn bad_playbooks_name_file_line_and_column() {
    let cases = [
        (
            "unknown_step.yaml",
            "unknown_step.yaml:8:13",
            "did you mean `net.tcp_connect`?",
        ),
        (
            "unknown_param.yaml",
            "unknown_param.yaml:10:9",
            "did you mean `address`?",
        ),
        (
            "bad_template.yaml",
            "bad_template.yaml:6:12",
            "bad template",
        ),
        (
            "bad_jsonpath.yaml",
            "bad_jsonpath.yaml:6:15",
            "bad JSONPath",
        ),
        ("cycle.yaml", "cycle.yaml:7:17", "a → b → a"),
        ("malformed.yaml", "malformed.yaml:5:12", "invalid playbook"),
        (
            "unknown_field.yaml",
            "unknown_field.yaml:7:5",
            "unknown field `retries`",
        ),
        (
            "duplicate_id.yaml",
            "duplicate_id.yaml:11:9",
            "`probe` is already used at",
        ),
        (
            "bad_timeout.yaml",
            "bad_timeout.yaml:7:14",
            "checks[0].timeout: invalid duration `5 parsecs`",
        ),
        (
            "bad_retry_delay.yaml",
            "bad_retry_delay.yaml:9:14",
            "checks[0].retry.delay: invalid duration `soon`",
        ),
    ];
    for (file, place, text) in cases {
        let playbook = path(&format!("tests/fixtures/bad/{file}"));
        for args in [
            vec!["validate", playbook.to_str().unwrap()],
            vec!["run", playbook.to_str().unwrap()],
        ] {
            let r = run(&args);
            assert_eq!(r.code, 2, "{file} {args:?}: {}", r.all());
            assert!(
                r.stderr.contains(place),
                "{file}: expected {place} in:\n{}",
                r.stderr
            );
            assert!(
                r.stderr.contains(text),
                "{file}: expected {text} in:\n{}",
                r.stderr
            );
        }
    }
}

#[test]
fn malformed_toml_names_file_line_and_column() {
    let bad = path("tests/fixtures/bad/malformed.toml");
    let r = run(&["datanode", "-c", bad.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains("malformed.toml:3:"), "{}", r.stderr);
    assert!(
        r.stderr.contains("data_home"),
        "source line shown: {}",
        r.stderr
    );
}

#[test]
fn malformed_toml_never_shows_a_secret_on_the_broken_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("datanode.toml");
    std::fs::write(
        &bad,
        "[storage]\ntype = \"S3\"\nsecret_access_key = \"CANARY-broken-4d2e\" x\n",
    )
    .unwrap();
    let r = run(&["datanode", "-c", bad.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains("datanode.toml:3:"), "{}", r.stderr);
    assert!(!r.all().contains("CANARY-broken-4d2e"), "{}", r.all());
}

#[test]
fn built_in_playbooks_and_the_readme_example_validate() {
    for file in [
        "checks/metasrv.yaml",
        "checks/frontend.yaml",
        "checks/datanode.yaml",
        "checks/flownode.yaml",
        "checks/standalone.yaml",
        "examples/site-datanode.yaml",
    ] {
        let r = common::run_in(&common::root(), &["validate", file], &[]);
        assert_eq!(r.code, 0, "{file}: {}", r.all());
    }
}

/// Runs `playbook` with `http.addr` pointing at a server that accepts and never answers.
fn run_against_hung_server(playbook: &str, extra: &[&str]) -> (common::Run, Duration) {
    let (addr, _server) = hung_server();
    let playbook = path(playbook);
    let set = format!("http.addr={addr}");
    let mut args = vec![
        "run",
        playbook.to_str().unwrap(),
        "--set",
        &set,
        "--output",
        "json",
    ];
    args.extend(extra);
    let started = Instant::now();
    let r = run(&args);
    (r, started.elapsed())
}

#[test]
fn hung_server_fails_at_the_check_timeout() {
    let (r, elapsed) = run_against_hung_server("tests/fixtures/playbooks/hung.yaml", &[]);
    assert_eq!(r.code, 3, "{}", r.all());
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    let report = json_of(&r.stdout);
    let c = check(&report, "health");
    assert_eq!(c[0]["status"], "fail", "{}", c[0]);
    // judged by the step just before the check's 1s timeout, naming the silence
    assert!(
        c[0]["message"]
            .as_str()
            .unwrap()
            .contains("accepted the connection but sent no answer to GET /health within"),
        "{}",
        c[0]
    );
    assert_eq!(c[0]["metrics"]["error_kind"], "Timeout");
    assert_eq!(c[0]["metrics"]["no_answer"], "accepted_silent", "{}", c[0]);
    let blocked = check(&report, "after_health");
    assert_eq!(blocked[0]["status"], "skipped");
    assert!(
        blocked[0]["message"]
            .as_str()
            .unwrap()
            .contains("dependency `health`"),
        "{}",
        blocked[0]
    );
}

#[test]
fn overall_timeout_stops_the_run_and_still_cleans_up() {
    let (r, elapsed) = run_against_hung_server(
        "tests/fixtures/playbooks/hung.yaml",
        &["--timeout", "300ms"],
    );
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    assert_eq!(r.code, 3, "{}", r.all());
    let report = json_of(&r.stdout);
    assert_eq!(report["interrupted"], true);
    let cleanup = check(&report, "cleanup_probe");
    assert_eq!(
        cleanup[0]["status"], "pass",
        "cleanup checks always run: {}",
        cleanup[0]
    );
}

/// Starts the binary on a playbook stuck on a hung server, sends SIGINT `signals` times.
fn interrupt(playbook: &str, signals: usize) -> (std::process::Output, Duration) {
    let (addr, _server) = hung_server();
    let dir = tempfile::tempdir().unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_greptime-self-test"))
        .args(["run", path(playbook).to_str().unwrap(), "--output", "json"])
        .args(["--set", &format!("http.addr={addr}")])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    for _ in 0..signals {
        std::thread::sleep(Duration::from_millis(700));
        common::interrupt(&child);
    }
    let out = child.wait_with_output().unwrap();
    (out, started.elapsed())
}

#[test]
fn first_ctrl_c_stops_work_runs_cleanup_and_reports() {
    let (out, elapsed) = interrupt("tests/fixtures/playbooks/slow.yaml", 1);
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    assert_eq!(out.status.code(), Some(3));
    let report = json_of(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(report["interrupted"], true);
    let slow = check(&report, "slow");
    assert_eq!(slow[0]["status"], "error");
    assert_eq!(slow[0]["message"], "interrupted");
    assert_eq!(check(&report, "cleanup_probe")[0]["status"], "pass");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cleaning up"));
}

#[test]
fn second_ctrl_c_exits_at_once() {
    let (out, elapsed) = interrupt("tests/fixtures/playbooks/slow_cleanup.yaml", 2);
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    assert_eq!(out.status.code(), Some(130));
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted twice"));
}

#[test]
fn engine_semantics_fanout_captures_outcomes_retries() {
    let open = TcpListener::bind("127.0.0.1:0").unwrap();
    let open_addr = open.local_addr().unwrap().to_string();
    let closed = format!("127.0.0.1:{}", closed_port());
    let playbook = path("tests/fixtures/playbooks/engine.yaml");
    let r = run(&[
        "run",
        playbook.to_str().unwrap(),
        "--output",
        "json",
        "--set",
        &format!("meta_client.metasrv_addrs=[\"{open_addr}\", \"{closed}\"]"),
        "--set",
        &format!("grpc.bind_addr=\"{open_addr}\""),
    ]);
    assert_eq!(r.code, 3, "{}", r.all());
    let report = json_of(&r.stdout);
    let fanned = check(&report, "each_metasrv");
    assert_eq!(fanned.len(), 2);
    assert_eq!(fanned[0]["instance"], "each_metasrv[0]");
    assert_eq!(fanned[0]["status"], "pass");
    assert_eq!(fanned[1]["status"], "fail");
    assert_eq!(fanned[1]["metrics"]["error_kind"], "Unreachable");
    assert!(
        fanned[1]["hint"]
            .as_str()
            .unwrap()
            .contains("metasrv_addrs"),
        "{}",
        fanned[1]
    );
    // retries: the failing instance was attempted twice
    assert_eq!(fanned[1]["attempts"], 2);
    // a capture of a passing check feeds a later check
    let reuse = check(&report, "reuse_capture");
    assert_eq!(reuse[0]["status"], "warn", "{}", reuse[0]);
    assert_eq!(
        reuse[0]["message"],
        format!("connected again to {open_addr}")
    );
    // dependency on a partly failing fan-out: skipped with the reason
    let blocked = check(&report, "needs_all_metasrv");
    assert_eq!(blocked[0]["status"], "skipped");
    assert!(blocked[0]["message"]
        .as_str()
        .unwrap()
        .contains("each_metasrv"));
    // when: false → skipped with the condition
    let never = check(&report, "never");
    assert_eq!(never[0]["status"], "skipped");
    assert!(never[0]["message"]
        .as_str()
        .unwrap()
        .contains("condition not met"));
    // assertion failure is `fail` with the expression
    let asserted = check(&report, "assert_port");
    assert_eq!(asserted[0]["status"], "fail");
    assert_eq!(asserted[0]["message"], "assertion failed: port == 1");
    // titles are unique and counts add up
    let counts = &report["counts"];
    assert_eq!(counts["total"], report["checks"].as_array().unwrap().len());
}

#[test]
fn canary_secrets_never_appear_in_any_output() {
    const CANARIES: [&str; 7] = [
        "CANARY-s3-secret-7f3a",
        "CANARY-azure-key-81bd",
        "CANARY-sas-token-2c9e",
        "CANARY-url-password-55aa",
        "CANARY-env-secret-93d1",
        "CANARY-declared-secret-0b7c",
        "CANARY-set-secret-6e42",
    ];
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("datanode.toml");
    std::fs::write(
        &config,
        format!(
            r#"node_id = 1
[meta_client]
metasrv_addrs = ["127.0.0.1:{port}"]
[storage]
type = "S3"
bucket = "b"
root = "r"
endpoint = "http://gt:{url_pw}@127.0.0.1:{port}"
access_key_id = "AKIDEXAMPLE"
secret_access_key = "{s3}"
[[storage.providers]]
name = "azure"
type = "Azblob"
container = "c"
root = "r"
account_name = "acct"
account_key = "{azure}"
sas_token = "{sas}"
endpoint = "http://127.0.0.1:{port}"
"#,
            port = closed_port(),
            url_pw = CANARIES[3],
            s3 = CANARIES[0],
            azure = CANARIES[1],
            sas = CANARIES[2],
        ),
    )
    .unwrap();
    let playbook = path("tests/fixtures/playbooks/canary.yaml");
    let json_file = dir.path().join("r.json");
    let junit_file = dir.path().join("r.xml");
    // CANARIES[5] is declared secret inside the playbook itself
    let env = [(
        "GREPTIMEDB_DATANODE__STORAGE__ACCESS_KEY_SECRET",
        CANARIES[4],
    )];
    let base = [
        "-c",
        config.to_str().unwrap(),
        "-v",
        "--log-level",
        "debug",
        "--set",
        &format!("storage.credential=\"{}\"", CANARIES[6]),
    ];
    let mut outputs = Vec::new();
    for extra in [
        vec!["--output", "text"],
        vec![
            "--output",
            "json",
            "--json-file",
            json_file.to_str().unwrap(),
        ],
        vec![
            "--output",
            "junit",
            "--junit-file",
            junit_file.to_str().unwrap(),
        ],
    ] {
        let mut args = vec!["run", playbook.to_str().unwrap()];
        args.extend(base);
        args.extend(extra);
        let r = run_in(dir.path(), &args, &env);
        assert_eq!(r.code, 3, "{}", r.all());
        assert!(
            r.all().contains("******"),
            "nothing was masked, so the canaries never reached output:\n{}",
            r.all()
        );
        outputs.push(r.all());
    }
    let r = run_in(
        dir.path(),
        &[
            "render",
            playbook.to_str().unwrap(),
            "-c",
            config.to_str().unwrap(),
            "--set",
            &format!("storage.credential=\"{}\"", CANARIES[6]),
        ],
        &env,
    );
    assert_eq!(r.code, 0, "{}", r.all());
    outputs.push(r.all());
    outputs.push(std::fs::read_to_string(&json_file).unwrap());
    outputs.push(std::fs::read_to_string(&junit_file).unwrap());
    for (i, out) in outputs.iter().enumerate() {
        for canary in CANARIES {
            assert!(!out.contains(canary), "output {i} leaks {canary}:\n{out}");
        }
    }
}

#[test]
fn store_addrs_passwords_never_appear_in_any_output() {
    let port = closed_port();
    let dir = tempfile::tempdir().unwrap();
    for (backend, addr, canary) in [
        (
            "postgres_store",
            format!("postgresql://gt:CANARY-pg-url-11f0@127.0.0.1:{port}/meta"),
            "CANARY-pg-url-11f0",
        ),
        (
            "postgres_store",
            format!("host=127.0.0.1 port={port} user=gt password='CANARY pg libpq 3a' dbname=meta"),
            "CANARY pg libpq 3a",
        ),
        (
            "mysql_store",
            format!("mysql://gt:CANARY-my-url-77c2@127.0.0.1:{port}/meta"),
            "CANARY-my-url-77c2",
        ),
    ] {
        let config = dir.path().join("metasrv.toml");
        std::fs::write(
            &config,
            format!("backend = \"{backend}\"\nstore_addrs = [\"{addr}\"]\n"),
        )
        .unwrap();
        let config = config.to_str().unwrap();
        let junit = dir.path().join("r.xml");
        let runs = [
            run_in(
                dir.path(),
                &["metasrv", "-c", config, "-v", "--log-level", "debug"],
                &[],
            ),
            run_in(
                dir.path(),
                &["metasrv", "-c", config, "--output", "json"],
                &[],
            ),
            run_in(
                dir.path(),
                &[
                    "metasrv",
                    "-c",
                    config,
                    "--output",
                    "junit",
                    "--junit-file",
                    junit.to_str().unwrap(),
                ],
                &[],
            ),
            run_in(dir.path(), &["render", "metasrv", "-c", config], &[]),
        ];
        assert_eq!(runs[0].code, 3, "{}", runs[0].all());
        assert!(runs[0].stdout.contains("127.0.0.1"), "{}", runs[0].stdout);
        // the summary header shows store_addrs, so the password did reach the output, masked
        assert!(runs[0].stdout.contains("******"), "{}", runs[0].stdout);
        for r in &runs {
            assert!(
                !r.all().contains(canary),
                "{backend} leaks {canary}:\n{}",
                r.all()
            );
        }
        assert!(!std::fs::read_to_string(&junit).unwrap().contains(canary));
    }
}

#[test]
fn committed_schemas_are_fresh() {
    let pretty = |schema: schemars::Schema| serde_json::to_string_pretty(&schema).unwrap();
    for (kind, fresh) in [
        (
            "playbook",
            pretty(greptime_self_test::playbook::schema::playbook_schema()),
        ),
        (
            "report",
            pretty(greptime_self_test::report::report_schema()),
        ),
        (
            "inventory",
            pretty(greptime_self_test::inventory::inventory_schema()),
        ),
    ] {
        let file = format!("schemas/{kind}.schema.json");
        let committed = std::fs::read_to_string(path(&file)).unwrap_or_default();
        assert_eq!(
            committed.trim_end(),
            fresh.trim_end(),
            "{file} is stale: run `cargo run -- schema {kind} > {file}`"
        );
    }
}

#[test]
fn explain_and_list_describe_every_step() {
    let r = run(&["list"]);
    assert_eq!(r.code, 0);
    for step in greptime_self_test::plugins::registry::all() {
        assert!(r.stdout.contains(step.name()), "{}", step.name());
        let e = run(&["explain", step.name()]);
        assert_eq!(e.code, 0, "{}", e.all());
        assert!(e.stdout.contains("Parameters"), "{}", e.stdout);
        assert!(e.stdout.contains("Example"), "{}", e.stdout);
        let sharing = if step.shareable() {
            "run it once and share"
        } else {
            "each node runs its own"
        };
        assert!(e.stdout.contains(sharing), "{}", e.stdout);
    }
    let e = run(&["explain", "net.tcp_conect"]);
    assert_eq!(e.code, 2);
    assert!(
        e.stderr.contains("did you mean `net.tcp_connect`?"),
        "{}",
        e.stderr
    );
}

#[test]
fn version_names_the_playbook_format() {
    let r = run(&["--version"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("playbook format 1"), "{}", r.stdout);
}

#[test]
fn var_flags_replace_and_add_playbook_vars() {
    let playbook = path("tests/fixtures/playbooks/vars.yaml");
    let playbook = playbook.to_str().unwrap();
    let message = |args: &[&str]| {
        let mut all = vec!["run", playbook, "--output", "json"];
        all.extend(args);
        let r = run(&all);
        assert_eq!(r.code, 0, "{}", r.all());
        json_of(&r.stdout)["checks"][0]["message"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(message(&[]), "hello unset False");
    assert_eq!(
        message(&["--var", "greeting=bonjour", "--var", "extra=3"]),
        "bonjour 3 True"
    );
    let r = run(&["run", playbook, "--var", "no-equals-sign"]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains("malformed --var"), "{}", r.stderr);
}

/// With an object store GreptimeDB forces the mito write cache on and, when `write_cache_path`
/// is empty, keeps it in `storage.data_home` (src/datanode/src/datanode.rs build_mito_engine,
/// src/mito2/src/config.rs sanitize): data_home must have room for `write_cache_size`.
#[test]
fn the_write_cache_counts_in_data_home_when_it_has_no_path_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let data_home = |storage: &str| {
        let config = datanode_config(
            dir.path(),
            &format!(
                "[storage]\n{storage}\n[[region_engine]]\n[region_engine.mito]\nwrite_cache_size = \"1PiB\""
            ),
        );
        let (r, report) = run_component("datanode", dir.path(), &config, &[]);
        check(&report, "local_dir_writable")
            .into_iter()
            .find(|c| c["title"].as_str().unwrap().contains("storage.data_home"))
            .cloned()
            .unwrap_or_else(|| panic!("no data_home check: {}", r.stdout))
    };
    let s3 = data_home("type = \"S3\"\nbucket = \"b\"");
    assert_eq!(s3["status"], "warn", "{s3}");
    assert!(
        s3["message"].as_str().unwrap().contains("write cache"),
        "{s3}"
    );
    // a File store has no write cache: nothing to make room for
    let file = data_home("type = \"File\"");
    assert_eq!(file["status"], "pass", "{file}");
}
