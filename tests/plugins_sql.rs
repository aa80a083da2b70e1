//! `sql.*` steps against the real PostgreSQL 15 and MariaDB servers started by
//! `scripts/services.sh` (`GST_PG_*`, `GST_MYSQL_*`, `GST_TLS_*`). A missing variable fails the
//! test under CI=true and skips it otherwise.
//!
//! Every test that needs tables or schemas creates its own, named `gst_<uuid>`, through the
//! admin URL and drops them at the end, so the tests run concurrently. After each scenario,
//! passing or failing, the test lists the store through the admin URL: no object named after
//! the run id may remain, the fixture tables must hold exactly the rows they held before, and
//! the objects a failing check must not create are absent.

use std::collections::BTreeSet;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::str::FromStr;
use std::time::Duration;

use crate::common;

use common::steps::{closed_port, run_cleanup, run_step, step, TestCx};
use futures::FutureExt;
use greptime_self_test::config::Component;
use greptime_self_test::plugins::answer::{AnswerDeadline, Silence};
use greptime_self_test::plugins::{CleanupRegistry, ErrorKind, StepError, StepOutput};
use serde_json::{json, Value};
use sqlx::mysql::MySqlConnection;
use sqlx::postgres::PgConnection;
use sqlx::{
    ColumnIndex, ConnectOptions, Connection, Database, Decode, Encode, Executor, IntoArguments,
    Row, Type,
};

/// metasrv's `backend` for PostgreSQL.
const PG: &str = "postgres_store";
/// metasrv's `backend` for MySQL.
const MY: &str = "mysql_store";

/// A unique lower-case id for names and run ids.
pub(crate) fn uid() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..16].to_string()
}

/// Step parameters: `backend`, `url` as `store_addr`, and the parameters in `extra`.
fn store_params(backend: &str, url: &str, extra: Value) -> Value {
    let mut params = json!({"backend": backend, "store_addr": url});
    params
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    params
}

/// Runs a step in a fresh context with `budget` until its deadline, then its cleanup.
async fn run_within(
    name: &str,
    params: Value,
    run_id: &str,
    read_only: bool,
    budget: Duration,
) -> Result<StepOutput, StepError> {
    let cleanup = CleanupRegistry::default();
    let cx = TestCx::new(Component::Metasrv, run_id)
        .budget(budget)
        .read_only(read_only)
        .cleanup(&cleanup)
        .build();
    let result = run_step(name, params, &cx).await;
    run_cleanup(&cleanup).await;
    result
}

/// The steps of one backend, run under one run id: what every scenario below repeats.
pub(crate) struct Scenario {
    backend: &'static str,
    run_id: String,
}

impl Scenario {
    pub(crate) fn pg(run_id: impl Into<String>) -> Self {
        Self {
            backend: PG,
            run_id: run_id.into(),
        }
    }

    pub(crate) fn mysql(run_id: impl Into<String>) -> Self {
        Self {
            backend: MY,
            run_id: run_id.into(),
        }
    }

    /// Step parameters for this backend: `url` as `store_addr`, and `extra`.
    pub(crate) fn params(&self, url: &str, extra: Value) -> Value {
        store_params(self.backend, url, extra)
    }

    /// Runs a step in a fresh context with a 20 s budget.
    pub(crate) async fn run(
        &self,
        name: &str,
        params: Value,
        read_only: bool,
    ) -> Result<StepOutput, StepError> {
        run_within(
            name,
            params,
            &self.run_id,
            read_only,
            Duration::from_secs(20),
        )
        .await
    }

    /// Runs a step that must succeed and returns its output.
    pub(crate) async fn ok(&self, name: &str, params: Value) -> Value {
        match self.run(name, params, false).await {
            Ok(out) => out.value,
            Err(e) => panic!(
                "{name} failed: {:?}: {} (hint: {:?})",
                e.kind, e.message, e.hint
            ),
        }
    }

    /// Runs a step that must fail with `kind`, its message or hint naming each of `needles`,
    /// and returns the error.
    pub(crate) async fn fails(
        &self,
        name: &str,
        params: Value,
        kind: ErrorKind,
        needles: &[&str],
    ) -> StepError {
        match self.run(name, params, false).await {
            Ok(out) => panic!("{name} passed, expected {kind:?}: {}", out.value),
            Err(e) => {
                assert_eq!(e.kind, kind, "{name}: {} (hint: {:?})", e.message, e.hint);
                assert_mentions(&text(&e), needles);
                e
            }
        }
    }
}

/// The error text a person reads: message and hint.
pub(crate) fn text(e: &StepError) -> String {
    format!("{} | {}", e.message, e.hint.as_deref().unwrap_or(""))
}

/// Asserts `text` contains each of `needles`.
pub(crate) fn assert_mentions(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "{needle}: {text}");
    }
}

/// The password of a URL (`scheme://user:password@…`).
pub(crate) fn password_of(url: &str) -> String {
    let rest = url.split_once("://").unwrap().1;
    let userinfo = rest.split('@').next().unwrap();
    userinfo
        .split_once(':')
        .map(|(_, p)| p.to_string())
        .unwrap_or_default()
}

/// `url` with another password.
fn with_password(url: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (userinfo, host) = rest.split_once('@').unwrap();
    let user = userinfo.split(':').next().unwrap();
    format!("{scheme}://{user}:{password}@{host}")
}

/// `url` with another path (database), keeping the query.
pub(crate) fn with_database(url: &str, database: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let query = tail
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    format!("{scheme}://{authority}/{database}{query}")
}

/// `url` with `param` appended to its query.
fn with_param(url: &str, param: &str) -> String {
    if url.contains('?') {
        format!("{url}&{param}")
    } else {
        format!("{url}?{param}")
    }
}

/// `url` pointing at another port.
fn with_port(url: &str, port: u16) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (userinfo, hostpath) = rest.split_once('@').unwrap();
    let (hostport, path) = hostpath.split_once('/').unwrap_or((hostpath, ""));
    let host = hostport.rsplit_once(':').map_or(hostport, |(h, _)| h);
    format!("{scheme}://{userinfo}@{host}:{port}/{path}")
}

/// Asserts no message or hint repeats `password`.
fn assert_no_password(e: &StepError, password: &str) {
    assert!(!password.is_empty());
    assert!(!text(e).contains(password), "password leaked: {}", text(e));
}

/// Runs `body`, then `cleanup`, even when `body` panics.
pub(crate) async fn guarded<C: Future<Output = ()>>(body: impl Future<Output = ()>, cleanup: C) {
    let outcome = AssertUnwindSafe(body).catch_unwind().await;
    cleanup.await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

// ------------------------------------------------------------------------------------------
// Fixtures, through the admin URL of either server

/// What a scenario must not change: the objects whose names contain a needle, and every row
/// (k, v) of the fixture tables.
type State = (BTreeSet<String>, Vec<Vec<(Vec<u8>, Vec<u8>)>>);

/// An admin connection to `database` of the server `admin_url` names.
pub(crate) async fn admin<C: Connection>(admin_url: &str, database: &str) -> C {
    C::Options::from_str(&with_database(admin_url, database))
        .unwrap()
        .disable_statement_logging()
        .connect()
        .await
        .unwrap_or_else(|e| panic!("admin connection to {database}: {e}"))
}

/// Runs `sql` on an admin connection, then closes it.
pub(crate) async fn exec<C>(mut conn: C, sql: &str)
where
    C: Connection,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
{
    conn.execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    conn.close().await.ok();
}

/// The [`State`] seen on an admin connection: `objects` lists the names that contain its one
/// parameter, `rows_of` is the query of a fixture table's rows in key order.
async fn state<C, DB>(
    mut conn: C,
    objects: &str,
    rows_of: impl Fn(&str) -> String,
    needles: &[&str],
    tables: &[&str],
) -> State
where
    DB: Database,
    C: Connection<Database = DB>,
    for<'c> &'c mut C: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> Vec<u8>: Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    let mut names = BTreeSet::new();
    for needle in needles {
        let rows = sqlx::query(objects)
            .bind(*needle)
            .fetch_all(&mut conn)
            .await
            .unwrap();
        names.extend(rows.iter().map(|r| r.get::<String, _>(0)));
    }
    let mut contents = Vec::new();
    for table in tables {
        let rows = sqlx::query(&rows_of(table))
            .fetch_all(&mut conn)
            .await
            .unwrap();
        contents.push(rows.iter().map(|r| (r.get(0), r.get(1))).collect());
    }
    conn.close().await.ok();
    (names, contents)
}

