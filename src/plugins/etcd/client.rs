//! The etcd client, built exactly as metasrv builds it, and the mapping of its errors.
//!
//! Metasrv (`src/meta-srv/src/utils/etcd.rs`, `create_etcd_tls_options`) trims the endpoints,
//! drops empty ones, and connects with keep-alive while idle (10 s / 3 s by default), no user,
//! no password and no connect timeout. TLS is on when `backend_tls.mode` is `require`,
//! `verify_ca` or `verify_full`, or `prefer` and every endpoint starts with `https`. With TLS,
//! `ca_cert_path` (if set) is added as a trust anchor, a client identity only when both
//! `cert_path` and `key_path` are set, and the native roots always. rustls verifies the host
//! name in every TLS mode, so `verify_ca` behaves as `verify_full`.
//!
//! Each endpoint first gets a Status request of its own, all at once, under the first-answer
//! deadline (`cx.answer`; GreptimeDB has no etcd timeout to cap it), so a silent endpoint is
//! judged and named within one deadline however many there are.

use std::error::Error as _;
use std::future::Future;
use std::io;
use std::time::Duration;

use etcd_client::{Certificate, Client, ConnectOptions, Identity, TlsOptions};

use crate::plugins::answer::{first_answer, AnswerDeadline, NoAnswer, Silence, Witness};
use crate::plugins::backend_tls::{BackendTls, TlsMode};
use crate::plugins::net::HostPort;
use crate::plugins::{human, ErrorKind, StepCx, StepError};

/// Metasrv's `backend_client.keep_alive_interval` default.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(10);
/// Metasrv's `backend_client.keep_alive_timeout` default.
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(3);
/// The hint for an endpoint that is not written as metasrv accepts it.
const ENDPOINT_SYNTAX: &str =
    "write each `store_addrs` entry as `host:port`, `http://host:port` or `https://host:port`";

/// Whether metasrv uses TLS for these endpoints (already trimmed): always for `require` and
/// `verify_*`, and for `prefer` only when every endpoint starts with `https`.
pub fn tls_enabled(tls: &BackendTls, endpoints: &[String]) -> bool {
    match tls.mode {
        TlsMode::Disable => false,
        TlsMode::Prefer => endpoints.iter().all(|e| e.starts_with("https")),
        TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull => true,
    }
}

/// `etcdctl` flags for the same TLS material, for hints.
fn etcdctl_flags(params: &BackendTls, tls: bool) -> String {
    let mut flags = String::new();
    if tls {
        if let Some(ca) = params.ca() {
            flags.push_str(&format!(" --cacert '{ca}'"));
        }
        if let Some((cert, key)) = params.client_identity() {
            flags.push_str(&format!(" --cert '{cert}' --key '{key}'"));
        }
    }
    flags
}

/// Trims the endpoints and drops empty ones, as metasrv does with `store_addrs`.
pub fn clean_endpoints(endpoints: &[String]) -> Vec<String> {
    endpoints
        .iter()
        .map(|e| e.trim())
        .filter(|e| !e.is_empty())
        .map(str::to_string)
        .collect()
}

/// A connected client and what it is connected to.
pub struct Etcd {
    pub client: Client,
    /// The endpoints the client talks to.
    pub endpoints: Vec<String>,
    /// Whether TLS is used.
    pub tls: bool,
    params: BackendTls,
    options: ConnectOptions,
    /// Metasrv's `store_key_prefix`, for the commands in hints.
    key_prefix: String,
}

