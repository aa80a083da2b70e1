//! PostgreSQL connect: `store_addrs[0]` and `[backend_tls]` turned into one sqlx connection as
//! metasrv turns them into its pool (deadpool-postgres + tokio-postgres + a rustls connector).
//!
//! `store_addrs[0]` is parsed by [`PgConnInfo`] with tokio-postgres' rules (URI or libpq
//! keywords; unknown keys and `sslmode` values other than disable/prefer/require are errors,
//! as they make metasrv fail). metasrv always builds a rustls connector from `backend_tls`;
//! whether TLS is *negotiated* is decided by the connection string's `sslmode` (default
//! `prefer`), how the certificate is *checked* by `backend_tls.mode`:
//!
//! | `backend_tls.mode` | metasrv | here (sqlx `PgSslMode`) |
//! |---|---|---|
//! | `disable` | start-up fails: "Cannot create TLS connector for Disable mode" (#7734) | `Misconfigured`, nothing is connected |
//! | `prefer`, `require` | any certificate accepted | `sslmode` disable/prefer/require → `Disable`/`Prefer`/`Require`; sqlx accepts any certificate too |
//! | `verify_ca` | chain checked against system roots + `ca_cert_path`, no host name check | `VerifyCa` (same checks) with `ca_cert_path` as extra root; with `sslmode=prefer` a server that refuses TLS is retried without TLS, as tokio-postgres falls back; with `sslmode=disable`, `Disable` |
//! | `verify_full` | as `verify_ca` plus host name check | `VerifyFull`, same fallbacks |
//!
//! The client certificate and key are sent when both `cert_path` and `key_path` are set, in
//! every mode. Hosts that are Unix socket directories fail in metasrv with
//! `InvalidDnsNameError` when TLS may be attempted (#7734); that is `Misconfigured` here.
//!
//! Where sqlx differs from tokio-postgres, the closest equivalent is used:
//! * several hosts are tried at once, under one first-answer deadline, and their results taken
//!   in the order tokio-postgres tries them: the first host that connects is used, a host that
//!   failed before it is named in a note, and one that accepted the connection and stayed
//!   silent fails the check (tokio-postgres would wait on it with no limit and never reach the
//!   next); `load_balance_hosts=random` is not honoured;
//! * `hostaddr` is connected to directly, so with `verify_full` the certificate must name
//!   the address rather than `host`;
//! * the whole connection (TCP, TLS, authentication) runs under the first-answer deadline
//!   (`--answer-timeout`, default 5 s), capped by `connect_timeout` when that is smaller;
//!   tokio-postgres applies `connect_timeout` to each TCP connect alone and waits for the rest
//!   with no limit. A host that has not connected by then is judged silent, with the kind of
//!   silence a witness connection saw (`pg_witness.rs`): refused, black-holed, accepted but
//!   silent, or TLS handshake stalled after the server agreed to TLS;
//! * `sslnegotiation=direct` (PostgreSQL 17) is negotiated with an SSLRequest instead;
//! * `options` must be `-c name=value` settings; `channel_binding` and the keepalive keys are
//!   accepted and ignored;
//! * sqlx fills what the string leaves unset from `PGUSER`, `PGOPTIONS`, `PGSSLROOTCERT`,
//!   `PGSSLCERT` and `PGSSLKEY` of this process; host, port, database, password, `sslmode` and
//!   the application name are always set explicitly (an unset database becomes the user
//!   name, PostgreSQL's default; an unset password becomes empty, never `PGPASSWORD`);
//! * sqlx sets the session `TimeZone` to UTC; steps that compare server timestamps account
//!   for it;
//! * sqlx's "accept any certificate" verifier still checks the handshake signature, which
//!   metasrv's does not.

use std::time::Duration;

use futures::stream::{FuturesOrdered, StreamExt};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};
use sqlx::ConnectOptions;
use tokio::time::Instant;

use super::client::{answer_deadline, first_attempt, ConnectOpts, SqlConn, SqlConnection};
use super::errors::{Attempt, ErrCtx};
use super::{Backend, BackendTls, StoreParams, TlsMode};
use crate::notation::conninfo::{Form, PgConnInfo, PgHost, PgTarget, SslMode, TargetSessionAttrs};
use crate::notation::endpoint::join_host_port;
use crate::plugins::answer::{AnswerDeadline, Silence};
use crate::plugins::{millis, ErrorKind, StepCx, StepError};

/// `application_name` sent to PostgreSQL unless the connection string sets one, so a DBA can
/// tell the self-test's sessions apart.
const APPLICATION_NAME: &str = "greptime-self-test";

