//! `kafka.write_probe`: proves GreptimeDB's client can create a topic, write LZ4 batches to it,
//! read them back and delete it, on a topic of its own. It never writes to a WAL topic.

use std::time::Duration;

use rskafka::chrono::{DateTime, Utc};
use rskafka::client::error::{Error as KafkaError, ProtocolError};
use rskafka::client::partition::{Compression, OffsetAt, UnknownTopicHandling};
use rskafka::client::Client;
use rskafka::record::Record;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::bounds::request_limit;
use super::discovery::discover;
use super::rskafka_adapter::{rskafka_client, rskafka_error, within};
use super::settings::Settings;
use super::{KafkaConnection, PROBE_TOPIC_PREFIX};
use crate::plugins::{human, millis, Step, StepCx, StepError};

/// Records produced and read back.
const RECORDS: usize = 3;
/// Bound on the cleanup (the engine gives each cleanup action 15 s).
const CLEANUP_LIMIT: Duration = Duration::from_secs(12);
/// Key of every probe record.
const RECORD_KEY: &[u8] = b"greptime-self-test";

/// Creates the topic `greptime_self_test_<run id>_<nonce>` (one partition, replication
/// `min(replication_factor, brokers)`) with rskafka as metasrv creates WAL topics, produces a
/// few records as one LZ4 batch (GreptimeDB's WAL compression), fetches them back and compares,
/// reads the latest offset (ListOffsets, which GreptimeDB uses on start-up), deletes the topic
/// and checks it is gone. Its removal is registered with the engine before the topic is
/// created, so a failed or cancelled probe leaves nothing either. With `--read-only` it does
/// nothing.
pub struct WriteProbe;

/// Parameters of `kafka.write_probe`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteProbeParams {
    #[serde(flatten)]
    pub connection: KafkaConnection,
    /// `wal.replication_factor` (default 1). The probe topic gets this many replicas, at most
    /// the number of brokers, so it exercises the same replication as the WAL topics.
    #[serde(default = "default_replication")]
    pub replication_factor: i16,
    /// `wal.topic_name_prefix` (default `greptimedb_wal_topic`), named in the ACLs a refused
    /// probe prints.
    #[serde(default = "default_wal_prefix")]
    pub topic_name_prefix: String,
}

fn default_wal_prefix() -> String {
    "greptimedb_wal_topic".into()
}

fn default_replication() -> i16 {
    1
}

/// Output of `kafka.write_probe`. In a `--read-only` run only `read_only` and `topic` are set.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WriteProbeOutput {
    /// True in a `--read-only` run: nothing was done.
    pub read_only: bool,
    /// The probe topic (never a WAL topic).
    pub topic: String,
    /// Brokers in the cluster.
    pub broker_count: Option<usize>,
    /// Replication factor the probe topic was created with.
    pub replication_factor: Option<i16>,
    /// Time to create the topic, in milliseconds.
    pub create_ms: Option<f64>,
    /// Time to produce the records (one batch) once the topic was ready, in milliseconds.
    pub produce_ms: Option<f64>,
    /// Time to fetch them back, in milliseconds.
    pub fetch_ms: Option<f64>,
    /// Time to delete the topic and see it gone, in milliseconds.
    pub delete_ms: Option<f64>,
    /// Records produced, fetched back and found identical.
    pub records: Option<usize>,
    /// Compression of the produced batch (`lz4`, as GreptimeDB writes its WAL).
    pub compression: Option<String>,
    /// Offset after the last record as ListOffsets(latest) reports it; Apache Kafka reports
    /// last offset + 1.
    pub end_offset: Option<i64>,
    /// High watermark reported by the fetch.
    pub high_watermark: Option<i64>,
    /// Whether `end_offset` is last offset + 1, as GreptimeDB expects when it replays the WAL
    /// and decides whether a topic is empty.
    pub end_offset_matches: Option<bool>,
    /// Whether the topic was deleted and is no longer listed.
    pub deleted: Option<bool>,
}

impl Step for WriteProbe {
    const NAME: &'static str = "kafka.write_probe";
    const SUMMARY: &'static str =
        "Create a self-test topic, produce LZ4 records, fetch them back, delete it (never a WAL topic)";
    const SHAREABLE: bool = true;
    const EXAMPLE: &'static str = "\
broker_endpoints: [\"kafka-0:9092\"]
replication_factor: 1
";
    type Params = WriteProbeParams;
    type Output = WriteProbeOutput;

