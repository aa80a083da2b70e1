//! `metasrv.leader`: AskLeader on every `meta_client.metasrv_addrs` entry at once; do they name
//! one leader, and does that leader answer from this host?

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::client::{self, LeaderAnswer, MetaClientTimeouts, Origin, Timeouts};
use super::{
    all_loopback, clean_addresses, ip_is_local_only, literal_loopback,
    loopback_leader_is_misconfigured, Role,
};
use crate::plugins::{ErrorKind, Step, StepCx, StepError};

/// Asks every metasrv address for the leader concurrently (as the meta client does, so the
/// whole step takes about one `timeout` even when every address is dead), then asks the leader
/// they name, at the address they name, to confirm itself. Addresses that fail and addresses
/// that disagree are reported, not errors; the step fails only when no address names a leader,
/// or when the leader is advertised on a loopback address while this host reaches metasrv on
/// a non-loopback one.
///
/// How the playbooks judge the output, after GreptimeDB's meta client
/// (`src/meta-client/src/client/ask_leader.rs`):
/// - dead addresses (`failed > 0`) are not this check's concern: the meta client takes the
///   first leader any address names and only logs the others, so a component with one live
///   address starts (greptimedb.md §10); `metasrv.ask_leader` warns per dead address;
/// - a leader that does not answer at its advertised address fails: the meta client talks to
///   that address next, and a frontend whose metasrv advertises a dead `server_addr` exits
///   (§10);
/// - addresses naming different leaders (`agree: false`) fail. The meta client keeps the first
///   answer, so which leader a node follows depends on which metasrv answers first at each
///   start-up. Within one cluster the followers name the leader they learnt from the election,
///   so disagreement means the election is changing hands (retry) or the list spans two
///   metasrv clusters (different `store_addrs` or `store_key_prefix`), and then the node may
///   join either cluster, its metadata and regions landing in one or the other at random.
pub struct Leader;

/// Parameters of `metasrv.leader`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaderParams {
    /// Every entry of `meta_client.metasrv_addrs`, `host:port` each (entries are trimmed,
    /// empty ones dropped).
    pub addresses: Vec<String>,
    /// The meta client's timeouts, applied to each address.
    #[serde(flatten)]
    pub timeouts: MetaClientTimeouts,
}

/// One address in the output of `metasrv.leader`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AddressAnswer {
    /// The address as given (trimmed).
    pub address: String,
    /// Whether it answered AskLeader with a leader.
    pub ok: bool,
    /// The leader it names (null when not ok).
    pub leader_addr: Option<String>,
    /// Why it did not (null when ok).
    pub error: Option<String>,
    /// Kind of that error: `Unreachable`, `Timeout`, `Rejected` (answered without a leader, or
    /// not a metasrv), `Misconfigured` (null when ok).
    pub error_kind: Option<String>,
    /// Hint for that error (null when ok or none).
    pub error_hint: Option<String>,
    /// How it stayed silent when it did not answer within the first-answer deadline:
    /// `refused`, `black_holed`, `accepted_silent` or `tls_stalled` (null otherwise).
    pub no_answer: Option<String>,
    /// Time of the AskLeader RPC in milliseconds, connection excluded (null when not ok).
    pub latency_ms: Option<f64>,
}

/// Output of `metasrv.leader`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct LeaderOutput {
    /// Every address, in the order given.
    pub addresses: Vec<AddressAnswer>,
    /// Distinct leaders named, in first-seen order (compared as written).
    pub leaders: Vec<String>,
    /// True when every address that answered names the same leader.
    pub agree: bool,
    /// Number of addresses that named a leader.
    pub answered: usize,
    /// Number of addresses that did not (unreachable, too slow, no leader, not a metasrv).
    pub failed: usize,
    /// The leader they agree on; null when they disagree.
    pub leader: Option<String>,
    /// True when the leader, asked at the address it advertises, answers and names itself.
    /// When the leader address is itself one of `addresses`, that address's answer counts and
    /// it is not asked again.
    pub leader_confirms: bool,
    /// Why the leader does not confirm (null when it does).
    pub leader_error: Option<String>,
    /// Kind of that error (null when the leader confirms).
    pub leader_error_kind: Option<String>,
    /// Hint for that error (null when the leader confirms or there is none).
    pub leader_error_hint: Option<String>,
    /// How `--resolve` redirected the leader's advertised address when it was asked there
    /// (null when no redirect applied).
    pub leader_redirect: Option<String>,
    /// Whether the agreed leader address is written as a loopback or unspecified IP
    /// (127.0.0.0/8, ::1, 0.0.0.0, ::) or `localhost`: an address that sends every client to
    /// itself. Host names are not resolved for this (they resolve differently on each host).
    pub leader_is_loopback: bool,
    /// Whether every configured address is loopback: an IP literal or `localhost` as written,
    /// or a name that resolves only to loopback addresses here. When it is, the whole cluster
    /// is on this host and a loopback leader is fine.
    pub configured_loopback: bool,
}

