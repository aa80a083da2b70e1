//! The Kafka requests [`super::connection`] sends, at the versions GreptimeDB's client (rskafka)
//! sends them, and what the steps keep of the answers. The messages themselves are
//! `kafka-protocol`'s, generated from Kafka's message specs; this file picks the versions and
//! fields and turns the answers into the plain types the steps report.
//!
//! Versions: ApiVersions v0, SaslHandshake v1, SaslAuthenticate v0-v1 and Metadata v1-v4, the
//! ones rskafka sends, non-flexible versions every Kafka since 1.0 answers. Metadata is only ever
//! asked for all topics or for none, so it never triggers a broker's topic auto-creation.

use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, MetadataRequest, MetadataResponse,
    SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, StrBytes};
use rskafka::client::error::ProtocolError;

/// Kafka API keys used here and by GreptimeDB.
pub(crate) mod api {
    use kafka_protocol::messages::ApiKey;

    pub const PRODUCE: i16 = ApiKey::Produce as i16;
    pub const FETCH: i16 = ApiKey::Fetch as i16;
    pub const LIST_OFFSETS: i16 = ApiKey::ListOffsets as i16;
    pub const METADATA: i16 = ApiKey::Metadata as i16;
    pub const SASL_HANDSHAKE: i16 = ApiKey::SaslHandshake as i16;
    pub const CREATE_TOPICS: i16 = ApiKey::CreateTopics as i16;
    pub const DELETE_TOPICS: i16 = ApiKey::DeleteTopics as i16;
    pub const DELETE_RECORDS: i16 = ApiKey::DeleteRecords as i16;
    pub const SASL_AUTHENTICATE: i16 = ApiKey::SaslAuthenticate as i16;
}

/// A request sent here, with the type of its answer. `kafka-protocol`'s `Request` trait pairs
/// them too, but only with its `broker` feature, which would compile the broker side (request
/// decoding, response encoding) of every message for these four.
pub(crate) trait Exchange: Encodable + HeaderVersion {
    const KEY: ApiKey;
    type Response: Decodable + HeaderVersion;
}

impl Exchange for ApiVersionsRequest {
    const KEY: ApiKey = ApiKey::ApiVersions;
    type Response = ApiVersionsResponse;
}

impl Exchange for SaslHandshakeRequest {
    const KEY: ApiKey = ApiKey::SaslHandshake;
    type Response = SaslHandshakeResponse;
}

impl Exchange for SaslAuthenticateRequest {
    const KEY: ApiKey = ApiKey::SaslAuthenticate;
    type Response = SaslAuthenticateResponse;
}

impl Exchange for MetadataRequest {
    const KEY: ApiKey = ApiKey::Metadata;
    type Response = MetadataResponse;
}

/// ApiVersions version sent first on every connection (v0: no client software name, answered
/// by every broker whatever it supports).
pub(crate) const API_VERSIONS_VERSION: i16 = 0;
/// SaslHandshake version (v1: the SASL bytes then travel in SaslAuthenticate requests).
pub(crate) const SASL_HANDSHAKE_VERSION: i16 = 1;
/// SaslAuthenticate versions (v1 adds the session lifetime to the answer, not needed).
pub(crate) const SASL_AUTHENTICATE_VERSIONS: (i16, i16) = (0, 1);
/// Metadata versions (v1 has the controller, v2 the cluster id, v3 the throttle time, v4 the
/// auto-creation flag, which is sent as false).
pub(crate) const METADATA_VERSIONS: (i16, i16) = (1, 4);

/// A broker's answer to ApiVersions: one supported version range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ApiRange {
    pub key: i16,
    pub min: i16,
    pub max: i16,
}

/// A broker in a Metadata answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BrokerMeta {
    pub id: i32,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
}

impl BrokerMeta {
    /// `host:port` (IPv6 in brackets), as a broker endpoint is written.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// A partition in a Metadata answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartitionMeta {
    pub index: i32,
    pub error: i16,
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

/// A topic in a Metadata answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TopicMeta {
    pub name: String,
    pub error: i16,
    pub internal: bool,
    pub partitions: Vec<PartitionMeta>,
}

/// A Metadata answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Metadata {
    pub brokers: Vec<BrokerMeta>,
    /// Null when the broker reports none (-1).
    pub controller_id: Option<i32>,
    /// Null before Metadata v2 or when the broker reports none.
    pub cluster_id: Option<String>,
    pub topics: Vec<TopicMeta>,
}

/// ApiVersions: the request has no field before v3.
pub(crate) fn api_versions_request() -> ApiVersionsRequest {
    ApiVersionsRequest::default()
}

/// The error code and the version ranges of an ApiVersions answer.
pub(crate) fn api_ranges(answer: &ApiVersionsResponse) -> (i16, Vec<ApiRange>) {
    let apis = answer
        .api_keys
        .iter()
        .map(|a| ApiRange {
            key: a.api_key,
            min: a.min_version,
            max: a.max_version,
        })
        .collect();
    (answer.error_code, apis)
}

