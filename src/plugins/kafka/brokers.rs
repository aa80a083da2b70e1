//! `kafka.brokers`: every endpoint of `wal.broker_endpoints` alone, then every broker the
//! cluster advertises, each connected with GreptimeDB's TLS and SASL settings.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::connection::connect;
use super::discovery::none_reachable;
use super::messages::{BrokerMeta, Metadata};
use super::settings::Settings;
use super::KafkaConnection;
use crate::plugins::answer::Silence;
use crate::plugins::{millis, Step, StepCx, StepError};

/// Connects to every endpoint of `wal.broker_endpoints` on its own (TCP, TLS when `[wal.tls]`
/// is present, ApiVersions, SASL when `[wal.sasl]` is present, Metadata), then to every broker
/// the Metadata answer lists at its advertised address, which is where GreptimeDB's client
/// sends produce and fetch requests. Fails only when no endpoint answers: GreptimeDB's client
/// (rskafka) tries the bootstrap endpoints in random order, logs a warning for each one that
/// fails and bootstraps from the first that answers, so a dead endpoint among live ones is
/// reported in `bootstrap_skipped` for a warning, while an advertised broker that cannot be
/// reached is reported in `advertised_unreachable` for a failure.
pub struct Brokers;

/// Parameters of `kafka.brokers`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BrokersParams {
    #[serde(flatten)]
    pub connection: KafkaConnection,
}

/// One endpoint of `wal.broker_endpoints`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EndpointReport {
    /// The endpoint as configured.
    pub endpoint: String,
    /// Whether it answered Metadata (after TLS and SASL, when configured).
    pub reachable: bool,
    /// Why it did not (null when reachable).
    pub error: Option<String>,
    /// Kind of that error: `Unreachable`, `Timeout`, `Rejected`, `Misconfigured` (null when
    /// reachable).
    pub error_kind: Option<String>,
    /// Hint for that error (null when reachable or none).
    pub error_hint: Option<String>,
    /// How the endpoint stayed silent, when it did: `refused`, `black_holed` (no answer to the
    /// TCP connection), `accepted_silent` (no answer to a request) or `tls_stalled` (no answer
    /// to the TLS handshake); null otherwise.
    pub no_answer: Option<String>,
    /// Time to connect, authenticate and get Metadata, in milliseconds (null when
    /// unreachable).
    pub latency_ms: Option<f64>,
    /// Cluster id it reports (null when unreachable or not reported).
    pub cluster_id: Option<String>,
    /// Number of brokers in its Metadata answer (null when unreachable).
    pub broker_count: Option<usize>,
}

/// One broker of the cluster, at its advertised address.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AdvertisedBroker {
    /// Broker id (`node.id` / `broker.id`).
    pub id: i32,
    /// Advertised `host:port` (the broker's `advertised.listeners` for this listener).
    pub address: String,
    /// Rack, when the broker reports one.
    pub rack: Option<String>,
    /// Whether this broker is the controller.
    pub controller: bool,
    /// Whether the advertised address answered (TCP, TLS, ApiVersions, SASL).
    pub reachable: bool,
    /// Why it did not (null when reachable).
    pub error: Option<String>,
    /// Time to connect and authenticate, in milliseconds (null when unreachable).
    pub latency_ms: Option<f64>,
}

/// Output of `kafka.brokers`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct BrokersOutput {
    /// Every endpoint of `wal.broker_endpoints`, in order.
    pub endpoints: Vec<EndpointReport>,
    /// Number of endpoints that answered.
    pub reachable: usize,
    /// Number of endpoints that did not.
    pub unreachable: usize,
    /// Whether TLS was used (a `[wal.tls]` table is present).
    pub tls: bool,
    /// SASL mechanism used, or null without `[wal.sasl]`.
    pub sasl: Option<String>,
    /// Distinct cluster ids reported by the reachable endpoints (more than one: the endpoints
    /// belong to different Kafka clusters).
    pub cluster_ids: Vec<String>,
    /// Id of the controller broker, from the first reachable endpoint (null when unknown, as
    /// some Kafka-compatible brokers report).
    pub controller_id: Option<i32>,
    /// Number of brokers in the cluster, from the first reachable endpoint.
    pub broker_count: usize,
    /// Every broker of the cluster with its advertised address and whether it answered there.
    pub brokers: Vec<AdvertisedBroker>,
    /// `id@host:port` of each advertised broker that did not answer: GreptimeDB cannot
    /// produce to or fetch from partitions led by it.
    pub advertised_unreachable: Vec<String>,
    /// One sentence per endpoint of `wal.broker_endpoints` that did not answer while another
    /// did: GreptimeDB's client skips it with a warning and bootstraps from one that answers.
    pub bootstrap_skipped: Vec<String>,
    /// Remarks on the configuration (e.g. a client certificate without its key, which
    /// GreptimeDB ignores).
    pub notes: Vec<String>,
}

