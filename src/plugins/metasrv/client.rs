//! Connecting to a metasrv as GreptimeDB's meta client does (plaintext `http://host:port`,
//! `connect_timeout`, TCP_NODELAY), running one RPC within `timeout`, and turning what goes
//! wrong into step errors whose hints name the config key to fix.

use std::error::Error as _;
use std::future::Future;
use std::io;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use tokio::time::Instant;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

use super::proto::heartbeat_client::HeartbeatClient;
use super::proto::AskLeaderRequest;
use super::{header_error, request_header, Role, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT};

/// GreptimeDB's meta client asks for the leader on its heartbeat channel, whose timeout is the
/// fixed `HEARTBEAT_TIMEOUT` (3 s, `src/common/meta/src/distributed_time_constants.rs`), not
/// `meta_client.timeout` (`create_meta_client` in `src/meta-client/src/lib.rs`).
const ASK_LEADER_TIMEOUT: Duration = Duration::from_secs(3);
/// AskLeader rounds before the meta client gives up (`DEFAULT_ASK_LEADER_MAX_RETRY`).
const ASK_LEADER_ROUNDS: usize = 3;
use crate::plugins::answer::{first_answer, AnswerDeadline, NoAnswer, Silence, Witness};
use crate::plugins::de_opt_duration;
use crate::plugins::net::HostPort;
use crate::plugins::{human, millis, StepCx, StepError};

/// Where an address came from; decides which config key the hints name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// An entry of the component's `meta_client.metasrv_addrs`.
    Configured,
    /// The leader address AskLeader returned: the leader's advertised `grpc.server_addr`.
    Advertised,
    /// An address given to `metasrv.peers` / `metasrv.store_range`: usually the leader that
    /// `metasrv.leader` found, or a `meta_client.metasrv_addrs` entry.
    Given,
}

impl Origin {
    /// What to check when nothing answers at `address`.
    fn unreachable_hint(self, address: &str) -> String {
        match self {
            Origin::Configured => format!(
                "check this entry of `meta_client.metasrv_addrs` ({address}): metasrv must run \
                 there, listen on that port (metasrv's `grpc.bind_addr`, default port 3002) and \
                 be reachable from this host"
            ),
            Origin::Advertised => format!(
                "{address} is the address the metasrv leader advertises (its `grpc.server_addr`, \
                 which AskLeader returns); clients connect there after asking for the leader, so \
                 it must be reachable from this host: set `grpc.server_addr` in every metasrv's \
                 config to an address the other hosts can reach"
            ),
            Origin::Given => format!(
                "check that metasrv runs at {address} and is reachable from this host; pass the \
                 leader found by metasrv.leader, or an entry of `meta_client.metasrv_addrs`"
            ),
        }
    }

    /// What to check when `host` does not resolve.
    fn dns_hint(self, host: &str) -> String {
        match self {
            Origin::Configured => format!(
                "the host name `{host}` in `meta_client.metasrv_addrs` must resolve from this \
                 host (DNS, /etc/hosts)"
            ),
            Origin::Advertised => format!(
                "the metasrv leader advertises the host name `{host}` (its `grpc.server_addr`), \
                 which does not resolve here; set `grpc.server_addr` in every metasrv's config \
                 to a name every client resolves, or to an IP address"
            ),
            Origin::Given => format!("`{host}` must resolve from this host (DNS, /etc/hosts)"),
        }
    }

    /// What to do when metasrv accepted the connection but did not answer in time.
    fn timeout_hint(self, address: &str, timeout: Duration) -> String {
        let prefix = match self {
            Origin::Advertised => {
                format!("{address} is the leader's advertised `grpc.server_addr`; ")
            }
            _ => String::new(),
        };
        format!(
            "{prefix}metasrv accepted the connection but sent no answer within {} \
             (`meta_client.timeout`): it is overloaded or stuck (see its logs), or something \
             between this host and metasrv drops the traffic; the meta client gives up after the \
             same time",
            human(timeout)
        )
    }
}

/// The meta client's timeouts, as every `metasrv.*` step takes them.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct MetaClientTimeouts {
    /// How long to wait for an answer once connected, as a humantime duration:
    /// `meta_client.timeout` (default `3s`); AskLeader is bounded by the meta client's fixed 3 s
    /// heartbeat timeout instead, whatever this says.
    #[serde(default, deserialize_with = "de_opt_duration")]
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Duration>,
    /// How long to wait for the TCP connection (name resolution included):
    /// `meta_client.connect_timeout` (default `1s`).
    #[serde(default, deserialize_with = "de_opt_duration")]
    #[schemars(with = "Option<String>")]
    pub connect_timeout: Option<Duration>,
}