impl Step for Leader {
    const NAME: &'static str = "metasrv.leader";
    const SUMMARY: &'static str =
        "AskLeader on every metasrv address concurrently: one leader, reachable from this host";
    const SHAREABLE: bool = true;
    const EXAMPLE: &'static str = "\
addresses: [\"10.0.0.11:3002\", \"10.0.0.12:3002\", \"10.0.0.13:3002\"]
timeout: 3s
connect_timeout: 1s
";
    type Params = LeaderParams;
    type Output = LeaderOutput;

    async fn run(&self, params: Self::Params, cx: &StepCx) -> Result<Self::Output, StepError> {
        let addresses = clean_addresses(&params.addresses);
        if addresses.is_empty() {
            return Err(
                StepError::misconfigured("no metasrv address to ask").with_hint(
                    "`meta_client.metasrv_addrs` is empty; list every metasrv's `host:port` there",
                ),
            );
        }
        let timeouts = params.timeouts.resolve();
        let probes =
            futures::future::join_all(addresses.iter().map(|address| probe(address, timeouts, cx)))
                .await;
        let (results, loopbacks): (Vec<_>, Vec<_>) = probes.into_iter().unzip();
        let answers: Vec<AddressAnswer> = addresses
            .iter()
            .zip(&results)
            .map(|(address, result)| answer(address, result))
            .collect();
        let answered = answers.iter().filter(|a| a.ok).count();
        if answered == 0 {
            let errors: Vec<&StepError> = results.iter().filter_map(|r| r.as_ref().err()).collect();
            return Err(none_answered(&addresses, &errors));
        }

        let (leaders, agree) = agreement(&answers);
        let configured_loopback = all_loopback(&loopbacks);
        let leader = agree.then(|| leaders[0].clone());
        let leader_is_loopback = leader.as_deref().map(is_loopback_address).unwrap_or(false);
        if let Some(leader) = &leader {
            if loopback_leader_is_misconfigured(leader_is_loopback, configured_loopback) {
                return Err(loopback_error(leader, &addresses));
            }
        }

        let confirmation = match &leader {
            None => Err(StepError::rejected(format!(
                "the addresses name {} different leaders ({}), so there is no one leader to ask",
                leaders.len(),
                leaders.join(", ")
            ))),
            Some(leader) => confirm(leader, &answers, timeouts, cx).await,
        };
        let (leader_error, leader_error_kind, leader_error_hint, leader_redirect) =
            match confirmation {
                Ok(note) => (None, None, None, note),
                Err(e) => (
                    Some(e.message),
                    Some(e.kind.as_str().to_string()),
                    e.hint,
                    None,
                ),
            };
        Ok(LeaderOutput {
            failed: answers.len() - answered,
            answered,
            addresses: answers,
            leaders,
            agree,
            leader_confirms: leader_error.is_none(),
            leader,
            leader_error,
            leader_error_kind,
            leader_error_hint,
            leader_redirect,
            leader_is_loopback,
            configured_loopback,
        })
    }

    fn details(output: &Self::Output) -> Vec<String> {
        let mut lines: Vec<String> = output
            .addresses
            .iter()
            .map(|a| match (&a.leader_addr, &a.error) {
                (Some(leader), _) => format!(
                    "{}: leader {leader} ({:.1} ms)",
                    a.address,
                    a.latency_ms.unwrap_or_default()
                ),
                (None, Some(e)) => format!("{}: {e}", a.address),
                (None, None) => format!("{}: no answer", a.address),
            })
            .collect();
        match (&output.leader, &output.leader_error) {
            (Some(leader), None) => lines.push(format!("leader {leader} confirms itself")),
            (Some(leader), Some(e)) => lines.push(format!("leader {leader} does not confirm: {e}")),
            (None, _) => {}
        }
        lines.extend(output.leader_redirect.clone());
        lines
    }
}

/// AskLeader on one configured address, and whether that address is loopback (`None`: a name
/// that did not resolve), both at once.
async fn probe(
    address: &str,
    timeouts: Timeouts,
    cx: &StepCx,
) -> (Result<LeaderAnswer, StepError>, Option<bool>) {
    tokio::join!(
        client::ask_leader(address, Origin::Configured, timeouts, 0, Role::Frontend, cx),
        configured_is_loopback(address, timeouts.connect)
    )
}

