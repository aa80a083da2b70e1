//! `metasrv.peers`: `Cluster.MetasrvPeers` on the leader: the leader and its followers.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::client::{CallError, MetaClientTimeouts, Metasrv, Origin};
use super::proto::cluster_client::ClusterClient;
use super::proto::{MetasrvNodeInfo, MetasrvPeersRequest};
use super::{header_error, request_header, Role};
use crate::plugins::{Step, StepCx, StepError};

/// Asks the metasrv leader for every metasrv it knows (`Cluster.MetasrvPeers`). Only the
/// leader answers; a follower refuses with `NotLeader`.
pub struct Peers;

/// Parameters of `metasrv.peers`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PeersParams {
    /// The leader's `host:port`: usually the `leader` output of `metasrv.leader`.
    pub address: String,
    /// The meta client's timeouts.
    #[serde(flatten)]
    pub timeouts: MetaClientTimeouts,
}

/// One metasrv in the output of `metasrv.peers`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MetasrvNode {
    /// Its advertised address (`grpc.server_addr`).
    pub addr: String,
    /// Its peer id (GreptimeDB sends 0 for metasrvs).
    pub id: u64,
    /// Its GreptimeDB version, e.g. `v1.0.0`; empty when not reported.
    pub version: String,
    /// Its git commit; empty when not reported.
    pub git_commit: String,
    /// Its host name; empty when not reported (older metasrvs).
    pub hostname: String,
    /// When it started, in Unix milliseconds; 0 when not reported.
    pub start_time_ms: u64,
}

impl MetasrvNode {
    fn from_proto(node: MetasrvNodeInfo) -> Self {
        let peer = node.peer.unwrap_or_default();
        let info = node.info.unwrap_or_default();
        Self {
            addr: peer.addr,
            id: peer.id,
            // Newer metasrvs fill `info.version`, older ones only the deprecated field.
            version: if info.version.is_empty() {
                node.version
            } else {
                info.version
            },
            git_commit: info.git_commit,
            hostname: info.hostname,
            start_time_ms: info.start_time_ms,
        }
    }
}

/// Output of `metasrv.peers`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PeersOutput {
    /// The address asked.
    pub address: String,
    /// The leader, as it describes itself.
    pub leader: MetasrvNode,
    /// The followers, in metasrv's order.
    pub followers: Vec<MetasrvNode>,
    /// Number of followers.
    pub follower_count: usize,
    /// Whether the leader's own address is the address asked, written the same way.
    pub leader_is_address: bool,
    /// Time of the MetasrvPeers RPC, connection excluded, in milliseconds.
    pub latency_ms: f64,
}

impl Step for Peers {
    const NAME: &'static str = "metasrv.peers";
    const SUMMARY: &'static str =
        "Ask the metasrv leader for its peers (Cluster.MetasrvPeers): leader and followers";
    const SHAREABLE: bool = true;
    const EXAMPLE: &'static str = "\
address: 10.0.0.11:3002
timeout: 3s
connect_timeout: 1s
";
    type Params = PeersParams;
    type Output = PeersOutput;

    async fn run(&self, params: Self::Params, cx: &StepCx) -> Result<Self::Output, StepError> {
        let address = params.address.trim().to_string();
        let timeouts = params.timeouts.resolve();
        let metasrv = Metasrv::connect(&address, Origin::Given, timeouts, cx).await?;
        let mut client = ClusterClient::new(metasrv.channel.clone());
        let request = MetasrvPeersRequest {
            header: Some(request_header(0, Role::Frontend)),
        };
        let (response, latency_ms) = match metasrv
            .call("Cluster.MetasrvPeers", cx, client.metasrv_peers(request))
            .await
        {
            Ok(answer) => answer,
            Err(CallError::Failed(e)) => return Err(e),
            Err(CallError::Status(status)) => {
                return Err(StepError::rejected(format!(
                    "metasrv at {address} answered MetasrvPeers with an error ({:?}: {})",
                    status.code(),
                    status.message()
                ))
                .with_hint("see the metasrv logs; MetasrvPeers is answered by the leader"))
            }
        };
        if let Some(error) = header_error(response.header.as_ref()) {
            let hint = if error.starts_with("NotLeader") {
                "only the leader answers MetasrvPeers; pass the leader's address (the `leader` \
                 output of metasrv.leader), or the election changed hands since: retry"
            } else {
                "see the metasrv logs"
            };
            return Err(StepError::rejected(format!(
                "metasrv at {address} refused MetasrvPeers: {error}"
            ))
            .with_hint(hint));
        }
        let leader = response.leader.ok_or_else(|| {
            StepError::rejected(format!(
                "metasrv at {address} answered MetasrvPeers without a leader"
            ))
            .with_hint(super::client::no_leader_hint())
        })?;
        let leader = MetasrvNode::from_proto(leader);
        let followers: Vec<MetasrvNode> = response
            .followers
            .into_iter()
            .map(MetasrvNode::from_proto)
            .collect();
        Ok(PeersOutput {
            leader_is_address: leader.addr == address,
            address,
            leader,
            follower_count: followers.len(),
            followers,
            latency_ms,
        })
    }

    fn details(output: &Self::Output) -> Vec<String> {
        let describe = |role: &str, node: &MetasrvNode| {
            let version = if node.version.is_empty() {
                "version not reported"
            } else {
                &node.version
            };
            let host = if node.hostname.is_empty() {
                String::new()
            } else {
                format!(" on {}", node.hostname)
            };
            format!("{role} {} ({version}){host}", node.addr)
        };
        std::iter::once(describe("leader", &output.leader))
            .chain(output.followers.iter().map(|f| describe("follower", f)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::proto::{NodeInfo, Peer};
    use super::*;

    #[test]
    fn version_comes_from_node_info_or_the_deprecated_field() {
        let node = |version: &str, info: Option<&str>| MetasrvNodeInfo {
            peer: Some(Peer {
                id: 0,
                addr: "a:1".into(),
            }),
            version: version.into(),
            info: info.map(|v| NodeInfo {
                version: v.into(),
                ..Default::default()
            }),
        };
        assert_eq!(
            MetasrvNode::from_proto(node("old", Some("new"))).version,
            "new"
        );
        assert_eq!(MetasrvNode::from_proto(node("old", None)).version, "old");
        assert_eq!(MetasrvNode::from_proto(node("", None)).version, "");
        assert_eq!(MetasrvNode::from_proto(node("", None)).addr, "a:1");
    }
}
