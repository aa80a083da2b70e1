//! Errors of the `sql.*` steps: failed connections and failed statements turned into step
//! errors whose message names what failed (never the password) and whose hint names the config
//! key or grant to change.

use std::io;
use std::time::Duration;

use sqlx::mysql::MySqlDatabaseError;
use sqlx::postgres::PgDatabaseError;

use super::{Backend, BackendTls};
use crate::plugins::answer::{NoAnswer, Silence};
use crate::plugins::{human, StepError};

/// A failed connection attempt.
pub(super) enum Attempt {
    Failed(sqlx::Error),
    /// The server gave no answer within the first-answer deadline.
    Silent(NoAnswer),
    /// A later connection (not the first) did not complete within its limit.
    TimedOut(Duration),
}

impl Attempt {
    /// The step error of a failed attempt; `connect_timeout` is the connection string's, to
    /// say what metasrv would do.
    pub(super) fn into_step_error(
        self,
        ctx: &ErrCtx,
        connect_timeout: Option<Duration>,
    ) -> StepError {
        match self {
            Attempt::Failed(e) => connect_error(&e, ctx),
            Attempt::Silent(mut no) => {
                no.endpoint = ctx.endpoint.to_string();
                let what = match ctx.backend {
                    Backend::PostgresStore => "the PostgreSQL connection start-up",
                    Backend::MysqlStore => "the MySQL connection handshake",
                };
                let greptimedb = greptimedb_wait(ctx.backend, no.silence, connect_timeout);
                no.into_error(what, &greptimedb)
            }
            Attempt::TimedOut(limit) => StepError::timeout(format!(
                "no connection to {} within {}",
                ctx.endpoint,
                human(limit)
            ))
            .with_hint(format!(
                "nothing completed the {} handshake: a firewall may drop the packets, the host \
                 may be down, or the server is overloaded",
                ctx.backend.product()
            )),
        }
    }
}

/// What metasrv itself does when the store meets it with `silence`, as its drivers are set
/// up in GreptimeDB 1.3 (`src/meta-srv/src/bootstrap.rs`, `src/meta-srv/src/utils/postgres.rs`
/// and `mysql.rs`): the sentence a verdict on a silent store ends with.
pub(super) fn greptimedb_wait(
    backend: Backend,
    silence: Option<Silence>,
    connect_timeout: Option<Duration>,
) -> String {
    match backend {
        Backend::PostgresStore => match (silence, connect_timeout) {
            (Some(Silence::Refused), _) => "metasrv's PostgreSQL driver (tokio-postgres) gives \
                 up on a refused host at once and tries the next host of store_addrs[0]; with \
                 none left, metasrv exits at start-up"
                .into(),
            (Some(Silence::BlackHoled), Some(t)) => format!(
                "metasrv's PostgreSQL driver (tokio-postgres) gives up on this host after \
                 connect_timeout={} of store_addrs[0] (it bounds each TCP connect) and tries \
                 the next host; with none left, metasrv exits at start-up",
                t.as_secs()
            ),
            (Some(Silence::BlackHoled), None) => "store_addrs[0] sets no connect_timeout, the \
                 only connect limit of metasrv's PostgreSQL driver (tokio-postgres; GreptimeDB 1.3 \
                 reads backend_client.connect_timeout nowhere): metasrv waits for the \
                 operating system's TCP connect timeout on each host (about 2 minutes on Linux); \
                 add connect_timeout=<seconds> to store_addrs[0]"
                .into(),
            (_, t) => format!(
                "once TCP is connected, metasrv's PostgreSQL driver (tokio-postgres) waits for \
                 the start-up with no time limit: {} the TCP connect only, GreptimeDB sets no \
                 timeout on its deadpool-postgres pool, and no GreptimeDB key sets one, so \
                 metasrv would hang at start-up on this host",
                match t {
                    Some(t) => format!("connect_timeout={} of store_addrs[0] bounds", t.as_secs()),
                    None => "a connect_timeout in store_addrs[0] would bound".into(),
                }
            ),
        },
        Backend::MysqlStore => {
            let pool = "metasrv's MySQL pool (sqlx `MySqlPool::connect_with`, default options)";
            let after = "then metasrv exits at start-up (PoolTimedOut); no GreptimeDB key \
                 changes that limit (GreptimeDB 1.3 reads backend_client.connect_timeout nowhere)";
            match silence {
                Some(Silence::Refused) => format!(
                    "{pool} retries a refused connection until sqlx's default acquire_timeout of \
                     30s, {after}"
                ),
                _ => format!("{pool} waits up to sqlx's default acquire_timeout of 30s, {after}"),
            }
        }
    }
}