    async fn run(&self, params: Self::Params, cx: &StepCx) -> Result<Self::Output, StepError> {
        let topic = probe_topic(&cx.run_id);
        if cx.read_only {
            return Ok(WriteProbeOutput::read_only(topic));
        }
        let acls = acl_commands(&params.connection, &params.topic_name_prefix);
        probe(params, topic, cx).await.map_err(|e| {
            if e.message.contains("AuthorizationFailed") {
                let hint = format!(
                    "grant the user the ACLs GreptimeDB needs on its WAL topics and the cluster \
                     (and on the self-test's probe topics):\n$ {}",
                    acls.join("\n$ ")
                );
                e.with_hint(hint)
            } else {
                e
            }
        })
    }

    fn details(output: &Self::Output) -> Vec<String> {
        match (output.end_offset_matches, output.end_offset) {
            (Some(false), Some(end)) => vec![format!(
                "ListOffsets(latest) answered {end} after {} records; Apache Kafka answers last \
                 offset + 1",
                output.records.unwrap_or(0)
            )],
            _ => Vec::new(),
        }
    }
}

/// Creates, writes, reads and deletes the probe `topic`.
async fn probe(
    params: WriteProbeParams,
    topic: String,
    cx: &StepCx,
) -> Result<WriteProbeOutput, StepError> {
    let settings = Settings::load(&params.connection).await?;
    let (_, metadata) = discover(&settings, false, cx).await?;
    let broker_count = metadata.brokers.len();
    let replication_factor = params
        .replication_factor
        .max(1)
        .min(broker_count.max(1) as i16);

    let kafka = rskafka_client(&settings, request_limit(cx)).await?;
    // Registered before the topic exists: whatever happens next, it is removed.
    let (cleanup_settings, cleanup_topic) = (settings.clone(), topic.clone());
    cx.on_cleanup(format!("Kafka topic `{topic}`"), async move {
        remove_topic(&cleanup_settings, &cleanup_topic)
            .await
            .map_err(|e| e.message)
    });

    let started = Instant::now();
    let controller = kafka
        .controller_client()
        .map_err(|e| rskafka_error("controller client", &e))?;
    let limit = request_limit(cx);
    within(
        limit,
        &format!("creating topic `{topic}`"),
        controller.create_topic(&topic, 1, replication_factor, millis_i32(limit)),
    )
    .await?;
    let create_ms = millis(started.elapsed());

    let partition = within(
        request_limit(cx),
        &format!("finding the leader of `{topic}` partition 0"),
        kafka.partition_client(&topic, 0, UnknownTopicHandling::Retry),
    )
    .await?;
    let records: Vec<Record> = (0..RECORDS)
        .map(|i| Record {
            key: Some(RECORD_KEY.to_vec()),
            value: Some(format!("probe record {i} of run {}", cx.run_id).into_bytes()),
            headers: Default::default(),
            timestamp: now(),
        })
        .collect();
    let started = Instant::now();
    let offsets = within(
        request_limit(cx),
        &format!("producing {RECORDS} LZ4-compressed records to `{topic}`"),
        partition.produce(records.clone(), Compression::Lz4),
    )
    .await?;
    let produce_ms = millis(started.elapsed());
    let (Some(&first), Some(&last)) = (offsets.first(), offsets.last()) else {
        return Err(StepError::rejected(format!(
            "producing to `{topic}` returned no offsets"
        )));
    };

    let started = Instant::now();
    let (fetched, high_watermark) = fetch_all(&partition, first, RECORDS, cx, &topic).await?;
    let fetch_ms = millis(started.elapsed());
    compare(&records, &fetched, first, &topic)?;

    let end_offset = within(
        request_limit(cx),
        &format!("ListOffsets(latest) of `{topic}`"),
        partition.get_offset(OffsetAt::Latest),
    )
    .await?;

    let started = Instant::now();
    delete_and_verify(&kafka, &topic, request_limit(cx)).await?;
    let delete_ms = millis(started.elapsed());

    Ok(WriteProbeOutput {
        read_only: false,
        topic,
        broker_count: Some(broker_count),
        replication_factor: Some(replication_factor),
        create_ms: Some(create_ms),
        produce_ms: Some(produce_ms),
        fetch_ms: Some(fetch_ms),
        delete_ms: Some(delete_ms),
        records: Some(RECORDS),
        compression: Some("lz4".to_string()),
        end_offset: Some(end_offset),
        high_watermark: Some(high_watermark),
        end_offset_matches: Some(end_offset == last + 1),
        deleted: Some(true),
    })
}