/// Connects to `targets` (a subset of `all`, or all of it), deciding TLS from `all` as metasrv
/// does. Nothing is sent on the wire yet: etcd-client connects lazily.
pub async fn connect(
    targets: &[String],
    all: &[String],
    params: &BackendTls,
    cx: &StepCx,
) -> Result<Etcd, StepError> {
    let targets = clean_endpoints(targets);
    let all = clean_endpoints(all);
    if targets.is_empty() {
        return Err(no_endpoint());
    }
    for endpoint in targets.iter().chain(&all) {
        HostPort::parse(endpoint, true).map_err(|e| {
            StepError::misconfigured(format!("invalid etcd endpoint `{endpoint}`: {e}"))
                .with_hint(ENDPOINT_SYNTAX)
        })?;
    }
    let all = if all.is_empty() { targets.clone() } else { all };
    let tls = tls_enabled(params, &all);

    // GreptimeDB sets no connect timeout; this one only keeps a stuck connect from outliving
    // the check, and never fires before the first-answer deadline.
    let mut options = ConnectOptions::new()
        .with_keep_alive_while_idle(true)
        .with_keep_alive(KEEP_ALIVE_INTERVAL, KEEP_ALIVE_TIMEOUT)
        .with_connect_timeout(cx.remaining().max(Duration::from_millis(1)));
    if tls {
        options = options.with_tls(tls_options(params).await?);
    }

    let list = targets.join(", ");
    let limit = request_limit(cx);
    let connecting = Client::connect(&targets, Some(options.clone()));
    let client = match tokio::time::timeout(limit, connecting).await {
        Ok(Ok(client)) => client,
        Ok(Err(e)) => return Err(connect_error(&e, &list, tls, params)),
        Err(_) => {
            return Err(StepError::timeout(format!(
                "connecting to etcd {list} did not finish within {}",
                human(limit)
            )))
        }
    };
    let etcd = Etcd {
        client,
        endpoints: targets,
        tls,
        params: params.clone(),
        options,
        key_prefix: String::new(),
    };
    etcd.first_answers(cx).await?;
    Ok(etcd)
}

/// The first-answer deadline of etcd's first request: `cx.answer` (GreptimeDB's etcd client
/// has no timeout to cap it), cut by what is left of the check.
fn first_deadline(cx: &StepCx) -> AnswerDeadline {
    cx.answer.clone().within_check(cx)
}

/// What metasrv's etcd client does facing `silence`: GreptimeDB 1.3 gives it keep-alive
/// settings only, no connect or request timeout (`src/meta-srv/src/utils/etcd.rs`), and reads
/// `backend_client.connect_timeout` nowhere.
fn greptimedb_wait(silence: Option<Silence>) -> &'static str {
    match silence {
        Some(Silence::BlackHoled) => {
            "metasrv's etcd client has no connect timeout (GreptimeDB reads \
             `backend_client.connect_timeout` nowhere), so metasrv waits for this endpoint's \
             TCP connection until the operating system gives up (about 2 minutes with Linux \
             defaults)"
        }
        Some(Silence::TlsStalled) => {
            "metasrv's etcd client bounds neither the connection nor the TLS handshake \
             (GreptimeDB sets no connect or request timeout on it and reads \
             `backend_client.connect_timeout` nowhere), so metasrv would wait on this endpoint \
             without bound"
        }
        _ => {
            "metasrv's etcd client sets no request timeout (GreptimeDB gives it only HTTP/2 \
             keep-alive, `backend_client.keep_alive_interval` / `keep_alive_timeout`), so \
             metasrv's requests to this endpoint have no time limit of their own"
        }
    }
}

/// The error for a `store_addrs` that holds no endpoint once cleaned.
pub fn no_endpoint() -> StepError {
    StepError::misconfigured("`store_addrs` holds no etcd endpoint")
        .with_hint("set `store_addrs` to the etcd client endpoints, e.g. [\"127.0.0.1:2379\"]")
}

/// Builds the TLS options as `create_etcd_tls_options` does, reading the files first so that
/// a missing or malformed file is named.
async fn tls_options(params: &BackendTls) -> Result<TlsOptions, StepError> {
    let mut options = TlsOptions::new();
    if let Some(path) = params.ca() {
        let pem = read_pem(path, "ca_cert_path", "CERTIFICATE-----").await?;
        options = options.ca_certificate(Certificate::from_pem(pem));
    }
    if let Some((cert, key)) = params.client_identity() {
        let cert = read_pem(cert, "cert_path", "CERTIFICATE-----").await?;
        let key = read_pem(key, "key_path", "PRIVATE KEY-----").await?;
        options = options.identity(Identity::from_pem(cert, key));
    }
    Ok(options.with_native_roots())
}

