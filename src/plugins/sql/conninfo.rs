//! `store_addrs[0]` of a PostgreSQL metadata store, parsed exactly as metasrv's driver
//! (tokio-postgres, through deadpool-postgres) parses it: a `postgres://` / `postgresql://`
//! URI or a libpq keyword string. Both forms accept the same keys; an unknown key or a value
//! tokio-postgres does not know (`sslmode=verify-full`, `sslrootcert=…`) makes metasrv fail at
//! start-up, so it is an error here too.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

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
        for prefix in ["postgres://", "postgresql://"] {
            if let Some(rest) = text.strip_prefix(prefix) {
                return parse_uri(rest);
            }
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
            PgHost::Tcp(host) => {
                let shown = match self.addr {
                    Some(addr) if addr.to_string() != *host => format!("{host} ({addr})"),
                    _ => host.clone(),
                };
                if shown.contains(':') && !shown.contains(' ') {
                    format!("[{shown}]:{}", self.port)
                } else {
                    format!("{shown}:{}", self.port)
                }
            }
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
/// and `\` escapes the next character, quoted or not.
fn parse_keywords(text: &str) -> Result<PgConnInfo, String> {
    let mut info = PgConnInfo::new(Form::Keywords);
    let mut chars = text.char_indices().peekable();
    let skip_ws = |chars: &mut std::iter::Peekable<std::str::CharIndices>| {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
    };
    loop {
        skip_ws(&mut chars);
        let mut key = String::new();
        while let Some((_, c)) = chars.next_if(|(_, c)| !c.is_whitespace() && *c != '=') {
            key.push(c);
        }
        if key.is_empty() {
            break;
        }
        skip_ws(&mut chars);
        match chars.next() {
            Some((_, '=')) => {}
            Some((i, c)) => {
                return Err(format!(
                    "unexpected character at byte {i}: expected `=` but got `{c}`"
                ))
            }
            None => return Err("unexpected EOF".into()),
        }
        skip_ws(&mut chars);
        let mut value = String::new();
        if chars.next_if(|(_, c)| *c == '\'').is_some() {
            loop {
                match chars.next() {
                    Some((_, '\'')) => break,
                    Some((_, '\\')) => value.extend(chars.next().map(|(_, c)| c)),
                    Some((_, c)) => value.push(c),
                    None => return Err("unterminated quoted connection parameter value".into()),
                }
            }
        } else {
            while let Some((_, c)) = chars.next_if(|(_, c)| !c.is_whitespace()) {
                if c == '\\' {
                    value.extend(chars.next().map(|(_, c)| c));
                } else {
                    value.push(c);
                }
            }
            if value.is_empty() {
                return Err("unexpected EOF".into());
            }
        }
        param(&mut info, &key, &value)?;
    }
    Ok(info)
}

/// The URI form after the scheme: `[user[:password]@][host[:port][,…]][/dbname][?k=v&…]`,
/// with tokio-postgres' (deliberately loose, libpq-like) rules: the credentials end at the
/// first `@`, and only the user, password, database and values are percent-decoded.
fn parse_uri(rest: &str) -> Result<PgConnInfo, String> {
    let mut info = PgConnInfo::new(Form::Uri);
    let mut s = rest;

    if let Some(at) = s.find('@') {
        let creds = &s[..at];
        s = &s[at + 1..];
        let (user, password) = match creds.split_once(':') {
            Some((user, password)) => (user, Some(password)),
            None => (creds, None),
        };
        info.user = Some(decode(user)?);
        if let Some(password) = password {
            info.password = Some(decode(password).map_err(|_| {
                "the password in the URI is not valid UTF-8 once percent-decoded".to_string()
            })?);
        }
    }

    let host_end = s.find(['/', '?']).unwrap_or(s.len());
    let hosts = &s[..host_end];
    s = &s[host_end..];
    if !hosts.is_empty() {
        for chunk in hosts.split(',') {
            let (host, port) = if let Some(bracketed) = chunk.strip_prefix('[') {
                let end = bracketed
                    .find(']')
                    .ok_or_else(|| "invalid value for option `host`".to_string())?;
                let remaining = &bracketed[end + 1..];
                let port = match remaining.strip_prefix(':') {
                    Some(port) => Some(port),
                    None if remaining.is_empty() => None,
                    None => return Err("invalid value for option `host`".into()),
                };
                (&bracketed[..end], port)
            } else {
                match chunk.split_once(':') {
                    Some((host, port)) => (host, Some(port)),
                    None => (chunk, None),
                }
            };
            push_host(&mut info, &decode(host)?);
            param(&mut info, "port", &decode(port.unwrap_or("5432"))?)?;
        }
    }

    if let Some(path) = s.strip_prefix('/') {
        let end = path.find('?').unwrap_or(path.len());
        if end > 0 {
            info.dbname = Some(decode(&path[..end])?);
        }
        s = &path[end..];
    }

    if let Some(query) = s.strip_prefix('?') {
        let mut q = query;
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
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|e| format!("invalid UTF-8 after percent-decoding: {e}"))
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