impl MetaClientTimeouts {
    /// The timeouts with the meta client's defaults filled in.
    pub(crate) fn resolve(&self) -> Timeouts {
        Timeouts::new(self.connect_timeout, self.timeout)
    }
}

/// The connect and request timeouts of one call, defaults filled in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    /// TCP connection (and name resolution).
    pub connect: Duration,
    /// One RPC, from sending the request to the whole answer.
    pub request: Duration,
}

impl Timeouts {
    pub fn new(connect: Option<Duration>, request: Option<Duration>) -> Self {
        Self {
            connect: connect.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            request: request.unwrap_or(DEFAULT_TIMEOUT),
        }
    }
}

/// A connected channel to one metasrv.
pub(crate) struct Metasrv {
    pub address: String,
    /// `host:port` as parsed, where the witness connects.
    target: String,
    pub origin: Origin,
    pub channel: Channel,
    /// Time to resolve and connect, in milliseconds.
    pub connect_ms: f64,
    timeouts: Timeouts,
}

/// How an RPC failed.
pub(crate) enum CallError {
    /// Not reached, no answer in time, or not a metasrv: a finished step error.
    Failed(StepError),
    /// Metasrv itself answered with a gRPC error status; the caller words it for its RPC.
    Status(Status),
}

impl From<StepError> for CallError {
    fn from(e: StepError) -> Self {
        CallError::Failed(e)
    }
}

/// Parses a metasrv address: `host:port` or `[v6]:port`, without a scheme, as GreptimeDB
/// expects it (it prepends `http://` itself).
pub(crate) fn parse(address: &str, origin: Origin) -> Result<HostPort, StepError> {
    let hint = address_hint(origin);
    let target = HostPort::parse(address, false).map_err(|e| {
        StepError::misconfigured(format!("invalid metasrv address `{address}`: {e}"))
            .with_hint(hint)
    })?;
    if target.port == 0 {
        return Err(
            StepError::misconfigured(format!("metasrv address `{address}` has port 0"))
                .with_hint(hint),
        );
    }
    Ok(target)
}

/// How to write a metasrv address, naming the config key it came from.
fn address_hint(origin: Origin) -> &'static str {
    match origin {
        Origin::Configured => {
            "write each entry of `meta_client.metasrv_addrs` as `host:port`, e.g. \
             `127.0.0.1:3002` (no `http://`: GreptimeDB adds it)"
        }
        Origin::Advertised => {
            "the metasrv leader advertises this as its `grpc.server_addr`; set it in metasrv's \
             config to `host:port`, an address clients can reach"
        }
        Origin::Given => "write the metasrv address as `host:port`, e.g. `127.0.0.1:3002`",
    }
}

impl Metasrv {
    /// Connects to `address` under the first-answer deadline, capped by `connect_timeout`.
    pub async fn connect(
        address: &str,
        origin: Origin,
        timeouts: Timeouts,
        cx: &StepCx,
    ) -> Result<Self, StepError> {
        let target = parse(address, origin)?;
        // No tonic connect timeout: the first-answer deadline (never above `connect_timeout`)
        // bounds the connection, so the verdict names the kind of silence.
        let endpoint = Endpoint::from_shared(format!("http://{target}"))
            .map_err(|e| {
                StepError::misconfigured(format!("invalid metasrv address `{address}`: {e}"))
                    .with_hint(address_hint(origin))
            })?
            .tcp_nodelay(true);
        let deadline = first_deadline(cx, "meta_client.connect_timeout", timeouts.connect);
        let witness = Witness::plain(target.to_string());
        let started = Instant::now();
        let channel = match first_answer(&deadline, Some(witness), endpoint.connect()).await {
            Ok(Ok(channel)) => channel,
            Ok(Err(e)) => return Err(transport_error(&e, address, &target.host, origin)),
            Err(no) => {
                let greptimedb = format!(
                    "`meta_client.connect_timeout` = {}: GreptimeDB's meta client gives up \
                     connecting after {}",
                    human(timeouts.connect),
                    human(timeouts.connect)
                );
                return Err(no_answer(
                    no,
                    address,
                    "the gRPC connection",
                    &greptimedb,
                    origin,
                ));
            }
        };
        Ok(Self {
            address: address.to_string(),
            target: target.to_string(),
            origin,
            channel,
            connect_ms: millis(started.elapsed()),
            timeouts,
        })
    }