/// An admin connection to PostgreSQL's `greptime_meta` database.
pub(crate) async fn pg_admin(admin_url: &str) -> PgConnection {
    admin(admin_url, "greptime_meta").await
}

pub(crate) async fn pg_exec(admin_url: &str, sql: &str) {
    exec(pg_admin(admin_url).await, sql).await;
}

/// Schemas and tables of `greptime_meta` whose names contain any of `needles`, plus every
/// row of the given fixture tables (qualified).
async fn pg_state(admin_url: &str, needles: &[&str], tables: &[&str]) -> State {
    state(
        pg_admin(admin_url).await,
        "SELECT 'schema ' || nspname FROM pg_namespace WHERE position($1 in nspname) > 0 \
         UNION ALL SELECT 'table ' || n.nspname || '.' || c.relname FROM pg_class c \
           JOIN pg_namespace n ON n.oid = c.relnamespace \
           WHERE position($1 in c.relname) > 0 AND c.relkind IN ('r', 'p') \
             AND c.relpersistence <> 't'",
        |table| format!("SELECT k, v FROM {table} ORDER BY k"),
        needles,
        tables,
    )
    .await
}

/// An admin connection to MySQL's `greptime` database.
pub(crate) async fn my_admin(admin_url: &str) -> MySqlConnection {
    admin(admin_url, "greptime").await
}

pub(crate) async fn my_exec(admin_url: &str, sql: &str) {
    exec(my_admin(admin_url).await, sql).await;
}

/// Creates `table` in `greptime` with metasrv's MySQL layout, column `v` of type `v_type`.
async fn my_create_table(admin_url: &str, table: &str, v_type: &str) {
    my_exec(
        admin_url,
        &format!("CREATE TABLE `{table}`(k VARBINARY(3072) PRIMARY KEY, v {v_type})"),
    )
    .await;
}

/// Tables of the `greptime` database whose names contain any of `needles`, plus every row
/// of the given fixture tables.
async fn my_state(admin_url: &str, needles: &[&str], tables: &[&str]) -> State {
    state(
        my_admin(admin_url).await,
        "SELECT CAST(TABLE_NAME AS CHAR) FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = 'greptime' AND LOCATE(?, TABLE_NAME) > 0",
        |table| format!("SELECT k, v FROM `{table}` ORDER BY k"),
        needles,
        tables,
    )
    .await
}

// ------------------------------------------------------------------------------------------
// Parameters

#[test]
fn params_are_strict() {
    let connect = step("sql.connect");
    assert!(connect
        .check_params(&json!({"backend": "etcd_store", "store_addr": "x"}))
        .is_err());
    assert!(connect
        .check_params(
            &json!({"backend": "mysql_store", "store_addr": "x", "tls": {"mode": "verify-ca"}})
        )
        .is_err());
    assert!(connect
        .check_params(&json!({"backend": "mysql_store", "store_addr": "x", "timeout": "1s"}))
        .is_err());
    // metasrv's whole [backend_tls] table is accepted, `watch` included.
    assert!(connect
        .check_params(&json!({"backend": "postgres_store", "store_addr": "x",
            "tls": {"mode": "verify_full", "ca_cert_path": "", "cert_path": "", "key_path": "", "watch": false}}))
        .is_ok());
    assert!(step("sql.metadata_table")
        .check_params(&json!({"backend": "postgres_store", "store_addr": "x", "schema": null}))
        .is_ok());
}

// ------------------------------------------------------------------------------------------
// Silent stores: the first-answer deadline

/// The first-answer deadline of these tests (`--answer-timeout 1s`).
const ANSWER: Duration = Duration::from_secs(1);

/// The longest a verdict within a first-answer deadline of `deadline` may take.
fn within_deadline(deadline: Duration) -> Duration {
    deadline.mul_f64(1.2) + Duration::from_millis(500)
}

/// A server on 127.0.0.1 that hands every connection it accepts to `answer`; its port.
async fn serve<F, Fut>(answer: F) -> u16
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(answer(socket));
        }
    });
    port
}

/// Holds a connection open without a word.
async fn say_nothing(socket: tokio::net::TcpStream) {
    tokio::time::sleep(Duration::from_secs(60)).await;
    drop(socket);
}

/// Answers a PostgreSQL SSLRequest with `S` (TLS accepted), then says nothing more.
async fn agree_to_tls_then_stall(mut socket: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut request = [0u8; 8];
    if socket.read_exact(&mut request).await.is_ok() && request[4..] == [0x04, 0xd2, 0x16, 0x2f] {
        let _ = socket.write_all(b"S").await;
    }
    say_nothing(socket).await;
}

/// A port on 127.0.0.1 whose connections are never answered, not even with a SYN-ACK: a
/// listener with a backlog of 0, its accept queue filled by one connection and never
/// accepted, so that Linux drops every further SYN. The returned sockets must live as long
/// as the port is used.
async fn black_holed() -> (u16, tokio::net::TcpListener, std::net::TcpStream) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let filler = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).unwrap();
    assert!(
        std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_err(),
        "the full accept queue should drop further connections"
    );
    (addr.port(), listener, filler)
}

/// Runs `sql.connect` with a first-answer deadline of `answer` (`--answer-timeout`) and a
/// budget of `budget`; the error and how long the verdict took.
async fn connect_silently(
    backend: &str,
    store_addr: &str,
    answer: Option<Duration>,
    budget: Duration,
) -> (StepError, Duration) {
    let mut cx = TestCx::new(Component::Metasrv, &format!("silent-{}", uid()))
        .budget(budget)
        .build();
    if let Some(answer) = answer {
        cx = cx.with_answer(AnswerDeadline::from_run(answer));
    }
    let started = std::time::Instant::now();
    let result = run_step(
        "sql.connect",
        store_params(backend, store_addr, json!({})),
        &cx,
    )
    .await;
    let took = started.elapsed();
    match result {
        Ok(out) => panic!("sql.connect to {store_addr} passed: {}", out.value),
        Err(e) => {
            assert_no_password(&e, "secret-pw");
            (e, took)
        }
    }
}

/// Asserts the kind, the silence and the words of a verdict on a silent store.
fn assert_silence(e: &StepError, kind: ErrorKind, silence: Silence, needles: &[&str]) {
    assert_eq!(e.kind, kind, "{}", text(e));
    assert_eq!(e.silence, Some(silence), "{}", text(e));
    assert_mentions(&text(e), needles);
}