/// What the error messages may name.
pub(super) struct ErrCtx<'a> {
    pub backend: Backend,
    pub endpoint: &'a str,
    pub user: &'a str,
    pub database: Option<&'a str>,
    pub password_given: bool,
    pub tls: &'a BackendTls,
    /// Whether TLS was requested at all.
    pub tls_in_use: bool,
}

/// Maps a failed connection to an error whose message and hint name the config key.
fn connect_error(e: &sqlx::Error, ctx: &ErrCtx) -> StepError {
    let endpoint = ctx.endpoint;
    match e {
        sqlx::Error::Database(db) => {
            if let Some(pg) = db.try_downcast_ref::<PgDatabaseError>() {
                return pg_connect_error(pg, ctx);
            }
            if let Some(my) = db.try_downcast_ref::<MySqlDatabaseError>() {
                return my_connect_error(my, ctx);
            }
            StepError::rejected(format!("{endpoint} refused the connection: {db}"))
        }
        sqlx::Error::Io(io) => io_error(io, ctx),
        sqlx::Error::Tls(tls) => tls_error(&tls.to_string(), ctx),
        sqlx::Error::Configuration(c) => {
            StepError::misconfigured(format!("store_addrs[0] cannot be used: {c}"))
        }
        sqlx::Error::Protocol(p) => StepError::rejected(format!(
            "unexpected answer from {endpoint}: {p}"
        ))
        .with_hint(format!(
            "is a {} server listening there? check the port in store_addrs",
            ctx.backend.product()
        )),
        other => StepError::could_not_run(format!("connecting to {endpoint} failed: {other}")),
    }
}

fn wrong_password_hint(ctx: &ErrCtx) -> String {
    if ctx.password_given {
        "wrong user or password in store_addrs; check both against the server's account".into()
    } else {
        "store_addrs has no password, and the server asks for one: add it (user:password@ in \
         a URL, password=… in a keyword string)"
            .into()
    }
}

