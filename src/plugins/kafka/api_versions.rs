//! `kafka.api_versions`: the Kafka APIs GreptimeDB's client needs, offered by every broker in
//! versions it can speak.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::connection::connect;
use super::discovery::{discover, none_reachable};
use super::messages::{api, pick_version, ApiRange, BrokerMeta};
use super::settings::Settings;
use super::KafkaConnection;
use crate::plugins::{Step, StepCx, StepError};

/// The APIs GreptimeDB's remote WAL uses, with the versions rskafka 0.6 (the client GreptimeDB
/// builds on) can speak: (name, key, min, max, required).
const NEEDED: [(&str, i16, i16, i16, bool); 7] = [
    ("Produce", api::PRODUCE, 3, 7, true),
    ("Fetch", api::FETCH, 4, 4, true),
    ("ListOffsets", api::LIST_OFFSETS, 0, 3, true),
    ("Metadata", api::METADATA, 0, 4, true),
    ("CreateTopics", api::CREATE_TOPICS, 0, 5, true),
    ("DeleteTopics", api::DELETE_TOPICS, 0, 5, false),
    ("DeleteRecords", api::DELETE_RECORDS, 0, 2, false),
];

/// Finds the cluster's brokers (Metadata through `wal.broker_endpoints`), then asks each at
/// its advertised address for ApiVersions (answered before SASL authentication) and checks
/// the APIs GreptimeDB needs: Produce, Fetch, ListOffsets, Metadata and CreateTopics to work at
/// all, DeleteTopics, and DeleteRecords to prune the WAL (AWS MSK lacks it; GreptimeDB then
/// needs `wal.auto_prune_logical_delete = true`).
pub struct ApiVersions;

/// Parameters of `kafka.api_versions`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiVersionsParams {
    #[serde(flatten)]
    pub connection: KafkaConnection,
}

/// One API on one broker.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ApiSupport {
    /// API name, e.g. `DeleteRecords`.
    pub api: String,
    /// Kafka API key, e.g. 21.
    pub key: i16,
    /// Whether the broker offers it.
    pub offered: bool,
    /// Lowest version the broker offers (null when not offered).
    pub min: Option<i16>,
    /// Highest version the broker offers (null when not offered).
    pub max: Option<i16>,
    /// Lowest version GreptimeDB's client (rskafka 0.6) speaks.
    pub client_min: i16,
    /// Highest version GreptimeDB's client (rskafka 0.6) speaks.
    pub client_max: i16,
    /// Whether broker and client share a version.
    pub usable: bool,
}

/// One broker's answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct BrokerApis {
    /// Broker id.
    pub id: i32,
    /// Advertised `host:port`.
    pub address: String,
    /// Whether it answered ApiVersions.
    pub reachable: bool,
    /// Why it did not (null when reachable).
    pub error: Option<String>,
    /// The needed APIs, in key order (empty when unreachable).
    pub apis: Vec<ApiSupport>,
}

/// Output of `kafka.api_versions`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ApiVersionsOutput {
    /// Every broker of the cluster.
    pub brokers: Vec<BrokerApis>,
    /// Number of brokers that answered.
    pub checked: usize,
    /// Needed APIs some answering broker does not offer, by name (e.g. `DeleteRecords`).
    pub missing: Vec<String>,
    /// Needed APIs some answering broker offers only in versions GreptimeDB's client cannot
    /// speak.
    pub unusable: Vec<String>,
    /// APIs GreptimeDB cannot work without (Produce, Fetch, ListOffsets, Metadata,
    /// CreateTopics) that are missing or unusable somewhere.
    pub required_missing: Vec<String>,
    /// Whether every answering broker offers DeleteRecords in a usable version. When false,
    /// GreptimeDB's WAL pruning fails unless `wal.auto_prune_logical_delete = true`.
    pub delete_records_supported: bool,
}

impl Step for ApiVersions {
    const NAME: &'static str = "kafka.api_versions";
    const SUMMARY: &'static str =
        "Kafka APIs GreptimeDB needs (Produce, Fetch, ListOffsets, Metadata, CreateTopics, DeleteTopics, DeleteRecords) on every broker";
    const SHAREABLE: bool = true;
    const EXAMPLE: &'static str = "\
broker_endpoints: [\"kafka-0:9092\"]
connect_timeout: 3s
timeout: 3s
";
    type Params = ApiVersionsParams;
    type Output = ApiVersionsOutput;

    async fn run(&self, params: Self::Params, cx: &StepCx) -> Result<Self::Output, StepError> {
        let settings = Settings::load(&params.connection).await?;
        let (_, metadata) = discover(&settings, false, cx).await?;
        let brokers: Vec<BrokerApis> = futures::future::join_all(
            metadata
                .brokers
                .iter()
                .map(|broker| broker_apis(&settings, broker, cx)),
        )
        .await;
        let answered: Vec<&BrokerApis> = brokers.iter().filter(|b| b.reachable).collect();
        if answered.is_empty() {
            let failures: Vec<(String, StepError)> = brokers
                .iter()
                .map(|b| {
                    let message = b.error.clone().unwrap_or_default();
                    (b.address.clone(), StepError::unreachable(message))
                })
                .collect();
            let mut error = none_reachable(&failures);
            error.hint = Some(
                "the brokers answered Metadata through `wal.broker_endpoints` but not at their \
                 advertised addresses, where GreptimeDB's client talks to them: check the \
                 brokers' advertised.listeners"
                    .to_string(),
            );
            return Err(error);
        }
        Ok(summarize(brokers))
    }