/// A server that accepts the connection and never says a word is judged within the
/// first-answer deadline, whatever the step's budget, and the verdict says what metasrv would
/// do: its MySQL pool gives up after sqlx's 30 s, its PostgreSQL driver never does.
#[tokio::test]
async fn silent_servers_are_judged_within_the_answer_deadline() {
    let port = serve(say_nothing).await;
    for (backend, scheme, greptimedb) in [
        (MY, "mysql", "default acquire_timeout of 30s"),
        (
            PG,
            "postgresql",
            "waits for the start-up with no time limit",
        ),
    ] {
        let url = format!("{scheme}://u:secret-pw@127.0.0.1:{port}/db");
        let (e, took) =
            connect_silently(backend, &url, Some(ANSWER), Duration::from_secs(20)).await;
        assert_silence(
            &e,
            ErrorKind::Timeout,
            Silence::AcceptedSilent,
            &[
                &format!("127.0.0.1:{port} accepted the connection but sent no answer"),
                "within 1s (`--answer-timeout`)",
                greptimedb,
                "no GreptimeDB key",
            ],
        );
        assert!(took < within_deadline(ANSWER), "{backend}: {took:?}");
    }

    // A smaller connect_timeout in the connection string caps the default 5 s deadline, and
    // the verdict says that it bounds only metasrv's TCP connect.
    let keywords =
        format!("host=127.0.0.1 port={port} user=u password=secret-pw connect_timeout=1");
    let (e, took) = connect_silently(PG, &keywords, None, Duration::from_secs(20)).await;
    assert_silence(
        &e,
        ErrorKind::Timeout,
        Silence::AcceptedSilent,
        &[
            "within 1s (`connect_timeout=1` of store_addrs[0]",
            "connect_timeout=1 of store_addrs[0] bounds the TCP connect only",
        ],
    );
    assert!(took < within_deadline(Duration::from_secs(1)), "{took:?}");

    // A step budget shorter than the deadline ends the wait first, and says so.
    let url = format!("postgresql://u:secret-pw@127.0.0.1:{port}/db");
    let (e, took) = connect_silently(PG, &url, None, Duration::from_millis(1500)).await;
    assert_silence(
        &e,
        ErrorKind::Timeout,
        Silence::AcceptedSilent,
        &["what is left of the check's timeout"],
    );
    assert!(took < Duration::from_millis(1500), "{took:?}");
}

/// A PostgreSQL server that agrees to TLS and then stalls the handshake is named as such.
#[tokio::test]
async fn pg_a_stalled_tls_handshake_is_named() {
    let port = serve(agree_to_tls_then_stall).await;
    let url = format!("postgresql://u:secret-pw@127.0.0.1:{port}/db?sslmode=require");
    let (e, took) = connect_silently(PG, &url, Some(ANSWER), Duration::from_secs(20)).await;
    assert_silence(
        &e,
        ErrorKind::Timeout,
        Silence::TlsStalled,
        &["did not answer the TLS handshake within 1s"],
    );
    assert!(took < within_deadline(ANSWER), "{took:?}");
}

/// A closed port is judged at once, refused, with what metasrv does about it: its MySQL pool
/// retries for 30 s, its PostgreSQL driver gives up (or tries the next host).
#[tokio::test]
async fn refused_connections_are_judged_at_once() {
    let port = closed_port();
    for (backend, scheme, greptimedb) in [
        (
            MY,
            "mysql",
            "retries a refused connection until sqlx's default acquire_timeout of 30s",
        ),
        (PG, "postgresql", "gives up on a refused host at once"),
    ] {
        let url = format!("{scheme}://u:secret-pw@127.0.0.1:{port}/db");
        let (e, took) =
            connect_silently(backend, &url, Some(ANSWER), Duration::from_secs(20)).await;
        assert_silence(
            &e,
            ErrorKind::Unreachable,
            Silence::Refused,
            &["connection refused", greptimedb],
        );
        assert!(took < ANSWER, "{backend}: {took:?}");
    }
}

/// A port that answers no SYN is judged black-holed within the deadline; without a
/// connect_timeout, metasrv's PostgreSQL driver would wait for the kernel.
#[tokio::test]
async fn black_holed_servers_are_named() {
    let (port, _listener, _filler) = black_holed().await;
    for (backend, scheme, greptimedb) in [
        (MY, "mysql", "default acquire_timeout of 30s"),
        (PG, "postgresql", "sets no connect_timeout"),
    ] {
        let url = format!("{scheme}://u:secret-pw@127.0.0.1:{port}/db");
        let (e, took) =
            connect_silently(backend, &url, Some(ANSWER), Duration::from_secs(20)).await;
        assert_silence(
            &e,
            ErrorKind::Timeout,
            Silence::BlackHoled,
            &[
                "did not answer the TCP connection within 1s",
                "black-holed",
                greptimedb,
            ],
        );
        assert!(took < within_deadline(ANSWER), "{backend}: {took:?}");
    }
}

/// Several PostgreSQL hosts that all stay silent are judged within one deadline, not one per
/// host, and every host is named.
#[tokio::test]
async fn pg_hosts_all_silent_are_judged_within_one_deadline() {
    let silent = [serve(say_nothing).await, serve(say_nothing).await];
    let (dark, _listener, _filler) = black_holed().await;
    let ports = [silent[0], silent[1], dark];
    let keywords = format!(
        "host=127.0.0.1,127.0.0.1,127.0.0.1 port={},{},{} user=u password=secret-pw",
        ports[0], ports[1], ports[2]
    );
    let (e, took) = connect_silently(PG, &keywords, Some(ANSWER), Duration::from_secs(20)).await;
    // The last host's verdict, as tokio-postgres reports the last error, the others listed.
    assert_silence(
        &e,
        ErrorKind::Timeout,
        Silence::BlackHoled,
        &[
            &format!("127.0.0.1:{dark} did not answer the TCP connection"),
            &format!("also tried 127.0.0.1:{} accepted the connection", silent[0]),
            &format!("127.0.0.1:{} accepted the connection", silent[1]),
        ],
    );
    assert!(took < within_deadline(ANSWER), "{took:?}");
}

/// `url` with its host and port replaced by 127.0.0.1 and each of `ports`, in order.
fn with_hosts(url: &str, ports: &[u16]) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (userinfo, hostpath) = rest.split_once('@').unwrap();
    let path = hostpath.split_once('/').map_or("", |(_, p)| p);
    let hosts: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    format!("{scheme}://{userinfo}@{}/{path}", hosts.join(","))
}

/// Hosts are tried at once but taken in order, as tokio-postgres tries them: a refused first
/// host is passed over with a note (metasrv moves on too), a silent one fails the check
/// (metasrv would wait on it forever and never reach the healthy host).
#[tokio::test]
async fn pg_a_silent_first_host_holds_metasrv_and_a_refused_one_does_not() {
    let (rw,) = need!("GST_PG_RW_URL");
    let password = password_of(&rw);
    let real = port_of(&rw);
    let pg = Scenario::pg(format!("pg-hosts-{}", uid()));

    let refused = closed_port();
    let out = pg
        .ok(
            "sql.connect",
            pg.params(&with_hosts(&rw, &[refused, real]), json!({})),
        )
        .await;
    assert_eq!(out["endpoint"], format!("127.0.0.1:{real}"));
    let notes = out["notes"].to_string();
    assert_mentions(
        &notes,
        &[
            &format!("cannot connect to 127.0.0.1:{refused}: connection refused"),
            &format!("metasrv, too, moves on and connects to 127.0.0.1:{real}"),
        ],
    );

    let silent = serve(say_nothing).await;
    let mut cx = TestCx::new(Component::Metasrv, &pg.run_id)
        .budget(Duration::from_secs(20))
        .build();
    cx = cx.with_answer(AnswerDeadline::from_run(ANSWER));
    let started = std::time::Instant::now();
    let e = run_step(
        "sql.connect",
        pg.params(&with_hosts(&rw, &[silent, real]), json!({})),
        &cx,
    )
    .await
    .unwrap_err();
    assert_silence(
        &e,
        ErrorKind::Timeout,
        Silence::AcceptedSilent,
        &[
            &format!("127.0.0.1:{silent} accepted the connection"),
            &format!("never reaching 127.0.0.1:{real}"),
        ],
    );
    assert!(started.elapsed() < within_deadline(ANSWER));
    assert_no_password(&e, &password);
}

