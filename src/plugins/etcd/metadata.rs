//! `etcd.metadata`: a read-only look at metasrv's keys: how many there are, who leads the
//! election, which metasrvs are candidates.

use etcd_client::{GetOptions, SortOrder, SortTarget};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::client;
use crate::plugins::backend_tls::BackendTls;
use crate::plugins::{Step, StepCx, StepError};

/// At most this many candidate addresses are listed.
const CANDIDATES_LISTED: i64 = 50;

/// Counts the keys under `store_key_prefix`, reads the metasrv election leader and counts the
/// election candidates. Never writes.
pub struct Metadata;

/// Parameters of `etcd.metadata`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetadataParams {
    /// Metasrv's `store_addrs`: every etcd endpoint, `host:port` or `http(s)://host:port`.
    /// Requests are spread over all of them as metasrv's client spreads them, so a dead
    /// endpoint among them fails some requests here as it does for metasrv.
    pub endpoints: Vec<String>,
    /// Metasrv's `backend_tls` table.
    #[serde(default)]
    pub tls: BackendTls,
    /// Metasrv's `store_key_prefix` (may be empty: then the whole keyspace is counted).
    #[serde(default)]
    pub key_prefix: String,
}

/// Output of `etcd.metadata`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct MetadataOutput {
    /// The key prefix read (`store_key_prefix`).
    pub key_prefix: String,
    /// Number of keys under `key_prefix` (the whole keyspace when it is empty), including the
    /// election keys. 0 on a fresh etcd, before metasrv first started.
    pub metadata_keys: i64,
    /// The elected metasrv leader: the value of the oldest key under
    /// `{key_prefix}__metasrv_election/` (etcd election API), i.e. the leader's
    /// `grpc.server_addr`; null when no metasrv leads.
    pub election_leader: Option<String>,
    /// The leader's election key (`{key_prefix}__metasrv_election/<lease id in hex>`).
    pub election_key: Option<String>,
    /// Number of keys under `{key_prefix}__metasrv_election_candidates/` (one per live
    /// metasrv, kept by a 600 s lease).
    pub candidates: i64,
    /// The candidates' advertised addresses, from their key names (at most 50).
    pub candidate_addrs: Vec<String>,
    /// Store revision of the reads.
    pub revision: i64,
}

impl Step for Metadata {
    const NAME: &'static str = "etcd.metadata";
    const SUMMARY: &'static str =
        "Read-only: count metasrv's keys, read the election leader and candidates";
    const SHAREABLE: bool = true;
    const EXAMPLE: &'static str = "\
endpoints: [\"127.0.0.1:2379\"]
tls:
  mode: prefer
key_prefix: \"\"
";
    type Params = MetadataParams;
    type Output = MetadataOutput;

    async fn run(&self, params: Self::Params, cx: &StepCx) -> Result<Self::Output, StepError> {
        let etcd = client::connect(&params.endpoints, &params.endpoints, &params.tls, cx)
            .await?
            .with_key_prefix(&params.key_prefix);
        let mut kv = etcd.client.kv_client();
        let prefix = &params.key_prefix;

        let counted = if prefix.is_empty() {
            etcd.call(
                cx,
                "counting all keys",
                kv.get(
                    "",
                    Some(GetOptions::new().with_all_keys().with_count_only()),
                ),
            )
            .await?
        } else {
            etcd.call(
                cx,
                &format!("counting keys under `{prefix}`"),
                kv.get(
                    prefix.as_bytes(),
                    Some(GetOptions::new().with_prefix().with_count_only()),
                ),
            )
            .await?
        };
        let revision = counted.header().map_or(0, |h| h.revision());

        // The election API's leader is the oldest key under `{name}/`.
        let election = format!("{prefix}__metasrv_election/");
        let leader = etcd
            .call(
                cx,
                &format!("reading `{election}`"),
                kv.get(
                    election.as_bytes(),
                    Some(
                        GetOptions::new()
                            .with_prefix()
                            .with_sort(SortTarget::Create, SortOrder::Ascend)
                            .with_limit(1)
                            .with_revision(revision),
                    ),
                ),
            )
            .await?;
        let leader = leader.kvs().first();

        let candidates_prefix = format!("{prefix}__metasrv_election_candidates/");
        let candidates = etcd
            .call(
                cx,
                &format!("listing `{candidates_prefix}`"),
                kv.get(
                    candidates_prefix.as_bytes(),
                    Some(
                        GetOptions::new()
                            .with_prefix()
                            .with_keys_only()
                            .with_limit(CANDIDATES_LISTED)
                            .with_revision(revision),
                    ),
                ),
            )
            .await?;

        Ok(MetadataOutput {
            key_prefix: params.key_prefix.clone(),
            metadata_keys: counted.count(),
            election_leader: leader.map(|kv| String::from_utf8_lossy(kv.value()).into_owned()),
            election_key: leader.map(|kv| String::from_utf8_lossy(kv.key()).into_owned()),
            candidates: candidates.count(),
            candidate_addrs: candidates
                .kvs()
                .iter()
                .map(|kv| {
                    String::from_utf8_lossy(&kv.key()[candidates_prefix.len()..]).into_owned()
                })
                .collect(),
            revision,
        })
    }

    fn details(output: &Self::Output) -> Vec<String> {
        vec![format!(
            "{} key(s) {}; election leader {}; {} candidate(s){}",
            output.metadata_keys,
            if output.key_prefix.is_empty() {
                "in the whole keyspace".to_string()
            } else {
                format!("under `{}`", output.key_prefix)
            },
            output.election_leader.as_deref().unwrap_or("none"),
            output.candidates,
            if output.candidate_addrs.is_empty() {
                String::new()
            } else {
                format!(": {}", output.candidate_addrs.join(", "))
            }
        )]
    }
}
