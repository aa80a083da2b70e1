//! MySQL connect: `store_addrs[0]` and `[backend_tls]` turned into one sqlx connection as
//! metasrv turns them into its pool (sqlx 0.8, the same library as here).
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
//!
//! metasrv opens a pool (`MySqlPool::connect_with`, sqlx's default options), which retries a
//! refused connection and waits for a silent server up to sqlx's default `acquire_timeout` of
//! 30 s. Here one connection is made, never retried, under the first-answer deadline
//! (`--answer-timeout`, default 5 s; no GreptimeDB key sets a MySQL connect timeout to cap it),
//! and a server that has not answered by then is judged silent, with the kind of silence a
//! plain witness connection saw.

use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
use sqlx::ConnectOptions;
use tokio::time::Instant;

use super::client::{answer_deadline, budget, first_attempt, ConnectOpts, SqlConnection};
use super::errors::{db_code, Attempt, ErrCtx};
use super::{Backend, StoreParams, TlsMode};
use crate::notation::endpoint::join_host_port;
use crate::notation::uri::Url;
use crate::plugins::{millis, StepCx, StepError};

/// Connects with the URL and `[backend_tls]` as metasrv does.
pub(super) async fn connect(store: &StoreParams, cx: &StepCx) -> Result<SqlConnection, StepError> {
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
    let written = Url::split(store.store_addr.trim());
    let scheme = written.map_or("", |url| url.scheme);
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
        None => join_host_port(opts.get_host(), opts.get_port()),
    };
    let user = opts.get_username().to_string();
    let database = opts.get_database().map(str::to_string);
    let ctx = ErrCtx {
        backend: Backend::MysqlStore,
        endpoint: &endpoint,
        user: &user,
        database: database.as_deref(),
        password_given: written.is_some_and(|url| url.password().is_some()),
        tls,
        tls_in_use: !matches!(effective, MySqlSslMode::Disabled),
    };

    // metasrv's pool waits up to sqlx's default acquire_timeout (30 s), which no GreptimeDB
    // key sets: the run's first-answer deadline applies uncapped.
    let deadline = answer_deadline(cx, None);
    let witness = opts.get_socket().is_none().then_some(endpoint.as_str());
    let started = Instant::now();
    match first_attempt(&ConnectOpts::My(Box::new(opts.clone())), &deadline, witness).await {
        Ok(conn) => Ok(SqlConnection {
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