/// The connection faults every backend must name, connecting as `rw` otherwise: nothing
/// listening, a wrong password (the message must hold `refusal`, the server's words for it),
/// and a database that does not exist (checked with `missing_db_step`). No message repeats a
/// password.
async fn assert_connection_faults_named(
    s: &Scenario,
    rw: &str,
    refusal: &str,
    missing_db_step: &str,
) {
    let password = password_of(rw);
    let down = with_port(rw, closed_port());
    let e = s
        .fails(
            "sql.connect",
            s.params(&down, json!({})),
            ErrorKind::Unreachable,
            &["connection refused"],
        )
        .await;
    assert_no_password(&e, &password);

    let wrong = with_password(rw, "not-the-password");
    let e = s
        .fails(
            "sql.connect",
            s.params(&wrong, json!({})),
            ErrorKind::Rejected,
            &["wrong user or password in store_addrs"],
        )
        .await;
    assert_mentions(&e.message, &[refusal]);
    assert_no_password(&e, "not-the-password");

    let missing_db = format!("gst_missing_{}", uid());
    let e = s
        .fails(
            missing_db_step,
            s.params(&with_database(rw, &missing_db), json!({})),
            ErrorKind::Rejected,
            &["CREATE DATABASE"],
        )
        .await;
    assert_mentions(
        &e.message,
        &[&format!("database `{missing_db}` does not exist")],
    );
    assert_no_password(&e, &password);
}

// ------------------------------------------------------------------------------------------
// PostgreSQL

#[tokio::test]
async fn pg_healthy_store_passes_and_leaves_nothing() {
    let (admin, rw) = need!("GST_PG_ADMIN_URL", "GST_PG_RW_URL");
    let id = uid();
    let table = format!("gst_{id}");
    let pg = Scenario::pg(format!("pg-ok-{id}"));
    let before = pg_state(&admin, &[&id], &[]).await;

    let out = pg.ok("sql.connect", pg.params(&rw, json!({}))).await;
    assert_eq!(out["backend"], "postgres_store");
    assert_eq!(out["user"], "gt_rw");
    assert_eq!(out["database"], "greptime_meta");
    assert!(out["version_num"].as_u64().unwrap() >= 150_000, "{out}");
    assert!(out["server_version"].as_str().unwrap().starts_with("15"));
    assert_eq!(out["election_supported"], true);
    assert_eq!(out["version_warning"], Value::Null);
    assert_eq!(out["is_mariadb"], false);
    // sslmode defaults to prefer and the server offers TLS.
    assert_eq!(out["tls"], true, "{out}");
    assert_eq!(out["address_form"], "uri");
    assert!(out["connect_ms"].as_f64().unwrap() > 0.0);

    let params = pg.params(&rw, json!({"table": table}));
    let out = pg.ok("sql.metadata_table", params.clone()).await;
    assert_eq!(out["table_exists"], false);
    assert_eq!(out["can_create_table"], true);
    assert_eq!(out["schema"], "public");
    assert_eq!(out["schema_source"], "search_path");
    assert_eq!(out["v_is_blob"], false);

    let out = pg.ok("sql.privileges", params.clone()).await;
    assert_eq!(out["method"], "rolled_back_transaction");
    assert_eq!(out["read_only"], false);
    assert_eq!(
        out["proven"],
        json!(["create_table", "insert", "update", "select", "delete"])
    );
    assert_eq!(out["create_schema"], Value::Null);
    assert_eq!(out["read_back"], true);
    assert_eq!(
        out["probe_key"],
        format!("__greptime_self_test/{}", pg.run_id)
    );

    let out = pg
        .ok(
            "sql.election",
            pg.params(
                &rw,
                json!({"table": table, "lock_id": 7_000_000_001u64, "key_prefix": ""}),
            ),
        )
        .await;
    assert_eq!(out["lock_held"], false);
    assert_eq!(out["election_table_exists"], false);
    assert_eq!(out["election_leader"], Value::Null);
    assert_eq!(out["idle_session_timeout_supported"], true);
    assert!(out.get("session_settings_accepted").is_none(), "{out}");

    let out = pg
        .ok(
            "sql.latency",
            pg.params(
                &rw,
                json!({"table": table, "operations": 20, "value_size": 64}),
            ),
        )
        .await;
    assert_eq!(out["operations"], 20);
    assert_eq!(out["temporary"], true);
    for kind in ["upsert", "select"] {
        let p50 = out[format!("{kind}_p50_ms")].as_f64().unwrap();
        let max = out[format!("{kind}_max_ms")].as_f64().unwrap();
        assert!(p50 > 0.0 && p50 <= max, "{out}");
    }

    assert_eq!(
        pg_state(&admin, &[&id], &[]).await,
        before,
        "the checks left something"
    );
}

#[tokio::test]
async fn pg_existing_table_rows_are_unchanged_and_read_only_writes_nothing() {
    let (admin, rw) = need!("GST_PG_ADMIN_URL", "GST_PG_RW_URL");
    let id = uid();
    let schema = format!("gst_{id}");
    let table = format!("gst_{id}");
    let qualified = format!("\"{schema}\".\"{table}\"");
    let prefix = format!("gst-{id}/");
    pg_exec(
        &admin,
        &format!(
            "CREATE SCHEMA \"{schema}\" AUTHORIZATION gt_rw; \
             CREATE TABLE {qualified}(k bytea PRIMARY KEY, v bytea); \
             ALTER TABLE {qualified} OWNER TO gt_rw; \
             INSERT INTO {qualified} VALUES ('\\x00ff'::bytea, '\\xdeadbeef'::bytea), \
               (convert_to('__greptime_self_test/other-run', 'UTF8'), 'keep me'::bytea), \
               (convert_to('{prefix}__metasrv_election', 'UTF8'), convert_to('10.9.8.7:3002' || \
                 '||__metadata_lease_sep||' || TO_CHAR((CURRENT_TIMESTAMP AT TIME ZONE \
                 current_setting('log_timezone')) + INTERVAL '60 seconds', 'YYYY-MM-DD HH24:MI:SS.MS'), 'UTF8')), \
               (convert_to('{prefix}__metasrv_election_candidates/10.9.8.7:3002', 'UTF8'), convert_to('{{}}' || \
                 '||__metadata_lease_sep||' || TO_CHAR((CURRENT_TIMESTAMP AT TIME ZONE \
                 current_setting('log_timezone')) + INTERVAL '600 seconds', 'YYYY-MM-DD HH24:MI:SS.MS'), 'UTF8'))"
        ),
    )
    .await;
    let body = async {
        let pg = Scenario::pg(format!("pg-exist-{id}"));
        let before = pg_state(&admin, &[&id, &pg.run_id], &[&qualified]).await;
        let params = pg.params(
            &rw,
            json!({"table": table, "schema": schema, "auto_create_schema": true}),
        );

        let out = pg.ok("sql.metadata_table", params.clone()).await;
        assert_eq!(out["table_exists"], true);
        assert_eq!(out["schema_exists"], true);
        assert_eq!(out["can_create_schema"], true);
        assert_eq!(out["k_type"], "bytea");
        assert_eq!(out["v_type"], "bytea");
        assert_eq!(out["k_is_unique"], true);
        assert_eq!(out["qualified_table"], qualified);

        let out = pg.ok("sql.privileges", params.clone()).await;
        assert_eq!(
            out["proven"],
            json!([
                "create_schema",
                "create_table",
                "insert",
                "update",
                "select",
                "delete"
            ])
        );
        assert_eq!(out["table_existed"], true);
        assert_eq!(
            pg_state(&admin, &[&id, &pg.run_id], &[&qualified]).await,
            before
        );

        // Read-only: SELECT proven, the rest from the catalog, nothing written.
        let out = pg
            .run("sql.privileges", params.clone(), true)
            .await
            .expect("read-only privileges")
            .value;
        assert_eq!(out["read_only"], true);
        assert_eq!(out["method"], "privilege_catalog");
        assert_eq!(out["proven"], json!(["select"]));
        assert_eq!(
            out["granted"],
            json!([
                "create_schema",
                "create_table",
                "insert",
                "update",
                "delete"
            ])
        );
        let out = pg
            .run(
                "sql.latency",
                pg.params(
                    &rw,
                    json!({"table": table, "schema": schema, "operations": 10}),
                ),
                true,
            )
            .await
            .expect("read-only latency")
            .value;
        assert_eq!(out["read_only"], true);
        assert_eq!(out["upsert_p50_ms"], Value::Null);
        assert_eq!(out["select_operations"], 10);

        let out = pg
            .ok(
                "sql.election",
                pg.params(
                    &rw,
                    json!({"table": table, "schema": schema, "lock_id": 7_000_000_002u64, "key_prefix": prefix}),
                ),
            )
            .await;
        assert_eq!(out["election_table_exists"], true);
        assert_eq!(out["election_leader"], "10.9.8.7:3002");
        assert_eq!(out["leader_expired"], false);
        let left = out["leader_expires_in_ms"].as_i64().unwrap();
        assert!((30_000..=61_000).contains(&left), "{out}");
        assert_eq!(out["candidates"], json!(["10.9.8.7:3002"]));

        assert_eq!(
            pg_state(&admin, &[&id, &pg.run_id], &[&qualified]).await,
            before
        );
    };
    guarded(
        body,
        pg_exec(&admin, &format!("DROP SCHEMA \"{schema}\" CASCADE")),
    )
    .await;
}

