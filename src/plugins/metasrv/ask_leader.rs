//! `metasrv.ask_leader`: `Heartbeat.AskLeader` on one `meta_client.metasrv_addrs` entry, as
//! the meta client of a frontend, datanode or flownode sends it at start-up.
//!
//! GreptimeDB's meta client asks every entry concurrently, uses the first leader named and only
//! logs `Failed to ask leader from: <addr>` (or `No leader from: <addr>`) for the others
//! (`src/meta-client/src/client/ask_leader.rs`); it gives up, and the component exits, only
//! when no entry names a leader in `DEFAULT_ASK_LEADER_MAX_RETRY` (3) rounds
//! (`src/meta-client/src/client.rs`, `create_meta_client` in `src/meta-client/src/lib.rs`).
//! Observed on GreptimeDB 1.0 (greptimedb.md §10): a frontend given one live and one dead
//! address starts and is healthy. So with `peers`, a dead entry whose peers name a leader is
//! reported (`ok: false`, a warning in the playbooks), not an error.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::client::{self, LeaderAnswer, MetaClientTimeouts, Origin};
use super::{clean_addresses, greptimedb_makes_channel, Role};
use crate::plugins::{ErrorKind, Step, StepCx, StepError};

/// How long `address` is asked alone before its peers are asked too.
const PEERS_HEAD_START: std::time::Duration = std::time::Duration::from_millis(250);

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
    /// Every entry of `meta_client.metasrv_addrs` (`address` among them is skipped). When
    /// `address` names no leader, these are asked concurrently, as the meta client asks them
    /// all: if one names a leader, the component starts anyway, and the step succeeds with
    /// `ok: false` and the reason; if none does, the step fails. Default: none, so a dead
    /// `address` fails the step.
    #[serde(default)]
    pub peers: Vec<String>,
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
    /// Whether this address named a leader. False only when a peer named one instead.
    pub ok: bool,
    /// `leader.id` of the answer (GreptimeDB always sends 0); null when not ok.
    pub leader_id: Option<u64>,
    /// The leader's address as this metasrv knows it: the leader's advertised
    /// `grpc.server_addr`, where clients connect next; null when not ok.
    pub leader_addr: Option<String>,
    /// Whether the leader address is the address asked, written the same way (this metasrv
    /// is the leader, or the address is the leader's advertised one).
    pub names_itself: bool,
    /// Time to resolve and connect, in milliseconds; null when not ok.
    pub connect_ms: Option<f64>,
    /// Time of the AskLeader RPC, connection excluded, in milliseconds; null when not ok.
    pub latency_ms: Option<f64>,
    /// Why this address named no leader (null when ok).
    pub error: Option<String>,
    /// Kind of that error: `Unreachable`, `Timeout`, `Rejected`, `Misconfigured` (null when ok).
    pub error_kind: Option<String>,
    /// Hint for that error (null when ok or none).
    pub error_hint: Option<String>,
    /// How this address stayed silent when it did not answer within the first-answer
    /// deadline: `refused`, `black_holed`, `accepted_silent` or `tls_stalled` (null otherwise).
    pub no_answer: Option<String>,
    /// The peer that named a leader when this address did not (null when ok).
    pub answered_by: Option<String>,
    /// The leader that peer named (null when ok).
    pub peer_leader: Option<String>,
}