/// Connects to the first host of `store_addrs[0]` that accepts, as tokio-postgres tries them.
pub(super) async fn connect(store: &StoreParams, cx: &StepCx) -> Result<SqlConnection, StepError> {
    let tls = &store.tls;
    if tls.mode == TlsMode::Disable {
        return Err(StepError::misconfigured(
            "backend_tls.mode = \"disable\" with backend = \"postgres_store\": metasrv fails at \
             start-up with \"Cannot create TLS connector for Disable mode\" (GreptimeDB issue \
             #7734)",
        )
        .with_hint(
            "set backend_tls.mode = \"prefer\" (or require, verify_ca, verify_full) and control \
             whether TLS is used with sslmode=disable|prefer|require in store_addrs",
        ));
    }
    let info = PgConnInfo::parse(&store.store_addr).map_err(|e| {
        StepError::misconfigured(format!(
            "store_addrs[0] is not a connection string metasrv's PostgreSQL driver \
             (tokio-postgres) accepts: {e}"
        ))
        .with_hint(
            "write it as postgresql://user:password@host:5432/database?sslmode=prefer or as \
             `host=… port=5432 user=… password=… dbname=…`; sslmode takes only disable, prefer or \
             require (certificate checks are set by backend_tls.mode and ca_cert_path)",
        )
    })?;
    let targets = info.targets().map_err(|e| {
        StepError::misconfigured(format!("store_addrs[0] cannot be connected to: {e}"))
            .with_hint("name the PostgreSQL server with host= (and port=), or in the URI")
    })?;
    if let Some(target) = targets
        .iter()
        .find(|t| matches!(t.host, PgHost::Unix(_)) && info.sslmode != SslMode::Disable)
    {
        return Err(StepError::misconfigured(format!(
            "store_addrs[0] connects through the Unix socket directory {} with sslmode={}: \
             metasrv's rustls connector takes the socket path for a DNS name and fails with \
             InvalidDnsNameError (GreptimeDB issue #7734)",
            target.display(),
            info.sslmode.as_str()
        ))
        .with_hint(
            "connect over TCP (host=127.0.0.1 or the server's address) instead of a Unix socket",
        ));
    }
    let option_pairs = info.option_pairs().map_err(|e| {
        StepError::could_not_run(format!(
            "the `options` of store_addrs[0] cannot be passed on by this tool: {e}"
        ))
    })?;

    let mut notes = Vec::new();
    if info.ssl_direct {
        notes.push(
            "sslnegotiation=direct: this check negotiated TLS with an SSLRequest instead".into(),
        );
    }
    if info.random_hosts && targets.len() > 1 {
        notes.push("load_balance_hosts=random: this check tried the hosts in order".into());
    }
    if info.user.is_none() {
        notes.push(
            "store_addrs[0] names no user: metasrv connects as the operating-system user it \
             runs as"
                .into(),
        );
    }
    if info.password.is_none() {
        notes.push("store_addrs[0] has no password".into());
    }
    if targets.iter().any(|t| matches!(t.host, PgHost::Unix(_))) {
        notes.push(
            "a Unix socket host with sslmode=disable: tokio-postgres-rustls releases that check \
             the host name eagerly (before jbg/tokio-postgres-rustls#39) fail here too, so \
             prefer a TCP host"
                .into(),
        );
    }

    let verify = tls.mode.verifies();
    let plan = match info.sslmode {
        SslMode::Disable => format!(
            "sslmode=disable: no TLS (backend_tls.mode = {})",
            tls.mode.as_str()
        ),
        mode => format!(
            "sslmode={}: TLS{}, {} (backend_tls.mode = {})",
            mode.as_str(),
            if mode == SslMode::Prefer {
                " if the server offers it"
            } else {
                " required"
            },
            match (verify, tls.ca_cert_path.is_empty()) {
                (false, _) => "certificate not verified".to_string(),
                (true, true) => "certificate checked against the system roots".to_string(),
                (true, false) => format!(
                    "certificate checked against `{}` and the system roots",
                    tls.ca_cert_path
                ),
            },
            tls.mode.as_str()
        ),
    };

    // Every host is tried at once under one first-answer deadline, so that hosts which all
    // stay silent are judged within one deadline, not one each; the hosts' results are then
    // taken in order, as tokio-postgres tries them.
    let deadline = answer_deadline(
        cx,
        info.connect_timeout.map(|t| {
            (
                format!(
                    "`connect_timeout={}` of store_addrs[0], metasrv's limit on each TCP connect",
                    t.as_secs()
                ),
                t,
            )
        }),
    );
    let mut hosts: FuturesOrdered<_> = targets
        .iter()
        .map(|target| connect_host(&info, target, tls, &option_pairs, &deadline))
        .collect();
    let mut failures: Vec<(String, StepError)> = Vec::new();
    let mut tried = targets.iter();
    while let Some(result) = hosts.next().await {
        let endpoint = tried.next().expect("one target per result").display();
        let host = match result {
            Ok(host) => host,
            Err(error) => {
                failures.push((endpoint, error));
                continue;
            }
        };
        if let Some((_, hang)) = failures.iter().find(|(_, e)| holds_metasrv(e)) {
            SqlConn::Pg(host.conn).close().await;
            return Err(StepError {
                message: format!(
                    "{}; metasrv tries the hosts of store_addrs[0] in order and would wait on \
                     that one, never reaching {endpoint}, which answered this check",
                    hang.message
                ),
                ..hang.clone()
            });
        }
        for (_, skipped) in &failures {
            notes.push(skipped_note(skipped, &endpoint, info.connect_timeout));
        }
        notes.extend(host.notes);
        return Ok(SqlConnection {
            conn: SqlConn::Pg(host.conn),
            opts: ConnectOpts::Pg(Box::new(host.used)),
            endpoint,
            connect_ms: host.connect_ms,
            tls_plan: plan,
            notes,
            form: match info.form {
                Form::Uri => "uri",
                Form::Keywords => "keywords",
            },
        });
    }
    Err(summarize(failures))
}