/// SaslHandshake for `mechanism` (its name as in `wal.sasl.type`).
pub(crate) fn sasl_handshake_request(mechanism: &'static str) -> SaslHandshakeRequest {
    SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(mechanism))
}

/// SaslAuthenticate carrying one client message of the SASL exchange.
pub(crate) fn sasl_authenticate_request(auth_bytes: Vec<u8>) -> SaslAuthenticateRequest {
    SaslAuthenticateRequest::default().with_auth_bytes(auth_bytes.into())
}

/// Metadata for all topics (null array) or none (empty array), never for named topics. v4
/// carries `allow_auto_topic_creation = false`; v1-v3 cannot carry the flag (the crate refuses
/// false there) and auto-create only topics named in the request, which is never done.
pub(crate) fn metadata_request(version: i16, all_topics: bool) -> MetadataRequest {
    MetadataRequest::default()
        .with_topics((!all_topics).then(Vec::new))
        .with_allow_auto_topic_creation(version < 4)
}

impl From<MetadataResponse> for Metadata {
    fn from(answer: MetadataResponse) -> Self {
        let text = |s: StrBytes| s.as_str().to_string();
        let brokers = answer
            .brokers
            .into_iter()
            .map(|b| BrokerMeta {
                id: b.node_id.0,
                host: text(b.host),
                port: b.port,
                rack: b.rack.map(text),
            })
            .collect();
        let topics = answer
            .topics
            .into_iter()
            .map(|t| TopicMeta {
                // Null only from v12 on (topic ids), never in the versions asked.
                name: t.name.map(|n| text(n.0)).unwrap_or_default(),
                error: t.error_code,
                internal: t.is_internal,
                partitions: t
                    .partitions
                    .into_iter()
                    .map(|p| PartitionMeta {
                        index: p.partition_index,
                        error: p.error_code,
                        leader: p.leader_id.0,
                        replicas: p.replica_nodes.into_iter().map(|id| id.0).collect(),
                        isr: p.isr_nodes.into_iter().map(|id| id.0).collect(),
                    })
                    .collect(),
            })
            .collect();
        let controller = answer.controller_id.0;
        Metadata {
            brokers,
            controller_id: (controller >= 0).then_some(controller),
            cluster_id: answer.cluster_id.map(text),
            topics,
        }
    }
}

/// The highest version in both the broker's range and `ours` (min, max).
pub(crate) fn pick_version(range: ApiRange, ours: (i16, i16)) -> Option<i16> {
    let high = range.max.min(ours.1);
    (high >= range.min.max(ours.0)).then_some(high)
}