#[tokio::test]
async fn pg_connection_faults_are_named() {
    let (rw,) = need!("GST_PG_RW_URL");
    let password = password_of(&rw);
    let pg = Scenario::pg(format!("pg-faults-{}", uid()));
    assert_connection_faults_named(
        &pg,
        &rw,
        "password authentication failed for user `gt_rw`",
        "sql.metadata_table",
    )
    .await;

    // sslmode values tokio-postgres does not know make metasrv fail to start.
    pg.fails(
        "sql.connect",
        pg.params(&with_param(&rw, "sslmode=verify-full"), json!({})),
        ErrorKind::Misconfigured,
        &["invalid value for option `sslmode`"],
    )
    .await;
    let e = pg
        .fails(
            "sql.connect",
            pg.params(&with_param(&rw, "sslrootcert=/ca.pem"), json!({})),
            ErrorKind::Misconfigured,
            &["unknown option `sslrootcert`"],
        )
        .await;
    assert_no_password(&e, &password);

    // An etcd-style address is no PostgreSQL connection string.
    pg.fails(
        "sql.connect",
        pg.params("127.0.0.1:2379", json!({})),
        ErrorKind::Misconfigured,
        &["postgresql://"],
    )
    .await;
}

#[tokio::test]
async fn pg_role_without_create_on_public_is_rejected() {
    let (admin, ro) = need!("GST_PG_ADMIN_URL", "GST_PG_RO_URL");
    let id = uid();
    let table = format!("gst_{id}");
    let pg = Scenario::pg(format!("pg-ro-{id}"));
    let before = pg_state(&admin, &[&id], &[]).await;
    let params = pg.params(&ro, json!({"table": table}));

    let e = pg
        .fails(
            "sql.metadata_table",
            params.clone(),
            ErrorKind::Rejected,
            &["CREATE", "schema \"public\"", "PostgreSQL 15", "gt_ro"],
        )
        .await;
    assert_mentions(
        e.hint.as_deref().unwrap(),
        &["GRANT CREATE ON SCHEMA \"public\" TO \"gt_ro\""],
    );

    let e = pg
        .fails(
            "sql.privileges",
            params.clone(),
            ErrorKind::Rejected,
            &[
                "CREATE on schema \"public\"",
                "PostgreSQL 15",
                "gt_ro",
                "permission denied for schema public",
            ],
        )
        .await;
    assert_no_password(&e, &password_of(&ro));

    // Read-only reaches the same verdict from the catalog.
    let e = pg.run("sql.privileges", params, true).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Rejected);
    assert_mentions(
        &text(&e),
        &[
            "CREATE on schema \"public\"",
            "PostgreSQL 15",
            "not granted",
        ],
    );

    assert_eq!(pg_state(&admin, &[&id], &[]).await, before);
}

#[tokio::test]
async fn pg_missing_schema_without_auto_create_is_rejected() {
    let (admin, rw) = need!("GST_PG_ADMIN_URL", "GST_PG_RW_URL");
    let id = uid();
    let schema = format!("gst_{id}");
    let pg = Scenario::pg(format!("pg-noschema-{id}"));
    let params = pg.params(
        &rw,
        json!({"table": "greptime_metakv", "schema": schema, "auto_create_schema": false}),
    );
    let missing = format!("schema \"{schema}\" does not exist");
    for name in ["sql.metadata_table", "sql.privileges"] {
        pg.fails(
            name,
            params.clone(),
            ErrorKind::Rejected,
            &[&missing, "auto_create_schema = false", "3F000"],
        )
        .await;
    }
    // With auto_create_schema the role (owner of the database) may create it, and the proof
    // creates nothing that survives.
    let params = pg.params(
        &rw,
        json!({"table": "greptime_metakv", "schema": schema, "auto_create_schema": true}),
    );
    let out = pg.ok("sql.metadata_table", params.clone()).await;
    assert_eq!(out["schema_exists"], false);
    assert_eq!(out["can_create_schema"], true);
    assert_eq!(out["can_create_table"], true);
    let out = pg.ok("sql.privileges", params).await;
    assert_eq!(out["create_schema"], true);
    assert_eq!(out["create_table"], true);
    assert!(
        pg_state(&admin, &[&id], &[]).await.0.is_empty(),
        "schema left behind"
    );
}

#[tokio::test]
async fn pg_tls_modes_follow_metasrv() {
    let (rw, tls_url, ca, wrong_ca) = need!(
        "GST_PG_RW_URL",
        "GST_PG_TLS_URL",
        "GST_TLS_CA",
        "GST_TLS_WRONG_CA"
    );
    let pg = Scenario::pg(format!("pg-tls-{}", uid()));

    // The server accepts gt_tls only over TLS (pg_hba hostssl / hostnossl reject).
    let plain = tls_url.replace("sslmode=require", "sslmode=disable");
    let e = pg
        .fails(
            "sql.connect",
            pg.params(&plain, json!({})),
            ErrorKind::Rejected,
            &[],
        )
        .await;
    assert_mentions(&e.message, &["only over TLS"]);
    assert_mentions(e.hint.as_deref().unwrap(), &["sslmode"]);
    assert_no_password(&e, &password_of(&tls_url));
    let out = pg.ok("sql.connect", pg.params(&tls_url, json!({}))).await;
    assert_eq!(out["tls"], true);
    assert_eq!(out["user"], "gt_tls");

    // backend_tls.mode = disable: metasrv cannot start (#7734), nothing is connected.
    let e = pg
        .fails(
            "sql.connect",
            pg.params(&rw, json!({"tls": {"mode": "disable"}})),
            ErrorKind::Misconfigured,
            &[],
        )
        .await;
    assert_mentions(
        &e.message,
        &["Cannot create TLS connector for Disable mode", "#7734"],
    );
    assert_mentions(e.hint.as_deref().unwrap(), &["sslmode"]);

    // verify_ca: the wrong CA is rejected naming ca_cert_path, the right one passes.
    pg.fails(
        "sql.connect",
        pg.params(
            &rw,
            json!({"tls": {"mode": "verify_ca", "ca_cert_path": wrong_ca}}),
        ),
        ErrorKind::Rejected,
        &["backend_tls.ca_cert_path", &wrong_ca],
    )
    .await;
    let out = pg
        .ok(
            "sql.connect",
            pg.params(
                &rw,
                json!({"tls": {"mode": "verify_ca", "ca_cert_path": ca}}),
            ),
        )
        .await;
    assert_eq!(out["tls"], true);
    assert!(
        out["tls_plan"].as_str().unwrap().contains("verify_ca"),
        "{out}"
    );
    // verify_full: the server certificate names 127.0.0.1 and localhost.
    let out = pg
        .ok(
            "sql.connect",
            pg.params(
                &rw.replace("127.0.0.1", "localhost"),
                json!({"tls": {"mode": "verify_full", "ca_cert_path": ca}}),
            ),
        )
        .await;
    assert_eq!(out["tls"], true);
    // sslmode=disable decides over any backend_tls mode: no TLS at all.
    let out = pg
        .ok(
            "sql.connect",
            pg.params(
                &with_param(&rw, "sslmode=disable"),
                json!({"tls": {"mode": "verify_full", "ca_cert_path": ca}}),
            ),
        )
        .await;
    assert_eq!(out["tls"], false);
    // A CA file that does not exist makes metasrv fail at start-up.
    pg.fails(
        "sql.connect",
        pg.params(
            &rw,
            json!({"tls": {"mode": "verify_ca", "ca_cert_path": "/nonexistent/ca.pem"}}),
        ),
        ErrorKind::Misconfigured,
        &["backend_tls.ca_cert_path"],
    )
    .await;
    // A Unix socket host with sslmode=prefer: InvalidDnsNameError in metasrv (#7734).
    pg.fails(
        "sql.connect",
        pg.params(
            "host=/var/run/postgresql user=gt_rw dbname=greptime_meta",
            json!({}),
        ),
        ErrorKind::Misconfigured,
        &["InvalidDnsNameError"],
    )
    .await;
}

