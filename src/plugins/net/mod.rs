//! `net.*`: TCP reachability of a dependency and bindability of a component's own listen
//! address.

mod bind_available;
mod tcp_connect;

use std::fmt;

pub use bind_available::{BindAvailable, BindAvailableOutput, BindAvailableParams};
pub use tcp_connect::{TcpConnect, TcpConnectOutput, TcpConnectParams};

pub(super) static STEPS: &[&dyn super::DynStep] = &[&TcpConnect, &BindAvailable];

/// A `host:port` pair taken from a config address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostPort {
    /// Host name or IP literal, without IPv6 brackets.
    pub host: String,
    pub port: u16,
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl HostPort {
    /// Parses `host:port` or `[v6]:port`. With `allow_url`, an `http://` or `https://` prefix,
    /// user info and any path are stripped first (etcd endpoints may be written as URLs), and a
    /// missing port defaults to 80 or 443.
    pub(crate) fn parse(input: &str, allow_url: bool) -> Result<HostPort, String> {
        let text = input.trim();
        if text.is_empty() {
            return Err("the address is empty".into());
        }
        let mut default_port = None;
        let mut authority = text;
        if let Some((scheme, rest)) = text.split_once("://") {
            if !allow_url {
                return Err(format!(
                    "`{text}` has a scheme; a listen address is written `host:port`"
                ));
            }
            default_port = match scheme.to_ascii_lowercase().as_str() {
                "http" => Some(80),
                "https" => Some(443),
                _ => {
                    return Err(format!(
                        "unsupported scheme `{scheme}://` in `{text}`; write `host:port`, `http://host:port` or `https://host:port`"
                    ))
                }
            };
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            authority = &rest[..end];
            if let Some((_, host)) = authority.rsplit_once('@') {
                authority = host;
            }
        }
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or_else(|| format!("unclosed `[` in `{text}`"))?;
            match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None if after.is_empty() => (host, None),
                None => return Err(format!("unexpected `{after}` after `]` in `{text}`")),
            }
        } else {
            match authority.matches(':').count() {
                0 => (authority, None),
                1 => {
                    let (host, port) = authority.split_once(':').expect("one colon");
                    (host, Some(port))
                }
                _ => {
                    return Err(format!(
                        "`{text}` looks like a bare IPv6 address; write it as `[addr]:port`"
                    ))
                }
            }
        };
        if host.is_empty() {
            return Err(format!("`{text}` has no host"));
        }
        let port = match port {
            Some(port) => port
                .parse::<u16>()
                .map_err(|_| format!("`{port}` in `{text}` is not a port number (0-65535)"))?,
            None => {
                default_port.ok_or_else(|| format!("`{text}` has no port; write `host:port`"))?
            }
        };
        Ok(HostPort {
            host: host.to_string(),
            port,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::HostPort;

    fn hp(host: &str, port: u16) -> HostPort {
        HostPort {
            host: host.into(),
            port,
        }
    }

    #[test]
    fn parses_plain_and_ipv6_addresses() {
        assert_eq!(HostPort::parse("etcd:2379", false), Ok(hp("etcd", 2379)));
        assert_eq!(
            HostPort::parse(" 10.0.0.1:3002 ", false),
            Ok(hp("10.0.0.1", 3002))
        );
        assert_eq!(HostPort::parse("[::1]:4001", false), Ok(hp("::1", 4001)));
        assert_eq!(hp("::1", 4001).to_string(), "[::1]:4001");
        assert_eq!(hp("etcd", 2379).to_string(), "etcd:2379");
    }

    #[test]
    fn strips_url_scheme_userinfo_and_path_when_allowed() {
        assert_eq!(
            HostPort::parse("http://etcd-0.etcd:2379/v3", true),
            Ok(hp("etcd-0.etcd", 2379))
        );
        assert_eq!(
            HostPort::parse("HTTPS://u:p@[fd00::1]:2379?x=1", true),
            Ok(hp("fd00::1", 2379))
        );
        assert_eq!(HostPort::parse("https://etcd", true), Ok(hp("etcd", 443)));
        assert_eq!(HostPort::parse("http://etcd/", true), Ok(hp("etcd", 80)));
    }

    #[test]
    fn rejects_unusable_addresses() {
        for bad in [
            "",
            "etcd",
            ":2379",
            "etcd:port",
            "etcd:70000",
            "::1:2379",
            "[::1",
            "[::1]2379",
            "grpc://etcd:2379",
        ] {
            assert!(HostPort::parse(bad, true).is_err(), "{bad:?} accepted");
        }
        let err = HostPort::parse("http://0.0.0.0:4000", false).unwrap_err();
        assert!(err.contains("host:port"), "{err}");
    }
}
