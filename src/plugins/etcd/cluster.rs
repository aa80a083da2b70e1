//! `etcd.cluster`: every endpoint of `store_addrs` at once; do they form one cluster with one
//! leader?

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::client;
use super::{hex_id, timed};
use crate::plugins::answer::Silence;
use crate::plugins::backend_tls::BackendTls;
use crate::plugins::{ErrorKind, Step, StepCx, StepError};

/// Asks every endpoint for its status concurrently and reports whether the reachable ones agree
/// on the cluster id and the leader. Unreachable endpoints are reported, not an error, unless
/// none is reachable.
pub struct Cluster;

/// Parameters of `etcd.cluster`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterParams {
    /// Metasrv's `store_addrs`: every etcd endpoint, `host:port` or `http(s)://host:port`.
    pub endpoints: Vec<String>,
    /// Metasrv's `backend_tls` table.
    #[serde(default)]
    pub tls: BackendTls,
}

/// One endpoint in the output of `etcd.cluster`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ClusterMember {
    /// The endpoint as given.
    pub endpoint: String,
    /// Whether it answered the status request.
    pub reachable: bool,
    /// Why it did not (null when reachable).
    pub error: Option<String>,
    /// Kind of that error: `Unreachable`, `Timeout`, `Rejected`, `Misconfigured` (null when
    /// reachable).
    pub error_kind: Option<String>,
    /// Hint for that error (null when reachable or none).
    pub error_hint: Option<String>,
    /// How it stayed silent when it did not answer within the first-answer deadline:
    /// `refused`, `black_holed`, `accepted_silent` or `tls_stalled` (null otherwise).
    pub no_answer: Option<String>,
    /// etcd server version.
    pub version: Option<String>,
    /// Cluster id, in hex.
    pub cluster_id: Option<String>,
    /// Member id of this endpoint, in hex.
    pub member_id: Option<String>,
    /// Leader this member knows, in hex; null when unreachable or it knows none.
    pub leader: Option<String>,
    /// Time of the status request, in milliseconds.
    pub latency_ms: Option<f64>,
}

/// Output of `etcd.cluster`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ClusterOutput {
    /// Every endpoint, in the order given.
    pub members: Vec<ClusterMember>,
    /// Distinct cluster ids among reachable endpoints.
    pub cluster_ids: Vec<String>,
    /// Distinct leaders among reachable endpoints (endpoints that know no leader add none).
    pub leaders: Vec<String>,
    /// True when the reachable endpoints report one cluster id and one leader, and each of
    /// them knows that leader.
    pub agree: bool,
    /// Number of endpoints that answered.
    pub reachable: usize,
    /// Number of endpoints that did not.
    pub unreachable: usize,
    /// Whether TLS was used.
    pub tls: bool,
}

impl Step for Cluster {
    const NAME: &'static str = "etcd.cluster";
    const SUMMARY: &'static str =
        "Status of every etcd endpoint concurrently: reachable, one cluster id, one leader";
    const SHAREABLE: bool = true;
    const EXAMPLE: &'static str = "\
endpoints: [\"etcd-0:2379\", \"etcd-1:2379\", \"etcd-2:2379\"]
tls:
  mode: prefer
";
    type Params = ClusterParams;
    type Output = ClusterOutput;