#[tokio::test]
async fn pg_libpq_keyword_form_connects() {
    let (rw,) = need!("GST_PG_RW_URL");
    let password = password_of(&rw);
    let hostport = rw.split('@').nth(1).unwrap().split('/').next().unwrap();
    let (host, port) = hostport.rsplit_once(':').unwrap();
    let quoted = password.replace('\\', "\\\\").replace('\'', "\\'");
    let keywords = format!(
        "host={host} port={port} user=gt_rw password='{quoted}' dbname=greptime_meta \
         sslmode=disable connect_timeout=5 application_name=gst-test"
    );
    let pg = Scenario::pg(format!("pg-kw-{}", uid()));
    let out = pg.ok("sql.connect", pg.params(&keywords, json!({}))).await;
    assert_eq!(out["address_form"], "keywords");
    assert_eq!(out["tls"], false);
    assert_eq!(out["user"], "gt_rw");
    assert_eq!(out["database"], "greptime_meta");

    let wrong = keywords.replace(&format!("'{quoted}'"), "'wrong pass'");
    let e = pg
        .fails(
            "sql.connect",
            pg.params(&wrong, json!({})),
            ErrorKind::Rejected,
            &["wrong user or password in store_addrs"],
        )
        .await;
    assert!(!text(&e).contains("wrong pass"));
}

#[tokio::test]
async fn pg_advisory_lock_held_by_another_session_is_reported() {
    let (admin, rw) = need!("GST_PG_ADMIN_URL", "GST_PG_RW_URL");
    let lock_id: u64 =
        0x0000_0005_0000_0000 | (u64::from(uuid::Uuid::new_v4().as_fields().0) & 0xffff);
    let mut holder = pg_admin(&admin).await;
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut holder)
        .await
        .unwrap();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(lock_id as i64)
        .execute(&mut holder)
        .await
        .unwrap();
    let pg = Scenario::pg(format!("pg-lock-{}", uid()));
    let out = pg
        .ok(
            "sql.election",
            pg.params(
                &rw,
                json!({"lock_id": lock_id, "table": format!("gst_{}", uid())}),
            ),
        )
        .await;
    assert_eq!(out["lock_held"], true, "{out}");
    assert_eq!(out["held_by_pid"], pid);
    assert_eq!(out["election_leader"], Value::Null);
    assert!(
        out["notes"].to_string().contains("another application"),
        "{out}"
    );
    // Another lock id is free.
    let out = pg
        .ok(
            "sql.election",
            pg.params(&rw, json!({"lock_id": lock_id + 1})),
        )
        .await;
    assert_eq!(out["lock_held"], false);
    holder.close().await.ok();
}

// ------------------------------------------------------------------------------------------
// MySQL

#[tokio::test]
async fn mysql_healthy_store_passes_and_leaves_nothing() {
    let (admin, rw) = need!("GST_MYSQL_ADMIN_URL", "GST_MYSQL_RW_URL");
    let id = uid();
    let table = format!("gst_{id}");
    let my = Scenario::mysql(format!("my-ok-{id}"));
    let before = my_state(&admin, &[&id], &[]).await;

    let out = my.ok("sql.connect", my.params(&rw, json!({}))).await;
    assert_eq!(out["backend"], "mysql_store");
    assert_eq!(out["is_mariadb"], true);
    assert_eq!(out["user"], "gt_rw@%");
    assert_eq!(out["database"], "greptime");
    assert_eq!(
        out["tls"], true,
        "backend_tls prefer and a TLS server: {out}"
    );
    assert!(out["version_num"].as_u64().unwrap() >= 100_000);
    assert_eq!(out["election_supported"], false);
    let warning = out["version_warning"].as_str().unwrap();
    assert!(
        warning.contains("expected: [5.7, 8.0]") && warning.contains("max_execution_time"),
        "{warning}"
    );

    let params = my.params(&rw, json!({"table": table}));
    let out = my.ok("sql.metadata_table", params.clone()).await;
    assert_eq!(out["table_exists"], false);
    assert_eq!(out["can_create_table"], true);
    assert_eq!(out["can_alter"], true);
    assert_eq!(out["v_is_blob"], false);

    let out = my.ok("sql.privileges", params.clone()).await;
    assert_eq!(out["method"], "probe_table");
    let probe = out["probe_table"].as_str().unwrap().to_string();
    assert!(probe.starts_with("greptime_self_test_my_ok_"), "{probe}");
    assert_eq!(
        out["proven"],
        json!(["create_table", "insert", "update", "select", "delete"])
    );
    assert_eq!(out["read_back"], true);
    assert!(
        my_state(&admin, &[&probe], &[]).await.0.is_empty(),
        "probe table left"
    );

    // metasrv's election puts these settings on every new session (GreptimeDB
    // election/rds/mysql.rs, maybe_init_client); MariaDB refuses the second with error 1193 and
    // metasrv exits (greptimedb.md §10). The step replays them and reports the server's answer.
    let out = my.ok("sql.election", params.clone()).await;
    assert_eq!(out["session_settings_accepted"], false, "{out}");
    assert_eq!(
        out["refused_statement"],
        "SET SESSION wait_timeout = ?, innodb_lock_wait_timeout = ?, max_execution_time = ?;"
    );
    assert_eq!(
        out["refusal"],
        "Unknown system variable 'max_execution_time' (MySQL error 1193)"
    );
    assert_eq!(out["unknown_variable"], "max_execution_time");
    assert_eq!(out["election_table"], format!("`{table}_election`"));
    assert_eq!(out["election_table_exists"], false);
    assert_eq!(out["can_create_election_table"], true);
    assert_eq!(out["can_lock_election_table"], true);
    assert!(out.get("held_by_pid").is_none());

    let out = my
        .ok("sql.latency", my.params(&rw, json!({"operations": 20})))
        .await;
    assert_eq!(out["operations"], 20);
    assert!(out["upsert_p99_ms"].as_f64().unwrap() > 0.0);

    assert_eq!(
        my_state(&admin, &[&id, "greptime_self_test_my_ok"], &[])
            .await
            .0,
        before.0
    );
}