/// Reads a PEM file named by `backend_tls.{key}`; checks it holds a `marker` block.
async fn read_pem(path: &str, key: &str, marker: &str) -> Result<Vec<u8>, StepError> {
    let data = tokio::fs::read(path).await.map_err(|e| {
        StepError::misconfigured(format!("cannot read `backend_tls.{key}` = `{path}`: {e}"))
            .with_hint(format!(
            "metasrv reads this file at start-up and fails (\"Failed to load TLS certificate from \
             path\"); fix the path or the file's permissions, or clear `backend_tls.{key}`"
        ))
    })?;
    if !String::from_utf8_lossy(&data).contains(marker) {
        return Err(StepError::misconfigured(format!(
            "`backend_tls.{key}` = `{path}` is not a PEM file with a `-----BEGIN …{marker}` block"
        ))
        .with_hint("convert it to PEM, e.g. `openssl x509 -inform der -in FILE -out FILE.pem`"));
    }
    Ok(data)
}

/// Time a request may take: what is left before the deadline, less a margin so that the step
/// reports which request hung before the engine gives up on the whole step.
pub fn request_limit(cx: &StepCx) -> Duration {
    cx.request_limit()
}

impl Etcd {
    /// Sends each endpoint, concurrently, its first request (Status, on a client of its own,
    /// so the balancer cannot hide which endpoint is dead) under the first-answer deadline.
    /// Fails naming every endpoint that did not answer or failed.
    async fn first_answers(&self, cx: &StepCx) -> Result<(), StepError> {
        let deadline = first_deadline(cx);
        let results = futures::future::join_all(
            self.endpoints
                .iter()
                .map(|endpoint| self.first_answer(endpoint, &deadline)),
        )
        .await;
        let failed: Vec<(&String, StepError)> = self
            .endpoints
            .iter()
            .zip(results)
            .filter_map(|(endpoint, result)| result.err().map(|e| (endpoint, e)))
            .collect();
        match failed.len() {
            0 => Ok(()),
            1 if self.endpoints.len() == 1 => Err(failed.into_iter().next().expect("one").1),
            _ => Err(self.some_failed(failed)),
        }
    }

    /// The first request to one endpoint.
    async fn first_answer(
        &self,
        endpoint: &str,
        deadline: &AnswerDeadline,
    ) -> Result<(), StepError> {
        let addr = HostPort::parse(endpoint, true)
            .map(|hp| hp.to_string())
            .unwrap_or_else(|_| endpoint.to_string());
        let request = async {
            let client = Client::connect([endpoint], Some(self.options.clone()))
                .await
                .map_err(|e| connect_error(&e, endpoint, self.tls, &self.params))?;
            client
                .maintenance_client()
                .status()
                .await
                .map_err(|e| classify(&e, endpoint, self.tls, &self.params))
        };
        match first_answer(deadline, Some(Witness::tls(addr, self.tls)), request).await {
            Ok(answered) => answered.map(|_| ()),
            Err(no) => {
                let silence = no.silence;
                let mut error = NoAnswer {
                    endpoint: format!("etcd {endpoint}"),
                    ..no
                }
                .into_error("the Status request", greptimedb_wait(silence));
                if silence == Some(Silence::TlsStalled) {
                    error.hint = error.hint.map(|hint| {
                        format!(
                            "{hint}. TLS is on (`backend_tls.mode` = `{}`): if this port serves \
                             plaintext or another protocol, point `store_addrs` at etcd's TLS \
                             client URL, or set `backend_tls.mode = \"disable\"`",
                            self.params.mode.as_str()
                        )
                    });
                }
                Err(error)
            }
        }
    }