fn pg_connect_error(e: &PgDatabaseError, ctx: &ErrCtx) -> StepError {
    let (endpoint, user) = (ctx.endpoint, ctx.user);
    let database = ctx.database.unwrap_or(user);
    let msg = e.message();
    match e.code() {
        "28P01" => StepError::rejected(format!(
            "{endpoint}: password authentication failed for user `{user}`"
        ))
        .with_hint(wrong_password_hint(ctx)),
        "28000" if msg.contains("no encryption") => StepError::rejected(format!(
            "{endpoint} accepts user `{user}` only over TLS ({msg}); this connection did not use TLS"
        ))
        .with_hint(
            "remove sslmode=disable from store_addrs or set sslmode=require (TLS is negotiated \
             as the connection string's sslmode says; backend_tls.mode only decides how the \
             certificate is checked)",
        ),
        "28000" if msg.contains("SSL encryption") => StepError::rejected(format!(
            "{endpoint} refuses user `{user}` over TLS ({msg})"
        ))
        .with_hint("set sslmode=disable in store_addrs, or allow TLS for this user in pg_hba.conf"),
        "28000" => StepError::rejected(format!("{endpoint} refuses the connection: {msg}"))
            .with_hint(format!(
                "pg_hba.conf on the server has no entry that lets user `{user}` connect to \
                 database `{database}` from this host; add one, or fix the user in store_addrs"
            )),
        "3D000" => StepError::rejected(format!(
            "database `{database}` does not exist on {endpoint}"
        ))
        .with_hint(format!(
            "create it (CREATE DATABASE \"{database}\" OWNER \"{user}\") or fix the database in \
             store_addrs (the URI path or dbname=; without one, PostgreSQL uses the user name)"
        )),
        "42501" => StepError::rejected(format!(
            "user `{user}` may not connect to database `{database}` on {endpoint}: {msg}"
        ))
        .with_hint(format!(
            "$ GRANT CONNECT ON DATABASE \"{database}\" TO {};",
            super::metadata_table::pg_role(user)
        )),
        "53300" => StepError::rejected(format!("{endpoint} has no free connection slot: {msg}"))
            .with_hint("raise max_connections on the server or reduce its other clients; metasrv keeps two pools"),
        "57P03" => StepError::unreachable(format!("{endpoint} is not accepting connections: {msg}"))
            .with_hint("the server is starting up, shutting down or in recovery; retry when it is up"),
        code => StepError::rejected(format!("{endpoint} refused the connection: {msg} (SQLSTATE {code})")),
    }
}

fn my_connect_error(e: &MySqlDatabaseError, ctx: &ErrCtx) -> StepError {
    let (endpoint, user) = (ctx.endpoint, ctx.user);
    let msg = e.message();
    let number = e.number();
    match number {
        1045 => {
            let mut hint = wrong_password_hint(ctx);
            if !ctx.tls_in_use {
                hint.push_str(
                    "; an account that requires TLS (REQUIRE SSL) is refused the same way when \
                     TLS is off",
                );
            }
            StepError::rejected(format!("{endpoint}: {msg} (MySQL error 1045)")).with_hint(hint)
        }
        1049 => {
            let database = ctx.database.unwrap_or("?");
            StepError::rejected(format!(
                "database `{database}` does not exist on {endpoint} (MySQL error 1049)"
            ))
            .with_hint(format!(
                "create it (CREATE DATABASE `{database}`) and grant the user access, or fix the \
                 database in the store_addrs URL path"
            ))
        }
        1044 => {
            let database = ctx.database.unwrap_or("?");
            StepError::rejected(format!(
                "database `{database}` does not exist on {endpoint}, or user `{user}` may not use it: {msg} (MySQL error 1044; the server does not tell users without access which)"
            ))
            .with_hint(format!(
                "fix the database in the store_addrs URL path, or create it (CREATE DATABASE `{database}`) and grant the user access (GRANT ALL ON `{database}`.* TO …)"
            ))
        }
        3159 => StepError::rejected(format!(
            "{endpoint} requires TLS ({msg}); this connection was not encrypted"
        ))
        .with_hint(
            "set backend_tls.mode = \"prefer\" or \"require\" (or a verify mode), or drop \
             ssl-mode=DISABLED from store_addrs",
        ),
        1130 => StepError::rejected(format!("{endpoint}: {msg} (MySQL error 1130)")).with_hint(
            format!("create the account `{user}`@'<this host>' or `{user}`@'%' on the server"),
        ),
        1040 => StepError::rejected(format!("{endpoint}: {msg} (MySQL error 1040)"))
            .with_hint("raise max_connections on the server or reduce its other clients"),
        _ => StepError::rejected(format!(
            "{endpoint} refused the connection: {msg} (MySQL error {number})"
        )),
    }
}