#[tokio::test]
async fn mysql_existing_table_rows_are_unchanged() {
    let (admin, rw) = need!("GST_MYSQL_ADMIN_URL", "GST_MYSQL_RW_URL");
    let id = uid();
    let table = format!("gst_{id}");
    let election = format!("{table}_election");
    let prefix = format!("gst-{id}/");
    my_create_table(&admin, &table, "MEDIUMBLOB").await;
    my_exec(&admin, &format!("INSERT INTO `{table}` VALUES (X'00FF', X'DEADBEEF'), ('__greptime_self_test/other-run', 'keep me')")).await;
    my_create_table(&admin, &election, "BLOB").await;
    my_exec(
        &admin,
        &format!(
            "INSERT INTO `{election}` VALUES ('__place_holder_for_lock', ''), \
             ('{prefix}__metasrv_election', CONCAT('10.9.8.7:3002', '||__metadata_lease_sep||', \
               DATE_FORMAT(DATE_ADD(NOW(4), INTERVAL -60 SECOND), '%Y-%m-%d %T.%f')))"
        ),
    )
    .await;
    let body = async {
        let my = Scenario::mysql(format!("my-exist-{id}"));
        let before = my_state(
            &admin,
            &[&id, "greptime_self_test_my_exist"],
            &[&table, &election],
        )
        .await;
        let params = my.params(&rw, json!({"table": table}));

        let out = my.ok("sql.metadata_table", params.clone()).await;
        assert_eq!(out["table_exists"], true);
        assert_eq!(out["k_type"], "varbinary(3072)");
        assert_eq!(out["v_type"], "mediumblob");
        assert_eq!(out["engine"], "InnoDB");

        let out = my.ok("sql.privileges", params.clone()).await;
        assert_eq!(out["method"], "rolled_back_transaction");
        assert_eq!(
            out["proven"],
            json!(["insert", "update", "select", "delete"])
        );
        assert_eq!(out["granted"], json!(["create_table"]));
        assert_eq!(out["read_back"], true);

        let out = my
            .run("sql.privileges", params.clone(), true)
            .await
            .unwrap()
            .value;
        assert_eq!(out["read_only"], true);
        assert_eq!(out["proven"], json!(["select"]));

        let out = my
            .ok(
                "sql.election",
                my.params(&rw, json!({"table": table, "key_prefix": prefix})),
            )
            .await;
        assert_eq!(out["election_table_exists"], true);
        assert_eq!(out["election_leader"], "10.9.8.7:3002");
        assert_eq!(out["leader_expired"], true);
        assert!(
            out["leader_expires_in_ms"].as_i64().unwrap() < -50_000,
            "{out}"
        );

        let out = my
            .run(
                "sql.latency",
                my.params(&rw, json!({"table": table, "operations": 5})),
                true,
            )
            .await
            .unwrap()
            .value;
        assert_eq!(out["select_operations"], 5);

        assert_eq!(
            my_state(
                &admin,
                &[&id, "greptime_self_test_my_exist"],
                &[&table, &election]
            )
            .await,
            before
        );
    };
    guarded(
        body,
        my_exec(
            &admin,
            &format!("DROP TABLE IF EXISTS `{table}`, `{election}`"),
        ),
    )
    .await;
}

#[tokio::test]
async fn mysql_connection_faults_are_named() {
    let (rw,) = need!("GST_MYSQL_RW_URL");
    let my = Scenario::mysql(format!("my-faults-{}", uid()));
    assert_connection_faults_named(&my, &rw, "Access denied for user 'gt_rw'", "sql.connect").await;

    my.fails(
        "sql.connect",
        my.params("not a url", json!({})),
        ErrorKind::Misconfigured,
        &["mysql://"],
    )
    .await;
}

#[tokio::test]
async fn mysql_select_only_user_and_blob_column_are_found() {
    let (admin, rw, ro) = need!(
        "GST_MYSQL_ADMIN_URL",
        "GST_MYSQL_RW_URL",
        "GST_MYSQL_RO_URL"
    );
    let id = uid();
    let table = format!("gst_{id}");
    let blob = format!("gst_{id}_blob");
    my_create_table(&admin, &table, "MEDIUMBLOB").await;
    my_exec(&admin, &format!("INSERT INTO `{table}` VALUES ('a', 'b')")).await;
    my_create_table(&admin, &blob, "BLOB").await;
    let body = async {
        let my = Scenario::mysql(format!("my-ro-{id}"));
        let before = my_state(&admin, &[&id, "greptime_self_test_my_ro"], &[&table, &blob]).await;

        let e = my
            .fails(
                "sql.privileges",
                my.params(&ro, json!({"table": table})),
                ErrorKind::Rejected,
                &[],
            )
            .await;
        assert_mentions(
            &e.message,
            &["INSERT", "UPDATE", "DELETE", "CREATE", "gt_ro"],
        );
        assert_mentions(e.hint.as_deref().unwrap(), &["GRANT"]);
        assert_no_password(&e, &password_of(&ro));
        // For a table that does not exist, a user that may not DROP gets no probe table.
        let e = my
            .fails(
                "sql.privileges",
                my.params(&ro, json!({"table": format!("gst_{}", uid())})),
                ErrorKind::Rejected,
                &[],
            )
            .await;
        assert_mentions(&e.message, &["INSERT"]);

        let out = my
            .ok("sql.metadata_table", my.params(&rw, json!({"table": blob})))
            .await;
        assert_eq!(out["v_is_blob"], true);
        assert_eq!(out["v_type"], "blob");
        assert_eq!(out["can_alter"], true);
        assert!(out["notes"].to_string().contains("MEDIUMBLOB"));
        let e = my
            .fails(
                "sql.metadata_table",
                my.params(&ro, json!({"table": blob})),
                ErrorKind::Rejected,
                &[],
            )
            .await;
        assert_mentions(&e.message, &["CREATE"]);

        assert_eq!(
            my_state(&admin, &[&id, "greptime_self_test_my_ro"], &[&table, &blob]).await,
            before
        );
    };
    guarded(
        body,
        my_exec(&admin, &format!("DROP TABLE IF EXISTS `{table}`, `{blob}`")),
    )
    .await;
}

#[tokio::test]
async fn mysql_tls_modes_follow_metasrv() {
    let (rw, tls_url, ca, wrong_ca) = need!(
        "GST_MYSQL_RW_URL",
        "GST_MYSQL_TLS_URL",
        "GST_TLS_CA",
        "GST_TLS_WRONG_CA"
    );
    let my = Scenario::mysql(format!("my-tls-{}", uid()));

    // gt_tls is REQUIRE SSL: with backend_tls disable the URL's ssl-mode=DISABLED is kept.
    let e = my
        .fails(
            "sql.connect",
            my.params(
                &with_param(&tls_url, "ssl-mode=DISABLED"),
                json!({"tls": {"mode": "disable"}}),
            ),
            ErrorKind::Rejected,
            &[],
        )
        .await;
    assert_mentions(&e.message, &["without TLS"]);
    assert_mentions(e.hint.as_deref().unwrap(), &["backend_tls.mode"]);
    assert_no_password(&e, &password_of(&tls_url));
    // Any other mode overrides the URL's ssl-mode, and the account connects over TLS.
    let out = my
        .ok(
            "sql.connect",
            my.params(
                &with_param(&tls_url, "ssl-mode=DISABLED"),
                json!({"tls": {"mode": "require"}}),
            ),
        )
        .await;
    assert_eq!(out["tls"], true);
    assert!(out["notes"].to_string().contains("overrides"), "{out}");

    my.fails(
        "sql.connect",
        my.params(
            &rw,
            json!({"tls": {"mode": "verify_ca", "ca_cert_path": wrong_ca}}),
        ),
        ErrorKind::Rejected,
        &["backend_tls.ca_cert_path"],
    )
    .await;
    let out = my
        .ok(
            "sql.connect",
            my.params(
                &rw,
                json!({"tls": {"mode": "verify_ca", "ca_cert_path": ca}}),
            ),
        )
        .await;
    assert_eq!(out["tls"], true);
    let out = my
        .ok(
            "sql.connect",
            my.params(
                &rw,
                json!({"tls": {"mode": "verify_full", "ca_cert_path": ca}}),
            ),
        )
        .await;
    assert_eq!(out["tls"], true);
    my.fails(
        "sql.connect",
        my.params(&rw, json!({"tls": {"mode": "verify_ca"}})),
        ErrorKind::Misconfigured,
        &["ca_cert_path"],
    )
    .await;
    // disable keeps a URL without ssl-mode at PREFERRED: TLS is still used.
    let out = my
        .ok(
            "sql.connect",
            my.params(&rw, json!({"tls": {"mode": "disable"}})),
        )
        .await;
    assert_eq!(out["tls"], true);
}