/// A Kafka error code as `Name (code)`, with rskafka's names (those GreptimeDB logs).
pub(crate) fn code_name(code: i16) -> String {
    match ProtocolError::new(code) {
        None => "no error (0)".to_string(),
        Some(ProtocolError::Unknown(_)) => format!("error code {code}"),
        Some(e) => format!("{e:?} ({code})"),
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    /// A request body as sent at `version`.
    fn encoded(request: &impl Encodable, version: i16) -> Vec<u8> {
        let mut body = Vec::new();
        request.encode(&mut body, version).unwrap();
        body
    }

    /// A Kafka STRING, to write answers by hand: i16 length, then UTF-8.
    fn string(text: &str) -> Vec<u8> {
        let mut out = (text.len() as i16).to_be_bytes().to_vec();
        out.extend(text.as_bytes());
        out
    }

    /// Kafka BYTES, to write answers by hand: i32 length, then the bytes.
    fn bytes(data: &[u8]) -> Vec<u8> {
        let mut out = (data.len() as i32).to_be_bytes().to_vec();
        out.extend(data);
        out
    }

    fn decode<M: Decodable>(answer: &[u8], version: i16) -> Result<M, String> {
        M::decode(&mut Bytes::copy_from_slice(answer), version).map_err(|e| e.to_string())
    }

    fn decoded<M: Decodable>(answer: &[u8], version: i16) -> M {
        decode(answer, version).unwrap()
    }

    #[test]
    fn metadata_request_never_names_topics() {
        let body = |version, all_topics| encoded(&metadata_request(version, all_topics), version);
        assert_eq!(body(1, true), (-1i32).to_be_bytes().to_vec());
        assert_eq!(body(3, false), 0i32.to_be_bytes().to_vec());
        // v4: allow_auto_topic_creation = false
        assert_eq!(body(4, false), vec![0, 0, 0, 0, 0]);
        assert_eq!(body(4, true), vec![0xff, 0xff, 0xff, 0xff, 0]);
    }

    #[test]
    fn sasl_requests_are_length_prefixed() {
        let handshake = sasl_handshake_request("PLAIN");
        assert_eq!(
            encoded(&handshake, SASL_HANDSHAKE_VERSION),
            b"\x00\x05PLAIN".to_vec()
        );
        for version in SASL_AUTHENTICATE_VERSIONS.0..=SASL_AUTHENTICATE_VERSIONS.1 {
            let authenticate = sasl_authenticate_request(b"\0u\0p".to_vec());
            assert_eq!(
                encoded(&authenticate, version),
                b"\x00\x00\x00\x04\0u\0p".to_vec()
            );
        }
    }

    #[test]
    fn api_versions_request_v0_is_empty() {
        assert!(encoded(&api_versions_request(), API_VERSIONS_VERSION).is_empty());
    }

    #[test]
    fn versions_are_picked_from_both_ranges() {
        let r = |min, max| ApiRange { key: 3, min, max };
        assert_eq!(pick_version(r(0, 12), (1, 4)), Some(4));
        assert_eq!(pick_version(r(0, 2), (1, 4)), Some(2));
        assert_eq!(pick_version(r(0, 0), (1, 4)), None);
        assert_eq!(pick_version(r(5, 9), (1, 4)), None);
    }

    #[test]
    fn api_versions_answer_parses() {
        let mut answer = 0i16.to_be_bytes().to_vec();
        answer.extend(2i32.to_be_bytes());
        for (k, min, max) in [(21i16, 0i16, 2i16), (3, 0, 12)] {
            answer.extend(k.to_be_bytes());
            answer.extend(min.to_be_bytes());
            answer.extend(max.to_be_bytes());
        }
        let (error, apis) = api_ranges(&decoded(&answer, API_VERSIONS_VERSION));
        assert_eq!(error, 0);
        assert_eq!(
            apis[0],
            ApiRange {
                key: 21,
                min: 0,
                max: 2
            }
        );
        let truncated = decode::<ApiVersionsResponse>(&answer[..9], API_VERSIONS_VERSION);
        assert!(truncated.is_err(), "truncated");
    }

    fn metadata_answer(version: i16) -> Vec<u8> {
        let mut a = Vec::new();
        if version >= 3 {
            a.extend(0i32.to_be_bytes());
        }
        a.extend(1i32.to_be_bytes()); // one broker
        a.extend(1i32.to_be_bytes());
        a.extend(string("kafka-1"));
        a.extend(9092i32.to_be_bytes());
        a.extend((-1i16).to_be_bytes()); // rack null
        if version >= 2 {
            a.extend(string("cluster-a"));
        }
        a.extend(1i32.to_be_bytes()); // controller
        a.extend(1i32.to_be_bytes()); // one topic
        a.extend(0i16.to_be_bytes());
        a.extend(string("greptimedb_wal_topic_0"));
        a.push(0);
        a.extend(1i32.to_be_bytes()); // one partition
        a.extend(0i16.to_be_bytes());
        a.extend(0i32.to_be_bytes());
        a.extend(1i32.to_be_bytes()); // leader
        a.extend(1i32.to_be_bytes());
        a.extend(1i32.to_be_bytes()); // replicas [1]
        a.extend(1i32.to_be_bytes());
        a.extend(1i32.to_be_bytes()); // isr [1]
        a
    }

    #[test]
    fn metadata_answers_parse_in_every_version() {
        for version in METADATA_VERSIONS.0..=METADATA_VERSIONS.1 {
            let answer: MetadataResponse = decoded(&metadata_answer(version), version);
            let m = Metadata::from(answer);
            assert_eq!(m.brokers[0].address(), "kafka-1:9092");
            assert_eq!(m.controller_id, Some(1));
            assert_eq!(m.cluster_id.is_some(), version >= 2);
            assert_eq!(m.topics[0].name, "greptimedb_wal_topic_0");
            assert_eq!(m.topics[0].partitions[0].leader, 1);
            assert_eq!(m.topics[0].partitions[0].isr, vec![1]);
        }
        let v6 = BrokerMeta {
            id: 1,
            host: "fd00::1".into(),
            port: 9092,
            rack: None,
        };
        assert_eq!(v6.address(), "[fd00::1]:9092");
    }

    #[test]
    fn sasl_answers_parse() {
        let mut a = 33i16.to_be_bytes().to_vec();
        a.extend(2i32.to_be_bytes());
        a.extend(string("SCRAM-SHA-512"));
        a.extend(string("PLAIN"));
        let handshake: SaslHandshakeResponse = decoded(&a, SASL_HANDSHAKE_VERSION);
        let mechanisms: Vec<&str> = handshake.mechanisms.iter().map(|m| m.as_str()).collect();
        assert_eq!(
            (handshake.error_code, mechanisms),
            (33, vec!["SCRAM-SHA-512", "PLAIN"])
        );
        let mut a = 58i16.to_be_bytes().to_vec();
        a.extend(string("Authentication failed"));
        a.extend(bytes(b""));
        let authenticate: SaslAuthenticateResponse = decoded(&a, 0);
        assert_eq!(
            (
                authenticate.error_code,
                authenticate.error_message.as_ref().map(|m| m.as_str()),
                authenticate.auth_bytes.len()
            ),
            (58, Some("Authentication failed"), 0)
        );
        assert_eq!(code_name(58), "SaslAuthenticationFailed (58)");
        assert_eq!(code_name(0), "no error (0)");
    }
}
