//! `kafka.topics`: the WAL topics GreptimeDB expects, and whether metasrv could create the
//! missing ones.

use std::collections::HashMap;

use regex::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::discovery::discover;
use super::messages::{code_name, TopicMeta};
use super::settings::Settings;
use super::{capped, KafkaConnection};
use crate::plugins::{Step, StepCx, StepError};

/// Lists the cluster's topics (Metadata for all topics, which never creates one) and compares
/// them with the WAL topics `<topic_name_prefix>_0` … `<topic_name_prefix>_<num_topics-1>`
/// GreptimeDB uses; compares the broker count with `replication_factor`. The verdict is the
/// playbook's: missing topics fail when `auto_create_topics` is false, and a replication
/// factor above the broker count fails when metasrv has topics to create.
pub struct Topics;

/// Parameters of `kafka.topics`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TopicsParams {
    #[serde(flatten)]
    pub connection: KafkaConnection,
    /// `wal.topic_name_prefix` (default `greptimedb_wal_topic`).
    #[serde(default = "default_prefix")]
    pub topic_name_prefix: String,
    /// `wal.num_topics` (default 64).
    #[serde(default = "default_num_topics")]
    pub num_topics: usize,
    /// `wal.auto_create_topics` (default true): whether metasrv creates missing topics.
    /// Reported back; the playbook fails missing topics when it is false.
    #[serde(default = "default_true")]
    pub auto_create_topics: bool,
    /// `wal.replication_factor` (default 1): replicas of each topic metasrv creates; -1 means
    /// the brokers' default.
    #[serde(default = "default_replication")]
    pub replication_factor: i16,
}

fn default_prefix() -> String {
    "greptimedb_wal_topic".to_string()
}

fn default_num_topics() -> usize {
    64
}

fn default_true() -> bool {
    true
}

fn default_replication() -> i16 {
    1
}

/// Output of `kafka.topics`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TopicsOutput {
    /// The endpoint the topic list came from.
    pub via: String,
    /// `wal.topic_name_prefix`.
    pub topic_name_prefix: String,
    /// Number of WAL topics GreptimeDB expects (`wal.num_topics`).
    pub expected: usize,
    /// How many of them exist.
    pub existing: usize,
    /// How many of them are missing.
    pub missing_count: usize,
    /// The missing ones, in order (at most 20).
    pub missing: Vec<String>,
    /// Existing WAL topics the brokers report an error for, or whose partition 0 has no
    /// leader: GreptimeDB cannot write to them (at most 20, each `name: why`).
    pub unavailable: Vec<String>,
    /// Existing WAL topics with more than one partition (GreptimeDB only uses partition 0; at
    /// most 20).
    pub extra_partitions: Vec<String>,
    /// `wal.auto_create_topics`, as given.
    pub auto_create_topics: bool,
    /// Number of brokers in the cluster.
    pub broker_count: usize,
    /// `wal.replication_factor`, as given.
    pub replication_factor: i16,
    /// Whether the cluster has at least `replication_factor` brokers (true for -1, the brokers'
    /// default). When false, metasrv fails to create topics.
    pub replication_ok: bool,
    /// Topics in the cluster, internal ones excluded (with ACLs, only those this user may
    /// describe).
    pub topics_total: usize,
    /// Remarks (e.g. a prefix GreptimeDB accepts but Kafka refuses in topic names).
    pub notes: Vec<String>,
    /// `kafka-topics.sh` lines that create the missing topics as metasrv would (one partition,
    /// `replication_factor` replicas): one per topic, or one loop when more than three are
    /// missing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub create_commands: Vec<String>,
}

impl Step for Topics {
    const NAME: &'static str = "kafka.topics";
    const SUMMARY: &'static str =
        "WAL topics <topic_name_prefix>_0..num_topics-1 present; broker count vs replication_factor";
    const SHAREABLE: bool = true;
    const EXAMPLE: &'static str = "\
broker_endpoints: [\"kafka-0:9092\"]
topic_name_prefix: greptimedb_wal_topic
num_topics: 64
auto_create_topics: true
replication_factor: 1
";
    type Params = TopicsParams;
    type Output = TopicsOutput;