/// Whether a configured address is loopback: as written when it is an IP literal or
/// `localhost`, else by resolving it here (all resolved addresses loopback).
async fn configured_is_loopback(address: &str, limit: Duration) -> Option<bool> {
    let target = client::parse(address, Origin::Configured).ok()?;
    if let Some(loopback) = literal_loopback(&target.host) {
        return Some(loopback);
    }
    let lookup = tokio::net::lookup_host((target.host.as_str(), target.port));
    let resolved: Vec<_> = tokio::time::timeout(limit, lookup)
        .await
        .ok()?
        .ok()?
        .collect();
    if resolved.is_empty() {
        return None;
    }
    Some(resolved.iter().all(|a| ip_is_local_only(a.ip())))
}

/// Whether an advertised `host:port` is written as a loopback address.
fn is_loopback_address(address: &str) -> bool {
    client::parse(address, Origin::Advertised)
        .map(|target| literal_loopback(&target.host) == Some(true))
        .unwrap_or(false)
}

fn answer(address: &str, result: &Result<LeaderAnswer, StepError>) -> AddressAnswer {
    match result {
        Ok(answer) => AddressAnswer {
            address: address.to_string(),
            ok: true,
            leader_addr: Some(answer.leader_addr.clone()),
            error: None,
            error_kind: None,
            error_hint: None,
            no_answer: None,
            latency_ms: Some(answer.latency_ms),
        },
        Err(e) => AddressAnswer {
            address: address.to_string(),
            ok: false,
            leader_addr: None,
            error: Some(e.message.clone()),
            error_kind: Some(e.kind.as_str().to_string()),
            error_hint: e.hint.clone(),
            no_answer: e.silence.map(|s| s.as_str().to_string()),
            latency_ms: None,
        },
    }
}

/// The distinct leaders named, in first-seen order, and whether there is exactly one.
fn agreement(answers: &[AddressAnswer]) -> (Vec<String>, bool) {
    let mut leaders: Vec<String> = Vec::new();
    for leader in answers.iter().filter_map(|a| a.leader_addr.as_ref()) {
        if !leaders.contains(leader) {
            leaders.push(leader.clone());
        }
    }
    let agree = leaders.len() == 1;
    (leaders, agree)
}

/// The error when no address names a leader: the kind they share (else Unreachable), every
/// address's reason, and the hint of the first error of that kind.
fn none_answered(addresses: &[String], errors: &[&StepError]) -> StepError {
    let first = errors[0].kind;
    let kind = if errors.iter().all(|e| e.kind == first) {
        first
    } else {
        ErrorKind::Unreachable
    };
    let reasons: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
    let message = if let [only] = reasons.as_slice() {
        format!("no metasrv names a leader: {only}")
    } else {
        format!(
            "no metasrv names a leader ({} of {} addresses failed): {}",
            errors.len(),
            addresses.len(),
            reasons.join("; ")
        )
    };
    let hint = errors
        .iter()
        .find(|e| e.kind == kind)
        .or(errors.first())
        .and_then(|e| e.hint.clone());
    let mut error = StepError::new(kind, message);
    let silence = errors[0].silence;
    error.silence = silence.filter(|_| errors.iter().all(|e| e.silence == silence));
    if let Some(hint) = hint {
        error = error.with_hint(format!(
            "{hint}. A frontend, datanode or flownode fails to start when no entry of \
             `meta_client.metasrv_addrs` answers"
        ));
    }
    error
}

/// The error for a loopback leader seen from a host that reaches metasrv remotely.
fn loopback_error(leader: &str, addresses: &[String]) -> StepError {
    StepError::misconfigured(format!(
        "the metasrv leader advertises the loopback address {leader}, but this host reaches \
         metasrv at {}: after AskLeader, every client that is not on the leader's host connects \
         to itself",
        addresses.join(", ")
    ))
    .with_hint(
        "AskLeader returns the leader's `grpc.server_addr`; set `grpc.server_addr` in every \
         metasrv's config to the address other hosts reach it on (its host's IP or DNS name and \
         the `grpc.bind_addr` port, e.g. `10.0.0.11:3002`). 127.0.0.1, localhost or 0.0.0.0 \
         work only when every component runs on the metasrv's host",
    )
}