    /// The error when some endpoints of several failed their first request.
    fn some_failed(&self, failed: Vec<(&String, StepError)>) -> StepError {
        let n = self.endpoints.len();
        let names: Vec<String> = failed.iter().map(|(e, _)| format!("`{e}`")).collect();
        let note =
            format!(
            "metasrv's etcd client spreads its requests over all {n} endpoints of `store_addrs` \
             ({}), so its requests routed to {} fail like this: fix or remove {}",
            self.target(),
            names.join(", "),
            if failed.len() == 1 { "that endpoint" } else { "those endpoints" }
        );
        let first_kind = failed[0].1.kind;
        let first_silence = failed[0].1.silence;
        let kind = if failed.iter().all(|(_, e)| e.kind == first_kind) {
            first_kind
        } else {
            ErrorKind::Unreachable
        };
        let silence =
            first_silence.filter(|_| failed.iter().all(|(_, e)| e.silence == first_silence));
        let hint = failed[0].1.hint.clone();
        let message = if let [(_, only)] = failed.as_slice() {
            only.message.clone()
        } else {
            format!(
                "{} of the {n} etcd endpoints failed their first request: {}",
                failed.len(),
                failed
                    .iter()
                    .map(|(_, e)| e.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        };
        StepError {
            kind,
            message,
            hint: Some(match hint {
                Some(hint) => format!("{hint}. {note}"),
                None => note,
            }),
            silence,
        }
    }

    /// The endpoints, for messages.
    pub fn target(&self) -> String {
        self.endpoints.join(", ")
    }

    /// Sets metasrv's `store_key_prefix`, named in the commands of hints.
    pub fn with_key_prefix(mut self, prefix: &str) -> Self {
        self.key_prefix = prefix.to_string();
        self
    }

    /// Runs one request within the deadline and maps its error.
    pub async fn call<T>(
        &self,
        cx: &StepCx,
        what: &str,
        request: impl Future<Output = Result<T, etcd_client::Error>>,
    ) -> Result<T, StepError> {
        self.call_with(cx, what, request, |_| None).await
    }

    /// Like [`Etcd::call`], but `special` may turn an etcd error into a more precise step error
    /// first (e.g. "too many operations in txn request").
    pub async fn call_with<T>(
        &self,
        cx: &StepCx,
        what: &str,
        request: impl Future<Output = Result<T, etcd_client::Error>>,
        special: impl FnOnce(&etcd_client::Error) -> Option<StepError>,
    ) -> Result<T, StepError> {
        let limit = request_limit(cx);
        match tokio::time::timeout(limit, request).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                let mut error = special(&e).unwrap_or_else(|| self.error(what, &e));
                if is_nospace(&e) {
                    let revision = self.revision(cx).await;
                    error.hint = Some(self.nospace_hint(revision, true));
                }
                Err(error)
            }
            Err(_) => Err(StepError::timeout(format!(
                "{what}: etcd {} did not answer within {}",
                self.target(),
                human(limit)
            ))
            .with_hint(format!(
                "etcd accepted the connection but did not answer: it may have lost quorum, be \
                 overloaded or defragmenting, or a firewall drops packets{}",
                if self.tls {
                    ""
                } else {
                    "; if etcd serves TLS, use https:// endpoints or set `backend_tls.mode`"
                }
            ))),
        }
    }

    /// Maps a failed request to an error naming the request and the endpoints.
    /// Server answers are prefixed with the request; transport failures are about the
    /// connection, whatever the request.
    ///
    /// With several endpoints, a connection failure concerns the endpoint the balancer picked:
    /// it is named when the error tells it, and the hint says that metasrv's requests routed
    /// there fail the same way.
    pub fn error(&self, what: &str, e: &etcd_client::Error) -> StepError {
        let server_answer = matches!(e, etcd_client::Error::GRpcStatus(_)) && cause(e).is_none();
        let failed = (!server_answer && self.endpoints.len() > 1)
            .then(|| failed_address(e))
            .flatten();
        let target = failed.clone().unwrap_or_else(|| self.target());
        let mut error = classify(e, &target, self.tls, &self.params);
        self.add_commands(&mut error, e);
        if server_answer {
            error.message = format!("{what}: {}", error.message);
        } else if self.endpoints.len() > 1 {
            let routed = failed.map_or("some endpoint".to_string(), |a| format!("`{a}`"));
            let note = format!(
                "metasrv's etcd client spreads its requests over all {} endpoints of \
                 `store_addrs` ({}), so its requests routed to {routed} fail like this one: fix \
                 or remove that endpoint",
                self.endpoints.len(),
                self.target()
            );
            error.hint = Some(match error.hint {
                Some(hint) => format!("{hint}. {note}"),
                None => note,
            });
        }
        error
    }

    /// Appends the `$ etcdctl …` commands that fix an auth or permission failure.
    fn add_commands(&self, error: &mut StepError, e: &etcd_client::Error) {
        let Some(message) = status_message(e).filter(|_| cause(e).is_none()) else {
            return;
        };
        let commands = if is_auth_required(e) {
            format!("$ {} --user root auth disable", self.etcdctl())
        } else if message.contains("permission denied") {
            self.grant_commands()
        } else {
            return;
        };
        error.hint = Some(match error.hint.take() {
            Some(hint) => format!("{hint}\n{commands}"),
            None => commands,
        });
    }