/// A connection to one host of `store_addrs[0]`.
struct HostConnection {
    conn: PgConnection,
    /// The options that made it (without TLS after a fallback).
    used: PgConnectOptions,
    connect_ms: f64,
    notes: Vec<String>,
}

/// Connects to one host as tokio-postgres would, under `deadline`.
async fn connect_host(
    info: &PgConnInfo,
    target: &PgTarget,
    tls: &BackendTls,
    option_pairs: &[(String, String)],
    deadline: &AnswerDeadline,
) -> Result<HostConnection, StepError> {
    let endpoint = target.display();
    let ssl_mode = match (info.sslmode, tls.mode) {
        (SslMode::Disable, _) => PgSslMode::Disable,
        (_, TlsMode::VerifyCa) => PgSslMode::VerifyCa,
        (_, TlsMode::VerifyFull) => PgSslMode::VerifyFull,
        (SslMode::Prefer, _) => PgSslMode::Prefer,
        (SslMode::Require, _) => PgSslMode::Require,
    };
    let opts = pg_options(info, target, tls, ssl_mode, option_pairs);
    let (user, database) = (
        opts.get_username().to_string(),
        opts.get_database().map(str::to_string),
    );
    let ctx = ErrCtx {
        backend: Backend::PostgresStore,
        endpoint: &endpoint,
        user: &user,
        database: database.as_deref(),
        password_given: info.password.is_some(),
        tls,
        tls_in_use: info.sslmode != SslMode::Disable,
    };
    let witness = match (&target.host, target.addr) {
        (_, Some(addr)) => Some(join_host_port(&addr.to_string(), target.port)),
        (PgHost::Tcp(host), None) => Some(join_host_port(host, target.port)),
        (PgHost::Unix(_), None) => None,
    };
    let started = Instant::now();
    let mut result = first_attempt(
        &ConnectOpts::Pg(Box::new(opts.clone())),
        deadline,
        witness.as_deref(),
    )
    .await;
    let mut used = opts;
    let mut notes = Vec::new();
    // tokio-postgres with sslmode=prefer carries on without TLS when the server refuses it;
    // sqlx's verifying modes require TLS, so connect again as tokio-postgres would continue
    // (on the same connection, so within what is left of the same deadline).
    if tls.mode.verifies() && info.sslmode == SslMode::Prefer {
        if let Err(Attempt::Failed(sqlx::Error::Tls(e))) = &result {
            if e.to_string().contains("server does not support TLS") {
                used = used.ssl_mode(PgSslMode::Disable);
                notes.push(
                    "the server does not offer TLS; with sslmode=prefer metasrv connects \
                     without it, and so did this check"
                        .into(),
                );
                let left = AnswerDeadline {
                    limit: deadline.limit.saturating_sub(started.elapsed()),
                    set_by: deadline.set_by.clone(),
                };
                result = first_attempt(
                    &ConnectOpts::Pg(Box::new(used.clone())),
                    &left,
                    witness.as_deref(),
                )
                .await;
            }
        }
    }
    let mut conn = match result {
        Ok(SqlConn::Pg(conn)) => conn,
        Ok(SqlConn::My(_)) => unreachable!("a PostgreSQL attempt returns a PostgreSQL connection"),
        Err(failure) => return Err(failure.into_step_error(&ctx, info.connect_timeout)),
    };
    let connect_ms = millis(started.elapsed());
    if let Some(problem) = session_attrs_problem(&mut conn, info.target_session_attrs).await {
        SqlConn::Pg(conn).close().await;
        return Err(StepError::rejected(problem).with_hint(
            "target_session_attrs in store_addrs asks for a different kind of server; point \
             store_addrs at the primary",
        ));
    }
    Ok(HostConnection {
        conn,
        used,
        connect_ms,
        notes,
    })
}

