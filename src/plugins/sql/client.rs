//! The connection builder of the `sql.*` steps: `store_addrs[0]` and `[backend_tls]` turned
//! into one sqlx connection, as metasrv turns them into its pools, and sqlx errors turned into
//! step errors that name the config key to change.
//!
//! # PostgreSQL (metasrv: deadpool-postgres + tokio-postgres + a rustls connector)
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
//! * several hosts are tried in order, one connection each (tokio-postgres does the same);
//!   `load_balance_hosts=random` is not honoured;
//! * `hostaddr` is connected to directly, so with `verify_full` the certificate must name
//!   the address rather than `host`;
//! * `connect_timeout` bounds the whole connection (TCP, TLS, authentication) rather than
//!   the TCP connect alone;
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
//!
//! # MySQL (metasrv: sqlx 0.8, the same library as here)
//!
//! `store_addrs[0]` is parsed by `MySqlConnectOptions::from_str`, then
//! `.no_engine_substitution(false).pipes_as_concat(false).timezone(None).set_names(false)`
//! (no `SET` at connect), then `backend_tls` is applied exactly as metasrv applies it:
//!
//! | `backend_tls.mode` | `ssl-mode` |
//! |---|---|
//! | `disable` | the URL's `ssl-mode` is kept (sqlx default: `PREFERRED`) |
//! | `prefer` | `PREFERRED` |
//! | `require` | `REQUIRED` |
//! | `verify_ca` | `VERIFY_CA`, `ssl-ca = ca_cert_path` |
//! | `verify_full` | `VERIFY_IDENTITY`, `ssl-ca = ca_cert_path` |
//!
//! The client certificate and key are added when both are set and the mode is not
//! `disable`. An empty `ca_cert_path` with `verify_*` makes metasrv's connection fail (sqlx
//! cannot read the file ``); that is `Misconfigured` here.

use std::io;
use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlDatabaseError, MySqlSslMode};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgDatabaseError, PgSslMode};
use sqlx::{ConnectOptions, Connection, Executor, Row};
use tokio::time::Instant;

use super::conninfo::{Form, PgConnInfo, PgHost, PgTarget, SslMode, TargetSessionAttrs};
use super::{Backend, BackendTls, StoreParams, TlsMode};
use crate::plugins::{human, millis, StepCx, StepError};

/// `application_name` sent to PostgreSQL unless the connection string sets one, so a DBA can
/// tell the self-test's sessions apart.
const APPLICATION_NAME: &str = "greptime-self-test";

/// An open connection.
pub(crate) enum SqlConn {
    Pg(PgConnection),
    My(MySqlConnection),
}

impl SqlConn {
    /// Runs SQL text with no parameters (see [`pg_exec`] and [`my_exec`]).
    pub(crate) async fn exec(&mut self, sql: &str) -> Result<(), sqlx::Error> {
        match self {
            SqlConn::Pg(conn) => pg_exec(conn, sql).await,
            SqlConn::My(conn) => my_exec(conn, sql).await,
        }
    }

    /// Closes the connection politely, giving up after a second.
    pub(crate) async fn close(self) {
        let close = async {
            let _ = match self {
                SqlConn::Pg(conn) => conn.close().await,
                SqlConn::My(conn) => conn.close().await,
            };
        };
        let _ = tokio::time::timeout(Duration::from_secs(1), close).await;
    }
}

/// Options that produced a working connection, to open more sessions later (for cleanup).
#[derive(Clone)]
pub(crate) enum ConnectOpts {
    Pg(Box<PgConnectOptions>),
    My(Box<MySqlConnectOptions>),
}

impl ConnectOpts {
    /// Opens one more connection with the same options within `limit`.
    pub(crate) async fn reconnect(&self, limit: Duration) -> Result<SqlConn, String> {
        let connect = async {
            match self {
                ConnectOpts::Pg(opts) => opts.connect().await.map(SqlConn::Pg),
                ConnectOpts::My(opts) => opts.connect().await.map(SqlConn::My),
            }
        };
        match tokio::time::timeout(limit, connect).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(format!("cannot reconnect: {e}")),
            Err(_) => Err(format!("cannot reconnect within {}", human(limit))),
        }
    }
}