fn io_error(e: &io::Error, ctx: &ErrCtx) -> StepError {
    let endpoint = ctx.endpoint;
    let text = e.to_string();
    if text.contains("invalid peer certificate") || text.contains("InvalidCertificate") {
        return tls_error(&text, ctx);
    }
    match e.kind() {
        io::ErrorKind::ConnectionRefused => StepError {
            silence: Some(Silence::Refused),
            ..StepError::unreachable(format!("cannot connect to {endpoint}: connection refused"))
                .with_hint(format!(
                    "nothing listens on {endpoint} (is {} running, and are host and port in \
                     store_addrs right?); {}",
                    ctx.backend.product(),
                    greptimedb_wait(ctx.backend, Some(Silence::Refused), None)
                ))
        },
        io::ErrorKind::TimedOut => StepError::timeout(format!(
            "cannot connect to {endpoint}: connection timed out"
        ))
        .with_hint("a firewall or security group may drop the packets, or the host is down"),
        io::ErrorKind::NotFound if text.contains("No such file") => {
            StepError::misconfigured(format!("cannot connect to {endpoint}: {text}")).with_hint(
                "a socket or certificate file named in store_addrs or backend_tls does not exist",
            )
        }
        _ if text.contains("lookup address") || text.contains("Name or service not known") => {
            StepError::unreachable(format!("cannot resolve the host of {endpoint}: {text}"))
                .with_hint(
                    "check the host name in store_addrs; it must resolve from this host (DNS, \
                     /etc/hosts)",
                )
        }
        io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => {
            StepError::unreachable(format!("cannot connect to {endpoint}: {text}"))
                .with_hint("no route to the host; check routing, VPN and firewall rules")
        }
        io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset => StepError::unreachable(
            format!("{endpoint} closed the connection during the handshake: {text}"),
        )
        .with_hint(format!(
            "is a {} server listening there, and does it accept this client's TLS \
                 settings ({})?",
            ctx.backend.product(),
            ctx.tls.mode.as_str()
        )),
        _ => StepError::unreachable(format!("cannot connect to {endpoint}: {text}")),
    }
}

fn tls_error(text: &str, ctx: &ErrCtx) -> StepError {
    let endpoint = ctx.endpoint;
    let ca = if ctx.tls.ca_cert_path.is_empty() {
        "not set".to_string()
    } else {
        format!("`{}`", ctx.tls.ca_cert_path)
    };
    if text.contains("UnknownIssuer") || text.contains("BadSignature") {
        StepError::rejected(format!(
            "the TLS certificate of {endpoint} is not signed by a trusted CA \
             (backend_tls.mode = {}, backend_tls.ca_cert_path {ca}): {text}",
            ctx.tls.mode.as_str()
        ))
        .with_hint(
            "set backend_tls.ca_cert_path to the PEM file of the CA that signed the server \
             certificate (the system roots are trusted too)",
        )
    } else if text.contains("NotValidForName") {
        StepError::rejected(format!(
            "the TLS certificate of {endpoint} does not name that host (backend_tls.mode = \
             {}): {text}",
            ctx.tls.mode.as_str()
        ))
        .with_hint(
            "connect with a host name the certificate lists (its subjectAltName), or use \
             backend_tls.mode = \"verify_ca\", which checks the CA only",
        )
    } else if text.contains("Expired") || text.contains("NotValidYet") {
        StepError::rejected(format!(
            "the TLS certificate of {endpoint} is not valid now: {text}"
        ))
        .with_hint("renew the server certificate (and check this host's clock)")
    } else if text.contains("server does not support TLS") {
        let (what, fix) = match ctx.backend {
            Backend::PostgresStore => (
                "sslmode=require or a verify mode",
                "enable ssl on the server, or use sslmode=prefer/disable in store_addrs with \
                 backend_tls.mode = \"prefer\"",
            ),
            Backend::MysqlStore => (
                "backend_tls.mode require/verify_ca/verify_full",
                "enable TLS on the server, or set backend_tls.mode = \"prefer\"",
            ),
        };
        StepError::rejected(format!(
            "{endpoint} does not offer TLS, and {what} demands it"
        ))
        .with_hint(fix)
    } else if text.contains("InvalidDnsName") {
        StepError::misconfigured(format!(
            "the host of {endpoint} is not a valid TLS server name: {text}"
        ))
        .with_hint("use a DNS name or an IP address as the host in store_addrs")
    } else if text.contains("CertificateRequired") || text.contains("certificate required") {
        StepError::rejected(format!("{endpoint} requires a client certificate: {text}")).with_hint(
            "set backend_tls.cert_path and backend_tls.key_path to the client certificate and key",
        )
    } else {
        StepError::rejected(format!("TLS handshake with {endpoint} failed: {text}")).with_hint(
            "check backend_tls (mode, ca_cert_path, cert_path, key_path) against the server's TLS \
             configuration",
        )
    }
}