impl Step for Brokers {
    const NAME: &'static str = "kafka.brokers";
    const SUMMARY: &'static str =
        "Reach every Kafka broker of wal.broker_endpoints and every advertised broker with GreptimeDB's TLS and SASL";
    const SHAREABLE: bool = true;
    const EXAMPLE: &'static str = "\
broker_endpoints: [\"kafka-0:9092\", \"kafka-1:9092\"]
connect_timeout: 3s
timeout: 3s
tls:
  server_ca_cert_path: /etc/greptimedb/kafka-ca.pem
sasl:
  type: SCRAM-SHA-512
  username: greptimedb
  password: secret
";
    type Params = BrokersParams;
    type Output = BrokersOutput;

    async fn run(&self, params: Self::Params, cx: &StepCx) -> Result<Self::Output, StepError> {
        let settings = Settings::load(&params.connection).await?;
        let probes = settings
            .endpoints
            .iter()
            .map(|endpoint| probe_endpoint(&settings, endpoint, cx));
        let results = futures::future::join_all(probes).await;

        let mut endpoints = Vec::new();
        let mut failures = Vec::new();
        let mut first: Option<Metadata> = None;
        let mut cluster_ids = BTreeSet::new();
        for (endpoint, result) in settings.endpoints.iter().zip(results) {
            endpoints.push(match result {
                Ok((metadata, latency_ms)) => {
                    if let Some(id) = &metadata.cluster_id {
                        cluster_ids.insert(id.clone());
                    }
                    let report = EndpointReport {
                        endpoint: endpoint.clone(),
                        reachable: true,
                        error: None,
                        error_kind: None,
                        error_hint: None,
                        no_answer: None,
                        latency_ms: Some(latency_ms),
                        cluster_id: metadata.cluster_id.clone(),
                        broker_count: Some(metadata.brokers.len()),
                    };
                    first.get_or_insert(metadata);
                    report
                }
                Err(e) => {
                    let report = EndpointReport {
                        endpoint: endpoint.clone(),
                        reachable: false,
                        error: Some(e.message.clone()),
                        error_kind: Some(e.kind.as_str().to_string()),
                        error_hint: e.hint.clone(),
                        no_answer: e.silence.map(|s| s.as_str().to_string()),
                        latency_ms: None,
                        cluster_id: None,
                        broker_count: None,
                    };
                    failures.push((endpoint.clone(), e));
                    report
                }
            });
        }
        let Some(metadata) = first else {
            return Err(none_reachable(&failures));
        };

        let advertised = futures::future::join_all(
            metadata
                .brokers
                .iter()
                .map(|broker| probe_advertised(&settings, broker, metadata.controller_id, cx)),
        )
        .await;
        let advertised_unreachable = advertised
            .iter()
            .filter(|b| !b.reachable)
            .map(|b| format!("{}@{}", b.id, b.address))
            .collect();
        let reachable = endpoints.iter().filter(|e| e.reachable).count();
        let bootstrap_skipped = skipped(&endpoints);
        Ok(BrokersOutput {
            unreachable: endpoints.len() - reachable,
            reachable,
            endpoints,
            tls: settings.tls.is_some(),
            sasl: settings
                .sasl
                .as_ref()
                .map(|s| s.mechanism.name().to_string()),
            cluster_ids: cluster_ids.into_iter().collect(),
            controller_id: metadata.controller_id,
            broker_count: metadata.brokers.len(),
            brokers: advertised,
            advertised_unreachable,
            bootstrap_skipped,
            notes: settings.notes,
        })
    }

    fn details(output: &Self::Output) -> Vec<String> {
        let mut lines: Vec<String> = output
            .endpoints
            .iter()
            .map(|e| match (&e.error, e.latency_ms) {
                (Some(error), _) => format!("endpoint {}: {error}", e.endpoint),
                (None, Some(ms)) => format!("endpoint {}: answered in {ms:.1} ms", e.endpoint),
                (None, None) => format!("endpoint {}: answered", e.endpoint),
            })
            .collect();
        lines.extend(output.brokers.iter().map(|b| {
            let role = if b.controller { ", controller" } else { "" };
            match &b.error {
                Some(error) => format!("broker {} at {}{role}: {error}", b.id, b.address),
                None => format!("broker {} at {}{role}: reachable", b.id, b.address),
            }
        }));
        lines.extend(output.notes.iter().map(|n| format!("note: {n}")));
        lines
    }
}

