//! PostgreSQL connection strings (`store_addrs[0]` of a PostgreSQL metadata store), parsed
//! exactly as metasrv's driver (tokio-postgres, through deadpool-postgres) parses them: a
//! `postgres://` / `postgresql://` URI or a libpq keyword string. Both forms accept the same
//! keys; an unknown key or a value tokio-postgres does not know (`sslmode=verify-full`,
//! `sslrootcert=…`) makes metasrv fail at start-up, so it is an error here too.
//!
//! Why not tokio-postgres' own `Config::from_str`: it would link a second PostgreSQL client
//! (postgres-protocol, postgres-types, phf, …) next to sqlx just to parse, its `Config` does not
//! say which form was written nor where in the text the password stood (the masker needs that,
//! through [`keyword_pairs_lenient`] and [`super::uri`]), and it cannot read a malformed string
//! leniently for masking. Instead the tests run every case through both parsers
//! (tokio-postgres is a dev-dependency, at the version GreptimeDB 1.3 locks). One difference
//! is deliberate: a password that is not UTF-8 once percent-decoded is refused, since sqlx,
//! which connects here, takes the password as a string.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::endpoint::{join_host_port, split_host_port};
use super::percent_decode;
use super::uri::Url;

/// tokio-postgres `sslmode`: whether TLS is negotiated. Certificate checks are decided by
/// `backend_tls.mode`, never by the connection string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SslMode {
    Disable,
    Prefer,
    Require,
}

impl SslMode {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
        }
    }
}

/// tokio-postgres `target_session_attrs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TargetSessionAttrs {
    Any,
    ReadWrite,
    ReadOnly,
}

/// One `host` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PgHost {
    Tcp(String),
    /// A directory holding the server's Unix socket (a host starting with `/`).
    Unix(PathBuf),
}

/// Which form the connection string was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    Uri,
    Keywords,
}

/// A parsed PostgreSQL connection string. Fields left unset keep tokio-postgres' defaults.
#[derive(Debug, Clone)]
pub(crate) struct PgConnInfo {
    pub form: Form,
    pub user: Option<String>,
    pub password: Option<String>,
    pub dbname: Option<String>,
    pub options: Option<String>,
    pub application_name: Option<String>,
    pub sslmode: SslMode,
    /// `sslnegotiation=direct` (PostgreSQL 17 direct TLS).
    pub ssl_direct: bool,
    pub hosts: Vec<PgHost>,
    pub hostaddrs: Vec<IpAddr>,
    pub ports: Vec<u16>,
    pub connect_timeout: Option<Duration>,
    pub target_session_attrs: TargetSessionAttrs,
    /// `load_balance_hosts=random`: hosts are tried in random order.
    pub random_hosts: bool,
}

impl PgConnInfo {
    fn new(form: Form) -> Self {
        Self {
            form,
            user: None,
            password: None,
            dbname: None,
            options: None,
            application_name: None,
            sslmode: SslMode::Prefer,
            ssl_direct: false,
            hosts: Vec::new(),
            hostaddrs: Vec::new(),
            ports: Vec::new(),
            connect_timeout: None,
            target_session_attrs: TargetSessionAttrs::Any,
            random_hosts: false,
        }
    }

