//! The built-in metasrv playbook, end to end, against the real etcd, PostgreSQL and MariaDB
//! servers started by `scripts/services.sh` (addresses in the `GST_*` environment variables).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{run_component, service, Run};
use serde_json::Value;

/// Writes `metasrv.toml` into `dir`: `toml`, then gRPC and HTTP on port 0. Returns its path.
fn metasrv_config(dir: &Path, toml: &str) -> PathBuf {
    let config = dir.join("metasrv.toml");
    std::fs::write(
        &config,
        format!("{toml}\n[grpc]\nbind_addr = \"127.0.0.1:0\"\n[http]\naddr = \"127.0.0.1:0\"\n"),
    )
    .unwrap();
    config
}

/// Writes a metasrv config into `dir` and runs the built-in playbook on it.
fn metasrv(dir: &Path, toml: &str, extra: &[&str]) -> (Run, Value) {
    let config = metasrv_config(dir, toml);
    run_component("metasrv", dir, &config, extra)
}

fn status<'a>(report: &'a Value, id: &str) -> Vec<&'a str> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == id)
        .map(|c| c["status"].as_str().unwrap())
        .collect()
}

fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}"))
}

/// Every instance of each check passed.
fn assert_pass(report: &Value, ids: &[&str]) {
    for id in ids {
        assert_eq!(
            status(report, id),
            vec!["pass"],
            "{id}: {}",
            check(report, id)
        );
    }
}

/// etcd's current revision, read with etcdctl.
fn etcd_revision(endpoint: &str) -> u64 {
    let etcdctl = service("GST_ETCDCTL").expect("etcdctl");
    let out = Command::new(etcdctl)
        .args(["--endpoints", endpoint, "endpoint", "status", "-w", "json"])
        .env("ETCDCTL_API", "3")
        .output()
        .unwrap();
    let status: Value = serde_json::from_slice(&out.stdout).expect("etcdctl json");
    status[0]["Status"]["header"]["revision"].as_u64().unwrap()
}