/// What GreptimeDB does with each endpoint that did not answer while others did: its client
/// skips it with a warning and bootstraps from one that answers. It puts no limit on the TLS
/// handshake, though (see [`super::bounds`]), so an endpoint that stalls it is one GreptimeDB
/// waits on for ever when it tries it before a live one (the order is random).
fn skipped(endpoints: &[EndpointReport]) -> Vec<String> {
    let live: Vec<&str> = endpoints
        .iter()
        .filter(|e| e.reachable)
        .map(|e| e.endpoint.as_str())
        .collect();
    endpoints
        .iter()
        .filter(|e| !e.reachable)
        .map(|e| {
            let error = e.error.as_deref().unwrap_or("no answer");
            let live = live.join(" or ");
            if e.no_answer.as_deref() == Some(Silence::TlsStalled.as_str()) {
                format!(
                    "bootstrap broker {} does not answer ({error}); GreptimeDB's Kafka client \
                     tries the bootstrap brokers in random order and puts no limit on the TLS \
                     handshake: when it tries this one before {live}, its start-up hangs",
                    e.endpoint
                )
            } else {
                format!(
                    "bootstrap broker {} does not answer ({error}); GreptimeDB's Kafka client \
                     skips it with a warning and bootstraps from {live}",
                    e.endpoint
                )
            }
        })
        .collect()
}

/// Connects to one endpoint alone and asks Metadata (no topics); returns it and the time taken.
async fn probe_endpoint(
    settings: &Settings,
    endpoint: &str,
    cx: &StepCx,
) -> Result<(Metadata, f64), StepError> {
    let started = Instant::now();
    let mut conn = connect(settings, endpoint, true, cx).await?;
    let metadata = conn.metadata(false, cx).await?;
    Ok((metadata, millis(started.elapsed())))
}

/// Connects to a broker at its advertised address.
async fn probe_advertised(
    settings: &Settings,
    broker: &BrokerMeta,
    controller: Option<i32>,
    cx: &StepCx,
) -> AdvertisedBroker {
    let address = broker.address();
    let started = Instant::now();
    let result = connect(settings, &address, true, cx).await;
    AdvertisedBroker {
        id: broker.id,
        rack: broker.rack.clone(),
        controller: controller == Some(broker.id),
        reachable: result.is_ok(),
        latency_ms: result.is_ok().then(|| millis(started.elapsed())),
        error: result.err().map(|e| {
            format!(
                "{}; GreptimeDB's client sends produce and fetch requests for the partitions \
                 this broker leads to this advertised address, so it must be reachable from \
                 this host (check the broker's advertised.listeners)",
                e.message
            )
        }),
        address,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(name: &str, error: Option<&str>) -> EndpointReport {
        EndpointReport {
            endpoint: name.to_string(),
            reachable: error.is_none(),
            error: error.map(str::to_string),
            error_kind: None,
            error_hint: None,
            no_answer: None,
            latency_ms: None,
            cluster_id: None,
            broker_count: None,
        }
    }

    #[test]
    fn each_dead_endpoint_gets_its_own_sentence() {
        let sentences = skipped(&[
            endpoint("dead-1:9092", Some("connection refused")),
            endpoint("live:9092", None),
            endpoint("dead-2:9092", Some("timed out")),
        ]);
        assert_eq!(sentences.len(), 2);
        assert!(sentences[0]
            .starts_with("bootstrap broker dead-1:9092 does not answer (connection refused)"));
        assert!(
            sentences[1].contains("dead-2:9092")
                && sentences[1].ends_with("bootstraps from live:9092")
        );
        assert!(skipped(&[endpoint("live:9092", None)]).is_empty());
        let mut stalled = endpoint("stalled:9093", Some("no TLS answer"));
        stalled.no_answer = Some("tls_stalled".into());
        let sentences = skipped(&[stalled, endpoint("live:9093", None)]);
        assert!(
            sentences[0].contains("no limit on the TLS handshake")
                && sentences[0].ends_with("before live:9093, its start-up hangs"),
            "{}",
            sentences[0]
        );
    }
}