impl Step for AskLeader {
    const NAME: &'static str = "metasrv.ask_leader";
    const SUMMARY: &'static str =
        "Ask one metasrv address for the leader (Heartbeat.AskLeader), as the meta client does";
    const SHAREABLE: bool = true;
    const EXAMPLE: &'static str = "\
address: 127.0.0.1:3002
peers: [\"127.0.0.1:3002\", \"10.0.0.12:3002\"]
timeout: 3s
connect_timeout: 1s
role: frontend
";
    type Params = AskLeaderParams;
    type Output = AskLeaderOutput;

    async fn run(&self, params: Self::Params, cx: &StepCx) -> Result<Self::Output, StepError> {
        let address = params.address.trim().to_string();
        let timeouts = params.timeouts.resolve();
        let ask = |address: String| async move {
            let result = client::ask_leader(
                &address,
                Origin::Configured,
                timeouts,
                params.member_id,
                params.role,
                cx,
            )
            .await;
            (address, result)
        };
        let peers: Vec<String> = clean_addresses(&params.peers)
            .into_iter()
            .filter(|peer| *peer != address)
            .collect();
        // `address` alone first: a live one answers well within the head start and its peers
        // are left alone. If it has not answered by then, the peers are asked at once (as the
        // meta client asks every entry at once), so dead entries cost one deadline together.
        let own = ask(address.clone());
        tokio::pin!(own);
        let early = tokio::select! {
            (_, result) = &mut own => Some(result),
            _ = tokio::time::sleep(PEERS_HEAD_START) => None,
        };
        let asking = futures::future::join_all(peers.into_iter().map(ask));
        let (error, answers) = match early {
            Some(Ok(answer)) => return Ok(answered(address, answer)),
            Some(Err(e)) if breaks_every_ask(&address, &e) => return Err(e),
            Some(Err(e)) => (e, asking.await),
            None => match tokio::join!(own, asking) {
                ((_, Ok(answer)), _) => return Ok(answered(address, answer)),
                ((_, Err(e)), _) if breaks_every_ask(&address, &e) => return Err(e),
                ((_, Err(e)), answers) => (e, answers),
            },
        };
        if answers.is_empty() {
            return Err(error);
        }
        match first_leader(answers) {
            Some((peer, answer)) => Ok(covered(address, error, peer, answer)),
            None => Err(none_answers(error)),
        }
    }

    fn details(output: &Self::Output) -> Vec<String> {
        match (&output.leader_addr, &output.answered_by) {
            (Some(leader), _) => vec![format!(
                "{} names leader {leader}{} (connect {:.1} ms, AskLeader {:.1} ms)",
                output.address,
                if output.names_itself { " (itself)" } else { "" },
                output.connect_ms.unwrap_or_default(),
                output.latency_ms.unwrap_or_default()
            )],
            (None, Some(peer)) => vec![
                format!(
                    "{}: {}",
                    output.address,
                    output.error.as_deref().unwrap_or("no leader")
                ),
                format!(
                    "{peer} names leader {}: the meta client uses that answer",
                    output.peer_leader.as_deref().unwrap_or("?")
                ),
            ],
            (None, None) => Vec::new(),
        }
    }
}

fn answered(address: String, answer: LeaderAnswer) -> AskLeaderOutput {
    AskLeaderOutput {
        names_itself: answer.leader_addr == address,
        address,
        ok: true,
        leader_id: Some(answer.leader_id),
        leader_addr: Some(answer.leader_addr),
        connect_ms: Some(answer.connect_ms),
        latency_ms: Some(answer.latency_ms),
        error: None,
        error_kind: None,
        error_hint: None,
        no_answer: None,
        answered_by: None,
        peer_leader: None,
    }
}

fn covered(
    address: String,
    error: StepError,
    peer: String,
    answer: LeaderAnswer,
) -> AskLeaderOutput {
    AskLeaderOutput {
        address,
        ok: false,
        leader_id: None,
        leader_addr: None,
        names_itself: false,
        connect_ms: None,
        latency_ms: None,
        no_answer: error.silence.map(|s| s.as_str().to_string()),
        error: Some(error.message),
        error_kind: Some(error.kind.as_str().to_string()),
        error_hint: error.hint,
        answered_by: Some(peer),
        peer_leader: Some(answer.leader_addr),
    }
}

/// The first peer, in the order given, that named a leader.
fn first_leader(
    answers: Vec<(String, Result<LeaderAnswer, StepError>)>,
) -> Option<(String, LeaderAnswer)> {
    answers
        .into_iter()
        .find_map(|(peer, result)| result.ok().map(|answer| (peer, answer)))
}

/// Whether this entry's error ends the meta client's AskLeader for every entry: an entry
/// GreptimeDB cannot even make a channel for ([`greptimedb_makes_channel`]).
fn breaks_every_ask(address: &str, error: &StepError) -> bool {
    error.kind == ErrorKind::Misconfigured && !greptimedb_makes_channel(address)
}

/// The error when no peer names a leader either: the entry's own error, with what follows.
fn none_answers(error: StepError) -> StepError {
    let hint = match &error.hint {
        Some(hint) => format!(
            "{hint}. No other entry of `meta_client.metasrv_addrs` names a leader either, so the \
             component exits at start-up"
        ),
        None => "no other entry of `meta_client.metasrv_addrs` names a leader either, so the \
                 component exits at start-up"
            .to_string(),
    };
    StepError {
        hint: Some(hint),
        ..error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_entries_without_a_channel_break_every_ask() {
        let misconfigured = StepError::misconfigured("bad");
        // GreptimeDB prefixes `http://`; a URI that does not parse then fails the whole ask.
        assert!(breaks_every_ask("a b:1", &misconfigured));
        assert!(breaks_every_ask("", &misconfigured));
        // Parses as a URI: GreptimeDB dials it (port 80 without a port) and moves on.
        assert!(!breaks_every_ask("metasrv", &misconfigured));
        assert!(!breaks_every_ask(
            "127.0.0.1:1",
            &StepError::unreachable("refused")
        ));
    }

    #[test]
    fn the_first_peer_with_a_leader_is_taken() {
        let answer = |leader: &str| LeaderAnswer {
            leader_id: 0,
            leader_addr: leader.into(),
            connect_ms: 0.0,
            latency_ms: 0.0,
        };
        let answers = vec![
            ("a:1".to_string(), Err(StepError::unreachable("refused"))),
            ("b:1".to_string(), Ok(answer("l:1"))),
            ("c:1".to_string(), Ok(answer("l:2"))),
        ];
        let (peer, answer) = first_leader(answers).unwrap();
        assert_eq!((peer.as_str(), answer.leader_addr.as_str()), ("b:1", "l:1"));
        assert!(first_leader(vec![("a:1".into(), Err(StepError::timeout("slow")))]).is_none());
    }

    #[test]
    fn no_answer_anywhere_says_the_component_exits() {
        let e = none_answers(StepError::unreachable("refused").with_hint("check it"));
        assert_eq!(e.kind, ErrorKind::Unreachable);
        assert!(e.hint.unwrap().starts_with("check it. No other entry"));
    }
}