/// Every self-test key under `key_prefix` (a run's `store_key_prefix`) of the plain etcd.
fn etcd_leftovers(endpoint: &str, key_prefix: &str) -> String {
    let etcdctl = service("GST_ETCDCTL").expect("etcdctl");
    let out = Command::new(etcdctl)
        .args([
            "--endpoints",
            endpoint,
            "get",
            "--prefix",
            "--keys-only",
            &format!("{key_prefix}__greptime_self_test/"),
        ])
        .env("ETCDCTL_API", "3")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|k| k.contains("__greptime_self_test"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn healthy_etcd_passes_and_leaves_nothing() {
    let (endpoint,) = need!("GST_ETCD_ENDPOINT");
    let _etcd = common::PLAIN_ETCD.blocking_read();
    let dir = tempfile::tempdir().unwrap();
    let (r, report) = metasrv(
        dir.path(),
        &format!("backend = \"etcd_store\"\nstore_addrs = [\"{endpoint}\"]\nstore_key_prefix = \"gst-cli-healthy/\""),
        &["--include-performance"],
    );
    assert_eq!(r.code, 0, "{}", r.all());
    assert_pass(
        &report,
        &[
            "etcd_endpoint",
            "etcd_cluster",
            "etcd_metadata",
            "etcd_probe",
            "etcd_latency",
        ],
    );
    assert_eq!(status(&report, "sql_connect"), vec!["skipped"]);
    assert_eq!(etcd_leftovers(&endpoint, "gst-cli-healthy/"), "");
}

#[test]
fn read_only_run_writes_nothing_to_etcd() {
    let (endpoint,) = need!("GST_ETCD_ENDPOINT");
    let _alone = common::PLAIN_ETCD.blocking_write();
    let dir = tempfile::tempdir().unwrap();
    let before = etcd_revision(&endpoint);
    let (r, report) = metasrv(
        dir.path(),
        &format!("backend = \"etcd_store\"\nstore_addrs = [\"{endpoint}\"]"),
        &["--read-only", "--include-performance"],
    );
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(status(&report, "etcd_probe"), vec!["pass"]);
    assert_eq!(
        etcd_revision(&endpoint),
        before,
        "a read-only run changed etcd"
    );
}

#[test]
fn etcd_faults_fail_with_their_cause() {
    let (endpoint, auth) = need!("GST_ETCD_ENDPOINT", "GST_ETCD_AUTH_ENDPOINT");
    let _etcd = common::PLAIN_ETCD.blocking_read();
    let dir = tempfile::tempdir().unwrap();
    let dead = format!("127.0.0.1:{}", common::steps::closed_port());
    // one dead endpoint in the list
    let (r, report) = metasrv(
        dir.path(),
        &format!("backend = \"etcd_store\"\nstore_addrs = [\"{endpoint}\", \"{dead}\"]"),
        &[],
    );
    assert_eq!(r.code, 3, "{}", r.all());
    assert_eq!(status(&report, "etcd_endpoint"), vec!["pass", "fail"]);
    // etcd with auth enabled: unusable by GreptimeDB, not "wrong password"
    let (r, report) = metasrv(
        dir.path(),
        &format!("backend = \"etcd_store\"\nstore_addrs = [\"{auth}\"]"),
        &[],
    );
    assert_eq!(r.code, 3, "{}", r.all());
    let msg = check(&report, "etcd_endpoint")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("authentication"), "{msg}");
    // max_txn_ops above etcd's --max-txn-ops (128)
    let (r, report) = metasrv(
        dir.path(),
        &format!("backend = \"etcd_store\"\nstore_addrs = [\"{endpoint}\"]\nmax_txn_ops = 200\nstore_key_prefix = \"gst-cli-faults/\""),
        &[],
    );
    assert_eq!(r.code, 3, "{}", r.all());
    let probe = check(&report, "etcd_probe");
    assert_eq!(probe["status"], "fail", "{probe}");
    assert!(probe.to_string().contains("max_txn_ops"), "{probe}");
    assert_eq!(etcd_leftovers(&endpoint, "gst-cli-faults/"), "");
}

#[test]
fn healthy_postgres_passes() {
    let (pg,) = need!("GST_PG_RW_URL");
    let dir = tempfile::tempdir().unwrap();
    let (r, report) = metasrv(
        dir.path(),
        &format!("backend = \"postgres_store\"\nstore_addrs = [\"{pg}\"]\nmeta_table_name = \"gst_cli_meta\""),
        &["--include-performance"],
    );
    assert_eq!(r.code, 0, "{}", r.all());
    assert_pass(
        &report,
        &[
            "sql_connect",
            "sql_metadata_table",
            "sql_privileges",
            "sql_election",
            "sql_latency",
        ],
    );
}

/// MariaDB as `mysql_store`: metasrv's MySQL election runs `SET SESSION wait_timeout = ?,
/// innodb_lock_wait_timeout = ?, max_execution_time = ?` on every new session
/// (GreptimeDB election/rds/mysql.rs, maybe_init_client), MariaDB answers error 1193 and
/// metasrv exits (greptimedb.md §10, "MariaDB 10.11 as mysql_store, read-write user"). The
/// playbook replays those settings and fails on the server's answer, naming the variable. The
/// other MySQL checks still do not fail for this read-write user.
#[test]
fn mariadb_store_fails_on_the_election_session_settings() {
    let (my,) = need!("GST_MYSQL_RW_URL");
    let dir = tempfile::tempdir().unwrap();
    let (r, report) = metasrv(
        dir.path(),
        &format!("backend = \"mysql_store\"\nstore_addrs = [\"{my}\"]\nmeta_table_name = \"gst_cli_meta\""),
        &[],
    );
    assert_eq!(r.code, 3, "{}", r.all());
    let election = check(&report, "sql_election");
    assert_eq!(election["status"], "fail", "{election}");
    let message = election["message"].as_str().unwrap();
    for says in ["max_execution_time", "1193", "metasrv exits"] {
        assert!(message.contains(says), "{message}");
    }
    let hint = election["hint"].as_str().unwrap();
    for says in ["MySQL 5.7.8", "MariaDB"] {
        assert!(hint.contains(says), "{hint}");
    }
    for id in ["sql_connect", "sql_metadata_table", "sql_privileges"] {
        assert_ne!(
            status(&report, id),
            vec!["fail"],
            "{id}: {}",
            check(&report, id)
        );
    }
}

/// MariaDB with a SELECT-only user: metasrv exits (greptimedb.md §10, "MariaDB read-only
/// user"); its metadata backend runs CREATE TABLE IF NOT EXISTS at start-up
/// (kv_backend/rds/mysql.rs), which MariaDB refuses without CREATE even when the table exists.
#[test]
fn mariadb_read_only_user_fails() {
    let (ro,) = need!("GST_MYSQL_RO_URL");
    let dir = tempfile::tempdir().unwrap();
    let (r, report) = metasrv(
        dir.path(),
        &format!("backend = \"mysql_store\"\nstore_addrs = [\"{ro}\"]\nmeta_table_name = \"gst_cli_meta\""),
        &[],
    );
    assert_eq!(r.code, 3, "{}", r.all());
    let table = check(&report, "sql_metadata_table");
    assert_eq!(table["status"], "fail", "{table}");
    assert!(table.to_string().contains("CREATE"), "{table}");
    assert_eq!(status(&report, "sql_election"), vec!["fail"], "{report}");
}

/// Kafka WAL `broker_endpoints = [dead, live]`: metasrv works (greptimedb.md §10): the rskafka
/// fork GreptimeDB uses (src/connection.rs, connect_to_a_broker_with_retry) tries the
/// bootstrap brokers in random order, warns about each that fails and uses the first that
/// answers. So the run passes (exit 0) with a warning naming the dead broker; `[dead, dead]`
/// fails, as metasrv exits when no broker answers (§10, "Kafka WAL, broker down").
#[test]
fn kafka_wal_with_a_dead_bootstrap_broker_only_warns() {
    let (broker,) = need!("GST_KAFKA_BROKER");
    let dead = "127.0.0.1:1";
    let dir = tempfile::tempdir().unwrap();
    let wal = |brokers: &[&str]| {
        format!(
            "backend = \"memory_store\"\n[wal]\nprovider = \"kafka\"\n\
             broker_endpoints = {brokers:?}\nauto_create_topics = true\n\
             topic_name_prefix = \"gst_cli_dead_bootstrap\"\nnum_topics = 1"
        )
    };
    let (r, report) = metasrv(dir.path(), &wal(&[dead, &broker]), &[]);
    assert_eq!(r.code, 0, "{}", r.all());
    let brokers = check(&report, "kafka_brokers");
    assert_eq!(brokers["status"], "warn", "{brokers}");
    let message = brokers["message"].as_str().unwrap();
    for says in [dead, "skips it with a warning"] {
        assert!(message.contains(says), "{message}");
    }
    assert_eq!(
        status(&report, "kafka_api_versions"),
        vec!["pass"],
        "{report}"
    );
    assert_ne!(status(&report, "kafka_topics"), vec!["fail"], "{report}");
    assert_ne!(status(&report, "kafka_topics"), vec!["skipped"], "{report}");

    let other = format!("127.0.0.1:{}", common::steps::closed_port());
    let (r, report) = metasrv(dir.path(), &wal(&[dead, &other]), &[]);
    assert_eq!(r.code, 3, "{}", r.all());
    let brokers = check(&report, "kafka_brokers");
    assert_eq!(brokers["status"], "fail", "{brokers}");
    assert!(brokers.to_string().contains(dead), "{brokers}");
    for id in ["kafka_topics", "kafka_api_versions"] {
        assert_eq!(status(&report, id), vec!["skipped"], "{id}");
    }
}

#[test]
fn sql_faults_fail_with_their_cause_and_never_show_the_password() {
    let (ro, rw) = need!("GST_PG_RO_URL", "GST_PG_RW_URL");
    let dir = tempfile::tempdir().unwrap();
    let password = rw
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .and_then(|(user, _)| user.split_once(':'))
        .map(|(_, pw)| pw.to_string())
        .expect("password in GST_PG_RW_URL");
    let wrong = rw.replace(&format!(":{password}@"), ":not-the-password@");
    // wrong password
    let (r, report) = metasrv(
        dir.path(),
        &format!("backend = \"postgres_store\"\nstore_addrs = [\"{wrong}\"]"),
        &[],
    );
    assert_eq!(r.code, 3, "{}", r.all());
    let connect = check(&report, "sql_connect");
    assert_eq!(connect["status"], "fail");
    assert!(connect.to_string().contains("password"), "{connect}");
    // role without CREATE on public (PostgreSQL 15)
    let (r, report) = metasrv(
        dir.path(),
        &format!("backend = \"postgres_store\"\nstore_addrs = [\"{ro}\"]"),
        &[],
    );
    assert_eq!(r.code, 3, "{}", r.all());
    assert_eq!(
        status(&report, "sql_metadata_table"),
        vec!["fail"],
        "{report}"
    );
    // backend_tls disable is refused by metasrv for PostgreSQL
    let (r, report) = metasrv(
        dir.path(),
        &format!("backend = \"postgres_store\"\nstore_addrs = [\"{rw}\"]\n[backend_tls]\nmode = \"disable\""),
        &[],
    );
    assert_eq!(r.code, 3, "{}", r.all());
    assert!(check(&report, "sql_connect")
        .to_string()
        .contains("disable"));
    for text in [&r.all(), &serde_json::to_string(&report).unwrap()] {
        assert!(!text.contains(&password), "password leaked");
    }
}

#[test]
fn etcd_endpoints_of_two_clusters_disagree() {
    let (plain, other) = need!("GST_ETCD_ENDPOINT", "GST_ETCD_AUTH_ENDPOINT");
    let _etcd = common::PLAIN_ETCD.blocking_read();
    let dir = tempfile::tempdir().unwrap();
    let (r, report) = metasrv(
        dir.path(),
        &format!("backend = \"etcd_store\"\nstore_addrs = [\"{plain}\", \"{other}\"]"),
        &[],
    );
    assert_eq!(r.code, 3, "{}", r.all());
    let cluster = check(&report, "etcd_cluster");
    assert_eq!(cluster["status"], "fail", "{cluster}");
    let message = cluster["message"].as_str().unwrap();
    assert!(
        message.starts_with("the endpoints disagree: cluster ids"),
        "{message}"
    );
    assert!(
        cluster["hint"]
            .as_str()
            .unwrap()
            .contains("same etcd cluster"),
        "{cluster}"
    );
}

/// `GREPTIMEDB_METASRV__STORE_ADDRS="<etcd>,"`: config-rs splits the list key into two entries,
/// the second empty, and metasrv's etcd client trims every entry and drops the empty ones
/// (`src/meta-srv/src/utils/etcd.rs`); the real metasrv elects a leader with it (greptimedb.md
/// §10). So the run passes and only the live endpoint is probed.
#[test]
fn a_trailing_comma_in_the_store_addrs_env_var_is_dropped_as_metasrv_drops_it() {
    let (endpoint,) = need!("GST_ETCD_ENDPOINT");
    let _etcd = common::PLAIN_ETCD.blocking_read();
    let dir = tempfile::tempdir().unwrap();
    let config = metasrv_config(
        dir.path(),
        "backend = \"etcd_store\"\nstore_key_prefix = \"gst-cli-comma/\"",
    );
    let addrs = format!("{endpoint},");
    let r = common::run_in(
        dir.path(),
        &[
            "metasrv",
            "-c",
            config.to_str().unwrap(),
            "--output",
            "json",
        ],
        &[("GREPTIMEDB_METASRV__STORE_ADDRS", addrs.as_str())],
    );
    assert_eq!(r.code, 0, "{}", r.all());
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_pass(
        &report,
        &[
            "etcd_endpoint",
            "etcd_cluster",
            "etcd_metadata",
            "etcd_probe",
        ],
    );
    let probed: Vec<&str> = common::checks(&report, "etcd_endpoint")
        .iter()
        .map(|c| c["title"].as_str().unwrap())
        .collect();
    assert_eq!(probed, [format!("etcd endpoint {endpoint} is healthy")]);
    assert_eq!(etcd_leftovers(&endpoint, "gst-cli-comma/"), "");
}

/// `store_addr = "<live etcd>"` (singular) in the TOML: not a config key — only the flag
/// `--store-addr` is an alias (src/cmd/src/metasrv.rs) — so metasrv ignores it, dials the
/// default `127.0.0.1:2379` and exits (greptimedb.md §10). The tool warns about the ignored key
/// and probes the default, as metasrv would.
#[test]
fn a_singular_store_addr_is_ignored_and_the_default_endpoint_is_probed() {
    let (endpoint,) = need!("GST_ETCD_ENDPOINT");
    let dir = tempfile::tempdir().unwrap();
    let (r, report) = metasrv(
        dir.path(),
        &format!("backend = \"etcd_store\"\nstore_addr = \"{endpoint}\""),
        &[],
    );
    assert_eq!(r.code, 3, "{}", r.all());
    let lint = check(&report, "config_lint");
    assert_eq!(lint["status"], "warn", "{lint}");
    assert!(
        lint["message"].as_str().unwrap().contains("store_addrs"),
        "{lint}"
    );
    let probed = check(&report, "etcd_endpoint");
    assert!(
        probed["title"].as_str().unwrap().contains("127.0.0.1:2379"),
        "{probed}"
    );
    assert_eq!(probed["status"], "fail", "{probed}");
    assert!(
        !r.stdout.contains(&format!("etcd endpoint {endpoint}")),
        "{}",
        r.stdout
    );
}

/// What a script reading the JSON report sees when every etcd endpoint is down: every check
/// is present, the ones that do not apply say why, and the one cause is counted once (the
/// endpoint failures), the checks behind it are skipped with a reference to it.
#[test]
fn json_keeps_every_check_with_a_typed_skip_reason() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("metasrv.toml");
    std::fs::write(
        &config,
        "backend = \"etcd_store\"\nstore_addrs = [\"127.0.0.1:1\", \"127.0.0.1:2\"]\n\
         [grpc]\nbind_addr = \"127.0.0.1:0\"\n[http]\naddr = \"127.0.0.1:0\"\n",
    )
    .unwrap();
    let (r, report) = common::run_component("metasrv", dir.path(), &config, &[]);
    assert_eq!(r.code, 3, "{}", r.all());
    let counts = &report["counts"];
    assert_eq!(counts["failed"], 2, "{counts}");
    assert_eq!(
        counts["skipped"].as_u64().unwrap(),
        counts["not_applicable"].as_u64().unwrap() + counts["blocked"].as_u64().unwrap(),
        "{counts}"
    );
    let checks = report["checks"].as_array().unwrap();
    let skip_of = |instance: &str| {
        checks
            .iter()
            .find(|c| c["instance"] == instance)
            .unwrap_or_else(|| panic!("{instance} missing from the JSON report"))
    };
    for id in ["sql_connect", "sql_election", "kafka_topics"] {
        let c = skip_of(id);
        assert_eq!(c["status"], "skipped", "{c}");
        assert_eq!(c["skip"]["kind"], "not_applicable", "{c}");
        assert!(
            c["message"]
                .as_str()
                .unwrap()
                .starts_with("condition not met: vars."),
            "{c}"
        );
    }
    let cluster = skip_of("etcd_cluster");
    assert_eq!(cluster["skip"]["kind"], "already_reported", "{cluster}");
    assert_eq!(
        cluster["skip"]["causes"],
        serde_json::json!(["etcd_endpoint[0]", "etcd_endpoint[1]"])
    );
    let probe = skip_of("etcd_probe");
    assert_eq!(probe["skip"]["kind"], "blocked", "{probe}");
    assert_eq!(probe["skip"]["cause"], "etcd_cluster", "{probe}");
    let failed = skip_of("etcd_endpoint[0]");
    assert_eq!(failed["status"], "fail");
    assert_eq!(failed["key"], "store_addrs", "{failed}");
}