    /// Runs one RPC (`rpc` names it in messages, e.g. `Heartbeat.AskLeader`) under the
    /// first-answer deadline, capped by `timeout` (and, for AskLeader, by the meta client's
    /// fixed heartbeat-channel timeout); returns the answer and its time in milliseconds.
    pub async fn call<T>(
        &self,
        rpc: &str,
        cx: &StepCx,
        request: impl Future<Output = Result<tonic::Response<T>, Status>>,
    ) -> Result<(T, f64), CallError> {
        let ask_leader = rpc == "Heartbeat.AskLeader";
        let mut deadline = first_deadline(cx, "meta_client.timeout", self.timeouts.request);
        if ask_leader {
            deadline = deadline.capped_by(
                "HEARTBEAT_TIMEOUT, the meta client's fixed AskLeader timeout",
                ASK_LEADER_TIMEOUT,
            );
        }
        let witness = Witness::plain(self.target.clone());
        let started = Instant::now();
        match first_answer(&deadline, Some(witness), request).await {
            Ok(Ok(response)) => Ok((response.into_inner(), millis(started.elapsed()))),
            Ok(Err(status)) => Err(self.status_error(rpc, status)),
            Err(no) => {
                let greptimedb = if ask_leader {
                    format!(
                        "GreptimeDB's meta client gives up on AskLeader after {} (its fixed \
                         `HEARTBEAT_TIMEOUT`, whatever `meta_client.timeout` says), asking every \
                         `meta_client.metasrv_addrs` entry at once, {} rounds before the \
                         component exits",
                        human(ASK_LEADER_TIMEOUT),
                        ASK_LEADER_ROUNDS
                    )
                } else {
                    format!(
                        "`meta_client.timeout` = {}: GreptimeDB's meta client gives up waiting \
                         for an answer after {}",
                        human(self.timeouts.request),
                        human(self.timeouts.request)
                    )
                };
                Err(no_answer(no, &self.address, rpc, &greptimedb, self.origin).into())
            }
        }
    }

    /// Sorts a gRPC error status: transport failures, timeouts and "not a metasrv" become step
    /// errors; anything else is metasrv's own answer.
    fn status_error(&self, rpc: &str, status: Status) -> CallError {
        let address = &self.address;
        if status.code() == Code::Unimplemented {
            let detail = match status.message() {
                "" => String::new(),
                message => format!(": {message}"),
            };
            return StepError::rejected(format!(
                "{address} speaks gRPC but does not serve `/greptime.v1.meta.{}` \
                 (Unimplemented{detail}): it is not a metasrv",
                rpc.replacen('.', "/", 1)
            ))
            .with_hint(not_metasrv_hint(address, self.origin))
            .into();
        }
        if status.code() == Code::DeadlineExceeded {
            return StepError::timeout(format!(
                "metasrv at {address} gave up on {rpc} (DeadlineExceeded: {})",
                status.message()
            ))
            .with_hint(self.origin.timeout_hint(address, self.timeouts.request))
            .into();
        }
        if let Some(source) = status.source() {
            // tonic wraps connection failures in a status with the transport error as source.
            let host = parse(address, self.origin).map_or_else(|_| address.clone(), |t| t.host);
            return transport_error(source, address, &host, self.origin).into();
        }
        if is_protocol_error(status.message()) {
            return not_grpc(address, self.origin, status.message()).into();
        }
        CallError::Status(status)
    }
}

/// The result of AskLeader on one address.
pub(crate) struct LeaderAnswer {
    /// `leader.id` (GreptimeDB sends 0).
    pub leader_id: u64,
    /// `leader.addr`: the leader's advertised `grpc.server_addr`.
    pub leader_addr: String,
    /// Time to connect, in milliseconds.
    pub connect_ms: f64,
    /// Time of the AskLeader RPC, in milliseconds.
    pub latency_ms: f64,
}

