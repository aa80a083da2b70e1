//! Every host a value names, wherever it stands in it: a URL's authority
//! (`postgres://u:p@host:5432/db`, `http://host:9000`), a `host:port` (`meta:3002`,
//! `[fd00::1]:9092`), or a comma-separated list of them. Each comes with the byte range of its
//! `host[:port]`, so a [`Redirect`] (`--resolve HOST:PORT:ADDR`) can rewrite it there.
//!
//! Lenient on purpose: it scans any config string, so a word that is neither a URL nor a
//! `host:port` with a numeric port names no host (`info,mito2=debug`, `30s`, `/data`).

use std::ops::Range;

use super::endpoint::join_host_port;

/// One host found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NamedHost {
    /// Bytes of `host[:port]` in the text (the host without brackets is `host`).
    pub range: Range<usize>,
    /// The host as written, without IPv6 brackets.
    pub host: String,
    /// The port written, else the one a URL's scheme implies (80 for http, 443 for https).
    pub port: Option<u16>,
    /// Whether `port` is written in the text (false: implied by the scheme, or none).
    pub port_written: bool,
}

impl NamedHost {
    /// Whether the host is a DNS name (not an IP literal), the only kind that resolves.
    pub fn is_name(&self) -> bool {
        self.host.parse::<std::net::IpAddr>().is_err()
    }
}

/// `--resolve HOST:PORT:ADDR[:PORT2]`: connect to `ADDR:PORT2` (default `PORT`) wherever a
/// parameter names `HOST:PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    pub host: String,
    pub port: u16,
    pub addr: String,
    pub to_port: u16,
}

impl Redirect {
    /// Parses curl's `HOST:PORT:ADDR`, or `HOST:PORT:ADDR:PORT2` for a port-forward whose local
    /// port differs; an IPv6 ADDR is written in brackets (`[::1]`, `[::1]:13002`).
    pub fn parse(flag: &str) -> Result<Self, String> {
        let shape = "write --resolve HOST:PORT:ADDR or HOST:PORT:ADDR:LOCAL_PORT, e.g. \
                     --resolve mycluster-meta.default:3002:127.0.0.1:13002";
        let mut parts = flag.splitn(3, ':');
        let (Some(host), Some(port), Some(rest)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("`{flag}` is not HOST:PORT:ADDR; {shape}"));
        };
        let port = parse_port(port, flag, shape)?;
        let (addr, to_port) = if let Some(bracketed) = rest.strip_prefix('[') {
            let (addr, after) = bracketed
                .split_once(']')
                .ok_or_else(|| format!("`{flag}`: unclosed `[` in ADDR; {shape}"))?;
            match after.strip_prefix(':') {
                Some(to) => (addr, parse_port(to, flag, shape)?),
                None if after.is_empty() => (addr, port),
                None => return Err(format!("`{flag}`: `{after}` after `]`; {shape}")),
            }
        } else if rest.parse::<std::net::Ipv6Addr>().is_ok() {
            (rest, port)
        } else {
            match rest.split_once(':') {
                Some((addr, to)) => (addr, parse_port(to, flag, shape)?),
                None => (rest, port),
            }
        };
        if host.is_empty() || addr.is_empty() {
            return Err(format!("`{flag}` has an empty HOST or ADDR; {shape}"));
        }
        Ok(Self {
            host: host.to_string(),
            port,
            addr: addr.to_string(),
            to_port,
        })
    }

    /// `HOST:PORT`, what it replaces.
    pub fn from(&self) -> String {
        join_host_port(&self.host, self.port)
    }

    /// `ADDR:PORT2`, what it connects to instead.
    pub fn to(&self) -> String {
        join_host_port(&self.addr, self.to_port)
    }
}

fn parse_port(text: &str, flag: &str, shape: &str) -> Result<u16, String> {
    text.parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("`{flag}`: `{text}` is not a port; {shape}"))
}

impl Redirect {
    /// `text` with every `HOST:PORT` of `redirects` replaced by its `ADDR:PORT2` (a URL without
    /// a port gets one), and the redirects used; `None` when none applies.
    pub fn apply_all<'a>(
        redirects: &'a [Redirect],
        text: &str,
    ) -> Option<(String, Vec<&'a Redirect>)> {
        if redirects.is_empty() {
            return None;
        }
        let mut out = String::with_capacity(text.len());
        let mut used = Vec::new();
        let mut copied = 0;
        for named in named_hosts(text) {
            let Some(redirect) = redirects
                .iter()
                .find(|r| r.host.eq_ignore_ascii_case(&named.host) && Some(r.port) == named.port)
            else {
                continue;
            };
            out.push_str(&text[copied..named.range.start]);
            out.push_str(&redirect.to());
            copied = named.range.end;
            used.push(redirect);
        }
        (copied > 0).then(|| {
            out.push_str(&text[copied..]);
            (out, used)
        })
    }

    /// The detail line that says a connection went elsewhere.
    pub fn note(&self) -> String {
        format!(
            "--resolve: connected to {} for {} (TLS then verifies the name {})",
            self.to(),
            self.from(),
            self.addr
        )
    }
}