/// `kafka-acls.sh` lines granting the WAL user what GreptimeDB does with its topics (create,
/// describe, write, read, delete records) and the cluster (describe, create), plus the same on
/// the self-test's probe topics.
fn acl_commands(connection: &KafkaConnection, wal_prefix: &str) -> Vec<String> {
    let principal = match &connection.sasl {
        Some(sasl) => format!("User:{}", sasl.username),
        None => "User:<the client certificate's principal>".to_string(),
    };
    let mut base = format!(
        "kafka-acls.sh --bootstrap-server {}",
        connection.broker_endpoints.join(",")
    );
    if connection.tls.is_some() || connection.sasl.is_some() {
        base.push_str(" --command-config client.properties");
    }
    let topic_ops = "--operation Create --operation Describe --operation Write --operation Read \
                     --operation Delete";
    vec![
        format!(
            "{base} --add --allow-principal {principal} {topic_ops} --topic {wal_prefix} \
             --resource-pattern-type prefixed"
        ),
        format!(
            "{base} --add --allow-principal {principal} --operation Describe --operation Create \
             --cluster"
        ),
        format!(
            "{base} --add --allow-principal {principal} {topic_ops} --topic \
             {PROBE_TOPIC_PREFIX} --resource-pattern-type prefixed"
        ),
    ]
}

impl WriteProbeOutput {
    fn read_only(topic: String) -> Self {
        Self {
            read_only: true,
            topic,
            broker_count: None,
            replication_factor: None,
            create_ms: None,
            produce_ms: None,
            fetch_ms: None,
            delete_ms: None,
            records: None,
            compression: None,
            end_offset: None,
            high_watermark: None,
            end_offset_matches: None,
            deleted: None,
        }
    }
}

/// `greptime_self_test_<run id>_<nonce>`: unique per step, legal as a Kafka topic name.
pub(crate) fn probe_topic(run_id: &str) -> String {
    let run: String = run_id
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    format!("{PROBE_TOPIC_PREFIX}{run}_{}", &nonce[..8])
}

