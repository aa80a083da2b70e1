//! The Kafka WAL checks of the built-in datanode playbook against the real (tansu) broker
//! started by `scripts/services.sh`.

use crate::common;

use common::{datanode_config, run_component};
use serde_json::Value;

/// A port where nothing listens, the dead bootstrap broker of greptimedb.md §10.
const DEAD: &str = "127.0.0.1:1";

/// Runs the datanode playbook with Kafka WAL settings; returns exit code and the Kafka checks.
fn datanode_wal(brokers: &[&str], wal: &str, extra: &[&str]) -> (i32, Vec<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let config = datanode_config(
        dir.path(),
        &format!("[wal]\nprovider = \"kafka\"\nbroker_endpoints = {brokers:?}\n{wal}"),
    );
    let (r, report) = run_component("datanode", dir.path(), &config, extra);
    let kafka = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"].as_str().unwrap().starts_with("kafka"))
        .cloned()
        .collect();
    (r.code, kafka)
}

fn by_id<'a>(checks: &'a [Value], id: &str) -> &'a Value {
    checks
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no {id}: {checks:?}"))
}

#[test]
fn healthy_broker_passes_the_wal_checks() {
    let (broker,) = need!("GST_KAFKA_BROKER");
    let (_, checks) = datanode_wal(
        &[&broker],
        "auto_create_topics = true",
        &["--var", "kafka_write_probe=true"],
    );
    for id in ["kafka_brokers", "kafka_api_versions"] {
        assert_eq!(by_id(&checks, id)["status"], "pass", "{checks:?}");
    }
    // Not `fail`, and may be no `pass`: missing topics are created by metasrv when
    // auto_create_topics is on (a warning), and tansu reports the end offset off by one
    // (services.md).
    for id in ["kafka_topics", "kafka_write_probe"] {
        assert_ne!(by_id(&checks, id)["status"], "fail", "{checks:?}");
    }
}

/// A WAL fault and how the datanode playbook must report it: check `check` fails and its
/// `field` contains `says`.
struct WalFault<'a> {
    brokers: &'a [&'a str],
    wal: &'a str,
    check: &'a str,
    field: &'a str,
    says: &'a str,
}

#[test]
fn wal_faults_fail_with_their_cause() {
    let (broker,) = need!("GST_KAFKA_BROKER");
    let dead = format!("127.0.0.1:{}", common::steps::closed_port());
    let faults = [
        WalFault {
            brokers: &[&dead],
            wal: "",
            check: "kafka_brokers",
            field: "hint",
            says: "wal.broker_endpoints",
        },
        // Every bootstrap broker dead: rskafka's bootstrap gives up, and GreptimeDB exits
        // (greptimedb.md §10, "Kafka WAL, broker down").
        WalFault {
            brokers: &[DEAD, &dead],
            wal: "",
            check: "kafka_brokers",
            field: "message",
            says: DEAD,
        },
        WalFault {
            brokers: &[&broker],
            wal: "auto_create_topics = false\nnum_topics = 3\ntopic_name_prefix = \"gst_absent\"",
            check: "kafka_topics",
            field: "message",
            says: "auto_create_topics = false",
        },
        WalFault {
            brokers: &[&broker],
            wal: "replication_factor = 3",
            check: "kafka_topics",
            field: "message",
            says: "replication_factor = 3",
        },
    ];
    for fault in faults {
        let (code, checks) = datanode_wal(fault.brokers, fault.wal, &[]);
        assert_eq!(code, 3, "{}", fault.says);
        let check = by_id(&checks, fault.check);
        assert_eq!(check["status"], "fail", "{check}");
        assert!(
            check[fault.field].as_str().unwrap().contains(fault.says),
            "{check}"
        );
    }
}

/// `[dead, live]` on a datanode: its log store builds the same rskafka client as metasrv
/// (GreptimeDB `log-store/src/kafka/client_manager.rs`, `ClientBuilder::new(broker_endpoints)`),
/// whose bootstrap (the rskafka fork's src/connection.rs, connect_to_a_broker_with_retry) skips
/// a dead broker with a warning and uses the first that answers (greptimedb.md §10: [dead,
/// live] works). So kafka_brokers warns, naming the dead one, and the other Kafka checks run
/// and do not fail. (The datanode's own exit code is not asserted: its metasrv is a dead port.)
#[test]
fn dead_bootstrap_broker_among_live_ones_only_warns() {
    let (broker,) = need!("GST_KAFKA_BROKER");
    let (_, checks) = datanode_wal(
        &[DEAD, &broker],
        "auto_create_topics = true",
        &["--var", "kafka_write_probe=true"],
    );
    let brokers = by_id(&checks, "kafka_brokers");
    assert_eq!(brokers["status"], "warn", "{brokers}");
    let message = brokers["message"].as_str().unwrap();
    for says in [DEAD, "skips it with a warning"] {
        assert!(message.contains(says), "{message}");
    }
    assert!(
        !message.contains(&format!("broker {broker} does not answer")),
        "{message}"
    );
    assert_eq!(
        by_id(&checks, "kafka_api_versions")["status"],
        "pass",
        "{checks:?}"
    );
    // Not `fail`: missing topics are a warning, and tansu's end offset is off by one
    // (services.md), as in healthy_broker_passes_the_wal_checks.
    for id in ["kafka_topics", "kafka_write_probe"] {
        assert_ne!(by_id(&checks, id)["status"], "fail", "{checks:?}");
        assert_ne!(by_id(&checks, id)["status"], "skipped", "{checks:?}");
    }
}

/// Three bootstrap brokers that take the connection and never answer, with `--answer-timeout
/// 1s`: GreptimeDB's client would wait `wal.timeout` for each in turn, then go round them again
/// (the rskafka fork's connect_to_a_broker_with_retry); the check probes them at once and is
/// judged within about one deadline, says which silence it met (`metrics.no_answer`) and names
/// the deadline and `wal.timeout`.
#[test]
fn silent_brokers_are_judged_within_one_answer_deadline() {
    let servers: Vec<_> = (0..3).map(|_| common::hung_server()).collect();
    let brokers: Vec<&str> = servers.iter().map(|(addr, _)| addr.as_str()).collect();
    let (code, checks) = datanode_wal(&brokers, "", &["--answer-timeout", "1s"]);
    assert_eq!(code, 3);
    let check = by_id(&checks, "kafka_brokers");
    assert_eq!(check["status"], "fail", "{check}");
    assert_eq!(check["metrics"]["no_answer"], "accepted_silent", "{check}");
    assert_eq!(check["metrics"]["error_kind"], "Timeout", "{check}");
    let took = check["duration_ms"].as_f64().unwrap();
    assert!(took <= 1000.0 * 1.2 + 500.0, "took {took} ms: {check}");
    let message = check["message"].as_str().unwrap();
    assert!(
        message.contains("sent no answer to ApiVersions within 1s (`--answer-timeout`)"),
        "{message}"
    );
    for broker in &brokers {
        assert!(message.contains(broker), "{message}");
    }
    assert!(
        check["hint"]
            .as_str()
            .unwrap()
            .contains("`wal.timeout` (3s)"),
        "{check}"
    );
}