    /// Commands granting read-write on `store_key_prefix` to the etcd user of the client
    /// certificate (its CN; the role name is not known here).
    fn grant_commands(&self) -> String {
        let prefix = if self.key_prefix.is_empty() {
            // An empty prefix means the whole keyspace: `--from-key` from the empty key.
            "'' --from-key".to_string()
        } else {
            format!("'{}' --prefix", self.key_prefix)
        };
        let user = match self.params.client_identity() {
            Some((cert, _)) => format!("<CN of {cert}>"),
            None => "<user>".to_string(),
        };
        let role = format!("<role of user {user}>");
        format!(
            "run as etcd's root user (`role add` only when the user has no role yet):\n\
             $ {etcdctl} --user root role add '{role}'\n\
             $ {etcdctl} --user root role grant-permission '{role}' readwrite {prefix}\n\
             $ {etcdctl} --user root user grant-role '{user}' '{role}'",
            etcdctl = self.etcdctl()
        )
    }

    /// The store revision now (a count-only read of one key), 0 if it cannot be read.
    pub async fn revision(&self, cx: &StepCx) -> i64 {
        let mut kv = self.client.kv_client();
        let read = kv.get(
            self.key_prefix.as_bytes(),
            Some(etcd_client::GetOptions::new().with_count_only()),
        );
        match tokio::time::timeout(request_limit(cx), read).await {
            Ok(Ok(answer)) => answer.header().map_or(0, |h| h.revision()),
            _ => 0,
        }
    }

    /// The hint for a database full or near its quota: compact at `revision`, defragment,
    /// and disarm the alarm when one is raised.
    pub fn nospace_hint(&self, revision: i64, alarm: bool) -> String {
        let etcdctl = self.etcdctl();
        let revision = if revision > 0 {
            revision.to_string()
        } else {
            "<current revision>".to_string()
        };
        let mut hint = format!(
            "{}compact the history up to the current revision and defragment every member              (raise `--quota-backend-bytes` if the live data alone fills it):\n\
             $ {etcdctl} compact {revision}\n\
             $ {etcdctl} defrag",
            if alarm {
                "the NOSPACE alarm is raised and etcd refuses writes until it is disarmed; "
            } else {
                ""
            }
        );
        if alarm {
            hint.push_str(&format!("\n$ {etcdctl} alarm disarm"));
        }
        hint
    }

    /// A client per endpoint, for a cleanup that must not depend on the balancer picking a
    /// live endpoint.
    pub fn fallbacks(&self) -> Vec<(String, ConnectOptions)> {
        if self.endpoints.len() < 2 {
            return Vec::new();
        }
        self.endpoints
            .iter()
            .map(|e| (e.clone(), self.options.clone()))
            .collect()
    }

    /// `etcdctl --endpoints=… [TLS flags]`, for hints.
    pub fn etcdctl(&self) -> String {
        let endpoints: Vec<String> = self
            .endpoints
            .iter()
            .map(|e| {
                if e.contains("://") {
                    e.clone()
                } else if self.tls {
                    format!("https://{e}")
                } else {
                    format!("http://{e}")
                }
            })
            .collect();
        format!(
            "etcdctl --endpoints={}{}",
            endpoints.join(","),
            etcdctl_flags(&self.params, self.tls)
        )
    }
}

/// The gRPC status message of an etcd error, if it is one.
pub fn status_message(e: &etcd_client::Error) -> Option<&str> {
    match e {
        etcd_client::Error::GRpcStatus(status) => Some(status.message()),
        _ => None,
    }
}

/// An error from `Client::connect` (no request was sent yet).
fn connect_error(
    e: &etcd_client::Error,
    target: &str,
    tls: bool,
    params: &BackendTls,
) -> StepError {
    match e {
        etcd_client::Error::InvalidArgs(text) if text.contains("HTTPS") => {
            StepError::misconfigured(format!(
                "TLS is on (`backend_tls.mode` = `{}`) but an endpoint is written `http://…` \
                 ({target}); metasrv fails to start with this combination (etcd-client: {text})",
                params.mode.as_str()
            ))
            .with_hint(
                "write the endpoints as `host:port` or `https://host:port`, or set \
                 `backend_tls.mode = \"disable\"` (or `prefer`) if etcd serves plaintext",
            )
        }
        etcd_client::Error::InvalidArgs(_) | etcd_client::Error::InvalidUri(_) => {
            StepError::misconfigured(format!("invalid etcd endpoint in {target}: {e}"))
                .with_hint(ENDPOINT_SYNTAX)
        }
        etcd_client::Error::TransportError(_) if tls => StepError::misconfigured(format!(
            "cannot build the TLS client for etcd {target}: {}",
            chain(e)
        ))
        .with_hint(
            "check the PEM files named by `backend_tls.ca_cert_path`, `backend_tls.cert_path` \
             and `backend_tls.key_path` (the key must match the certificate)",
        ),
        _ => classify(e, target, tls, params),
    }
}

