//! `metasrv.ask_leader`: `Heartbeat.AskLeader` on one `meta_client.metasrv_addrs` entry, as
//! the meta client of a frontend, datanode or flownode sends it at start-up.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::client::{self, MetaClientTimeouts, Origin};
use super::Role;
use crate::plugins::{Step, StepCx, StepError};

/// Connects to one metasrv address and asks it for the leader (`Heartbeat.AskLeader`).
/// Any metasrv answers, leader or follower; a follower names the leader it knows.
pub struct AskLeader;

/// Parameters of `metasrv.ask_leader`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AskLeaderParams {
    /// One entry of `meta_client.metasrv_addrs`: `host:port` (or `[ipv6]:port`) of a
    /// metasrv's gRPC server, without a scheme; it is reached as `http://host:port`, plaintext,
    /// as GreptimeDB's meta client reaches it.
    pub address: String,
    /// The meta client's timeouts.
    #[serde(flatten)]
    pub timeouts: MetaClientTimeouts,
    /// `member_id` of the request header: the sender's id, e.g. a datanode's `node_id`
    /// (default 0). Metasrv does not check it for AskLeader.
    #[serde(default)]
    pub member_id: u64,
    /// `role` of the request header: `frontend` (default), `datanode` or `flownode`. Metasrv
    /// does not check it for AskLeader.
    #[serde(default)]
    pub role: Role,
}

/// Output of `metasrv.ask_leader`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AskLeaderOutput {
    /// The address as given.
    pub address: String,
    /// `leader.id` of the answer (GreptimeDB always sends 0).
    pub leader_id: u64,
    /// The leader's address as this metasrv knows it: the leader's advertised
    /// `grpc.server_addr`, where clients connect next.
    pub leader_addr: String,
    /// Whether the leader address is the address asked, written the same way (this metasrv
    /// is the leader, or the address is the leader's advertised one).
    pub names_itself: bool,
    /// Time to resolve and connect, in milliseconds.
    pub connect_ms: f64,
    /// Time of the AskLeader RPC, connection excluded, in milliseconds.
    pub latency_ms: f64,
}

impl Step for AskLeader {
    const NAME: &'static str = "metasrv.ask_leader";
    const SUMMARY: &'static str =
        "Ask one metasrv address for the leader (Heartbeat.AskLeader), as the meta client does";
    const SHAREABLE: bool = true;
    const EXAMPLE: &'static str = "\
address: 127.0.0.1:3002
timeout: 3s
connect_timeout: 1s
role: frontend
";
    type Params = AskLeaderParams;
    type Output = AskLeaderOutput;

    async fn run(&self, params: Self::Params, cx: &StepCx) -> Result<Self::Output, StepError> {
        let address = params.address.trim().to_string();
        let timeouts = params.timeouts.resolve();
        let answer = client::ask_leader(
            &address,
            Origin::Configured,
            timeouts,
            params.member_id,
            params.role,
            cx,
        )
        .await?;
        Ok(AskLeaderOutput {
            names_itself: answer.leader_addr == address,
            address,
            leader_id: answer.leader_id,
            leader_addr: answer.leader_addr,
            connect_ms: answer.connect_ms,
            latency_ms: answer.latency_ms,
        })
    }

    fn details(output: &Self::Output) -> Vec<String> {
        vec![format!(
            "{} names leader {}{} (connect {:.1} ms, AskLeader {:.1} ms)",
            output.address,
            output.leader_addr,
            if output.names_itself { " (itself)" } else { "" },
            output.connect_ms,
            output.latency_ms
        )]
    }
}