/// The hosts `text` names, in order.
pub(crate) fn named_hosts(text: &str) -> Vec<NamedHost> {
    let mut found = Vec::new();
    let mut start = 0;
    for piece in text.split([',', ' ', '\t', '\n', ';']) {
        let offset = start;
        start += piece.len() + 1;
        if let Some(host) = in_piece(piece) {
            found.push(NamedHost {
                range: host.range.start + offset..host.range.end + offset,
                ..host
            });
        }
    }
    found
}

/// The host of one list element: a URL, or `host:port` possibly followed by a path.
fn in_piece(piece: &str) -> Option<NamedHost> {
    let (authority_at, default_port) = match piece.find("://") {
        Some(at) => {
            let scheme = piece[..at].to_ascii_lowercase();
            let default = match scheme.as_str() {
                "http" | "ws" => Some(80),
                "https" | "wss" => Some(443),
                _ => None,
            };
            (at + 3, Some(default))
        }
        None => (0, None),
    };
    let rest = &piece[authority_at..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    // userinfo ends at the last `@`, as URL parsers take it
    let host_at = authority.rfind('@').map_or(0, |at| at + 1);
    let hostport = &authority[host_at..];
    let base = authority_at + host_at;
    let (host, port_text) = split(hostport)?;
    if !plausible_host(host) {
        return None;
    }
    let port = match port_text {
        Some(text) => Some(text.parse::<u16>().ok()?),
        // outside a URL, a bare word is not taken for a host
        None if default_port.is_none() => return None,
        None => default_port.flatten(),
    };
    Some(NamedHost {
        range: base..base + hostport.len(),
        host: host.to_string(),
        port,
        port_written: port_text.is_some(),
    })
}

/// `host[:port]` or `[v6][:port]`; a bare IPv6 address (several colons) is not split.
fn split(text: &str) -> Option<(&str, Option<&str>)> {
    if let Some(bracketed) = text.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(port) => Some((host, Some(port))),
            None if after.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match text.split_once(':') {
        Some((host, port)) if !port.contains(':') => Some((host, Some(port))),
        Some(_) => None,
        None => Some((text, None)),
    }
}

/// A DNS name or an IP literal: letters, digits, `-`, `_`, `.` (`:` inside brackets).
fn plausible_host(host: &str) -> bool {
    if host.is_empty() {
        return false;
    }
    if host.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    host.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && host.chars().any(|c| c.is_ascii_alphabetic())
        && !host.starts_with(['.', '-'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(text: &str) -> Vec<(String, Option<u16>, &str)> {
        named_hosts(text)
            .into_iter()
            .map(|h| (h.host, h.port, &text[h.range]))
            .collect()
    }

    #[test]
    fn urls_host_ports_and_lists() {
        assert_eq!(
            hosts("postgres://u:p@ss@db.ns.svc:5432/meta?sslmode=require"),
            [("db.ns.svc".into(), Some(5432), "db.ns.svc:5432")]
        );
        assert_eq!(
            hosts("http://minio.storage:9000"),
            [("minio.storage".into(), Some(9000), "minio.storage:9000")]
        );
        assert_eq!(
            hosts("https://s3.example.com/bucket"),
            [("s3.example.com".into(), Some(443), "s3.example.com")]
        );
        assert_eq!(
            hosts("mycluster-meta.default:3002"),
            [(
                "mycluster-meta.default".into(),
                Some(3002),
                "mycluster-meta.default:3002"
            )]
        );
        assert_eq!(
            hosts("k-0.k:9092,k-1.k:9092"),
            [
                ("k-0.k".into(), Some(9092), "k-0.k:9092"),
                ("k-1.k".into(), Some(9092), "k-1.k:9092")
            ]
        );
        assert_eq!(
            hosts("[fd00::1]:2379"),
            [("fd00::1".into(), Some(2379), "[fd00::1]:2379")]
        );
        assert_eq!(
            hosts("mysql://root@10.0.0.5:3306/db"),
            [("10.0.0.5".into(), Some(3306), "10.0.0.5:3306")]
        );
    }

    #[test]
    fn words_that_are_no_hosts() {
        for text in [
            "info,mito2=debug",
            "30s",
            "/data/greptimedb/logs",
            "S3",
            "<POD_IP>:4001",
            "a:b",
            "::1",
            "",
            "etcd_store",
        ] {
            assert!(hosts(text).is_empty(), "{text}: {:?}", hosts(text));
        }
    }

    #[test]
    fn names_and_literals() {
        let found = named_hosts("10.0.0.1:1,meta:3002");
        assert!(!found[0].is_name());
        assert!(found[1].is_name());
        assert!(found[1].port_written);
        assert!(!named_hosts("http://h")[0].port_written);
    }
}