    fn details(output: &Self::Output) -> Vec<String> {
        output
            .brokers
            .iter()
            .map(|b| match &b.error {
                Some(error) => format!("broker {} at {}: {error}", b.id, b.address),
                None => format!(
                    "broker {} at {}: {}",
                    b.id,
                    b.address,
                    b.apis
                        .iter()
                        .map(|a| match (a.min, a.max) {
                            (Some(min), Some(max)) => format!(
                                "{} v{min}-v{max}{}",
                                a.api,
                                if a.usable { "" } else { " (unusable)" }
                            ),
                            _ => format!("{} missing", a.api),
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
            .collect()
    }
}

/// The verdict fields over the brokers that answered.
fn summarize(brokers: Vec<BrokerApis>) -> ApiVersionsOutput {
    let mut missing = BTreeSet::new();
    let mut unusable = BTreeSet::new();
    let answered = brokers.iter().filter(|b| b.reachable);
    for support in answered.clone().flat_map(|b| &b.apis) {
        if !support.offered {
            missing.insert(support.key);
        } else if !support.usable {
            unusable.insert(support.key);
        }
    }
    let names = |keys: &BTreeSet<i16>| -> Vec<String> {
        NEEDED
            .iter()
            .filter(|n| keys.contains(&n.1))
            .map(|n| n.0.to_string())
            .collect()
    };
    let required_missing = NEEDED
        .iter()
        .filter(|n| n.4 && (missing.contains(&n.1) || unusable.contains(&n.1)))
        .map(|n| n.0.to_string())
        .collect();
    let delete_records_supported =
        !missing.contains(&api::DELETE_RECORDS) && !unusable.contains(&api::DELETE_RECORDS);
    ApiVersionsOutput {
        checked: answered.count(),
        missing: names(&missing),
        unusable: names(&unusable),
        required_missing,
        delete_records_supported,
        brokers,
    }
}

/// Asks one broker, at its advertised address, for ApiVersions.
async fn broker_apis(settings: &Settings, broker: &BrokerMeta, cx: &StepCx) -> BrokerApis {
    let address = broker.address();
    match connect(settings, &address, false, cx).await {
        Ok(conn) => BrokerApis {
            id: broker.id,
            address,
            reachable: true,
            error: None,
            apis: support(&conn.apis),
        },
        Err(e) => BrokerApis {
            id: broker.id,
            address,
            reachable: false,
            error: Some(e.message),
            apis: Vec::new(),
        },
    }
}

/// The needed APIs against a broker's ApiVersions answer.
fn support(offered: &[ApiRange]) -> Vec<ApiSupport> {
    NEEDED
        .iter()
        .map(|&(name, key, client_min, client_max, _)| {
            let range = offered.iter().find(|r| r.key == key);
            ApiSupport {
                api: name.to_string(),
                key,
                offered: range.is_some(),
                min: range.map(|r| r.min),
                max: range.map(|r| r.max),
                client_min,
                client_max,
                usable: range.is_some_and(|&r| pick_version(r, (client_min, client_max)).is_some()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn support_compares_broker_and_client_ranges() {
        let offered = [
            ApiRange {
                key: api::PRODUCE,
                min: 0,
                max: 11,
            },
            ApiRange {
                key: api::FETCH,
                min: 12,
                max: 17,
            },
            ApiRange {
                key: api::DELETE_RECORDS,
                min: 0,
                max: 2,
            },
        ];
        let s = support(&offered);
        let get = |name: &str| s.iter().find(|a| a.api == name).unwrap();
        assert!(get("Produce").usable);
        assert!(
            get("Fetch").offered && !get("Fetch").usable,
            "Fetch v4 not offered"
        );
        assert!(!get("ListOffsets").offered && !get("ListOffsets").usable);
        assert_eq!(
            (get("DeleteRecords").min, get("DeleteRecords").max),
            (Some(0), Some(2))
        );
        assert_eq!(s.len(), NEEDED.len());
    }

    fn broker(id: i32, offered: &[ApiRange]) -> BrokerApis {
        BrokerApis {
            id,
            address: format!("b-{id}:9092"),
            reachable: true,
            error: None,
            apis: support(offered),
        }
    }

    /// Ranges of a current Apache Kafka broker for the needed APIs.
    fn kafka(without: i16) -> Vec<ApiRange> {
        [
            (0, 3, 11),
            (1, 4, 17),
            (2, 1, 9),
            (3, 0, 12),
            (19, 2, 7),
            (20, 1, 6),
            (21, 0, 2),
        ]
        .into_iter()
        .filter(|&(key, _, _)| key != without)
        .map(|(key, min, max)| ApiRange { key, min, max })
        .collect()
    }

    #[test]
    fn delete_records_missing_on_one_broker_is_reported_like_aws_msk() {
        let full = summarize(vec![broker(1, &kafka(-1)), broker(2, &kafka(-1))]);
        assert!(full.delete_records_supported);
        assert!(full.missing.is_empty() && full.required_missing.is_empty());

        // MSK answers ApiVersions without DeleteRecords (key 21).
        let msk = summarize(vec![
            broker(1, &kafka(-1)),
            broker(2, &kafka(api::DELETE_RECORDS)),
        ]);
        assert!(!msk.delete_records_supported);
        assert_eq!(msk.missing, vec!["DeleteRecords"]);
        assert!(
            msk.required_missing.is_empty(),
            "DeleteRecords is not required"
        );
        assert_eq!(msk.checked, 2);
    }

    #[test]
    fn required_apis_and_unreachable_brokers() {
        let mut down = broker(3, &[]);
        down.reachable = false;
        down.error = Some("refused".into());
        let out = summarize(vec![broker(1, &kafka(api::CREATE_TOPICS)), down]);
        assert_eq!(out.required_missing, vec!["CreateTopics"]);
        assert_eq!(out.checked, 1, "the unreachable broker is not judged");
        assert!(out.delete_records_supported);
    }
}