/// The error's underlying causes: a status's source, or the transport or I/O error itself.
fn cause(e: &etcd_client::Error) -> Option<&(dyn std::error::Error + 'static)> {
    match e {
        etcd_client::Error::GRpcStatus(status) => status.source(),
        etcd_client::Error::TransportError(t) => Some(t),
        etcd_client::Error::IoError(io) => Some(io),
        _ => None,
    }
}

/// The error and its causes as one line, without repeats.
fn chain(e: &etcd_client::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut push = |text: String| {
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    };
    match e {
        etcd_client::Error::GRpcStatus(status) => push(status.message().to_string()),
        etcd_client::Error::TransportError(_) | etcd_client::Error::IoError(_) => {}
        other => push(other.to_string()),
    }
    let mut source = cause(e);
    while let Some(err) = source {
        let text = err.to_string();
        if text != "transport error" {
            push(text);
        }
        source = err.source();
    }
    parts.join(": ")
}

/// The socket address a failed TCP connection was for, from the connector's error (only its
/// `Debug` form names it: `ConnectError("tcp connect error", 127.0.0.1:2379, Os { .. })`).
fn failed_address(e: &etcd_client::Error) -> Option<String> {
    let text = format!("{e:?}");
    let (_, rest) = text.split_once("ConnectError(\"tcp connect error\", ")?;
    let address = rest.split([',', ')']).next()?.trim();
    address
        .parse::<std::net::SocketAddr>()
        .is_ok()
        .then(|| address.to_string())
}

/// The first `io::Error` kind among the error's causes.
fn io_kind(e: &etcd_client::Error) -> Option<io::ErrorKind> {
    let mut source = cause(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            return Some(io.kind());
        }
        source = err.source();
    }
    None
}

/// gRPC status codes (`tonic::Code`), by number: tonic is not a direct dependency.
mod code {
    pub const DEADLINE_EXCEEDED: i32 = 4;
    pub const RESOURCE_EXHAUSTED: i32 = 8;
    pub const UNAVAILABLE: i32 = 14;
    pub const UNAUTHENTICATED: i32 = 16;
}

/// The gRPC status code of an etcd error, if it is a status.
pub fn status_code(e: &etcd_client::Error) -> Option<i32> {
    match e {
        etcd_client::Error::GRpcStatus(status) => Some(status.code() as i32),
        _ => None,
    }
}

/// Whether etcd refused a request for its size (`--max-request-bytes`), either in etcd
/// (`request is too large`) or in its gRPC server (`received message larger than max`).
pub fn is_too_large(e: &etcd_client::Error) -> bool {
    let message = status_message(e).unwrap_or_default();
    message.contains("request is too large")
        || (status_code(e) == Some(code::RESOURCE_EXHAUSTED) && message.contains("larger than max"))
}

/// Whether etcd refused a write for its quota (the NOSPACE alarm).
pub fn is_nospace(e: &etcd_client::Error) -> bool {
    status_message(e)
        .is_some_and(|m| m.contains("database space exceeded") || m.contains("NOSPACE"))
}

/// Whether etcd asked for credentials, which metasrv never sends.
fn is_auth_required(e: &etcd_client::Error) -> bool {
    let etcd_client::Error::GRpcStatus(status) = e else {
        return false;
    };
    let message = status.message();
    message.contains("user name is empty")
        || message.contains("invalid auth token")
        || message.contains("authentication failed")
        || status.code() as i32 == code::UNAUTHENTICATED
}

