//! The connection every `sql.*` step works on ([`SqlConnection`]): connecting with
//! `store_addrs[0]` and `[backend_tls]` as metasrv does (checks shared by both stores here, the
//! rest in `pg_connect.rs` and `my_connect.rs`) under the first-answer deadline
//! ([`first_attempt`]), and running statements within the step's deadline.

use std::future::Future;
use std::time::Duration;

use futures::TryFutureExt;

use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};
use sqlx::{ConnectOptions, Connection, Executor, Row};

use super::errors::Attempt;
use super::pg_witness::pg_first_answer;
use super::{my_connect, pg_connect, Backend, BackendTls, StoreParams, TlsMode};
use crate::plugins::answer::{first_answer, AnswerDeadline, Witness};
use crate::plugins::{human, StepCx, StepError};

/// An open connection.
pub(crate) enum SqlConn {
    Pg(PgConnection),
    My(MySqlConnection),
}

impl SqlConn {
    /// Runs SQL text with no parameters (see [`exec`]).
    pub(crate) async fn exec(&mut self, sql: &str) -> Result<(), sqlx::Error> {
        match self {
            SqlConn::Pg(conn) => exec(conn, sql).await,
            SqlConn::My(conn) => exec(conn, sql).await,
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
        match attempt(self, limit).await {
            Ok(conn) => Ok(conn),
            Err(Attempt::Failed(e)) => Err(format!("cannot reconnect: {e}")),
            Err(Attempt::TimedOut(_) | Attempt::Silent(_)) => {
                Err(format!("cannot reconnect within {}", human(limit)))
            }
        }
    }
}

/// An open connection to the metadata store and what is known about how it was made. (The
/// word "session" in this module's messages is the database's own: the server-side state of
/// this connection.)
pub(crate) struct SqlConnection {
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
pub(crate) async fn connect(store: &StoreParams, cx: &StepCx) -> Result<SqlConnection, StepError> {
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
    let mut connection = match store.backend {
        Backend::PostgresStore => pg_connect::connect(store, cx).await,
        Backend::MysqlStore => my_connect::connect(store, cx).await,
    }?;
    let tls = &store.tls;
    if tls.cert_path.is_empty() != tls.key_path.is_empty() {
        connection.notes.push(
            "only one of backend_tls.cert_path and backend_tls.key_path is set: metasrv sends no \
             client certificate"
                .into(),
        );
    }
    Ok(connection)
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

/// The first-answer deadline of a connection: the run's (`cx.answer`), capped by a smaller
/// limit of metasrv's own (`cap`: what names it, and its value), and by the time the step has
/// left.
pub(super) fn answer_deadline(cx: &StepCx, cap: Option<(String, Duration)>) -> AnswerDeadline {
    let mut deadline = cx.answer.clone();
    if let Some((set_by, limit)) = cap {
        if limit < deadline.limit {
            deadline = AnswerDeadline { limit, set_by };
        }
    }
    let left = budget(cx);
    if left < deadline.limit {
        deadline = AnswerDeadline {
            limit: left,
            set_by: "what is left of the check's timeout".into(),
        };
    }
    deadline
}

/// Opens a first connection with `opts` under `deadline`: a server that has not completed the
/// connection by then is judged silent, with the kind of silence a witness at `addr`
/// (`host:port`, `None` for a Unix socket) saw. Nothing is retried.
pub(super) async fn first_attempt(
    opts: &ConnectOpts,
    deadline: &AnswerDeadline,
    addr: Option<&str>,
) -> Result<SqlConn, Attempt> {
    let answered = match opts {
        ConnectOpts::Pg(opts) => {
            let tls = !matches!(opts.get_ssl_mode(), PgSslMode::Disable);
            let connect = opts.connect();
            pg_first_answer(deadline, addr, tls, connect)
                .await
                .map(|r| r.map(SqlConn::Pg))
        }
        ConnectOpts::My(opts) => first_answer(deadline, addr.map(Witness::plain), opts.connect())
            .await
            .map(|r| r.map(SqlConn::My)),
    };
    match answered {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(Attempt::Failed(e)),
        Err(no) => Err(Attempt::Silent(no)),
    }
}

/// Opens one connection with `opts` within `limit`.
pub(super) async fn attempt(opts: &ConnectOpts, limit: Duration) -> Result<SqlConn, Attempt> {
    let connect = async {
        match opts {
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

/// Time this step may still use: what is left before the deadline, less a little (5%, at
/// most 100 ms) so that the step's own, more precise timeout error reaches the engine before
/// the engine's deadline cancels it.
pub(crate) fn budget(cx: &StepCx) -> Duration {
    let left = cx.remaining();
    left.saturating_sub((left / 20).min(Duration::from_millis(100)))
}

/// Runs SQL text unprepared: PostgreSQL's simple protocol (DDL, transaction control, SET;
/// several statements may be separated by `;`) or MySQL's text protocol (one statement, which
/// may be one the server cannot prepare, such as KILL). Not an `async fn`: rustc cannot show
/// such a future, generic over the connection, to be `Send` inside the cleanup futures the
/// engine spawns; the declared bound can.
pub(crate) fn exec<'c, C>(
    conn: &'c mut C,
    sql: &'c str,
) -> impl Future<Output = Result<(), sqlx::Error>> + Send + 'c
where
    &'c mut C: Executor<'c>,
{
    conn.execute(sql).map_ok(drop)
}

/// Fetches the rows of one MySQL statement sent with the text protocol (SHOW).
pub(crate) async fn my_fetch_all(
    conn: &mut MySqlConnection,
    sql: &str,
) -> Result<Vec<sqlx::mysql::MySqlRow>, sqlx::Error> {
    Executor::fetch_all(&mut *conn, sql).await
}

/// Connects as metasrv would, runs `check` on the connection within the step's deadline
/// (`what` names the work in a timeout error), then closes the connection.
pub(crate) async fn with_connection<T>(
    store: &StoreParams,
    cx: &StepCx,
    what: &str,
    check: impl AsyncFnOnce(&mut SqlConnection) -> Result<T, StepError>,
) -> Result<T, StepError> {
    let mut connection = connect(store, cx).await?;
    let result = within(cx, what, check(&mut connection)).await;
    connection.conn.close().await;
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