/// Asks `address` for the leader, as GreptimeDB's meta client does.
pub(crate) async fn ask_leader(
    address: &str,
    origin: Origin,
    timeouts: Timeouts,
    member_id: u64,
    role: Role,
    cx: &StepCx,
) -> Result<LeaderAnswer, StepError> {
    let metasrv = Metasrv::connect(address, origin, timeouts, cx).await?;
    let mut client = HeartbeatClient::new(metasrv.channel.clone());
    let request = AskLeaderRequest {
        header: Some(request_header(member_id, role)),
    };
    let (response, latency_ms) = match metasrv
        .call("Heartbeat.AskLeader", cx, client.ask_leader(request))
        .await
    {
        Ok(answer) => answer,
        Err(CallError::Failed(e)) => return Err(e),
        Err(CallError::Status(status)) => {
            return Err(StepError::rejected(format!(
                "metasrv at {address} answered AskLeader with an error ({:?}: {}): it knows no \
                 leader at this moment",
                status.code(),
                status.message()
            ))
            .with_hint(no_leader_hint()))
        }
    };
    if let Some(error) = header_error(response.header.as_ref()) {
        return Err(StepError::rejected(format!(
            "metasrv at {address} answered but reports no leader: {error}"
        ))
        .with_hint(no_leader_hint()));
    }
    let leader = response.leader.unwrap_or_default();
    let leader_addr = leader.addr.trim().to_string();
    if leader_addr.is_empty() {
        return Err(StepError::rejected(format!(
            "metasrv at {address} answered but reports no leader: the election has no leader \
             at this moment"
        ))
        .with_hint(no_leader_hint()));
    }
    Ok(LeaderAnswer {
        leader_id: leader.id,
        leader_addr,
        connect_ms: metasrv.connect_ms,
        latency_ms,
    })
}

/// The hint for a metasrv that answers without a leader.
pub(crate) fn no_leader_hint() -> String {
    "metasrv's leader election has no winner: a metasrv becomes leader only while it can reach \
     its metadata backend (`backend`, `store_addrs`), so check that backend and the metasrv logs \
     (`greptime-self-test metasrv -c metasrv.toml` on a metasrv host checks the backend); right \
     after a restart, wait for the election and retry"
        .into()
}

/// The first-answer deadline of one phase: `cx.answer`, capped by the meta client's `key`
/// (`value`) and by what is left of the check, less a margin so the step names the phase.
fn first_deadline(cx: &StepCx, key: &str, value: Duration) -> AnswerDeadline {
    cx.answer.capped_by(key, value).within_check(cx)
}

/// The verdict on a metasrv that did not answer `what` in time: the silence, the deadline and
/// what set it, what GreptimeDB's meta client does, and the config key to check.
fn no_answer(
    no: NoAnswer,
    address: &str,
    what: &str,
    greptimedb: &str,
    origin: Origin,
) -> StepError {
    let mut error = NoAnswer {
        endpoint: format!("metasrv at {address}"),
        ..no
    }
    .into_error(what, greptimedb);
    error.hint = Some(match error.hint {
        Some(hint) => format!("{hint}; {}", origin.unreachable_hint(address)),
        None => origin.unreachable_hint(address),
    });
    error
}

fn not_metasrv_hint(address: &str, origin: Origin) -> String {
    let which = match origin {
        Origin::Configured => "this entry of `meta_client.metasrv_addrs`".to_string(),
        Origin::Advertised => "the leader's advertised `grpc.server_addr`".to_string(),
        Origin::Given => address.to_string(),
    };
    format!(
        "point {which} at metasrv's gRPC port (metasrv's `grpc.bind_addr`, default 3002), not \
         at a frontend, datanode or flownode gRPC port (4001, 3001, 6800) or an HTTP port \
         (4000)"
    )
}

/// Whether an error text comes from an HTTP/2 framing or protocol failure: the peer does not
/// speak gRPC.
fn is_protocol_error(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    [
        "h2 protocol error",
        "http2 error",
        "frame with invalid size",
        "invalid http version",
        "invalid content-type",
        "protocol error",
        "missing content-type",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
}

fn not_grpc(address: &str, origin: Origin, detail: &str) -> StepError {
    StepError::rejected(format!(
        "{address} accepted the connection but does not speak gRPC over plaintext HTTP/2 \
         ({detail}): it is not a metasrv gRPC port"
    ))
    .with_hint(not_metasrv_hint(address, origin))
}

/// The error and its causes as one line, without repeats.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = Some(e);
    while let Some(err) = source {
        let text = err.to_string();
        if !text.is_empty() && text != "transport error" && !parts.iter().any(|p| p.contains(&text))
        {
            parts.push(text);
        }
        source = err.source();
    }
    parts.join(": ")
}

/// The first `io::Error` kind among the error and its causes.
fn io_kind(e: &(dyn std::error::Error + 'static)) -> Option<io::ErrorKind> {
    let mut source = Some(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            return Some(io.kind());
        }
        source = err.source();
    }
    None
}