    /// Parses a URI (`postgres://` or `postgresql://`) or a keyword string, as tokio-postgres'
    /// `Config::from_str` does. The error text follows tokio-postgres' where it has one.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return parse_uri(text);
        }
        parse_keywords(text)
    }

    /// The hosts to try, in order, as tokio-postgres tries them: `(host for TLS and messages,
    /// address to connect to, port)`. With `hostaddr`, the address is connected to and the
    /// host name is only used for TLS.
    pub(crate) fn targets(&self) -> Result<Vec<PgTarget>, String> {
        if self.hosts.is_empty() && self.hostaddrs.is_empty() {
            return Err("no host: set `host=` (keyword form) or the host part of the URI".into());
        }
        if !self.hosts.is_empty()
            && !self.hostaddrs.is_empty()
            && self.hosts.len() != self.hostaddrs.len()
        {
            return Err(format!(
                "number of hosts ({}) is different from number of hostaddrs ({})",
                self.hosts.len(),
                self.hostaddrs.len()
            ));
        }
        let count = self.hosts.len().max(self.hostaddrs.len());
        if self.ports.len() > 1 && self.ports.len() != count {
            return Err("invalid number of ports".into());
        }
        Ok((0..count)
            .map(|i| {
                let port = self
                    .ports
                    .get(i)
                    .or_else(|| self.ports.first())
                    .copied()
                    .unwrap_or(5432);
                let addr = self.hostaddrs.get(i).copied();
                let host = match self.hosts.get(i) {
                    Some(host) => host.clone(),
                    None => PgHost::Tcp(addr.expect("hostaddr").to_string()),
                };
                PgTarget { host, addr, port }
            })
            .collect())
    }

    /// `options` as `-c key=value` pairs (`-c k=v`, `-ck=v`, `--k=v`), the forms libpq
    /// accepts; sqlx can only pass options as pairs.
    pub(crate) fn option_pairs(&self) -> Result<Vec<(String, String)>, String> {
        let Some(options) = &self.options else {
            return Ok(Vec::new());
        };
        let mut pairs = Vec::new();
        let mut words = split_option_words(options).into_iter();
        while let Some(word) = words.next() {
            let setting = if word == "-c" {
                words
                    .next()
                    .ok_or_else(|| format!("`-c` without a setting in options `{options}`"))?
            } else if let Some(rest) = word.strip_prefix("--") {
                rest.to_string()
            } else if let Some(rest) = word.strip_prefix("-c") {
                rest.to_string()
            } else {
                return Err(format!(
                    "cannot pass `{word}` from options `{options}`; only `-c name=value` settings \
                     are supported"
                ));
            };
            let (key, value) = setting
                .split_once('=')
                .ok_or_else(|| format!("`{setting}` in options is not `name=value`"))?;
            pairs.push((key.replace('-', "_"), value.to_string()));
        }
        Ok(pairs)
    }
}

/// One host to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PgTarget {
    pub host: PgHost,
    pub addr: Option<IpAddr>,
    pub port: u16,
}

impl PgTarget {
    /// `host:port`, `[v6]:port` or the socket directory, for messages.
    pub(crate) fn display(&self) -> String {
        match &self.host {
            PgHost::Unix(dir) => format!("{} (port {})", dir.display(), self.port),
            PgHost::Tcp(host) => match self.addr {
                Some(addr) if addr.to_string() != *host => {
                    format!("{host} ({addr}):{}", self.port)
                }
                _ => join_host_port(host, self.port),
            },
        }
    }
}

/// Splits libpq `options` at unescaped whitespace; `\` escapes the next character.
fn split_option_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => word.extend(chars.next()),
            c if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Applies one `key=value` as tokio-postgres' `Config::param` does.
fn param(info: &mut PgConnInfo, key: &str, value: &str) -> Result<(), String> {
    let invalid = |key: &str| format!("invalid value for option `{key}`");
    match key {
        "user" => info.user = Some(value.to_string()),
        "password" => info.password = Some(value.to_string()),
        "dbname" => info.dbname = Some(value.to_string()),
        "options" => info.options = Some(value.to_string()),
        "application_name" => info.application_name = Some(value.to_string()),
        "sslmode" => {
            info.sslmode = match value {
                "disable" => SslMode::Disable,
                "prefer" => SslMode::Prefer,
                "require" => SslMode::Require,
                _ => return Err(invalid("sslmode")),
            }
        }
        "sslnegotiation" => {
            info.ssl_direct = match value {
                "postgres" => false,
                "direct" => true,
                _ => return Err(invalid("sslnegotiation")),
            }
        }
        "host" => {
            for host in value.split(',') {
                push_host(info, host);
            }
        }
        "hostaddr" => {
            for addr in value.split(',') {
                info.hostaddrs
                    .push(addr.parse().map_err(|_| invalid("hostaddr"))?);
            }
        }
        "port" => {
            for port in value.split(',') {
                info.ports.push(if port.is_empty() {
                    5432
                } else {
                    port.parse().map_err(|_| invalid("port"))?
                });
            }
        }
        "connect_timeout" => {
            let secs: i64 = value.parse().map_err(|_| invalid("connect_timeout"))?;
            if secs > 0 {
                info.connect_timeout = Some(Duration::from_secs(secs as u64));
            }
        }
        "tcp_user_timeout" | "keepalives_idle" | "keepalives_interval" => {
            value.parse::<i64>().map_err(|_| invalid(key))?;
        }
        "keepalives" => {
            value.parse::<u64>().map_err(|_| invalid(key))?;
        }
        "keepalives_retries" => {
            value.parse::<u32>().map_err(|_| invalid(key))?;
        }
        "target_session_attrs" => {
            info.target_session_attrs = match value {
                "any" => TargetSessionAttrs::Any,
                "read-write" => TargetSessionAttrs::ReadWrite,
                "read-only" => TargetSessionAttrs::ReadOnly,
                _ => return Err(invalid("target_session_attrs")),
            }
        }
        "channel_binding" => {
            if !matches!(value, "disable" | "prefer" | "require") {
                return Err(invalid("channel_binding"));
            }
        }
        "load_balance_hosts" => {
            info.random_hosts = match value {
                "disable" => false,
                "random" => true,
                _ => return Err(invalid("load_balance_hosts")),
            }
        }
        _ => return Err(format!("unknown option `{key}`")),
    }
    Ok(())
}