    async fn run(&self, params: Self::Params, cx: &StepCx) -> Result<Self::Output, StepError> {
        let endpoints = client::clean_endpoints(&params.endpoints);
        if endpoints.is_empty() {
            return Err(client::no_endpoint());
        }
        let tls = client::tls_enabled(&params.tls, &endpoints);
        let (members, silences): (Vec<ClusterMember>, Vec<Option<Silence>>) =
            futures::future::join_all(
                endpoints
                    .iter()
                    .map(|endpoint| member(endpoint, &endpoints, &params.tls, cx)),
            )
            .await
            .into_iter()
            .unzip();

        let reachable: Vec<&ClusterMember> = members.iter().filter(|m| m.reachable).collect();
        if reachable.is_empty() {
            // Keep the kind when every endpoint failed the same way (e.g. all refuse TLS).
            let kinds: BTreeSet<&str> = members
                .iter()
                .filter_map(|m| m.error_kind.as_deref())
                .collect();
            let kind = match kinds.iter().next() {
                Some(&"Rejected") if kinds.len() == 1 => ErrorKind::Rejected,
                Some(&"Timeout") if kinds.len() == 1 => ErrorKind::Timeout,
                Some(&"Misconfigured") if kinds.len() == 1 => ErrorKind::Misconfigured,
                _ => ErrorKind::Unreachable,
            };
            let errors: Vec<String> = members
                .iter()
                .map(|m| format!("{}: {}", m.endpoint, m.error.as_deref().unwrap_or("?")))
                .collect();
            let mut error = StepError::new(
                kind,
                format!(
                    "no etcd endpoint is reachable ({} of {}): {}",
                    members.len(),
                    members.len(),
                    errors.join("; ")
                ),
            );
            error.hint = members.iter().find_map(|m| m.error_hint.clone());
            error.silence = common_silence(&silences);
            return Err(error);
        }
        let cluster_ids: Vec<String> = distinct(reachable.iter().map(|m| m.cluster_id.clone()));
        let leaders: Vec<String> = distinct(reachable.iter().map(|m| m.leader.clone()));
        let agree = cluster_ids.len() == 1
            && leaders.len() == 1
            && reachable.iter().all(|m| m.leader.is_some());
        Ok(ClusterOutput {
            reachable: reachable.len(),
            unreachable: members.len() - reachable.len(),
            cluster_ids,
            leaders,
            agree,
            members,
            tls,
        })
    }

    fn details(output: &Self::Output) -> Vec<String> {
        output
            .members
            .iter()
            .map(|m| match &m.error {
                None => format!(
                    "{}: member {} of cluster {}, leader {}",
                    m.endpoint,
                    m.member_id.as_deref().unwrap_or("?"),
                    m.cluster_id.as_deref().unwrap_or("?"),
                    m.leader.as_deref().unwrap_or("none")
                ),
                Some(e) => format!("{}: {e}", m.endpoint),
            })
            .collect()
    }
}

/// Status of one endpoint, with TLS decided from all of them.
async fn member(
    endpoint: &str,
    all: &[String],
    tls: &BackendTls,
    cx: &StepCx,
) -> (ClusterMember, Option<Silence>) {
    let target = [endpoint.to_string()];
    let result = async {
        let etcd = client::connect(&target, all, tls, cx).await?;
        let mut maintenance = etcd.client.maintenance_client();
        timed(etcd.call(cx, "status", maintenance.status())).await
    }
    .await;
    match result {
        Ok((status, latency_ms)) => {
            let header = status.header();
            let member = ClusterMember {
                endpoint: endpoint.to_string(),
                reachable: true,
                error: None,
                error_kind: None,
                error_hint: None,
                version: Some(status.version().to_string()),
                cluster_id: header.map(|h| hex_id(h.cluster_id())),
                member_id: header.map(|h| hex_id(h.member_id())),
                leader: (status.leader() != 0).then(|| hex_id(status.leader())),
                latency_ms: Some(latency_ms),
                no_answer: None,
            };
            (member, None)
        }
        Err(e) => (
            ClusterMember {
                endpoint: endpoint.to_string(),
                reachable: false,
                error: Some(e.message),
                error_kind: Some(e.kind.as_str().to_string()),
                error_hint: e.hint,
                version: None,
                cluster_id: None,
                member_id: None,
                leader: None,
                latency_ms: None,
                no_answer: e.silence.map(|s| s.as_str().to_string()),
            },
            e.silence,
        ),
    }
}

/// The silence every endpoint met, if they all met the same one.
fn common_silence(silences: &[Option<Silence>]) -> Option<Silence> {
    let first = *silences.first()?;
    first.filter(|_| silences.iter().all(|s| *s == first))
}

/// Distinct values, in first-seen order.
fn distinct(values: impl Iterator<Item = Option<String>>) -> Vec<String> {
    let mut seen = Vec::new();
    for value in values.flatten() {
        if !seen.contains(&value) {
            seen.push(value);
        }
    }
    seen
}
