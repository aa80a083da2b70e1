//! `kafka.*`: the Kafka remote WAL (`wal.provider = "kafka"`), reached as GreptimeDB reaches it:
//! the `wal.broker_endpoints`, `wal.connect_timeout` and `wal.timeout`, TLS when a `[wal.tls]`
//! table is present (its CA and the system roots, a client certificate when both files are
//! named) and SASL when `[wal.sasl]` is present (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512).
//!
//! - `kafka.brokers`: every endpoint alone, then every broker the cluster advertises.
//! - `kafka.topics`: the WAL topics `<topic_name_prefix>_0..num_topics-1` and the broker count
//!   against `replication_factor`.
//! - `kafka.api_versions`: the Kafka APIs and versions GreptimeDB's client needs, per broker
//!   (DeleteRecords for WAL pruning, missing on AWS MSK).
//! - `kafka.write_probe`: create, produce, fetch and delete a topic of its own, never a WAL
//!   topic.
//!
//! The reads (ApiVersions, SASL, Metadata) are sent over a connection of our own
//! (`connection`, messages encoded by the `kafka-protocol` crate) because rskafka does not expose
//! them; topic creation, produce, fetch and deletion go through rskafka, the client GreptimeDB
//! uses (`rskafka_adapter`).
//!
//! Client modules, each depending only on those listed before it: `tls`, `settings`,
//! `bounds`, `messages`, `wire`, `errors`, `connection`, `discovery`, `rskafka_adapter`.

mod api_versions;
mod bounds;
mod brokers;
mod connection;
mod discovery;
mod errors;
mod messages;
mod rskafka_adapter;
mod settings;
mod tls;
mod topics;
mod wire;
mod write_probe;

use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

pub use api_versions::{ApiSupport, ApiVersions, ApiVersionsOutput, ApiVersionsParams, BrokerApis};
pub use brokers::{AdvertisedBroker, Brokers, BrokersOutput, BrokersParams, EndpointReport};
pub use topics::{Topics, TopicsOutput, TopicsParams};
pub use write_probe::{WriteProbe, WriteProbeOutput, WriteProbeParams};

use crate::plugins::de_opt_duration;

pub(super) static STEPS: &[&dyn super::DynStep] = &[&Brokers, &Topics, &ApiVersions, &WriteProbe];

/// Every self-test topic starts with this; WAL topics never do.
pub const PROBE_TOPIC_PREFIX: &str = "greptime_self_test_";

/// GreptimeDB's default `wal.connect_timeout` and `wal.timeout`.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

/// How GreptimeDB connects to Kafka: the `[wal]` keys every `kafka.*` step takes.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct KafkaConnection {
    /// `wal.broker_endpoints`: the bootstrap brokers, each `host:port` (no scheme).
    pub broker_endpoints: Vec<String>,
    /// `wal.connect_timeout` (humantime, default `3s`): bound on resolving and connecting (TCP)
    /// to one broker. GreptimeDB's client puts no bound on the TLS handshake; the step waits
    /// for it for the first-answer deadline (`--answer-timeout`, 5 s by default).
    #[serde(default, deserialize_with = "de_opt_duration")]
    #[schemars(with = "Option<String>")]
    pub connect_timeout: Option<Duration>,
    /// `wal.timeout` (humantime, default `3s`): bound on each request to a broker. The step
    /// waits for the smaller of each key and the first-answer deadline.
    #[serde(default, deserialize_with = "de_opt_duration")]
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Duration>,
    /// `[wal.tls]`: present (even empty) means TLS, as in GreptimeDB; null or absent means
    /// plaintext.
    #[serde(default)]
    pub tls: Option<KafkaTls>,
    /// `[wal.sasl]`: present means SASL authentication after connecting; null or absent means
    /// none.
    #[serde(default)]
    pub sasl: Option<KafkaSasl>,
}

impl KafkaConnection {
    /// `wal.connect_timeout`, or its default.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout.unwrap_or(DEFAULT_TIMEOUT)
    }

    /// `wal.timeout`, or its default.
    pub fn timeout(&self) -> Duration {
        self.timeout.unwrap_or(DEFAULT_TIMEOUT)
    }
}

/// `[wal.tls]`. GreptimeDB trusts `server_ca_cert_path` (when set) plus the system roots, and
/// presents a client certificate only when both `client_cert_path` and `client_key_path` are
/// set. A path that is set must be readable: an empty string is a path GreptimeDB fails to
/// read, so leave a key out (or null) to unset it.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaTls {
    /// `wal.tls.server_ca_cert_path`: PEM file of the CA(s) that signed the brokers'
    /// certificates.
    #[serde(default)]
    pub server_ca_cert_path: Option<String>,
    /// `wal.tls.client_cert_path`: PEM client certificate (chain) for mutual TLS.
    #[serde(default)]
    pub client_cert_path: Option<String>,
    /// `wal.tls.client_key_path`: PEM private key of the client certificate.
    #[serde(default)]
    pub client_key_path: Option<String>,
}

/// `[wal.sasl]`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaSasl {
    /// `wal.sasl.type`: `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512` (upper case, as GreptimeDB
    /// requires).
    #[serde(rename = "type")]
    pub mechanism: String,
    /// `wal.sasl.username`.
    pub username: String,
    /// `wal.sasl.password`: used to authenticate, never repeated in messages.
    pub password: String,
}

/// At most this many names in list outputs (missing topics and the like).
pub(crate) const LIST_CAP: usize = 20;

/// `items` capped at [`LIST_CAP`].
pub(crate) fn capped(items: impl IntoIterator<Item = String>) -> Vec<String> {
    items.into_iter().take(LIST_CAP).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn connection_defaults_are_greptimedbs() {
        let conn: KafkaConnection =
            serde_json::from_value(json!({"broker_endpoints": ["k:9092"]})).unwrap();
        assert_eq!(conn.connect_timeout(), Duration::from_secs(3));
        assert_eq!(conn.timeout(), Duration::from_secs(3));
        assert!(conn.tls.is_none() && conn.sasl.is_none());
        let conn: KafkaConnection = serde_json::from_value(json!({
            "broker_endpoints": ["k:9092"], "timeout": "500ms", "tls": {}, "sasl": null
        }))
        .unwrap();
        assert_eq!(conn.timeout(), Duration::from_millis(500));
        assert!(conn.tls.is_some(), "an empty [wal.tls] table enables TLS");
    }

    #[test]
    fn tls_and_sasl_tables_reject_unknown_keys() {
        let bad_tls = json!({"broker_endpoints": [], "tls": {"ca_cert_path": "x"}});
        assert!(serde_json::from_value::<KafkaConnection>(bad_tls).is_err());
        let sasl = json!({"broker_endpoints": [],
            "sasl": {"type": "PLAIN", "username": "u", "password": "p"}});
        let conn: KafkaConnection = serde_json::from_value(sasl).unwrap();
        assert_eq!(conn.sasl.unwrap().mechanism, "PLAIN");
    }
}