/// A connected session and what is known about how it was made.
pub(crate) struct Session {
    pub conn: SqlConn,
    pub opts: ConnectOpts,
    /// `host:port` (or socket) actually connected to.
    pub endpoint: String,
    /// Time to connect, TLS and authentication included, in milliseconds.
    pub connect_ms: f64,
    /// How TLS was requested, for messages: e.g. `sslmode=prefer, certificate not verified
    /// (backend_tls.mode = prefer)`.
    pub tls_plan: String,
    /// Things the operator should know about the connection string.
    pub notes: Vec<String>,
    /// How `store_addrs[0]` was written: `uri` or `keywords` (PostgreSQL), `url` (MySQL).
    pub form: &'static str,
}

/// Connects as metasrv would, within the step's deadline.
pub(crate) async fn connect(store: &StoreParams, cx: &StepCx) -> Result<Session, StepError> {
    if store.store_addr.trim().is_empty() {
        return Err(StepError::misconfigured(
            "store_addrs is empty: metasrv has no address to use",
        )
        .with_hint(match store.backend {
            Backend::PostgresStore => {
                "set store_addrs = [\"postgresql://user:password@host:5432/database\"]"
            }
            Backend::MysqlStore => {
                "set store_addrs = [\"mysql://user:password@host:3306/database\"]"
            }
        }));
    }
    check_tls_files(store.backend, &store.tls)?;
    let mut session = match store.backend {
        Backend::PostgresStore => connect_pg(store, cx).await,
        Backend::MysqlStore => connect_my(store, cx).await,
    }?;
    let tls = &store.tls;
    if tls.cert_path.is_empty() != tls.key_path.is_empty() {
        session.notes.push(
            "only one of backend_tls.cert_path and backend_tls.key_path is set: metasrv sends no \
             client certificate"
                .into(),
        );
    }
    Ok(session)
}