fn push_host(info: &mut PgConnInfo, host: &str) {
    if host.starts_with('/') {
        info.hosts.push(PgHost::Unix(PathBuf::from(host)));
    } else {
        info.hosts.push(PgHost::Tcp(host.to_string()));
    }
}

/// The keyword form: `key = value` pairs separated by whitespace; values may be single-quoted,
/// and `\` escapes the next character, quoted or not. Each pair is applied before the next is
/// read, so the first error is the one tokio-postgres reports.
fn parse_keywords(text: &str) -> Result<PgConnInfo, String> {
    let mut info = PgConnInfo::new(Form::Keywords);
    for pair in KeywordPairs::new(text, true) {
        let (key, value) = pair?;
        param(&mut info, &key, &value)?;
    }
    Ok(info)
}

/// The `key=value` pairs of a keyword string read leniently, for finding passwords and hosts
/// in text that may not parse: a key without `=` is skipped, an unterminated quoted value runs
/// to the end, an empty value is kept.
pub(crate) fn keyword_pairs_lenient(text: &str) -> Vec<(String, String)> {
    KeywordPairs::new(text, false).flatten().collect()
}

/// The tokenizer of the keyword form; strict, it ends at the first error tokio-postgres reports.
struct KeywordPairs<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    strict: bool,
    failed: bool,
}

impl<'a> KeywordPairs<'a> {
    fn new(text: &'a str, strict: bool) -> Self {
        Self {
            chars: text.char_indices().peekable(),
            strict,
            failed: false,
        }
    }

    fn skip_ws(&mut self) {
        while self.chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
    }

    fn fail(&mut self, message: String) -> Option<Result<(String, String), String>> {
        self.failed = true;
        Some(Err(message))
    }
}

impl Iterator for KeywordPairs<'_> {
    type Item = Result<(String, String), String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let key = loop {
            self.skip_ws();
            let mut key = String::new();
            while let Some((_, c)) = self.chars.next_if(|(_, c)| !c.is_whitespace() && *c != '=') {
                key.push(c);
            }
            if key.is_empty() {
                return None;
            }
            self.skip_ws();
            match self.chars.peek().copied() {
                Some((_, '=')) => {
                    self.chars.next();
                    break key;
                }
                _ if !self.strict => continue,
                Some((i, c)) => {
                    return self.fail(format!(
                        "unexpected character at byte {i}: expected `=` but got `{c}`"
                    ))
                }
                None => return self.fail("unexpected EOF".into()),
            }
        };
        self.skip_ws();
        let mut value = String::new();
        if self.chars.next_if(|(_, c)| *c == '\'').is_some() {
            loop {
                match self.chars.next() {
                    Some((_, '\'')) => break,
                    Some((_, '\\')) => value.extend(self.chars.next().map(|(_, c)| c)),
                    Some((_, c)) => value.push(c),
                    None if self.strict => {
                        return self.fail("unterminated quoted connection parameter value".into())
                    }
                    None => break,
                }
            }
        } else {
            while let Some((_, c)) = self.chars.next_if(|(_, c)| !c.is_whitespace()) {
                if c == '\\' {
                    value.extend(self.chars.next().map(|(_, c)| c));
                } else {
                    value.push(c);
                }
            }
            if value.is_empty() && self.strict {
                return self.fail("unexpected EOF".into());
            }
        }
        Some(Ok((key, value)))
    }
}