/// `sql_latency` can fail on what it measures: its gates (`--var sql_…_ms`) fail a slow upsert,
/// and in a read-only run a slow select still warns instead of hiding behind the read-only pass.
/// Zero-millisecond gates stand in for a slow store.
#[test]
fn sql_latency_gates_fail_and_read_only_runs_keep_them() {
    let (pg, admin) = need!("GST_PG_RW_URL", "GST_PG_ADMIN_URL");
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "backend = \"postgres_store\"\nstore_addrs = [\"{pg}\"]\nmeta_table_name = \"gst_cli_meta\""
    );
    let (r, report) = metasrv(
        dir.path(),
        &toml,
        &["--include-performance", "--var", "sql_upsert_p99_fail_ms=0"],
    );
    assert_eq!(r.code, 3, "{}", r.all());
    let latency = check(&report, "sql_latency");
    assert_eq!(latency["status"], "fail", "{latency}");
    assert!(
        latency["message"].as_str().unwrap().contains("upsert p99"),
        "{latency}"
    );

    // A read-only run measures selects on an existing table only.
    let table = format!("gst_cli_ro_{}", std::process::id());
    let read_only_toml = toml.replace("gst_cli_meta", &table);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(crate::plugins_sql::pg_exec(
        &admin,
        &format!(
            "CREATE TABLE \"{table}\"(k bytea PRIMARY KEY, v bytea); \
             INSERT INTO \"{table}\" VALUES ('a', 'b'); GRANT SELECT, INSERT, UPDATE, DELETE ON \"{table}\" TO gt_rw"
        ),
    ));
    let (r, report) = metasrv(
        dir.path(),
        &read_only_toml,
        &[
            "--include-performance",
            "--read-only",
            "--var",
            "sql_select_p99_warn_ms=0",
        ],
    );
    runtime.block_on(crate::plugins_sql::pg_exec(
        &admin,
        &format!("DROP TABLE \"{table}\""),
    ));
    assert_eq!(r.code, 0, "a warning is not a failure: {}", r.all());
    let latency = check(&report, "sql_latency");
    assert_eq!(latency["status"], "warn", "{latency}");
    assert!(
        latency["message"]
            .as_str()
            .unwrap()
            .contains("(read-only run)"),
        "{latency}"
    );
}