/// The message of the auth-required failure; GreptimeDB cannot send credentials to etcd.
pub fn auth_required(target: &str, detail: &str) -> StepError {
    StepError::rejected(format!(
        "etcd {target} requires authentication (`{detail}`): GreptimeDB's metasrv cannot \
         authenticate to etcd (it has no username/password support), so this etcd is unusable \
         by GreptimeDB"
    ))
    .with_hint(
        "give metasrv an etcd with authentication disabled (the command below, run as etcd's \
         root user, disables it for every client of this etcd), or a \
         dedicated etcd protected by network policy or mutual TLS); with etcd \
         `--client-cert-auth`, a client certificate whose CN is an etcd user with read-write \
         access also works (`backend_tls.cert_path` / `key_path`)",
    )
}

/// Maps an etcd-client error to a step error.
pub fn classify(e: &etcd_client::Error, target: &str, tls: bool, params: &BackendTls) -> StepError {
    let detail = chain(e);
    let lower = detail.to_ascii_lowercase();

    if let etcd_client::Error::GRpcStatus(status) = e {
        let message = status.message();
        let has_source = cause(e).is_some();
        if !has_source {
            if is_auth_required(e) {
                return auth_required(target, message);
            }
            if message.contains("permission denied") {
                return StepError::rejected(format!(
                    "etcd {target} denied the request (`{message}`)"
                ))
                .with_hint(
                    "etcd authentication is on and the client certificate's CN maps to an etcd \
                     user without read-write access to the metadata keys; grant it a role with \
                     `readwrite` on the `store_key_prefix` range (`etcdctl role grant-permission`)",
                );
            }
            if message.contains("no leader") {
                return StepError::rejected(format!("etcd {target} has no leader (`{message}`)"))
                    .with_hint(
                        "the etcd cluster has lost quorum; start enough members for a majority \
                         and check `etcdctl endpoint status --cluster`",
                    );
            }
            if message.contains("database space exceeded") || message.contains("NOSPACE") {
                return StepError::rejected(format!("etcd {target} is out of space (`{message}`)"))
                    .with_hint(
                        "the NOSPACE alarm is raised: compact and defragment etcd, raise \
                     `--quota-backend-bytes`, then `etcdctl alarm disarm`",
                    );
            }
            return match status.code() as i32 {
                code::DEADLINE_EXCEEDED => {
                    StepError::timeout(format!("etcd {target} timed out: {message}"))
                        .with_hint("etcd is slow or has lost quorum; check its health and logs")
                }
                code::UNAVAILABLE => {
                    StepError::unreachable(format!("etcd {target} is unavailable: {message}"))
                        .with_hint("check that etcd is running and healthy")
                }
                _ => StepError::rejected(format!("etcd {target} refused the request: {message}")),
            };
        }
    }
    if matches!(
        e,
        etcd_client::Error::InvalidArgs(_) | etcd_client::Error::InvalidUri(_)
    ) {
        return StepError::misconfigured(format!("invalid etcd endpoint in {target}: {detail}"));
    }
    if !matches!(
        e,
        etcd_client::Error::GRpcStatus(_)
            | etcd_client::Error::TransportError(_)
            | etcd_client::Error::IoError(_)
    ) {
        return StepError::could_not_run(format!("etcd {target}: {detail}"));
    }

    // A transport failure: connecting, TLS, or the connection dropping.
    let ca_state = match params.ca() {
        Some(ca) => format!("it is `{ca}`"),
        None => "it is unset, so only the system roots are trusted".into(),
    };
    if lower.contains("invalid peer certificate") || lower.contains("certificate verify failed") {
        let hint = if lower.contains("notvalidforname") || lower.contains("not valid for name") {
            "the etcd server certificate does not name the host used in `store_addrs`; use a host \
             name or IP listed in its subject alternative names, or reissue the certificate"
                .to_string()
        } else if lower.contains("expired") || lower.contains("notvalidyet") {
            "the etcd server certificate is expired or not yet valid; reissue it (and check the \
             clocks)"
                .to_string()
        } else {
            format!(
                "set `backend_tls.ca_cert_path` to the PEM CA that signed the etcd server \
                 certificate (etcd `--trusted-ca-file` / the CA of `--cert-file`); {ca_state}"
            )
        };
        return StepError::rejected(format!(
            "TLS with etcd {target} failed: the server certificate is not trusted ({detail})"
        ))
        .with_hint(hint);
    }
    if lower.contains("received fatal alert") {
        let identity = match (params.client_identity(), params.half_identity()) {
            (Some((cert, _)), _) => format!(
                "the client certificate `{cert}` (`backend_tls.cert_path`) was rejected; it must \
                 be signed by the CA in etcd's `--trusted-ca-file` and allowed for client auth"
            ),
            (None, true) => "only one of `backend_tls.cert_path` and \
                 `backend_tls.key_path` is set, so metasrv sends no client certificate; set both"
                .to_string(),
            (None, false) => "etcd requires a client certificate (`--client-cert-auth`): set \
                 `backend_tls.cert_path` and `backend_tls.key_path` to a certificate signed by \
                 the CA in etcd's `--trusted-ca-file`"
                .to_string(),
        };
        return StepError::rejected(format!(
            "etcd {target} rejected the TLS handshake ({detail})"
        ))
        .with_hint(identity);
    }
    if tls
        && (lower.contains("tls handshake eof")
            || lower.contains("corrupt message")
            || lower.contains("invalidcontenttype")
            || lower.contains("wrong version number"))
    {
        return StepError::rejected(format!("etcd {target} does not speak TLS ({detail})"))
            .with_hint(format!(
                "TLS is on (`backend_tls.mode` = `{}`{}); if etcd serves plaintext, write the \
             endpoints without `https://` and set `backend_tls.mode` to `disable` or `prefer`",
                params.mode.as_str(),
                if params.mode == TlsMode::Prefer {
                    ", and every endpoint is https"
                } else {
                    ""
                }
            ));
    }
    if io_kind(e) == Some(io::ErrorKind::ConnectionRefused) || lower.contains("connection refused")
    {
        return StepError {
            silence: Some(Silence::Refused),
            ..StepError::unreachable(format!(
                "cannot connect to etcd {target}: connection refused"
            ))
            .with_hint(format!(
                "nothing listens on {target}; is etcd running, and are `store_addrs` host and \
                 port its client URL (`--listen-client-urls`, default port 2379)?"
            ))
        };
    }
    if lower.contains("dns error") || lower.contains("failed to lookup address") {
        return StepError::unreachable(format!("cannot resolve etcd {target}: {detail}"))
            .with_hint("check the host name in `store_addrs`; it must resolve from this host");
    }
    if lower.contains("timed out") || io_kind(e) == Some(io::ErrorKind::TimedOut) {
        return StepError::timeout(format!("connecting to etcd {target} timed out: {detail}"))
            .with_hint(
                "nothing answered: a firewall or security group may drop the packets, or the \
                 host is down",
            );
    }
    if !tls
        && (lower.contains("connection closed")
            || lower.contains("connection reset")
            || lower.contains("broken pipe")
            || lower.contains("connection error"))
    {
        return StepError::rejected(format!(
            "etcd {target} closed the connection without answering ({detail}); it probably \
             requires TLS"
        ))
        .with_hint(
            "metasrv connects in plaintext here; if etcd serves TLS, write every endpoint as \
             `https://host:port` (with `backend_tls.mode = \"prefer\"`) or set \
             `backend_tls.mode = \"require\"`, and set `backend_tls.ca_cert_path`",
        );
    }
    StepError::unreachable(format!("cannot reach etcd {target}: {detail}"))
        .with_hint("check that etcd is running and reachable from this host")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls(mode: TlsMode) -> BackendTls {
        BackendTls {
            mode,
            ..BackendTls::default()
        }
    }

    fn eps(list: &[&str]) -> Vec<String> {
        list.iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn tls_is_decided_as_metasrv_decides_it() {
        let https = eps(&["https://a:2379", "https://b:2379"]);
        let mixed = eps(&["https://a:2379", "b:2379"]);
        assert!(tls_enabled(&tls(TlsMode::Prefer), &https));
        assert!(!tls_enabled(&tls(TlsMode::Prefer), &mixed));
        assert!(!tls_enabled(&tls(TlsMode::Prefer), &eps(&["a:2379"])));
        assert!(!tls_enabled(&tls(TlsMode::Disable), &https));
        for mode in [TlsMode::Require, TlsMode::VerifyCa, TlsMode::VerifyFull] {
            assert!(tls_enabled(&tls(mode), &eps(&["a:2379"])));
        }
    }

    #[test]
    fn endpoints_are_trimmed_and_empty_ones_dropped() {
        assert_eq!(
            clean_endpoints(&eps(&[" a:1 ", "", "  ", "b:2"])),
            eps(&["a:1", "b:2"])
        );
    }
}