/// Confirms that the leader answers at the address it advertises and names itself. An
/// address among the configured ones that already named it needs no second question.
async fn confirm(
    leader: &str,
    answers: &[AddressAnswer],
    timeouts: Timeouts,
    cx: &StepCx,
) -> Result<Option<String>, StepError> {
    if answers
        .iter()
        .any(|a| a.address == leader && a.leader_addr.as_deref() == Some(leader))
    {
        return Ok(None);
    }
    // from outside a Kubernetes cluster the advertised pod address may be redirected to a
    // port-forward (`--resolve`); the note says so
    let (dial, note) = match cx.redirected(leader) {
        Some((dial, note)) => (dial, Some(note)),
        None => (leader.to_string(), None),
    };
    let answer = client::ask_leader(&dial, Origin::Advertised, timeouts, 0, Role::Frontend, cx)
        .await
        .map_err(|e| match &note {
            Some(note) => StepError {
                message: format!("{} ({note})", e.message),
                ..e
            },
            None => e,
        })?;
    if answer.leader_addr == leader {
        return Ok(note);
    }
    Err(StepError::rejected(format!(
        "the leader {leader} (named by the metasrv addresses) answers but names {} as leader",
        answer.leader_addr
    ))
    .with_hint(format!(
        "the election is changing hands, or {leader} belongs to another metasrv cluster than \
         the configured addresses (different `store_addrs` or `store_key_prefix`); retry in a \
         few seconds"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(address: &str, leader: &str) -> AddressAnswer {
        answer(
            address,
            &Ok(LeaderAnswer {
                leader_id: 0,
                leader_addr: leader.into(),
                connect_ms: 1.0,
                latency_ms: 1.0,
            }),
        )
    }

    fn failed(address: &str, e: StepError) -> AddressAnswer {
        answer(address, &Err(e))
    }

    #[test]
    fn agreement_ignores_failed_addresses() {
        let answers = [
            ok("a:1", "a:1"),
            failed("b:1", StepError::unreachable("refused")),
            ok("c:1", "a:1"),
        ];
        assert_eq!(agreement(&answers), (vec!["a:1".to_string()], true));
        let answers = [ok("a:1", "a:1"), ok("b:1", "b:1"), ok("c:1", "a:1")];
        assert_eq!(
            agreement(&answers),
            (vec!["a:1".to_string(), "b:1".to_string()], false)
        );
    }

    #[test]
    fn no_answer_keeps_a_shared_kind() {
        let addresses = ["a:1".to_string(), "b:1".to_string()];
        let slow = StepError::timeout("slow").with_hint("raise `meta_client.timeout`");
        let refused =
            StepError::unreachable("refused").with_hint("check `meta_client.metasrv_addrs`");
        let e = none_answered(&addresses, &[&slow, &slow]);
        assert_eq!(e.kind, ErrorKind::Timeout);
        assert!(e.message.contains("2 of 2"), "{}", e.message);
        let e = none_answered(&addresses, &[&slow, &refused]);
        assert_eq!(e.kind, ErrorKind::Unreachable);
        assert!(e.hint.unwrap().contains("meta_client.metasrv_addrs"));
        assert!(e.message.contains("slow; refused"), "{}", e.message);
    }

    #[test]
    fn loopback_leader_for_remote_configured_addresses_is_misconfigured() {
        // Remote clients (10.0.0.x configured) are sent to 127.0.0.1: Misconfigured.
        assert!(is_loopback_address("127.0.0.1:3002"));
        assert!(is_loopback_address("localhost:3002"));
        assert!(is_loopback_address("0.0.0.0:3002"));
        assert!(is_loopback_address("[::1]:3002"));
        assert!(!is_loopback_address("10.0.0.11:3002"));
        assert!(!is_loopback_address("metasrv-0.metasrv:3002"));
        let configured = [Some(false), Some(false)];
        assert!(loopback_leader_is_misconfigured(
            is_loopback_address("127.0.0.1:3002"),
            all_loopback(&configured)
        ));
        let e = loopback_error(
            "127.0.0.1:3002",
            &["10.0.0.11:3002".into(), "10.0.0.12:3002".into()],
        );
        assert_eq!(e.kind, ErrorKind::Misconfigured);
        assert!(e.message.contains("127.0.0.1:3002"), "{}", e.message);
        assert!(
            e.message.contains("10.0.0.11:3002, 10.0.0.12:3002"),
            "{}",
            e.message
        );
        assert!(e.hint.unwrap().contains("`grpc.server_addr`"));
        // Everything on one host: fine.
        assert!(!loopback_leader_is_misconfigured(
            is_loopback_address("127.0.0.1:3002"),
            all_loopback(&[Some(true), Some(true)])
        ));
    }
}
