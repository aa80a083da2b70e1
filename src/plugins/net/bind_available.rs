//! `net.bind_available`: the component's own listen address can be bound on this host.

use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::HostPort;
use crate::plugins::{Step, StepCx, StepError};

/// Binds (and listens on) a TCP address as the component would, then releases it at once.
/// No traffic is sent.
pub struct BindAvailable;

/// Parameters of `net.bind_available`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BindAvailableParams {
    /// Listen address of the component, `host:port` or `[ipv6]:port`, e.g. the value of
    /// `grpc.bind_addr` or `http.addr`. A host name is resolved and its addresses are tried in
    /// order, as a server bind does.
    pub address: String,
}

/// Output of `net.bind_available`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct BindAvailableOutput {
    /// The address as given.
    pub address: String,
    /// The IP address that was bound.
    pub ip: String,
    /// The port that was bound.
    pub port: u16,
    /// True: the address could be bound (otherwise the step fails with the reason).
    pub bindable: bool,
}

impl Step for BindAvailable {
    const NAME: &'static str = "net.bind_available";
    const SUMMARY: &'static str =
        "Check that a component's own listen address (host:port) can be bound on this host";
    const EXAMPLE: &'static str = "address: 0.0.0.0:4001\n";
    type Params = BindAvailableParams;
    type Output = BindAvailableOutput;

    async fn run(&self, params: Self::Params, cx: &StepCx) -> Result<Self::Output, StepError> {
        let target = HostPort::parse(&params.address, false).map_err(|e| {
            StepError::misconfigured(format!("invalid listen address `{}`: {e}", params.address))
                .with_hint("write it as `host:port`, e.g. `0.0.0.0:4001`")
        })?;
        let candidates: Vec<SocketAddr> = match target.host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, target.port)],
            Err(_) => {
                let lookup = tokio::net::lookup_host((target.host.as_str(), target.port));
                match tokio::time::timeout(cx.remaining(), lookup).await {
                    Ok(Ok(addrs)) => addrs.collect(),
                    Ok(Err(e)) => return Err(StepError::misconfigured(format!(
                        "cannot resolve listen host `{}`: {e}",
                        target.host
                    ))
                    .with_hint(
                        "use an IP address of this host, or 0.0.0.0 to listen on all interfaces",
                    )),
                    Err(_) => {
                        return Err(StepError::timeout(format!(
                            "resolving `{}` did not finish before the deadline",
                            target.host
                        ))
                        .with_hint(
                            "the DNS server is slow or unreachable; a listen address is best \
                             written as an IP address",
                        ))
                    }
                }
            }
        };
        if candidates.is_empty() {
            return Err(StepError::misconfigured(format!(
                "listen host `{}` resolves to no address",
                target.host
            ))
            .with_hint("use an IP address of this host, or 0.0.0.0"));
        }

        let mut first_error = None;
        for addr in &candidates {
            match TcpListener::bind(addr) {
                Ok(listener) => {
                    drop(listener);
                    return Ok(BindAvailableOutput {
                        address: params.address,
                        ip: addr.ip().to_string(),
                        port: addr.port(),
                        bindable: true,
                    });
                }
                Err(e) => {
                    first_error.get_or_insert((*addr, e));
                }
            }
        }
        let (addr, e) = first_error.expect("at least one candidate was tried");
        Err(bind_error(&addr, &e))
    }
}

/// Turns a failed bind into an error with a hint.
fn bind_error(addr: &SocketAddr, e: &io::Error) -> StepError {
    let (ip, port) = (addr.ip(), addr.port());
    match e.kind() {
        io::ErrorKind::AddrNotAvailable => {
            StepError::misconfigured(format!("`{ip}` is not an address of this host ({e})"))
                .with_hint(format!(
                    "listen on 0.0.0.0 (all interfaces) or on one of this host's interface \
                     addresses (`ip -brief addr`); port {port} can stay, and the address other \
                     nodes dial belongs in `server_addr`"
                ))
        }
        io::ErrorKind::AddrInUse => StepError::rejected(format!(
            "port {port} is already in use on {ip}"
        ))
        .with_hint(format!(
            "another process listens there (`ss -ltnp 'sport = :{port}'` shows which); \
                     stop it, or pick another port — two components on one host need different \
                     ports"
        )),
        io::ErrorKind::PermissionDenied if port < 1024 => StepError::rejected(format!(
            "binding port {port} on {ip} is not permitted ({e})"
        ))
        .with_hint(
            "ports below 1024 need root or CAP_NET_BIND_SERVICE (e.g. systemd \
             `AmbientCapabilities=CAP_NET_BIND_SERVICE`); or use a port of 1024 or above",
        ),
        io::ErrorKind::PermissionDenied => {
            StepError::rejected(format!("binding {addr} is not permitted ({e})"))
                .with_hint("a security policy (SELinux, AppArmor, seccomp) forbids this bind")
        }
        _ => StepError::could_not_run(format!("cannot bind {addr}: {e}")),
    }
}