    async fn run(&self, params: Self::Params, cx: &StepCx) -> Result<Self::Output, StepError> {
        let notes = check_prefix(&params.topic_name_prefix)?;
        if params.replication_factor == 0 || params.replication_factor < -1 {
            return Err(StepError::misconfigured(format!(
                "`wal.replication_factor` is {}",
                params.replication_factor
            ))
            .with_hint(
                "set it to the number of replicas of each WAL topic, at least 1 (default 1)",
            ));
        }
        let settings = Settings::load(&params.connection).await?;
        let (via, metadata) = discover(&settings, true, cx).await?;

        let by_name: HashMap<&str, &TopicMeta> = metadata
            .topics
            .iter()
            .map(|t| (t.name.as_str(), t))
            .collect();
        let mut missing = Vec::new();
        let mut unavailable = Vec::new();
        let mut extra_partitions = Vec::new();
        for name in (0..params.num_topics).map(|i| format!("{}_{i}", params.topic_name_prefix)) {
            match by_name.get(name.as_str()) {
                None => missing.push(name),
                Some(topic) => {
                    if let Some(why) = unavailable_reason(topic) {
                        unavailable.push(format!("{name}: {why}"));
                    }
                    if topic.partitions.len() > 1 {
                        extra_partitions
                            .push(format!("{name} ({} partitions)", topic.partitions.len()));
                    }
                }
            }
        }
        let create_commands = create_commands(&params, &missing);
        let broker_count = metadata.brokers.len();
        let replication_ok =
            params.replication_factor == -1 || broker_count >= params.replication_factor as usize;
        Ok(TopicsOutput {
            via,
            topic_name_prefix: params.topic_name_prefix,
            expected: params.num_topics,
            existing: params.num_topics - missing.len(),
            missing_count: missing.len(),
            missing: capped(missing),
            unavailable: capped(unavailable),
            extra_partitions: capped(extra_partitions),
            auto_create_topics: params.auto_create_topics,
            broker_count,
            replication_factor: params.replication_factor,
            replication_ok,
            topics_total: metadata.topics.iter().filter(|t| !t.internal).count(),
            notes,
            create_commands,
        })
    }

    fn details(output: &Self::Output) -> Vec<String> {
        let mut lines = Vec::new();
        if output.missing_count > 0 {
            lines.push(format!(
                "missing ({}): {}{}",
                output.missing_count,
                output.missing.join(", "),
                if output.missing_count > output.missing.len() {
                    ", …"
                } else {
                    ""
                }
            ));
        }
        lines.extend(
            output
                .unavailable
                .iter()
                .map(|u| format!("unavailable: {u}")),
        );
        lines.extend(output.notes.iter().map(|n| format!("note: {n}")));
        lines
    }
}

/// The `kafka-topics.sh` lines that create `missing` (all of them, not capped). With TLS or
/// SASL the tool needs the same settings in a client properties file.
fn create_commands(params: &TopicsParams, missing: &[String]) -> Vec<String> {
    if missing.is_empty() {
        return Vec::new();
    }
    let mut options = format!(
        "--bootstrap-server {} --create --partitions 1",
        params.connection.broker_endpoints.join(",")
    );
    if params.replication_factor > 0 {
        options.push_str(&format!(
            " --replication-factor {}",
            params.replication_factor
        ));
    }
    if params.connection.tls.is_some() || params.connection.sasl.is_some() {
        options.push_str(" --command-config client.properties");
    }
    if missing.len() <= 3 {
        return missing
            .iter()
            .map(|topic| format!("kafka-topics.sh {options} --topic {topic}"))
            .collect();
    }
    let whole_range = missing.len() == params.num_topics;
    let each = if whole_range {
        format!("$(seq 0 {})", params.num_topics - 1)
    } else {
        missing
            .iter()
            .map(|t| t.rsplit('_').next().unwrap_or(t))
            .collect::<Vec<_>>()
            .join(" ")
    };
    vec![format!(
        "for i in {each}; do kafka-topics.sh {options} --topic {}_$i; done",
        params.topic_name_prefix
    )]
}