/// The URI form, `scheme://[user[:password]@][host[:port][,…]][/dbname][?k=v&…]`, with
/// tokio-postgres' (deliberately loose, libpq-like) rules: the credentials end at the first `@`
/// ([`Url::split_libpq`]), and only the user, password, hosts, ports, database and query are
/// percent-decoded. The `url` crate cannot read this form: it refuses a list of hosts.
fn parse_uri(text: &str) -> Result<PgConnInfo, String> {
    let mut info = PgConnInfo::new(Form::Uri);
    let url = Url::split_libpq(text).expect("a postgres:// prefix");

    if let Some(user) = url.user() {
        info.user = Some(decode(user)?);
    }
    if let Some(password) = url.password() {
        info.password = Some(decode(password).map_err(|_| {
            "the password in the URI is not valid UTF-8 once percent-decoded".to_string()
        })?);
    }

    if !url.authority.is_empty() {
        for chunk in url.authority.split(',') {
            let (host, port) = split_host_port(chunk)
                .map_err(|_| "invalid value for option `host`".to_string())?;
            push_host(&mut info, &decode(host)?);
            param(&mut info, "port", &decode(port.unwrap_or("5432"))?)?;
        }
    }

    if let Some(dbname) = url.path.strip_prefix('/').filter(|d| !d.is_empty()) {
        info.dbname = Some(decode(dbname)?);
    }

    // tokio-postgres' loop, not `Url::query_pairs`: a key runs to the next `=`, even across `&`
    if let Some(mut q) = url.query {
        while !q.is_empty() {
            let eq = q
                .find('=')
                .ok_or_else(|| "unterminated parameter".to_string())?;
            let key = decode(&q[..eq])?;
            q = &q[eq + 1..];
            let end = q.find('&').unwrap_or(q.len());
            let value = &q[..end];
            q = if end < q.len() { &q[end + 1..] } else { "" };
            if key == "host" {
                push_host(&mut info, &decode(value)?);
            } else {
                param(&mut info, &key, &decode(value)?)?;
            }
        }
    }
    Ok(info)
}

