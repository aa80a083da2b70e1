//! `net.tcp_connect`: resolve an address and open a TCP connection to it.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::HostPort;
use crate::plugins::{de_opt_duration, human, millis};
use crate::plugins::{ErrorKind, Step, StepCx, StepError};

/// Resolves an address and opens a TCP connection to it, then closes it at once.
pub struct TcpConnect;

/// Parameters of `net.tcp_connect`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TcpConnectParams {
    /// Address to connect to: `host:port` or `[ipv6]:port`. A URL such as
    /// `http://host:port/path` is also accepted, as etcd endpoints may be written: the scheme,
    /// user info and path are ignored, and a missing port defaults to 80 (`http`) or 443
    /// (`https`).
    pub address: String,
    /// Connect timeout for each resolved address, as a humantime duration (`3s`, `500ms`).
    /// Default, and upper bound: the time left before the check's deadline.
    #[serde(default, deserialize_with = "de_opt_duration")]
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Duration>,
}

/// Output of `net.tcp_connect`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TcpConnectOutput {
    /// The address as given.
    pub address: String,
    /// Host part of the address (IPv6 without brackets).
    pub host: String,
    /// Port part of the address.
    pub port: u16,
    /// Every socket address the host resolved to, in resolver order.
    pub resolved: Vec<String>,
    /// The socket address the connection was made to.
    pub connected_to: String,
    /// Resolved addresses tried before `connected_to`, each with why it failed.
    pub failed_attempts: Vec<String>,
    /// Time taken by name resolution, in milliseconds.
    pub resolve_ms: f64,
    /// Time taken by the successful connection attempt, in milliseconds.
    pub connect_ms: f64,
}

impl Step for TcpConnect {
    const NAME: &'static str = "net.tcp_connect";
    const SUMMARY: &'static str =
        "Resolve a host:port (or http(s):// endpoint) and open a TCP connection to it";
    const SHAREABLE: bool = true;
    const EXAMPLE: &'static str = "address: 127.0.0.1:2379\ntimeout: 3s\n";
    type Params = TcpConnectParams;
    type Output = TcpConnectOutput;

    async fn run(&self, params: Self::Params, cx: &StepCx) -> Result<Self::Output, StepError> {
        let target = HostPort::parse(&params.address, true).map_err(|e| {
            StepError::misconfigured(format!("invalid address `{}`: {e}", params.address))
                .with_hint("write it as `host:port`, e.g. `127.0.0.1:2379`")
        })?;
        if target.port == 0 {
            return Err(StepError::misconfigured(format!(
                "cannot connect to port 0 (`{}`)",
                params.address
            ))
            .with_hint("set the port the service listens on"));
        }

        let started = Instant::now();
        let lookup = tokio::net::lookup_host((target.host.as_str(), target.port));
        let addrs: Vec<SocketAddr> = match tokio::time::timeout(cx.remaining(), lookup).await {
            Ok(Ok(addrs)) => addrs.collect(),
            Ok(Err(e)) => {
                return Err(StepError::unreachable(format!(
                    "cannot resolve `{}`: {e}",
                    target.host
                ))
                .with_hint(format!(
                    "check the host name `{}`; it must resolve from this host (DNS, /etc/hosts)",
                    target.host
                )))
            }
            Err(_) => {
                return Err(StepError::timeout(format!(
                    "resolving `{}` did not finish before the deadline",
                    target.host
                ))
                .with_hint("the DNS server is slow or unreachable; check /etc/resolv.conf"))
            }
        };
        let resolve_ms = millis(started.elapsed());
        if addrs.is_empty() {
            return Err(StepError::unreachable(format!(
                "`{}` resolves to no address",
                target.host
            ))
            .with_hint("check the DNS records of the host"));
        }

        let mut failures: Vec<(SocketAddr, StepError)> = Vec::new();
        for addr in &addrs {
            let limit = params
                .timeout
                .map_or(cx.remaining(), |t| t.min(cx.remaining()));
            let attempt = Instant::now();
            match tokio::time::timeout(limit, TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => {
                    let connect_ms = millis(attempt.elapsed());
                    drop(stream);
                    return Ok(TcpConnectOutput {
                        address: params.address,
                        host: target.host,
                        port: target.port,
                        resolved: addrs.iter().map(ToString::to_string).collect(),
                        connected_to: addr.to_string(),
                        failed_attempts: failures
                            .iter()
                            .map(|(a, e)| format!("{a}: {}", e.message))
                            .collect(),
                        resolve_ms,
                        connect_ms,
                    });
                }
                Ok(Err(e)) => failures.push((*addr, connect_error(addr, &e))),
                Err(_) => failures.push((
                    *addr,
                    StepError::timeout(format!("no answer within {}", human(limit))).with_hint(
                        format!(
                        "nothing answered at {addr}: a firewall or security group may drop the \
                         packets, or the host is down"
                    ),
                    ),
                )),
            }
        }
        Err(summarize(&target, failures))
    }
}

/// Turns one failed connection attempt into an error with a hint.
fn connect_error(addr: &SocketAddr, e: &io::Error) -> StepError {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => StepError::unreachable("connection refused").with_hint(
            format!("nothing listens on {addr}; is the service running, and is the port right?"),
        ),
        io::ErrorKind::TimedOut => StepError::timeout(format!("connection timed out ({e})"))
            .with_hint(format!(
                "nothing answered at {addr}: a firewall or security group may drop the packets, \
                 or the host is down"
            )),
        io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => {
            StepError::unreachable(format!("no route ({e})")).with_hint(format!(
                "no route from this host to {}; check routing, VPN and firewall rules",
                addr.ip()
            ))
        }
        io::ErrorKind::PermissionDenied => StepError::unreachable(format!("not permitted ({e})"))
            .with_hint("a local firewall or security policy forbids this outgoing connection"),
        _ => StepError::unreachable(e.to_string()),
    }
}

/// One error for all failed attempts: Timeout if any attempt timed out, else the first error's
/// kind; the message lists every attempt.
fn summarize(target: &HostPort, failures: Vec<(SocketAddr, StepError)>) -> StepError {
    let chosen = failures
        .iter()
        .position(|(_, e)| e.kind == ErrorKind::Timeout)
        .unwrap_or(0);
    let message = if let [(addr, e)] = failures.as_slice() {
        if addr.to_string() == target.to_string() {
            format!("cannot connect to {target}: {}", e.message)
        } else {
            format!("cannot connect to {target} ({addr}): {}", e.message)
        }
    } else {
        let parts: Vec<String> = failures
            .iter()
            .map(|(a, e)| format!("{a}: {}", e.message))
            .collect();
        format!(
            "cannot connect to {target} ({} addresses): {}",
            failures.len(),
            parts.join("; ")
        )
    };
    let (_, first) = &failures[chosen];
    StepError {
        kind: first.kind,
        message,
        hint: first.hint.clone(),
        silence: first.silence,
    }
}