/// Maps a failure to connect (or a connection lost mid-call) to a step error.
fn transport_error(
    e: &(dyn std::error::Error + 'static),
    address: &str,
    host: &str,
    origin: Origin,
) -> StepError {
    let detail = chain(e);
    let lower = detail.to_ascii_lowercase();
    let kind = io_kind(e);
    if kind == Some(io::ErrorKind::ConnectionRefused) || lower.contains("connection refused") {
        return StepError {
            silence: Some(Silence::Refused),
            ..StepError::unreachable(format!(
                "cannot connect to metasrv at {address}: connection refused"
            ))
            .with_hint(origin.unreachable_hint(address))
        };
    }
    if lower.contains("dns error")
        || lower.contains("failed to lookup address")
        || lower.contains("name or service not known")
    {
        return StepError::unreachable(format!(
            "cannot resolve `{host}` (metasrv address {address}): {detail}"
        ))
        .with_hint(origin.dns_hint(host));
    }
    if matches!(
        kind,
        Some(io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable)
    ) || lower.contains("no route to host")
        || lower.contains("network is unreachable")
    {
        return StepError::unreachable(format!(
            "cannot connect to metasrv at {address}: no route ({detail})"
        ))
        .with_hint(format!(
            "check routing, VPN and firewall rules between this host and {host}. {}",
            origin.unreachable_hint(address)
        ));
    }
    if kind == Some(io::ErrorKind::TimedOut) || lower.contains("timed out") {
        return StepError::timeout(format!("cannot connect to metasrv at {address}: {detail}"))
            .with_hint(origin.unreachable_hint(address));
    }
    if is_protocol_error(&detail) {
        return not_grpc(address, origin, &detail);
    }
    if matches!(
        kind,
        Some(
            io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof
        )
    ) || lower.contains("connection closed")
        || lower.contains("connection reset")
        || lower.contains("broken pipe")
    {
        return StepError::rejected(format!(
            "{address} accepted the connection, then closed it without a gRPC answer ({detail})"
        ))
        .with_hint(format!(
            "metasrv's gRPC port speaks plaintext HTTP/2; something else listens at {address} \
             (a TLS-only proxy, or another service). {}",
            not_metasrv_hint(address, origin)
        ));
    }
    StepError::unreachable(format!("cannot reach metasrv at {address}: {detail}"))
        .with_hint(origin.unreachable_hint(address))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_host_port_without_scheme() {
        let ok = parse("127.0.0.1:3002", Origin::Configured).unwrap();
        assert_eq!((ok.host.as_str(), ok.port), ("127.0.0.1", 3002));
        let ok = parse("[::1]:3002", Origin::Configured).unwrap();
        assert_eq!(ok.to_string(), "[::1]:3002");
        for bad in ["http://127.0.0.1:3002", "metasrv", "metasrv:0", ""] {
            let e = parse(bad, Origin::Configured).unwrap_err();
            assert_eq!(e.kind, crate::plugins::ErrorKind::Misconfigured, "{bad}");
            assert!(
                e.hint.unwrap().contains("meta_client.metasrv_addrs"),
                "{bad}"
            );
        }
        let e = parse("http://x:1", Origin::Advertised).unwrap_err();
        assert!(e.hint.unwrap().contains("grpc.server_addr"));
    }

    #[test]
    fn transport_errors_are_sorted() {
        let refused = io::Error::new(io::ErrorKind::ConnectionRefused, "refused");
        let e = transport_error(&refused, "a:1", "a", Origin::Configured);
        assert_eq!(e.kind, crate::plugins::ErrorKind::Unreachable);
        assert!(e.hint.unwrap().contains("meta_client.metasrv_addrs"));
        let e = transport_error(&refused, "a:1", "a", Origin::Advertised);
        assert!(e.hint.unwrap().contains("grpc.server_addr"));

        let dns = io::Error::other("dns error: failed to lookup address information");
        let e = transport_error(&dns, "nowhere:1", "nowhere", Origin::Configured);
        assert_eq!(e.kind, crate::plugins::ErrorKind::Unreachable);
        assert!(
            e.message.contains("cannot resolve `nowhere`"),
            "{}",
            e.message
        );

        let slow = io::Error::new(io::ErrorKind::TimedOut, "connection timed out");
        let e = transport_error(&slow, "a:1", "a", Origin::Configured);
        assert_eq!(e.kind, crate::plugins::ErrorKind::Timeout);

        let h2 =
            io::Error::other("http2 error: connection error detected: frame with invalid size");
        let e = transport_error(&h2, "a:1", "a", Origin::Configured);
        assert_eq!(e.kind, crate::plugins::ErrorKind::Rejected);
        assert!(e.message.contains("does not speak gRPC"), "{}", e.message);

        let reset = io::Error::new(io::ErrorKind::ConnectionReset, "reset by peer");
        let e = transport_error(&reset, "a:1", "a", Origin::Configured);
        assert_eq!(e.kind, crate::plugins::ErrorKind::Rejected);
    }
}