/// Files metasrv reads at start-up: the client certificate and key when both are set (in
/// every mode but `disable`), and the CA in the verifying modes.
fn check_tls_files(backend: Backend, tls: &BackendTls) -> Result<(), StepError> {
    if tls.mode == TlsMode::Disable {
        return Ok(());
    }
    let mut files = Vec::new();
    if !tls.cert_path.is_empty() && !tls.key_path.is_empty() {
        files.push(("backend_tls.cert_path", tls.cert_path.as_str()));
        files.push(("backend_tls.key_path", tls.key_path.as_str()));
    }
    if tls.mode.verifies() {
        if tls.ca_cert_path.is_empty() && backend == Backend::MysqlStore {
            return Err(StepError::misconfigured(format!(
                "backend_tls.mode = \"{}\" with an empty backend_tls.ca_cert_path: metasrv passes \
                 the empty path to MySQL's ssl-ca and the connection fails",
                tls.mode.as_str()
            ))
            .with_hint(
                "set backend_tls.ca_cert_path to the PEM file of the CA that signed the MySQL \
                 server certificate",
            ));
        }
        if !tls.ca_cert_path.is_empty() {
            files.push(("backend_tls.ca_cert_path", tls.ca_cert_path.as_str()));
        }
    }
    for (key, path) in files {
        match std::fs::read(path) {
            Ok(data) if data.is_empty() => {
                return Err(StepError::misconfigured(format!("{key} `{path}` is empty"))
                    .with_hint(format!("{key} must name a PEM file")))
            }
            Ok(_) => {}
            Err(e) => {
                return Err(StepError::misconfigured(format!(
                    "cannot read {key} `{path}`: {e}; metasrv fails at start-up with \"Failed to \
                     load TLS certificate from path\""
                ))
                .with_hint(format!(
                    "{key} must name a readable PEM file (a relative path resolves against \
                     metasrv's working directory)"
                )))
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// PostgreSQL

async fn connect_pg(store: &StoreParams, cx: &StepCx) -> Result<Session, StepError> {
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
    let plan = match (verify, info.sslmode) {
        (_, SslMode::Disable) => format!(
            "sslmode=disable: no TLS (backend_tls.mode = {})",
            tls.mode.as_str()
        ),
        (false, mode) => format!(
            "sslmode={}: TLS{}, certificate not verified (backend_tls.mode = {})",
            mode.as_str(),
            if mode == SslMode::Prefer {
                " if the server offers it"
            } else {
                " required"
            },
            tls.mode.as_str()
        ),
        (true, mode) => format!(
            "sslmode={}: TLS{}, certificate checked against {} (backend_tls.mode = {})",
            mode.as_str(),
            if mode == SslMode::Prefer {
                " if the server offers it"
            } else {
                " required"
            },
            if tls.ca_cert_path.is_empty() {
                "the system roots".to_string()
            } else {
                format!("`{}` and the system roots", tls.ca_cert_path)
            },
            tls.mode.as_str()
        ),
    };

    let mut failures: Vec<(String, StepError)> = Vec::new();
    for target in &targets {
        let endpoint = target.display();
        let ssl_mode = match (info.sslmode, tls.mode) {
            (SslMode::Disable, _) => PgSslMode::Disable,
            (_, TlsMode::VerifyCa) => PgSslMode::VerifyCa,
            (_, TlsMode::VerifyFull) => PgSslMode::VerifyFull,
            (SslMode::Prefer, _) => PgSslMode::Prefer,
            (SslMode::Require, _) => PgSslMode::Require,
        };
        let opts = pg_options(&info, target, tls, ssl_mode, &option_pairs);
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
        let limit = |cx: &StepCx| {
            info.connect_timeout
                .map_or(budget(cx), |t| t.min(budget(cx)))
        };
        let started = Instant::now();
        let mut result = attempt(ConnectOpts::Pg(Box::new(opts.clone())), limit(cx)).await;
        let mut used = opts;
        // tokio-postgres with sslmode=prefer carries on without TLS when the server refuses
        // it; sqlx's verifying modes require TLS, so retry as tokio-postgres would continue.
        if verify && info.sslmode == SslMode::Prefer {
            if let Err(Attempt::Failed(sqlx::Error::Tls(e))) = &result {
                if e.to_string().contains("server does not support TLS") {
                    used = used.ssl_mode(PgSslMode::Disable);
                    notes.push(
                        "the server does not offer TLS; with sslmode=prefer metasrv connects \
                         without it, and so did this check"
                            .into(),
                    );
                    result = attempt(ConnectOpts::Pg(Box::new(used.clone())), limit(cx)).await;
                }
            }
        }
        match result {
            Ok(SqlConn::Pg(mut conn)) => {
                let connect_ms = millis(started.elapsed());
                if let Some(problem) =
                    session_attrs_problem(&mut conn, info.target_session_attrs).await
                {
                    failures.push((
                        endpoint.clone(),
                        StepError::rejected(problem).with_hint(
                            "target_session_attrs in store_addrs asks for a different kind of \
                             server; point store_addrs at the primary",
                        ),
                    ));
                    SqlConn::Pg(conn).close().await;
                    continue;
                }
                return Ok(Session {
                    conn: SqlConn::Pg(conn),
                    opts: ConnectOpts::Pg(Box::new(used)),
                    endpoint,
                    connect_ms,
                    tls_plan: plan,
                    notes,
                    form: match info.form {
                        Form::Uri => "uri",
                        Form::Keywords => "keywords",
                    },
                });
            }
            Ok(SqlConn::My(_)) => {
                unreachable!("a PostgreSQL attempt returns a PostgreSQL connection")
            }
            Err(failure) => {
                let error = failure.into_step_error(&ctx, info.connect_timeout);
                failures.push((endpoint, error));
            }
        }
    }
    Err(summarize(failures))
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

// ---------------------------------------------------------------------------------------
// MySQL

async fn connect_my(store: &StoreParams, cx: &StepCx) -> Result<Session, StepError> {
    let tls = &store.tls;
    let parsed: MySqlConnectOptions = store.store_addr.parse().map_err(|e: sqlx::Error| {
        StepError::misconfigured(format!(
            "store_addrs[0] is not a URL metasrv's MySQL driver (sqlx) accepts: {}",
            e.to_string()
                .trim_start_matches("error with configuration: ")
        ))
        .with_hint("write it as mysql://user:password@host:3306/database")
    })?;
    let mut notes = Vec::new();
    let scheme = store.store_addr.split("://").next().unwrap_or_default();
    if !scheme.eq_ignore_ascii_case("mysql") {
        notes.push(format!(
            "store_addrs[0] starts with `{scheme}://`; sqlx ignores the scheme, but mysql:// is \
             what GreptimeDB documents"
        ));
    }
    let url_mode = parsed.get_ssl_mode();
    let mut opts = parsed
        .no_engine_substitution(false)
        .pipes_as_concat(false)
        .timezone(None)
        .set_names(false);
    opts = match tls.mode {
        TlsMode::Disable => opts,
        TlsMode::Prefer => opts.ssl_mode(MySqlSslMode::Preferred),
        TlsMode::Require => opts.ssl_mode(MySqlSslMode::Required),
        TlsMode::VerifyCa => opts
            .ssl_mode(MySqlSslMode::VerifyCa)
            .ssl_ca(&tls.ca_cert_path),
        TlsMode::VerifyFull => opts
            .ssl_mode(MySqlSslMode::VerifyIdentity)
            .ssl_ca(&tls.ca_cert_path),
    };
    if tls.mode != TlsMode::Disable && !tls.cert_path.is_empty() && !tls.key_path.is_empty() {
        opts = opts
            .ssl_client_cert(&tls.cert_path)
            .ssl_client_key(&tls.key_path);
    }
    opts = opts.disable_statement_logging();
    let effective = opts.get_ssl_mode();
    if tls.mode != TlsMode::Disable && store.store_addr.to_ascii_lowercase().contains("ssl") {
        notes.push(format!(
            "backend_tls.mode = \"{}\" overrides the ssl settings written in store_addrs[0] \
             (ssl-mode {} became {})",
            tls.mode.as_str(),
            my_mode_name(url_mode),
            my_mode_name(effective)
        ));
    }
    if tls.mode == TlsMode::Disable && matches!(url_mode, MySqlSslMode::Preferred) {
        notes.push(
            "backend_tls.mode = \"disable\" keeps the URL's ssl-mode, which defaults to \
             PREFERRED: TLS is still used when the server offers it"
                .into(),
        );
    }
    let plan = format!(
        "ssl-mode={} (backend_tls.mode = {})",
        my_mode_name(effective),
        tls.mode.as_str()
    );
    let endpoint = match opts.get_socket() {
        Some(socket) => socket.display().to_string(),
        None => {
            let host = opts.get_host();
            if host.contains(':') {
                format!("[{host}]:{}", opts.get_port())
            } else {
                format!("{host}:{}", opts.get_port())
            }
        }
    };
    let user = opts.get_username().to_string();
    let database = opts.get_database().map(str::to_string);
    let ctx = ErrCtx {
        backend: Backend::MysqlStore,
        endpoint: &endpoint,
        user: &user,
        database: database.as_deref(),
        password_given: store.store_addr.contains('@')
            && store
                .store_addr
                .split("://")
                .nth(1)
                .and_then(|rest| rest.split('@').next())
                .is_some_and(|userinfo| userinfo.contains(':')),
        tls,
        tls_in_use: !matches!(effective, MySqlSslMode::Disabled),
    };

    let started = Instant::now();
    match attempt(ConnectOpts::My(Box::new(opts.clone())), budget(cx)).await {
        Ok(conn) => Ok(Session {
            conn,
            opts: ConnectOpts::My(Box::new(opts)),
            endpoint,
            connect_ms: millis(started.elapsed()),
            tls_plan: plan,
            notes,
            form: "url",
        }),
        Err(failure) => {
            let access_denied =
                matches!(&failure, Attempt::Failed(e) if db_code(e).as_deref() == Some("1045"));
            let mut error = failure.into_step_error(&ctx, None);
            // An account created with REQUIRE SSL is refused with the same "Access denied"
            // as a wrong password. When TLS was off, find out which by trying with TLS.
            if matches!(effective, MySqlSslMode::Disabled) && access_denied {
                let with_tls = opts.clone().ssl_mode(MySqlSslMode::Required);
                let probe = ConnectOpts::My(Box::new(with_tls));
                if let Ok(conn) = probe.reconnect(budget(cx)).await {
                    conn.close().await;
                    error = StepError::rejected(format!(
                        "{endpoint} refuses user `{user}` without TLS (the account requires \
                         TLS, e.g. REQUIRE SSL); this connection was not encrypted: {plan}"
                    ))
                    .with_hint(
                        "set backend_tls.mode = \"prefer\" or \"require\" (or a verify mode), or \
                         drop ssl-mode=DISABLED from store_addrs; with mode = \"disable\" metasrv \
                         keeps the URL's ssl-mode",
                    );
                }
            }
            Err(error)
        }
    }
}

fn my_mode_name(mode: MySqlSslMode) -> &'static str {
    match mode {
        MySqlSslMode::Disabled => "DISABLED",
        MySqlSslMode::Preferred => "PREFERRED",
        MySqlSslMode::Required => "REQUIRED",
        MySqlSslMode::VerifyCa => "VERIFY_CA",
        MySqlSslMode::VerifyIdentity => "VERIFY_IDENTITY",
    }
}

// ---------------------------------------------------------------------------------------
// Errors

/// A failed connection attempt.
enum Attempt {
    Failed(sqlx::Error),
    TimedOut(Duration),
}

async fn attempt(opts: ConnectOpts, limit: Duration) -> Result<SqlConn, Attempt> {
    let connect = async {
        match &opts {
            ConnectOpts::Pg(opts) => opts.connect().await.map(SqlConn::Pg),
            ConnectOpts::My(opts) => opts.connect().await.map(SqlConn::My),
        }
    };
    match tokio::time::timeout(limit, connect).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(Attempt::Failed(e)),
        Err(_) => Err(Attempt::TimedOut(limit)),
    }
}

impl Attempt {
    fn into_step_error(self, ctx: &ErrCtx, connect_timeout: Option<Duration>) -> StepError {
        match self {
            Attempt::Failed(e) => connect_error(&e, ctx),
            Attempt::TimedOut(limit) => {
                let by_setting = connect_timeout.is_some_and(|t| t <= limit);
                let message = if by_setting {
                    format!(
                        "no connection to {} within connect_timeout={} of store_addrs",
                        ctx.endpoint,
                        limit.as_secs()
                    )
                } else {
                    format!("no connection to {} within {}", ctx.endpoint, human(limit))
                };
                StepError::timeout(message).with_hint(format!(
                    "nothing completed the {} handshake: a firewall may drop the packets, the \
                     host may be down, or the server is overloaded",
                    ctx.backend.product()
                ))
            }
        }
    }
}

/// What the error messages may name.
pub(crate) struct ErrCtx<'a> {
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
            "GRANT CONNECT ON DATABASE \"{database}\" TO \"{user}\""
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
                "database `{database}` does not exist on {endpoint}, or user `{user}` may not use                  it: {msg} (MySQL error 1044; the server does not tell users without access which)"
            ))
            .with_hint(format!(
                "fix the database in the store_addrs URL path, or create it (CREATE DATABASE                  `{database}`) and grant the user access (GRANT ALL ON `{database}`.* TO …)"
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
        io::ErrorKind::ConnectionRefused => {
            StepError::unreachable(format!("cannot connect to {endpoint}: connection refused"))
                .with_hint(format!(
                    "nothing listens on {endpoint}; is {} running, and are host and port in \
             store_addrs right?",
                    ctx.backend.product()
                ))
        }
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

/// One error for every host tried: the last host's error (as tokio-postgres reports), with
/// the other hosts' errors in the message.
fn summarize(mut failures: Vec<(String, StepError)>) -> StepError {
    let (_, last) = failures.pop().expect("at least one host was tried");
    if failures.is_empty() {
        return last;
    }
    let others: Vec<String> = failures
        .iter()
        .map(|(endpoint, e)| format!("{endpoint}: {}", e.message))
        .collect();
    StepError {
        kind: last.kind,
        message: format!("{} (also tried {})", last.message, others.join("; ")),
        hint: last.hint,
    }
}

// ---------------------------------------------------------------------------------------
// Helpers for the steps

/// Time this step may still use: what is left before the deadline, less a little (5%, at
/// most 100 ms) so that the step's own, more precise timeout error reaches the engine before
/// the engine's deadline cancels it.
pub(crate) fn budget(cx: &StepCx) -> Duration {
    let left = cx.remaining();
    left.saturating_sub((left / 20).min(Duration::from_millis(100)))
}

/// Runs SQL text on PostgreSQL with the simple protocol (DDL, transaction control, SET;
/// several statements may be separated by `;`).
pub(crate) async fn pg_exec(conn: &mut PgConnection, sql: &str) -> Result<(), sqlx::Error> {
    Executor::execute(&mut *conn, sql).await.map(drop)
}

/// Runs one SQL statement on MySQL with the text protocol (DDL, transaction control, SET,
/// KILL), which also accepts statements the server cannot prepare.
pub(crate) async fn my_exec(conn: &mut MySqlConnection, sql: &str) -> Result<(), sqlx::Error> {
    Executor::execute(&mut *conn, sql).await.map(drop)
}

/// Fetches the rows of one MySQL statement sent with the text protocol (SHOW).
pub(crate) async fn my_fetch_all(
    conn: &mut MySqlConnection,
    sql: &str,
) -> Result<Vec<sqlx::mysql::MySqlRow>, sqlx::Error> {
    Executor::fetch_all(&mut *conn, sql).await
}

/// Connects as metasrv would, runs `check` on the session within the step's deadline (`what`
/// names the work in a timeout error), then closes the session.
pub(crate) async fn with_session<T>(
    store: &StoreParams,
    cx: &StepCx,
    what: &str,
    check: impl AsyncFnOnce(&mut Session) -> Result<T, StepError>,
) -> Result<T, StepError> {
    let mut session = connect(store, cx).await?;
    let result = within(cx, what, check(&mut session)).await;
    session.conn.close().await;
    result
}

/// Runs `work` within the step's deadline.
pub(crate) async fn within<T>(
    cx: &StepCx,
    what: &str,
    work: impl std::future::Future<Output = Result<T, StepError>>,
) -> Result<T, StepError> {
    let budget = budget(cx);
    match tokio::time::timeout(budget, work).await {
        Ok(result) => result,
        Err(_) => Err(StepError::timeout(format!(
            "{what} did not finish within {}",
            human(budget)
        ))
        .with_hint("the server is slow or a lock is held; a running metasrv may hold it")),
    }
}

/// A failed statement after connecting.
pub(crate) fn query_error(backend: Backend, e: &sqlx::Error, what: &str) -> StepError {
    match e {
        sqlx::Error::Database(db) => {
            if let Some(pg) = db.try_downcast_ref::<PgDatabaseError>() {
                let msg = pg.message();
                return match pg.code() {
                    "42501" => StepError::rejected(format!("{what}: {msg}")),
                    "55P03" | "57014" => StepError::timeout(format!(
                        "{what}: {msg} (a lock held by another session, possibly a running \
                         metasrv, blocked it)"
                    )),
                    code => StepError::rejected(format!("{what}: {msg} (SQLSTATE {code})")),
                };
            }
            if let Some(my) = db.try_downcast_ref::<MySqlDatabaseError>() {
                let msg = my.message();
                return match my.number() {
                    1205 | 3024 => StepError::timeout(format!(
                        "{what}: {msg} (a lock held by another session, possibly a running \
                         metasrv, blocked it)"
                    )),
                    number => StepError::rejected(format!("{what}: {msg} (MySQL error {number})")),
                };
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

/// `"schema"."table"` or `"table"`, as metasrv writes it.
pub(crate) fn pg_ident(schema: Option<&str>, table: &str) -> String {
    match schema {
        Some(schema) if !schema.is_empty() => format!("\"{schema}\".\"{table}\""),
        _ => format!("\"{table}\""),
    }
}

/// Rejects names metasrv cannot quote (it does not escape quotes) or the server refuses.
pub(crate) fn check_name(backend: Backend, key: &str, name: &str) -> Result<(), StepError> {
    if name.is_empty() {
        return Err(StepError::misconfigured(format!("{key} is empty"))
            .with_hint(format!("set {key} (default greptime_metakv)")));
    }
    let (quote, max) = match backend {
        Backend::PostgresStore => ('"', 63),
        Backend::MysqlStore => ('`', 64),
    };
    if name.contains(quote) || name.contains('\0') {
        return Err(StepError::misconfigured(format!(
            "{key} `{name}` contains {quote}, which metasrv puts into its SQL unescaped"
        ))
        .with_hint(format!("use a plain name for {key}")));
    }
    if backend == Backend::MysqlStore && name.chars().count() > max {
        return Err(StepError::misconfigured(format!(
            "{key} `{name}` is longer than MySQL's {max}-character limit for table names"
        ))
        .with_hint(format!("shorten {key}")));
    }
    Ok(())
}

/// A name for this run's probe objects: `greptime_self_test_<run id>`, restricted to
/// `[a-z0-9_]` and to what MySQL and PostgreSQL accept.
pub(crate) fn probe_name(run_id: &str, suffix: &str) -> String {
    let id: String = run_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let mut name = format!("greptime_self_test_{id}{suffix}");
    name.truncate(63);
    name
}

/// The probe key of this run in a metadata table.
pub(crate) fn probe_key(run_id: &str) -> String {
    format!("__greptime_self_test/{run_id}")
}

/// `'user'@'host'` as information_schema writes grantees, from `CURRENT_USER()`.
pub(crate) fn my_grantee(current_user: &str) -> String {
    let (user, host) = current_user.rsplit_once('@').unwrap_or((current_user, "%"));
    format!(
        "'{}'@'{}'",
        user.replace('\'', "''"),
        host.replace('\'', "''")
    )
}

/// Privileges the current MySQL user holds on `database`.`table` per information_schema
/// (global, database-level with grant wildcards, and table-level), upper-case.
/// Privileges that only come from roles are not visible here.
pub(crate) async fn my_privileges(
    conn: &mut MySqlConnection,
    database: &str,
    table: &str,
) -> Result<Vec<String>, sqlx::Error> {
    let current_user: String = sqlx::query_scalar("SELECT CURRENT_USER()")
        .fetch_one(&mut *conn)
        .await?;
    let grantee = my_grantee(&current_user);
    let rows = sqlx::query(
        "SELECT CAST(PRIVILEGE_TYPE AS CHAR) FROM information_schema.USER_PRIVILEGES \
           WHERE GRANTEE = ? \
         UNION SELECT CAST(PRIVILEGE_TYPE AS CHAR) FROM information_schema.SCHEMA_PRIVILEGES \
           WHERE GRANTEE = ? AND ? LIKE TABLE_SCHEMA \
         UNION SELECT CAST(PRIVILEGE_TYPE AS CHAR) FROM information_schema.TABLE_PRIVILEGES \
           WHERE GRANTEE = ? AND TABLE_SCHEMA = ? AND TABLE_NAME = ?",
    )
    .bind(&grantee)
    .bind(&grantee)
    .bind(database)
    .bind(&grantee)
    .bind(database)
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    let mut privileges: Vec<String> = rows
        .iter()
        .filter_map(|row| my_text(row, 0))
        .map(|p| p.to_ascii_uppercase())
        .collect();
    privileges.sort();
    privileges.dedup();
    Ok(privileges)
}

/// The error metasrv meets when `store_addrs[0]` names no MySQL database.
pub(crate) fn no_database() -> StepError {
    StepError::rejected(
        "store_addrs[0] names no database: metasrv's CREATE TABLE fails with \"No database \
         selected\" (MySQL error 1046)",
    )
    .with_hint("add the database to the URL path: mysql://user:password@host:3306/<database>")
}

/// A text column of a MySQL row, whether the server sent it as text or binary.
pub(crate) fn my_text(row: &sqlx::mysql::MySqlRow, index: usize) -> Option<String> {
    if let Ok(text) = row.try_get::<Option<String>, _>(index) {
        return text;
    }
    row.try_get::<Option<Vec<u8>>, _>(index)
        .ok()
        .flatten()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

/// Milliseconds since the epoch of a naive `YYYY-MM-DD HH:MM:SS[.fff…]` timestamp, to compare
/// lease expiry times written by the server with the server's own clock.
pub(crate) fn naive_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, time) = text.split_once(' ')?;
    let mut d = date.split('-');
    let (y, m, day): (i64, i64, i64) = (
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
    );
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':');
    let (h, mi, s): (i64, i64, i64) = (
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
    );
    let frac_ms: i64 = format!("{:0<3}", frac.get(..3).unwrap_or(frac))
        .parse()
        .ok()?;
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + h) * 60 + mi) * 60_000 + s * 1000 + frac_ms)
}

/// Splits an election lease value `<value>||__metadata_lease_sep||<expiry>`.
pub(crate) fn split_lease(value: &str) -> Option<(&str, &str)> {
    value.split_once(LEASE_SEP)
}

/// metasrv's separator between a lease value and its expiry time.
pub(crate) const LEASE_SEP: &str = "||__metadata_lease_sep||";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_names_are_safe_identifiers() {
        assert_eq!(
            probe_name("20261125-ab.CD", ""),
            "greptime_self_test_20261125_ab_cd"
        );
        assert!(probe_name(&"x".repeat(100), "_lat").len() <= 63);
    }

    #[test]
    fn grantees_from_current_user() {
        assert_eq!(my_grantee("gt_rw@%"), "'gt_rw'@'%'");
        assert_eq!(my_grantee("a@b@127.0.0.1"), "'a@b'@'127.0.0.1'");
    }

    #[test]
    fn naive_timestamps_compare_as_the_server_wrote_them() {
        let a = naive_ms("2026-11-25 10:00:00.123").unwrap();
        let b = naive_ms("2026-11-25 10:00:05.123456").unwrap();
        assert_eq!(b - a, 5000);
        assert_eq!(naive_ms("1970-01-01 00:00:01.5"), Some(1500));
        assert_eq!(
            naive_ms("2000-03-01 00:00:00.000").unwrap() - naive_ms("2000-02-28 00:00:00").unwrap(),
            2 * 86_400_000
        );
        assert!(naive_ms("yesterday").is_none());
    }

    #[test]
    fn names_metasrv_cannot_quote_are_misconfigured() {
        assert!(check_name(Backend::PostgresStore, "meta_table_name", "a\"b").is_err());
        assert!(check_name(Backend::MysqlStore, "meta_table_name", "a`b").is_err());
        assert!(check_name(Backend::MysqlStore, "meta_table_name", &"t".repeat(65)).is_err());
        assert!(check_name(Backend::MysqlStore, "meta_table_name", "greptime_metakv").is_ok());
        assert_eq!(pg_ident(Some("s"), "t"), "\"s\".\"t\"");
        assert_eq!(pg_ident(Some(""), "t"), "\"t\"");
    }
}