/// Why GreptimeDB cannot write to an existing topic, if it cannot.
fn unavailable_reason(topic: &TopicMeta) -> Option<String> {
    if topic.error != 0 {
        return Some(code_name(topic.error));
    }
    match topic.partitions.iter().find(|p| p.index == 0) {
        None => Some("no partition 0".to_string()),
        Some(p) if p.error != 0 && p.leader < 0 => {
            Some(format!("partition 0: {}", code_name(p.error)))
        }
        Some(p) if p.leader < 0 => Some("partition 0 has no leader".to_string()),
        Some(_) => None,
    }
}

/// Checks `wal.topic_name_prefix` as GreptimeDB does (it refuses to start otherwise); returns
/// notes about names Kafka itself refuses.
fn check_prefix(prefix: &str) -> Result<Vec<String>, StepError> {
    let greptimedb = Regex::new(r"^[a-zA-Z_:-][a-zA-Z0-9_:\-\.@#]*$").expect("valid regex");
    if !greptimedb.is_match(prefix) {
        return Err(StepError::misconfigured(format!(
            "`wal.topic_name_prefix` = `{prefix}` does not match GreptimeDB's pattern \
             `[a-zA-Z_:-][a-zA-Z0-9_:\\-\\.@#]*`"
        ))
        .with_hint("GreptimeDB refuses to start with it; use letters, digits, `_`, `-` and `.`"));
    }
    let mut notes = Vec::new();
    if prefix.contains([':', '@', '#']) {
        notes.push(format!(
            "`wal.topic_name_prefix` = `{prefix}` contains `:`, `@` or `#`: GreptimeDB accepts \
             it, but Kafka topic names allow only letters, digits, `.`, `_` and `-`, so the \
             brokers refuse to create these topics"
        ));
    }
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::kafka::messages::PartitionMeta;
    use crate::plugins::ErrorKind;

    #[test]
    fn prefix_follows_greptimedb_then_kafka() {
        assert!(check_prefix("greptimedb_wal_topic").unwrap().is_empty());
        assert!(check_prefix("wal.topic-1").unwrap().is_empty());
        assert_eq!(check_prefix("wal:topic").unwrap().len(), 1);
        for bad in ["", "1wal", "wal topic", "wal/topic"] {
            assert_eq!(
                check_prefix(bad).unwrap_err().kind,
                ErrorKind::Misconfigured,
                "{bad}"
            );
        }
    }

    #[test]
    fn unavailable_topics_are_explained() {
        let partition = |leader, error| PartitionMeta {
            index: 0,
            error,
            leader,
            replicas: vec![1],
            isr: vec![1],
        };
        let topic = |error, partitions| TopicMeta {
            name: "t".into(),
            error,
            internal: false,
            partitions,
        };
        assert_eq!(unavailable_reason(&topic(0, vec![partition(1, 0)])), None);
        assert_eq!(
            unavailable_reason(&topic(0, vec![partition(-1, 5)])).unwrap(),
            "partition 0: LeaderNotAvailable (5)"
        );
        assert_eq!(
            unavailable_reason(&topic(0, vec![partition(-1, 0)])).unwrap(),
            "partition 0 has no leader"
        );
        assert_eq!(
            unavailable_reason(&topic(29, vec![])).unwrap(),
            "TopicAuthorizationFailed (29)"
        );
        assert_eq!(
            unavailable_reason(&topic(0, vec![])).unwrap(),
            "no partition 0"
        );
    }
}