fn decode(text: &str) -> Result<String, String> {
    percent_decode(text).map_err(|e| format!("invalid UTF-8 after percent-decoding: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(host: &str) -> PgHost {
        PgHost::Tcp(host.into())
    }

    #[test]
    fn uri_with_credentials_port_database_and_params() {
        let info = PgConnInfo::parse(
            "postgresql://greptime:s3cr%40t@db.example:6543/meta?sslmode=require&connect_timeout=10&options=-c%20search_path%3Dgt",
        )
        .unwrap();
        assert_eq!(info.form, Form::Uri);
        assert_eq!(info.user.as_deref(), Some("greptime"));
        assert_eq!(info.password.as_deref(), Some("s3cr@t"));
        assert_eq!(info.dbname.as_deref(), Some("meta"));
        assert_eq!(info.hosts, [tcp("db.example")]);
        assert_eq!(info.ports, [6543]);
        assert_eq!(info.sslmode, SslMode::Require);
        assert_eq!(info.connect_timeout, Some(Duration::from_secs(10)));
        assert_eq!(
            info.option_pairs().unwrap(),
            [("search_path".to_string(), "gt".to_string())]
        );
        let targets = info.targets().unwrap();
        assert_eq!(targets[0].display(), "db.example:6543");
    }

    #[test]
    fn uri_hosts_ipv6_and_socket_in_query() {
        let info = PgConnInfo::parse("postgres://u@[::1]:5433,h2/db").unwrap();
        assert_eq!(info.hosts, [tcp("::1"), tcp("h2")]);
        assert_eq!(info.ports, [5433, 5432]);
        assert_eq!(info.targets().unwrap()[0].display(), "[::1]:5433");
        let info = PgConnInfo::parse("postgresql:///meta?host=%2Fvar%2Frun%2Fpostgresql").unwrap();
        assert_eq!(info.hosts, [PgHost::Unix("/var/run/postgresql".into())]);
        assert_eq!(info.dbname.as_deref(), Some("meta"));
    }

    #[test]
    fn keyword_form_with_quotes_and_escapes() {
        let info = PgConnInfo::parse(
            r"host=127.0.0.1 port = 25432 user=gt password='p w\'x' dbname=greptime_meta sslmode=disable connect_timeout=3",
        )
        .unwrap();
        assert_eq!(info.form, Form::Keywords);
        assert_eq!(info.password.as_deref(), Some("p w'x"));
        assert_eq!(info.hosts, [tcp("127.0.0.1")]);
        assert_eq!(info.ports, [25432]);
        assert_eq!(info.sslmode, SslMode::Disable);
        assert_eq!(info.connect_timeout, Some(Duration::from_secs(3)));
        let info = PgConnInfo::parse(r"host=h password=a\ b user=u").unwrap();
        assert_eq!(info.password.as_deref(), Some("a b"));
        let info = PgConnInfo::parse("host=h password='' user=u").unwrap();
        assert_eq!(info.password.as_deref(), Some(""));
    }

    #[test]
    fn hostaddr_pairs_with_hosts() {
        let info = PgConnInfo::parse("host=db hostaddr=10.0.0.5 user=u").unwrap();
        let targets = info.targets().unwrap();
        assert_eq!(targets[0].addr, Some("10.0.0.5".parse().unwrap()));
        assert_eq!(targets[0].display(), "db (10.0.0.5):5432");
        let info = PgConnInfo::parse("hostaddr=10.0.0.5 user=u").unwrap();
        assert_eq!(info.targets().unwrap()[0].host, tcp("10.0.0.5"));
        let info = PgConnInfo::parse("host=a,b hostaddr=10.0.0.5 user=u").unwrap();
        assert!(info.targets().is_err());
    }

    #[test]
    fn what_tokio_postgres_rejects_is_rejected() {
        for (text, expected) in [
            (
                "postgresql://u@h/db?sslmode=verify-full",
                "invalid value for option `sslmode`",
            ),
            (
                "postgresql://u@h/db?sslrootcert=/ca.pem",
                "unknown option `sslrootcert`",
            ),
            (
                "host=h sslmode=verify-ca",
                "invalid value for option `sslmode`",
            ),
            ("127.0.0.1:5432", "unexpected EOF"),
            ("host=h password='unterminated", "unterminated quoted"),
            ("host=h port=x", "invalid value for option `port`"),
            ("host=h user", "unexpected EOF"),
            ("postgresql://u@h/db?sslmode", "unterminated parameter"),
        ] {
            let err = PgConnInfo::parse(text).unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
        }
        let info = PgConnInfo::parse("user=u dbname=d").unwrap();
        assert!(info.targets().unwrap_err().contains("no host"));
    }

    /// Every case through tokio-postgres 0.7.13 (metasrv's parser) too: both accept or both
    /// refuse, and what is accepted reads the same.
    #[test]
    fn agrees_with_tokio_postgres() {
        use tokio_postgres::config::{
            Host, LoadBalanceHosts, SslMode as TpSslMode, SslNegotiation,
            TargetSessionAttrs as TpAttrs,
        };
        let accepted = [
            "host=h",
            "host=127.0.0.1 port = 25432 user=gt password='p w\\'x' dbname=greptime_meta",
            r"host=h password=a\ b user=u",
            "host=h password='' user=u",
            "  host = h   user = 'u v'  ",
            "host=a,b,/tmp port=1,,3 hostaddr=10.0.0.1,::1,10.0.0.3",
            "host=h sslmode=disable",
            "host=h sslmode=prefer",
            "host=h sslmode=require sslnegotiation=direct",
            "host=h connect_timeout=0 keepalives=1 keepalives_idle=30 tcp_user_timeout=5",
            "host=h target_session_attrs=read-write load_balance_hosts=random",
            "host=h channel_binding=require application_name=gst options='-c a=b'",
            "user=u dbname=d",
            "",
            "postgresql://",
            "postgres://u@[::1]:5433,h2/db",
            "postgresql://greptime:s3cr%40t@db.example:6543/meta?sslmode=require&connect_timeout=10&options=-c%20search_path%3Dgt",
            "postgresql://h1:1,h2:2/db",
            "postgresql://h1,h2:2,[fd00::1]/db?target_session_attrs=read-only",
            "postgresql:///meta?host=%2Fvar%2Frun%2Fpostgresql",
            "postgresql://u:pa/ss@db/meta",
            "postgresql://u:p:w@db/meta",
            "postgresql://%75ser@h/d%62",
            "postgresql://h/db?host=h2&port=1&port=2",
            "postgresql://h/db?",
            "postgresql://h?dbname=x",
        ];
        let refused = [
            "postgresql://u@h/db?sslmode=verify-full",
            "postgresql://u@h/db?sslrootcert=/ca.pem",
            "host=h sslmode=verify-ca",
            "host=h sslmode=allow",
            "127.0.0.1:5432",
            "host=h password='unterminated",
            "host=h port=x",
            "host=h port=70000",
            "host=h user",
            "host=h user=",
            "host=h hostaddr=db",
            "host=h keepalives=-1",
            "host=h target_session_attrs=primary",
            "host=h load_balance_hosts=yes",
            "host=h sslnegotiation=tls",
            "postgresql://u@h/db?sslmode",
            "postgresql://[::1/db",
            "postgresql://[::1]x/db",
            "postgresql://h:x/db",
        ];
        // tokio-postgres keeps a password as bytes; sqlx, which connects here, needs UTF-8
        let differs = ["postgresql://u:%ff@h/db"];
        for text in differs {
            assert!(text.parse::<tokio_postgres::Config>().is_ok(), "{text}");
            let err = PgConnInfo::parse(text).unwrap_err();
            assert!(err.contains("not valid UTF-8"), "{text}: {err}");
        }
        for text in accepted.iter().chain(&refused) {
            let theirs = text.parse::<tokio_postgres::Config>();
            let ours = PgConnInfo::parse(text);
            assert_eq!(
                ours.is_ok(),
                theirs.is_ok(),
                "{text}: ours {:?}, tokio-postgres {:?}",
                ours.as_ref().err(),
                theirs.as_ref().err()
            );
            assert_eq!(theirs.is_ok(), accepted.contains(text), "{text}");
            let (Ok(ours), Ok(theirs)) = (ours, theirs) else {
                continue;
            };
            let hosts: Vec<PgHost> = theirs
                .get_hosts()
                .iter()
                .map(|h| match h {
                    Host::Tcp(h) => PgHost::Tcp(h.clone()),
                    Host::Unix(p) => PgHost::Unix(p.clone()),
                })
                .collect();
            let sslmode = match theirs.get_ssl_mode() {
                TpSslMode::Disable => SslMode::Disable,
                TpSslMode::Prefer => SslMode::Prefer,
                TpSslMode::Require => SslMode::Require,
                other => panic!("{text}: {other:?}"),
            };
            let attrs = match theirs.get_target_session_attrs() {
                TpAttrs::Any => TargetSessionAttrs::Any,
                TpAttrs::ReadWrite => TargetSessionAttrs::ReadWrite,
                TpAttrs::ReadOnly => TargetSessionAttrs::ReadOnly,
                other => panic!("{text}: {other:?}"),
            };
            let our_reading = (
                (
                    ours.user.as_deref(),
                    ours.password.as_deref().map(str::as_bytes),
                ),
                (ours.dbname.as_deref(), ours.options.as_deref()),
                ours.application_name.as_deref(),
                (&ours.hosts, &ours.hostaddrs[..], &ours.ports[..]),
                ours.connect_timeout.as_ref(),
                (ours.sslmode, ours.ssl_direct),
                (ours.target_session_attrs, ours.random_hosts),
            );
            let their_reading = (
                (theirs.get_user(), theirs.get_password()),
                (theirs.get_dbname(), theirs.get_options()),
                theirs.get_application_name(),
                (&hosts, theirs.get_hostaddrs(), theirs.get_ports()),
                theirs.get_connect_timeout(),
                (
                    sslmode,
                    theirs.get_ssl_negotiation() == SslNegotiation::Direct,
                ),
                (
                    attrs,
                    theirs.get_load_balance_hosts() == LoadBalanceHosts::Random,
                ),
            );
            assert_eq!(our_reading, their_reading, "{text}");
        }
    }

    #[test]
    fn lenient_keyword_pairs() {
        assert_eq!(
            keyword_pairs_lenient(r"host=db junk password = 'a b\'c' user=u\ v port="),
            [
                ("host".to_string(), "db".to_string()),
                ("password".into(), "a b'c".into()),
                ("user".into(), "u v".into()),
                ("port".into(), String::new()),
            ]
        );
        assert_eq!(
            keyword_pairs_lenient("password='open"),
            [("password".to_string(), "open".to_string())]
        );
    }

    #[test]
    fn options_forms() {
        let mut info = PgConnInfo::parse("host=h").unwrap();
        info.options = Some("-c search_path=a,b --statement-timeout=5s -clock_timeout=1s".into());
        assert_eq!(
            info.option_pairs().unwrap(),
            [
                ("search_path".into(), "a,b".into()),
                ("statement_timeout".into(), "5s".into()),
                ("lock_timeout".into(), "1s".into())
            ]
        );
        info.options = Some("-d 2".into());
        assert!(info.option_pairs().is_err());
    }
}
