//! The Kafka WAL checks of the built-in datanode playbook against the real (tansu) broker
//! started by `scripts/services.sh`.

use crate::common;

use common::{run_in, service};
use serde_json::Value;

/// Runs the datanode playbook with Kafka WAL settings; returns exit code and the Kafka checks.
fn datanode_wal(broker: &str, wal: &str, extra: &[&str]) -> (i32, Vec<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("datanode.toml");
    std::fs::write(
        &config,
        format!(
            "node_id = 1\n[meta_client]\nmetasrv_addrs = [\"127.0.0.1:1\"]\n\
             [grpc]\nbind_addr = \"127.0.0.1:0\"\n[http]\naddr = \"127.0.0.1:0\"\n\
             [wal]\nprovider = \"kafka\"\nbroker_endpoints = [\"{broker}\"]\n{wal}\n"
        ),
    )
    .unwrap();
    let mut args = vec![
        "datanode",
        "-c",
        config.to_str().unwrap(),
        "--output",
        "json",
    ];
    args.extend(extra);
    let r = run_in(dir.path(), &args, &[]);
    let report: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|_| panic!("{}", r.all()));
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
    let Some(broker) = service("GST_KAFKA_BROKER") else {
        return;
    };
    let (_, checks) = datanode_wal(
        &broker,
        "auto_create_topics = true",
        &["--var", "kafka_write_probe=true"],
    );
    assert_eq!(
        by_id(&checks, "kafka_brokers")["status"],
        "pass",
        "{checks:?}"
    );
    assert_eq!(
        by_id(&checks, "kafka_api_versions")["status"],
        "pass",
        "{checks:?}"
    );
    // missing topics are created by metasrv when auto_create_topics is on: a warning
    assert_ne!(
        by_id(&checks, "kafka_topics")["status"],
        "fail",
        "{checks:?}"
    );
    // tansu reports the end offset off by one (services.md), hence not `pass`
    assert_ne!(
        by_id(&checks, "kafka_write_probe")["status"],
        "fail",
        "{checks:?}"
    );
}

#[test]
fn wal_faults_fail_with_their_cause() {
    let Some(broker) = service("GST_KAFKA_BROKER") else {
        return;
    };
    let dead = format!("127.0.0.1:{}", common::steps::closed_port());
    let (code, checks) = datanode_wal(&dead, "", &[]);
    assert_eq!(code, 3);
    let brokers = by_id(&checks, "kafka_brokers");
    assert_eq!(brokers["status"], "fail");
    assert!(
        brokers["hint"]
            .as_str()
            .unwrap()
            .contains("wal.broker_endpoints"),
        "{brokers}"
    );
    let (code, checks) = datanode_wal(
        &broker,
        "auto_create_topics = false\nnum_topics = 3\ntopic_name_prefix = \"gst_absent\"",
        &[],
    );
    assert_eq!(code, 3);
    let topics = by_id(&checks, "kafka_topics");
    assert_eq!(topics["status"], "fail");
    assert!(
        topics["message"]
            .as_str()
            .unwrap()
            .contains("auto_create_topics = false"),
        "{topics}"
    );
    let (code, checks) = datanode_wal(&broker, "replication_factor = 3", &[]);
    assert_eq!(code, 3);
    let topics = by_id(&checks, "kafka_topics");
    assert_eq!(topics["status"], "fail");
    assert!(
        topics["message"]
            .as_str()
            .unwrap()
            .contains("replication_factor = 3"),
        "{topics}"
    );
}