/// Whether metasrv would wait on a host that failed this way without moving on to the next
/// one: tokio-postgres puts no limit on the start-up once TCP is connected.
fn holds_metasrv(e: &StepError) -> bool {
    match e.silence {
        Some(Silence::AcceptedSilent | Silence::TlsStalled) => true,
        Some(Silence::Refused | Silence::BlackHoled) => false,
        None => e.kind == ErrorKind::Timeout,
    }
}

/// The note on a host that failed before `connected` (a later host) answered.
fn skipped_note(e: &StepError, connected: &str, connect_timeout: Option<Duration>) -> String {
    let then = match (e.silence, connect_timeout) {
        (Some(Silence::BlackHoled), Some(t)) => format!(
            "metasrv gives up on it after connect_timeout={} and then connects to {connected}",
            t.as_secs()
        ),
        (Some(Silence::BlackHoled), None) => format!(
            "metasrv waits for the operating system's TCP connect timeout on it (about 2 \
             minutes on Linux; store_addrs[0] sets no connect_timeout) before it connects to \
             {connected}"
        ),
        _ => format!("metasrv, too, moves on and connects to {connected}"),
    };
    format!("{}; {then}", e.message)
}

/// The sqlx options for one host. See the module documentation for each choice.
fn pg_options(
    info: &PgConnInfo,
    target: &PgTarget,
    tls: &BackendTls,
    ssl_mode: PgSslMode,
    option_pairs: &[(String, String)],
) -> PgConnectOptions {
    let mut opts = PgConnectOptions::new_without_pgpass().port(target.port);
    opts = match (&target.host, target.addr) {
        (_, Some(addr)) => opts.host(&addr.to_string()),
        (PgHost::Tcp(host), None) => opts.host(host),
        (PgHost::Unix(dir), None) => opts.socket(dir),
    };
    if let Some(user) = &info.user {
        opts = opts.username(user);
    }
    let user = opts.get_username().to_string();
    opts = opts
        .password(info.password.as_deref().unwrap_or(""))
        .database(info.dbname.as_deref().unwrap_or(&user))
        .application_name(info.application_name.as_deref().unwrap_or(APPLICATION_NAME))
        .ssl_mode(ssl_mode);
    if tls.mode.verifies() && !tls.ca_cert_path.is_empty() {
        opts = opts.ssl_root_cert(&tls.ca_cert_path);
    }
    if !tls.cert_path.is_empty() && !tls.key_path.is_empty() {
        opts = opts
            .ssl_client_cert(&tls.cert_path)
            .ssl_client_key(&tls.key_path);
    }
    if !option_pairs.is_empty() {
        opts = opts.options(option_pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    }
    opts.disable_statement_logging()
}

/// Why a session does not satisfy `target_session_attrs`, as tokio-postgres checks it.
async fn session_attrs_problem(
    conn: &mut PgConnection,
    wanted: TargetSessionAttrs,
) -> Option<String> {
    if wanted == TargetSessionAttrs::Any {
        return None;
    }
    let read_only: String = sqlx::query_scalar("SELECT current_setting('transaction_read_only')")
        .fetch_one(&mut *conn)
        .await
        .ok()?;
    match (wanted, read_only.as_str()) {
        (TargetSessionAttrs::ReadWrite, "on") => Some(
            "the server only allows read-only sessions (a standby?), and store_addrs asks for \
             target_session_attrs=read-write"
                .into(),
        ),
        (TargetSessionAttrs::ReadOnly, "off") => Some(
            "the server allows writes, and store_addrs asks for target_session_attrs=read-only"
                .into(),
        ),
        _ => None,
    }
}

/// One error for every host tried: the last host's error (as tokio-postgres reports), with
/// the other hosts' errors in the message.
fn summarize(mut failures: Vec<(String, StepError)>) -> StepError {
    let (_, last) = failures.pop().expect("at least one host was tried");
    if failures.is_empty() {
        return last;
    }
    let others: Vec<String> = failures
        .iter()
        .map(|(endpoint, e)| {
            if e.message.contains(endpoint.as_str()) {
                e.message.clone()
            } else {
                format!("{endpoint}: {}", e.message)
            }
        })
        .collect();
    StepError {
        kind: last.kind,
        message: format!("{} (also tried {})", last.message, others.join("; ")),
        ..last
    }
}
