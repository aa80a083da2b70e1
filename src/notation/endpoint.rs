//! Endpoints: `host:port` and `[v6]:port`, strictly for what a component binds or dials
//! ([`HostPort`]), and leniently for showing the host and port of any address a config holds
//! ([`host_of`], [`port_of`], [`endpoint_of`], behind the template filters): a URL with or
//! without userinfo, a PostgreSQL URI with several hosts, a libpq keyword string.

use std::fmt;

use super::conninfo;
use super::uri::Url;

/// Splits `host[:port]` or `[v6][:port]`; the host comes without brackets. Without brackets
/// the text splits at its first `:` (as libpq splits a URI host), so a caller that must refuse
/// a bare IPv6 address checks for a second colon itself.
pub(crate) fn split_host_port(text: &str) -> Result<(&str, Option<&str>), String> {
    let Some(bracketed) = text.strip_prefix('[') else {
        return Ok(match text.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        });
    };
    let (host, after) = bracketed
        .split_once(']')
        .ok_or_else(|| format!("unclosed `[` in `{text}`"))?;
    match after.strip_prefix(':') {
        Some(port) => Ok((host, Some(port))),
        None if after.is_empty() => Ok((host, None)),
        None => Err(format!("unexpected `{after}` after `]` in `{text}`")),
    }
}

/// `host:port`, with an IPv6 host in brackets.
pub(crate) fn join_host_port(host: &str, port: impl fmt::Display) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// A `host:port` pair taken from a config address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostPort {
    /// Host name or IP literal, without IPv6 brackets.
    pub host: String,
    pub port: u16,
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&join_host_port(&self.host, self.port))
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
        if let Some(url) = Url::split(text) {
            if !allow_url {
                return Err(format!(
                    "`{text}` has a scheme; a listen address is written `host:port`"
                ));
            }
            default_port = match url.scheme.to_ascii_lowercase().as_str() {
                "http" => Some(80),
                "https" => Some(443),
                scheme => {
                    return Err(format!(
                        "unsupported scheme `{scheme}://` in `{text}`; write `host:port`, `http://host:port` or `https://host:port`"
                    ))
                }
            };
            authority = url.authority;
        }
        if !authority.starts_with('[') && authority.matches(':').count() > 1 {
            return Err(format!(
                "`{text}` looks like a bare IPv6 address; write it as `[addr]:port`"
            ));
        }
        let (host, port) = split_host_port(authority)?;
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

/// The host of any address form (see [`endpoint_of`]), without userinfo or IPv6 brackets; the
/// text as written when it has no recognisable host.
pub(crate) fn host_of(addr: &str) -> String {
    match keyword_endpoint(addr) {
        Some((Some(host), _)) => host,
        Some((None, _)) => addr.trim().to_string(),
        None => shown_host_port(authority_of(addr).1).0.to_string(),
    }
}

/// The port written in any address form (see [`endpoint_of`]); none is defaulted.
pub(crate) fn port_of(addr: &str) -> Option<u16> {
    match keyword_endpoint(addr) {
        Some((_, port)) => port,
        None => shown_host_port(authority_of(addr).1).1,
    }
}

/// `host:port` of an address written as `host:port`, a URL (`https://h`, `postgres://u:p@h/db`,
/// the first host of `postgresql://h1:1,h2:2/db`) or a libpq keyword string (`host=h port=5433
/// …`); a missing port defaults by scheme (5432 for keyword strings, 80 without a scheme).
pub(crate) fn endpoint_of(addr: &str) -> Option<String> {
    if let Some((host, port)) = keyword_endpoint(addr) {
        return host.map(|host| join_host_port(&host, port.unwrap_or(5432)));
    }
    let (scheme, authority) = authority_of(addr);
    if authority.is_empty() {
        return None;
    }
    let (host, port) = shown_host_port(authority);
    let port = port.unwrap_or(match scheme.map(str::to_ascii_lowercase).as_deref() {
        Some("https") => 443,
        Some("postgres" | "postgresql") => 5432,
        Some("mysql") => 3306,
        _ => 80,
    });
    Some(join_host_port(host, port))
}

/// Host and port of a libpq keyword string (its first `host`, else `hostaddr`, and first
/// `port`, either possibly absent); `None` when `addr` is not one.
fn keyword_endpoint(addr: &str) -> Option<(Option<String>, Option<u16>)> {
    let addr = addr.trim();
    if !addr.contains('=') || Url::split(addr).is_some() {
        return None;
    }
    let pairs = conninfo::keyword_pairs_lenient(addr);
    let field = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.split(',').next().unwrap_or_default().to_string())
    };
    let host = field("host").or_else(|| field("hostaddr"));
    Some((host, field("port").and_then(|p| p.parse().ok())))
}