/// Now, as a record timestamp (rskafka's chrono has no clock).
fn now() -> DateTime<Utc> {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn millis_i32(limit: Duration) -> i32 {
    limit.as_millis().min(i32::MAX as u128) as i32
}

/// Fetches from `first` until `count` records arrived or the deadline is near.
async fn fetch_all(
    partition: &rskafka::client::partition::PartitionClient,
    first: i64,
    count: usize,
    cx: &StepCx,
    topic: &str,
) -> Result<(Vec<(i64, Record)>, i64), StepError> {
    let mut got: Vec<(i64, Record)> = Vec::new();
    let mut high_watermark = -1;
    let started = Instant::now();
    while got.len() < count {
        let next = got.last().map_or(first, |(offset, _)| offset + 1);
        let (batch, watermark) = within(
            request_limit(cx),
            &format!("fetching `{topic}` from offset {next}"),
            partition.fetch_records(next, 1..1_000_000, 200),
        )
        .await?;
        high_watermark = watermark;
        got.extend(
            batch
                .into_iter()
                .filter(|r| r.offset >= next)
                .map(|r| (r.offset, r.record)),
        );
        if got.len() < count && request_limit(cx) < Duration::from_millis(300) {
            return Err(StepError::timeout(format!(
                "only {} of {count} produced records came back from `{topic}` within {}",
                got.len(),
                human(started.elapsed())
            ))
            .with_hint("the broker acknowledged the records but does not serve them; look at the broker log"));
        }
    }
    got.truncate(count);
    Ok((got, high_watermark))
}

/// Checks the fetched records are the produced ones, at consecutive offsets from `first`.
fn compare(
    produced: &[Record],
    fetched: &[(i64, Record)],
    first: i64,
    topic: &str,
) -> Result<(), StepError> {
    for (i, (sent, (offset, got))) in produced.iter().zip(fetched).enumerate() {
        if *offset != first + i as i64 || got.key != sent.key || got.value != sent.value {
            return Err(StepError::rejected(format!(
                "record {i} read back from `{topic}` differs from the one produced (offset \
                 {offset}, expected {})",
                first + i as i64
            ))
            .with_hint(
                "another client writes to the self-test topic, or the broker corrupts LZ4 batches",
            ));
        }
    }
    Ok(())
}

/// Deletes the topic (already gone counts as deleted) and waits until it is no longer
/// listed.
async fn delete_and_verify(client: &Client, topic: &str, limit: Duration) -> Result<(), StepError> {
    let started = Instant::now();
    let left = || limit.saturating_sub(started.elapsed());
    let controller = client
        .controller_client()
        .map_err(|e| rskafka_error("controller client", &e))?;
    let what = format!("deleting topic `{topic}`");
    match tokio::time::timeout(left(), controller.delete_topic(topic, millis_i32(left()))).await {
        Ok(Ok(())) => {}
        Ok(Err(KafkaError::ServerError {
            protocol_error: ProtocolError::UnknownTopicOrPartition,
            ..
        })) => {}
        Ok(Err(e)) => return Err(rskafka_error(&what, &e)),
        Err(_) => {
            return Err(
                StepError::timeout(format!("{what}: no answer within {}", human(limit))).with_hint(
                    "the brokers did not complete the deletion; delete the topic by hand",
                ),
            )
        }
    }
    loop {
        let topics = within(left(), "listing topics", client.list_topics()).await?;
        if !topics.iter().any(|t| t.name == topic) {
            return Ok(());
        }
        if left() < Duration::from_millis(200) {
            return Err(StepError::rejected(format!(
                "topic `{topic}` is still listed {} after it was deleted",
                human(started.elapsed())
            ))
            .with_hint("the brokers accepted the deletion but keep the topic; delete it by hand (kafka-topics --delete)"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The cleanup: connects anew, deletes the topic if it exists and checks it stays gone (a
/// creation still in flight when the step was cancelled may land after a first deletion).
async fn remove_topic(settings: &Settings, topic: &str) -> Result<(), StepError> {
    let started = Instant::now();
    let kafka = rskafka_client(settings, CLEANUP_LIMIT).await?;
    for _ in 0..2 {
        let left = CLEANUP_LIMIT.saturating_sub(started.elapsed());
        delete_and_verify(&kafka, topic, left).await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let left = CLEANUP_LIMIT.saturating_sub(started.elapsed());
        let topics = within(left, "listing topics", kafka.list_topics()).await?;
        if !topics.iter().any(|t| t.name == topic) {
            return Ok(());
        }
    }
    Err(StepError::rejected(format!(
        "topic `{topic}` reappeared after being deleted twice"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acls_name_the_sasl_user_the_wal_prefix_and_the_brokers() {
        let connection: KafkaConnection = serde_json::from_value(serde_json::json!({
            "broker_endpoints": ["k1:9092", "k2:9092"],
            "sasl": {"type": "SCRAM-SHA-512", "username": "greptime", "password": "s3cret"}
        }))
        .unwrap();
        let lines = acl_commands(&connection, "wal_t");
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with(
            "kafka-acls.sh --bootstrap-server k1:9092,k2:9092 --command-config client.properties \
             --add --allow-principal User:greptime --operation Create"
        ));
        assert!(lines[0].ends_with("--topic wal_t --resource-pattern-type prefixed"));
        assert!(lines[1].ends_with("--operation Describe --operation Create --cluster"));
        assert!(lines.iter().all(|l| !l.contains("s3cret")));
    }

    #[test]
    fn probe_topics_are_unique_legal_and_never_wal_topics() {
        let a = probe_topic("1a2b3c4d5e6f");
        let b = probe_topic("1a2b3c4d5e6f");
        assert_ne!(a, b);
        assert!(a.starts_with("greptime_self_test_1a2b3c4d5e6f_"), "{a}");
        let odd = probe_topic("run/with:odd chars");
        assert!(
            odd.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
            "{odd}"
        );
        assert!(probe_topic(&"x".repeat(500)).len() < 249);
        assert!(!a.starts_with("greptimedb_wal_topic"));
    }
}