/// Polls `work` at most `polls` times, then drops it, as the engine drops a step on timeout or
/// Ctrl-C; `None` when it was cut before finishing.
async fn cut_after_polls<F: Future>(work: F, polls: usize) -> Option<F::Output> {
    let mut work = std::pin::pin!(work);
    let mut left = polls;
    std::future::poll_fn(move |cx| {
        if left == 0 {
            return std::task::Poll::Ready(None);
        }
        left -= 1;
        work.as_mut().poll(cx).map(Some)
    })
    .await
}

/// `url` through a TCP proxy on 127.0.0.1 that holds every chunk for a millisecond, so the
/// client waits (and the step yields to the runtime, where the engine can cut it) at every
/// round trip; on loopback the server often answers before the client even looks.
async fn through_slow_proxy(url: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    async fn pump(
        mut from: tokio::net::tcp::OwnedReadHalf,
        mut to: tokio::net::tcp::OwnedWriteHalf,
    ) {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = from.read(&mut buf).await {
            if n == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
            if to.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    }
    let target = port_of(url);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", target)).await else {
                continue;
            };
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            tokio::spawn(pump(client_read, server_write));
            tokio::spawn(pump(server_read, client_write));
        }
    });
    with_port(url, port)
}

/// The port of a URL.
fn port_of(url: &str) -> u16 {
    let hostport = url.split('@').nth(1).unwrap().split('/').next().unwrap();
    hostport.rsplit_once(':').unwrap().1.parse().unwrap()
}

/// Runs `sql.privileges` polled at most `polls` times (then dropped, as the engine drops a
/// step on timeout or Ctrl-C), then the drained cleanup actions, as the engine runs them.
/// True when the run finished before the cut (and then it must have passed).
async fn privileges_cut(params: &Value, run_id: &str, polls: usize) -> bool {
    let cleanup = CleanupRegistry::default();
    let cx = TestCx::new(Component::Metasrv, run_id)
        .budget(Duration::from_secs(20))
        .cleanup(&cleanup)
        .build();
    let finished = cut_after_polls(run_step("sql.privileges", params.clone(), &cx), polls).await;
    run_cleanup(&cleanup).await;
    match finished {
        Some(result) => {
            result.expect("privileges");
            true
        }
        None => false,
    }
}

/// Cuts `sql.privileges` with `params` after 1, 2, 3, … polls until a run finishes: every
/// point where the engine could cancel it. After each cut, `state()` must equal `before`.
/// Returns how many runs were cut.
async fn cuts_until_finished<S, Fut>(
    params: &Value,
    run_prefix: &str,
    before: &S,
    state: &impl Fn() -> Fut,
) -> usize
where
    S: PartialEq + std::fmt::Debug,
    Fut: Future<Output = S>,
{
    for polls in 1..=500 {
        let finished = privileges_cut(params, &format!("{run_prefix}-{polls}"), polls).await;
        assert_eq!(
            &state().await,
            before,
            "left behind after a cut at poll {polls}: {params}"
        );
        if finished {
            return polls - 1;
        }
    }
    panic!("sql.privileges did not finish within 500 polls: {params}");
}

/// [`cuts_until_finished`] for each of `runs` (run ids `<run_prefix>-<index>-<polls>`); each
/// must have been cut at least 10 times.
async fn cut_everywhere<S, Fut>(
    runs: Vec<Value>,
    run_prefix: &str,
    before: &S,
    state: impl Fn() -> Fut,
) where
    S: PartialEq + std::fmt::Debug,
    Fut: Future<Output = S>,
{
    for (i, params) in runs.iter().enumerate() {
        let cuts = cuts_until_finished(params, &format!("{run_prefix}-{i}"), before, &state).await;
        assert!(cuts >= 10, "only {cuts} runs were cut: {params}");
    }
}

/// A MySQL privileges run cut short at every point, then the engine's cleanup: nothing the
/// run created remains, and the metadata table's rows are unchanged. Both MySQL paths: the
/// existing table (probe row in a transaction) and a missing one (probe table). The
/// connection goes through a proxy that delays each answer, so the step yields at every
/// statement.
#[tokio::test]
async fn mysql_cancelled_privileges_leave_nothing() {
    let (admin, rw) = need!("GST_MYSQL_ADMIN_URL", "GST_MYSQL_RW_URL");
    let id = uid();
    let table = format!("gst_{id}");
    my_create_table(&admin, &table, "MEDIUMBLOB").await;
    my_exec(
        &admin,
        &format!("INSERT INTO `{table}` VALUES (X'01', X'02')"),
    )
    .await;
    let body = async {
        let before = my_state(&admin, &[&id], &[&table]).await;
        let (needles, tables) = ([id.as_str()], [table.as_str()]);
        let state = || my_state(&admin, &needles, &tables);
        let slow = through_slow_proxy(&rw).await;
        let runs = [table.clone(), format!("gst_{id}_missing")]
            .map(|target| store_params(MY, &slow, json!({"table": target})));
        cut_everywhere(runs.into(), &format!("my-cut-{id}"), &before, state).await;
    };
    guarded(
        body,
        my_exec(&admin, &format!("DROP TABLE IF EXISTS `{table}`")),
    )
    .await;
}

/// The PostgreSQL probe transaction cut short at every point: nothing is ever committed, so
/// neither the schema it creates nor rows in an existing table survive.
#[tokio::test]
async fn pg_cancelled_privileges_leave_nothing() {
    let (admin, rw) = need!("GST_PG_ADMIN_URL", "GST_PG_RW_URL");
    let id = uid();
    let table = format!("gst_{id}");
    let qualified = format!("public.\"{table}\"");
    pg_exec(
        &admin,
        &format!(
            "CREATE TABLE {qualified}(k bytea PRIMARY KEY, v bytea); \
             ALTER TABLE {qualified} OWNER TO gt_rw; \
             INSERT INTO {qualified} VALUES ('\\x01'::bytea, '\\x02'::bytea)"
        ),
    )
    .await;
    let body = async {
        let before = pg_state(&admin, &[&id], &[&qualified]).await;
        // The server ends a dropped session's transaction when it sees the socket close;
        // what it did was never committed, so it is invisible meanwhile.
        let (needles, tables) = ([id.as_str()], [qualified.as_str()]);
        let state = || pg_state(&admin, &needles, &tables);
        let slow = through_slow_proxy(&rw).await;
        let runs = vec![
            store_params(PG, &slow, json!({"table": table})),
            store_params(
                PG,
                &slow,
                json!({"table": "greptime_metakv", "schema": format!("gst_{id}_new"), "auto_create_schema": true}),
            ),
        ];
        cut_everywhere(runs, &format!("pg-cut-{id}"), &before, state).await;
    };
    guarded(
        body,
        pg_exec(&admin, &format!("DROP TABLE IF EXISTS {qualified}")),
    )
    .await;
}