/// A failed statement after connecting.
pub(crate) fn query_error(backend: Backend, e: &sqlx::Error, what: &str) -> StepError {
    match e {
        sqlx::Error::Database(db) => {
            let msg = db.message();
            if is_lock_timeout(e) {
                return StepError::timeout(format!(
                    "{what}: {msg} (a lock held by another session, possibly a running \
                     metasrv, blocked it)"
                ));
            }
            if let Some(pg) = db.try_downcast_ref::<PgDatabaseError>() {
                return match pg.code() {
                    "42501" => StepError::rejected(format!("{what}: {msg}")),
                    code => StepError::rejected(format!("{what}: {msg} (SQLSTATE {code})")),
                };
            }
            if let Some(my) = db.try_downcast_ref::<MySqlDatabaseError>() {
                let number = my.number();
                return StepError::rejected(format!("{what}: {msg} (MySQL error {number})"));
            }
            StepError::rejected(format!("{what}: {db}"))
        }
        sqlx::Error::Io(io) => StepError::unreachable(format!(
            "{what}: the connection to {} failed: {io}",
            backend.product()
        )),
        other => StepError::could_not_run(format!("{what}: {other}")),
    }
}

/// [`query_error`] for `map_err`.
pub(crate) fn query_failed(
    backend: Backend,
    what: &str,
) -> impl FnOnce(sqlx::Error) -> StepError + '_ {
    move |e| query_error(backend, &e, what)
}

/// SQLSTATE (PostgreSQL) or error number (MySQL) of a failed statement.
pub(crate) fn db_code(e: &sqlx::Error) -> Option<String> {
    let db = e.as_database_error()?;
    if let Some(my) = db.try_downcast_ref::<MySqlDatabaseError>() {
        return Some(my.number().to_string());
    }
    db.code().map(|c| c.into_owned())
}

/// The server's message of a failed statement, without sqlx's prefix.
pub(crate) fn db_message(e: &sqlx::Error) -> String {
    match e.as_database_error() {
        Some(db) => db.message().to_string(),
        None => e.to_string(),
    }
}

/// Whether a failed statement was refused for lack of a privilege.
pub(crate) fn is_permission_denied(e: &sqlx::Error) -> bool {
    matches!(
        db_code(e).as_deref(),
        Some("42501" | "1142" | "1044" | "1227" | "1143" | "1370")
    )
}

/// Whether a failed statement gave up waiting for a lock or ran out of its statement time
/// (PostgreSQL `lock_timeout`/`statement_timeout`, MySQL `innodb_lock_wait_timeout`/
/// `max_execution_time`).
pub(crate) fn is_lock_timeout(e: &sqlx::Error) -> bool {
    matches!(
        db_code(e).as_deref(),
        Some("55P03" | "57014" | "1205" | "3024")
    )
}

/// The error metasrv meets when `store_addrs[0]` names no MySQL database.
pub(crate) fn no_database() -> StepError {
    StepError::rejected(
        "store_addrs[0] names no database: metasrv's CREATE TABLE fails with \"No database \
         selected\" (MySQL error 1046)",
    )
    .with_hint("add the database to the URL path: mysql://user:password@host:3306/<database>")
}