/// `(scheme, first host[:port])` of a URL or bare address: userinfo, path, query and any
/// further hosts dropped.
fn authority_of(addr: &str) -> (Option<&str>, &str) {
    let addr = addr.trim();
    let (scheme, authority) = match Url::split(addr) {
        Some(url) => (Some(url.scheme), url.authority),
        None => {
            let end = addr.find(['/', '?']).unwrap_or(addr.len());
            let authority = &addr[..end];
            (
                None,
                authority.rsplit_once('@').map_or(authority, |(_, a)| a),
            )
        }
    };
    (scheme, authority.split(',').next().unwrap_or_default())
}

/// Host and port for showing: a text that does not split into a host and a valid port
/// (`h:x`, a bare IPv6 address such as `::1`, which cannot carry a port) is all host.
fn shown_host_port(authority: &str) -> (&str, Option<u16>) {
    let bare_v6 = !authority.starts_with('[') && authority.matches(':').count() > 1;
    match split_host_port(authority) {
        Ok((host, port)) if !bare_v6 && !host.is_empty() => match port {
            None => (host, None),
            Some(port) => match port.parse() {
                Ok(port) => (host, Some(port)),
                Err(_) => (authority, None),
            },
        },
        _ => (authority, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(HostPort::parse("[::1]:2379", true), Ok(hp("::1", 2379)));
        assert_eq!(
            HostPort::parse("http://[::1]:2379", true),
            Ok(hp("::1", 2379))
        );
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
        assert_eq!(
            HostPort::parse("http://u:p@ss@etcd:2379#x", true),
            Ok(hp("etcd", 2379))
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
            "http://::1:2379",
            "http://",
        ] {
            assert!(HostPort::parse(bad, true).is_err(), "{bad:?} accepted");
        }
        let err = HostPort::parse("http://0.0.0.0:4000", false).unwrap_err();
        assert!(err.contains("host:port"), "{err}");
        let err = HostPort::parse("::1:2379", false).unwrap_err();
        assert!(err.contains("[addr]:port"), "{err}");
    }

    #[test]
    fn split_host_port_forms() {
        assert_eq!(split_host_port("h:1"), Ok(("h", Some("1"))));
        assert_eq!(split_host_port("h"), Ok(("h", None)));
        assert_eq!(split_host_port("[::1]"), Ok(("::1", None)));
        assert_eq!(split_host_port("[::1]:5"), Ok(("::1", Some("5"))));
        assert_eq!(split_host_port("h:1:2"), Ok(("h", Some("1:2"))));
        assert!(split_host_port("[::1").is_err());
        assert!(split_host_port("[::1]x").is_err());
        assert_eq!(join_host_port("::1", 5), "[::1]:5");
        assert_eq!(join_host_port("h", 5), "h:5");
    }

    #[test]
    fn host_and_port_of_every_address_form() {
        for (addr, host, port) in [
            ("10.0.0.1:3002", "10.0.0.1", Some(3002)),
            ("etcd", "etcd", None),
            ("[::1]:2379", "::1", Some(2379)),
            ("http://[::1]:2379", "::1", Some(2379)),
            ("http://etcd:2379/v3", "etcd", Some(2379)),
            // was `u:p@h`: the userinfo is not part of the host
            ("postgres://u:p@h:5432/db", "h", Some(5432)),
            ("mysql://root:p@ss@db/meta", "db", None),
            ("postgresql://h1:1,h2:2/db", "h1", Some(1)),
            ("host=db port=6432 user=u", "db", Some(6432)),
            ("host = 'db' password='a b'", "db", None),
            // was `[::1]` and `:` (a bare IPv6 address cannot carry a port)
            ("[::1]", "::1", None),
            ("::1", "::1", None),
            ("::1:2379", "::1:2379", None),
            ("etcd:port", "etcd:port", None),
            ("user=u", "user=u", None),
        ] {
            assert_eq!(host_of(addr), host, "{addr}");
            assert_eq!(port_of(addr), port, "{addr}");
        }
    }

    #[test]
    fn endpoint_from_every_address_form() {
        for (addr, endpoint) in [
            ("10.0.0.1:2379", Some("10.0.0.1:2379")),
            ("https://s3.amazonaws.com", Some("s3.amazonaws.com:443")),
            ("http://127.0.0.1:9000/bucket", Some("127.0.0.1:9000")),
            ("postgresql://u:p@db:5433/meta?x=1", Some("db:5433")),
            ("mysql://u:p@db/meta", Some("db:3306")),
            ("MySQL://u:p@db/meta", Some("db:3306")),
            ("host=db port=6432 user=u password=p", Some("db:6432")),
            ("host=db user=u", Some("db:5432")),
            ("hostaddr=10.0.0.5 user=u", Some("10.0.0.5:5432")),
            ("host=a,b port=1,2", Some("a:1")),
            ("postgresql://h1:1,h2:2/db", Some("h1:1")),
            ("https://[::1]", Some("[::1]:443")),
            ("http://[::1]:2379", Some("[::1]:2379")),
            ("postgresql:///meta?host=/tmp", None),
            ("user=u", None),
        ] {
            assert_eq!(endpoint_of(addr).as_deref(), endpoint, "{addr}");
        }
    }
}
