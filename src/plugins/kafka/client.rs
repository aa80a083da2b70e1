//! Connecting to Kafka as GreptimeDB does, and the mapping of every failure to an error that
//! names the config key to fix.
//!
//! GreptimeDB (`src/common/wal/src/config/kafka/common.rs`) hands `wal.broker_endpoints` to
//! rskafka's `ClientBuilder`, with a rustls config when `[wal.tls]` is present (the CA of
//! `server_ca_cert_path` plus the system roots; a client certificate only when both
//! `client_cert_path` and `client_key_path` are set) and a SASL config when `[wal.sasl]` is
//! present. rskafka connects over TCP, wraps TLS with the host part of the endpoint as server
//! name, sends ApiVersions, authenticates (SaslHandshake v1, then SaslAuthenticate with rsasl),
//! and asks for Metadata.
//!
//! rskafka exposes neither the ApiVersions answer nor the broker list and controller of the
//! Metadata answer, so [`Conn`] sends those requests itself over a connection built the same
//! way (same rustls config, same rsasl mechanisms): ApiVersions v0, SaslHandshake v1,
//! SaslAuthenticate v0-v1 and Metadata v1-v4, non-flexible versions every Kafka since 1.0
//! answers. Metadata is only ever asked for all topics or for none, so it never triggers a
//! broker's topic auto-creation. Writes ([`rskafka_client`]) go through rskafka itself.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt};
use rskafka::client::error::{Error as KafkaError, ProtocolError};
use rskafka::client::{ClientBuilder, Credentials, SaslConfig};
use rskafka::{BackoffConfig, BackoffError};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{AlertDescription, CertificateError, ClientConfig, RootCertStore};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::{KafkaConnection, KafkaSasl, KafkaTls};
use crate::plugins::net::HostPort;
use crate::plugins::{human, ErrorKind, StepCx, StepError};

/// The client id sent with every request (brokers log it).
pub(crate) const CLIENT_ID: &str = "greptime-self-test";
/// Largest response frame accepted (rskafka's default `max_message_size`).
const MAX_FRAME: i32 = 100 << 20;

/// Kafka API keys used here and by GreptimeDB.
pub(crate) mod api {
    pub const PRODUCE: i16 = 0;
    pub const FETCH: i16 = 1;
    pub const LIST_OFFSETS: i16 = 2;
    pub const METADATA: i16 = 3;
    pub const SASL_HANDSHAKE: i16 = 17;
    pub const API_VERSIONS: i16 = 18;
    pub const CREATE_TOPICS: i16 = 19;
    pub const DELETE_TOPICS: i16 = 20;
    pub const DELETE_RECORDS: i16 = 21;
    pub const SASL_AUTHENTICATE: i16 = 36;
}

/// Metadata versions [`Conn::metadata`] can speak (v1 has the controller, v2 the cluster id,
/// v3 the throttle time, v4 the auto-creation flag, which is sent as false).
const METADATA_VERSIONS: (i16, i16) = (1, 4);

// ------------------------------------------------------------------------------- settings

/// A SASL mechanism GreptimeDB accepts in `wal.sasl.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mechanism {
    Plain,
    ScramSha256,
    ScramSha512,
}

impl Mechanism {
    /// Parses `wal.sasl.type` exactly as GreptimeDB's serde does (case-sensitive).
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "PLAIN" => Some(Self::Plain),
            "SCRAM-SHA-256" => Some(Self::ScramSha256),
            "SCRAM-SHA-512" => Some(Self::ScramSha512),
            _ => None,
        }
    }

    /// The mechanism name on the wire, as in `wal.sasl.type`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "PLAIN",
            Self::ScramSha256 => "SCRAM-SHA-256",
            Self::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

/// `[wal.sasl]`, validated.
#[derive(Clone)]
pub(crate) struct Sasl {
    pub mechanism: Mechanism,
    pub username: String,
    password: String,
}

impl Sasl {
    fn new(params: &KafkaSasl) -> Result<Self, StepError> {
        let mechanism = Mechanism::parse(&params.mechanism).ok_or_else(|| {
            StepError::misconfigured(format!(
                "`wal.sasl.type` is `{}`; GreptimeDB accepts `PLAIN`, `SCRAM-SHA-256` or \
                 `SCRAM-SHA-512` (upper case) and fails to load the config otherwise",
                params.mechanism
            ))
            .with_hint("set `wal.sasl.type` to the mechanism the brokers' SASL listener enables")
        })?;
        Ok(Self {
            mechanism,
            username: params.username.clone(),
            password: params.password.clone(),
        })
    }

    /// The same SASL config GreptimeDB gives rskafka.
    pub fn rskafka(&self) -> SaslConfig {
        let credentials = Credentials::new(self.username.clone(), self.password.clone());
        match self.mechanism {
            Mechanism::Plain => SaslConfig::Plain(credentials),
            Mechanism::ScramSha256 => SaslConfig::ScramSha256(credentials),
            Mechanism::ScramSha512 => SaslConfig::ScramSha512(credentials),
        }
    }
}

/// The connection settings of a step, loaded once: endpoints, timeouts, the rustls config
/// (files read) and the SASL credentials.
#[derive(Clone)]
pub(crate) struct Settings {
    /// `wal.broker_endpoints`, trimmed, without empty entries.
    pub endpoints: Vec<String>,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    /// The rustls config GreptimeDB builds from `[wal.tls]`; `None` without the table.
    pub tls: Option<Arc<ClientConfig>>,
    /// Whether a client certificate is presented.
    pub client_cert: bool,
    pub sasl: Option<Sasl>,
    /// Things about the settings worth telling (e.g. a client certificate without its key,
    /// which GreptimeDB silently ignores).
    pub notes: Vec<String>,
}

impl Settings {
    /// Validates the parameters and builds the TLS config as GreptimeDB does; a file it cannot
    /// use is `Misconfigured`, naming its key.
    pub async fn load(params: &KafkaConnection) -> Result<Self, StepError> {
        let endpoints: Vec<String> = params
            .broker_endpoints
            .iter()
            .map(|e| e.trim().to_string())
            .filter(|e| !e.is_empty())
            .collect();
        if endpoints.is_empty() {
            return Err(StepError::misconfigured("`wal.broker_endpoints` is empty")
                .with_hint("list the Kafka brokers as `host:port`, e.g. [\"kafka-0:9092\"]"));
        }
        for endpoint in &endpoints {
            parse_endpoint(endpoint)?;
        }
        let mut notes = Vec::new();
        let (tls, client_cert) = match &params.tls {
            Some(tls) => {
                let (config, client_cert) = tls_config(tls, &mut notes).await?;
                (Some(config), client_cert)
            }
            None => (None, false),
        };
        let sasl = params.sasl.as_ref().map(Sasl::new).transpose()?;
        Ok(Self {
            endpoints,
            connect_timeout: params.connect_timeout(),
            timeout: params.timeout(),
            tls,
            client_cert,
            sasl,
            notes,
        })
    }
}

/// Parses one `wal.broker_endpoints` entry.
pub(crate) fn parse_endpoint(endpoint: &str) -> Result<HostPort, StepError> {
    HostPort::parse(endpoint, false).map_err(|e| {
        StepError::misconfigured(format!(
            "invalid `wal.broker_endpoints` entry `{endpoint}`: {e}"
        ))
        .with_hint("write each broker as `host:port`, without a scheme, e.g. `kafka-0:9092`")
    })
}

/// Builds the rustls config as GreptimeDB's `KafkaClientTls::to_tls_config` does; returns it
/// and whether it presents a client certificate.
async fn tls_config(
    tls: &KafkaTls,
    notes: &mut Vec<String>,
) -> Result<(Arc<ClientConfig>, bool), StepError> {
    let mut roots = RootCertStore::empty();
    if let Some(path) = &tls.server_ca_cert_path {
        let pem = read_file(path, "server_ca_cert_path").await?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| not_pem(path, "server_ca_cert_path", &e.to_string()))?;
        if certs.is_empty() {
            notes.push(format!(
                "`wal.tls.server_ca_cert_path` = `{path}` holds no PEM certificate: GreptimeDB \
                 adds nothing from it and trusts only the system roots"
            ));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| {
                StepError::misconfigured(format!(
                    "`wal.tls.server_ca_cert_path` = `{path}` holds a certificate rustls cannot \
                     use as a trust anchor: {e}"
                ))
                .with_hint(
                    "GreptimeDB fails to start with it; name the PEM file of the CA certificate",
                )
            })?;
        }
    }
    // GreptimeDB always adds the system roots.
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StepError::could_not_run(format!("cannot set up TLS: {e}")))?
        .with_root_certificates(roots);
    let (config, client_cert) = match (&tls.client_cert_path, &tls.client_key_path) {
        (Some(cert_path), Some(key_path)) => {
            let pem = read_file(cert_path, "client_cert_path").await?;
            let chain = CertificateDer::pem_slice_iter(&pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| not_pem(cert_path, "client_cert_path", &e.to_string()))?;
            if chain.is_empty() {
                return Err(not_pem(
                    cert_path,
                    "client_cert_path",
                    "no CERTIFICATE block",
                ));
            }
            let pem = read_file(key_path, "client_key_path").await?;
            let key = PrivateKeyDer::from_pem_slice(&pem)
                .map_err(|e| not_pem(key_path, "client_key_path", &e.to_string()))?;
            let config = builder.with_client_auth_cert(chain, key).map_err(|e| {
                StepError::misconfigured(format!(
                    "`wal.tls.client_cert_path` = `{cert_path}` and `wal.tls.client_key_path` = \
                     `{key_path}` cannot be used together: {e}"
                ))
                .with_hint("the key must be the private key of the certificate; GreptimeDB fails to start with this pair")
            })?;
            (config, true)
        }
        (Some(_), None) | (None, Some(_)) => {
            let (set, unset) = if tls.client_cert_path.is_some() {
                ("client_cert_path", "client_key_path")
            } else {
                ("client_key_path", "client_cert_path")
            };
            notes.push(format!(
                "`wal.tls.{set}` is set without `wal.tls.{unset}`: GreptimeDB ignores it and \
                 connects without a client certificate"
            ));
            (builder.with_no_client_auth(), false)
        }
        (None, None) => (builder.with_no_client_auth(), false),
    };
    Ok((Arc::new(config), client_cert))
}

/// Reads a file named by `wal.tls.{key}`.
async fn read_file(path: &str, key: &str) -> Result<Vec<u8>, StepError> {
    tokio::fs::read(path).await.map_err(|e| {
        StepError::misconfigured(format!("cannot read `wal.tls.{key}` = `{path}`: {e}")).with_hint(
            format!(
                "GreptimeDB reads this file when it builds its Kafka client and fails; fix the \
                 path or the file's permissions, or remove `wal.tls.{key}`"
            ),
        )
    })
}

fn not_pem(path: &str, key: &str, detail: &str) -> StepError {
    StepError::misconfigured(format!(
        "`wal.tls.{key}` = `{path}` is not a usable PEM file: {detail}"
    ))
    .with_hint("convert it to PEM, e.g. `openssl x509 -inform der -in FILE -out FILE.pem` (keys: `openssl pkey`)")
}

// ------------------------------------------------------------------------------- time bounds

/// Time a request may take: what is left before the deadline, less a margin so that the step
/// reports which request hung before the engine gives up on the whole step.
pub(crate) fn request_limit(cx: &StepCx) -> Duration {
    let remaining = cx.remaining();
    remaining.saturating_sub((remaining / 10).min(Duration::from_millis(500)))
}

/// The bound on one operation: the configured timeout, or what is left before the deadline
/// when that is less.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bound {
    pub limit: Duration,
    key: &'static str,
    configured: Duration,
    by_deadline: bool,
}

impl Bound {
    pub fn new(configured: Duration, key: &'static str, cx: &StepCx) -> Self {
        let left = request_limit(cx);
        Self {
            limit: configured.min(left),
            key,
            configured,
            by_deadline: left < configured,
        }
    }

    /// `within `wal.timeout` (3s)` or `before the check's deadline (1s 200ms)`.
    pub fn describe(&self) -> String {
        if self.by_deadline {
            format!("before the check's deadline ({} left)", human(self.limit))
        } else {
            format!("within `{}` ({})", self.key, human(self.configured))
        }
    }
}

// ------------------------------------------------------------------------------- the wire

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A broker's answer to ApiVersions: one supported version range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ApiRange {
    pub key: i16,
    pub min: i16,
    pub max: i16,
}

/// A broker in a Metadata answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BrokerMeta {
    pub id: i32,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
}

impl BrokerMeta {
    /// `host:port` (IPv6 in brackets), as a broker endpoint is written.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// A partition in a Metadata answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartitionMeta {
    pub index: i32,
    pub error: i16,
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

/// A topic in a Metadata answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TopicMeta {
    pub name: String,
    pub error: i16,
    pub internal: bool,
    pub partitions: Vec<PartitionMeta>,
}

/// A Metadata answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Metadata {
    pub brokers: Vec<BrokerMeta>,
    /// Null when the broker reports none (-1).
    pub controller_id: Option<i32>,
    /// Null before Metadata v2 or when the broker reports none.
    pub cluster_id: Option<String>,
    pub topics: Vec<TopicMeta>,
}

/// The request a connection is at, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    ApiVersions,
    SaslHandshake,
    SaslAuthenticate,
    Metadata,
}

impl Stage {
    fn name(self) -> &'static str {
        match self {
            Stage::ApiVersions => "ApiVersions",
            Stage::SaslHandshake => "SaslHandshake",
            Stage::SaslAuthenticate => "SaslAuthenticate",
            Stage::Metadata => "Metadata",
        }
    }
}

/// What went wrong on the wire, before it is put in the terms of the request.
#[derive(Debug)]
enum Wire {
    Io(io::Error),
    /// The answer starts like a TLS record (handshake or alert).
    TlsRecord,
    /// A frame size no Kafka broker sends.
    BadSize(i32),
    /// An answer to another request.
    Correlation {
        expected: i32,
        got: i32,
    },
}

/// One connection to one broker, set up as GreptimeDB's client sets it up.
pub(crate) struct Conn {
    io: Box<dyn Io>,
    next_id: i32,
    /// The endpoint connected to, as given.
    pub endpoint: String,
    /// The broker's ApiVersions answer.
    pub apis: Vec<ApiRange>,
    tls: bool,
    client_cert: bool,
    sasl: Option<Mechanism>,
    timeout: Duration,
}

/// Connects to `endpoint` (TCP, TLS when configured) and asks ApiVersions; with
/// `authenticate`, also runs the SASL exchange when `[wal.sasl]` is present.
pub(crate) async fn connect(
    settings: &Settings,
    endpoint: &str,
    authenticate: bool,
    cx: &StepCx,
) -> Result<Conn, StepError> {
    let target = parse_endpoint(endpoint)?;
    let bound = Bound::new(settings.connect_timeout, "wal.connect_timeout", cx);
    let started = Instant::now();
    let left = || bound.limit.saturating_sub(started.elapsed());

    let lookup = tokio::net::lookup_host((target.host.as_str(), target.port));
    let addrs: Vec<SocketAddr> = match tokio::time::timeout(left(), lookup).await {
        Ok(Ok(addrs)) => addrs.collect(),
        Ok(Err(e)) => {
            return Err(StepError::unreachable(format!(
                "cannot resolve `{}` (broker {endpoint}): {e}",
                target.host
            ))
            .with_hint(format!(
                "check `{}` in `wal.broker_endpoints`: it must resolve from this host (DNS, \
                 /etc/hosts)",
                target.host
            )))
        }
        Err(_) => {
            return Err(StepError::timeout(format!(
                "resolving `{}` (broker {endpoint}) did not finish {}",
                target.host,
                bound.describe()
            ))
            .with_hint("the DNS server does not answer in time"))
        }
    };
    let tcp =
        match tokio::time::timeout(left(), connect_any(&addrs)).await {
            Ok(Ok(tcp)) => tcp,
            Ok(Err(e)) => return Err(tcp_error(endpoint, &e)),
            Err(_) => return Err(StepError::timeout(format!(
                "connecting to broker {endpoint} did not finish {}",
                bound.describe()
            ))
            .with_hint(
                "nothing answered the TCP connection: a firewall or security group may drop the \
                 packets, or the host is down; check `wal.broker_endpoints`",
            )),
        };
    let _ = tcp.set_nodelay(true);

    let io: Box<dyn Io> = match &settings.tls {
        None => Box::new(tcp),
        Some(config) => {
            // rskafka's server name: the host part of the endpoint.
            let name = ServerName::try_from(target.host.clone()).map_err(|e| {
                StepError::misconfigured(format!(
                    "`{}` (broker {endpoint}) is not a valid TLS server name: {e}",
                    target.host
                ))
                .with_hint("with [wal.tls], write `wal.broker_endpoints` with host names or IP addresses the brokers' certificates name")
            })?;
            let handshake = tokio_rustls::TlsConnector::from(config.clone()).connect(name, tcp);
            match tokio::time::timeout(left(), handshake).await {
                Ok(Ok(stream)) => Box::new(stream),
                Ok(Err(e)) => {
                    return Err(tls_error(endpoint, &target.host, &e, settings.client_cert))
                }
                Err(_) => {
                    return Err(StepError::timeout(format!(
                        "the TLS handshake with broker {endpoint} did not finish {}",
                        bound.describe()
                    ))
                    .with_hint(
                        "the listener at this port probably does not speak TLS (a PLAINTEXT or \
                         SASL_PLAINTEXT listener waits for a Kafka request and never answers a \
                         TLS handshake): remove the [wal.tls] table, or use the port of the \
                         brokers' SSL / SASL_SSL listener",
                    ))
                }
            }
        }
    };
    let mut conn = Conn {
        io,
        next_id: 1,
        endpoint: endpoint.to_string(),
        apis: Vec::new(),
        tls: settings.tls.is_some(),
        client_cert: settings.client_cert,
        sasl: settings.sasl.as_ref().map(|s| s.mechanism),
        timeout: settings.timeout,
    };
    conn.apis = conn.api_versions(cx).await?;
    if authenticate {
        if let Some(sasl) = &settings.sasl {
            conn.authenticate(sasl, cx).await?;
        }
    }
    Ok(conn)
}

/// Connects to the first address that accepts, as `TcpStream::connect("host:port")` does;
/// returns the last error when none does.
async fn connect_any(addrs: &[SocketAddr]) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the name resolved to no address");
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn tcp_error(endpoint: &str, e: &io::Error) -> StepError {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => StepError::unreachable(format!(
            "cannot connect to broker {endpoint}: connection refused"
        ))
        .with_hint(format!(
            "nothing listens on {endpoint}: is the broker running, and is this its listener's \
             host and port (default 9092)? Check `wal.broker_endpoints`"
        )),
        io::ErrorKind::TimedOut => StepError::timeout(format!(
            "connecting to broker {endpoint} timed out: {e}"
        ))
        .with_hint("a firewall or security group may drop the packets, or the host is down; check `wal.broker_endpoints`"),
        _ => StepError::unreachable(format!("cannot connect to broker {endpoint}: {e}"))
            .with_hint("check `wal.broker_endpoints` and the network path from this host to the broker"),
    }
}

/// The rustls error inside an I/O error, if any.
fn rustls_error(e: &io::Error) -> Option<&rustls::Error> {
    e.get_ref()?.downcast_ref::<rustls::Error>()
}

/// Whether the peer closed or reset the connection.
fn is_closed(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted
    )
}

/// Maps a failed TLS handshake (or a TLS alert right after it) to an error naming the
/// `wal.tls` key to fix.
fn tls_error(endpoint: &str, host: &str, e: &io::Error, client_cert: bool) -> StepError {
    let Some(err) = rustls_error(e) else {
        if is_closed(e) {
            return StepError::rejected(format!(
                "broker {endpoint} closed the connection during the TLS handshake ({e})"
            ))
            .with_hint(
                "the listener may be plaintext (then remove the [wal.tls] table) or may require \
                 a client certificate (then set `wal.tls.client_cert_path` and \
                 `wal.tls.client_key_path`)",
            );
        }
        return StepError::unreachable(format!(
            "the TLS handshake with broker {endpoint} failed: {e}"
        ))
        .with_hint("check the network path to the broker and the [wal.tls] table");
    };
    match err {
        rustls::Error::InvalidCertificate(cert) => {
            let (what, hint) = match cert {
                CertificateError::UnknownIssuer => (
                    "is not signed by a CA this host trusts".to_string(),
                    "set `wal.tls.server_ca_cert_path` to the PEM file of the CA that signed the \
                     brokers' certificates (GreptimeDB trusts that CA and the system roots)"
                        .to_string(),
                ),
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => (
                    format!("does not name `{host}`"),
                    format!(
                        "the certificate's subject alternative names must include `{host}` as \
                         written in `wal.broker_endpoints`: use a name the certificate holds, or \
                         reissue the broker certificate"
                    ),
                ),
                CertificateError::Expired
                | CertificateError::ExpiredContext { .. }
                | CertificateError::NotValidYet
                | CertificateError::NotValidYetContext { .. } => (
                    format!("is outside its validity period ({cert:?})"),
                    "renew the broker certificate, and check this host's clock".to_string(),
                ),
                other => (
                    format!("was refused ({other:?})"),
                    "check the brokers' certificate and `wal.tls.server_ca_cert_path`".to_string(),
                ),
            };
            StepError::rejected(format!("the TLS certificate of broker {endpoint} {what}"))
                .with_hint(hint)
        }
        rustls::Error::AlertReceived(alert) => client_cert_refused(endpoint, *alert, client_cert),
        rustls::Error::InvalidMessage(_)
        | rustls::Error::InappropriateMessage { .. }
        | rustls::Error::InappropriateHandshakeMessage { .. } => StepError::rejected(format!(
            "broker {endpoint} did not answer the TLS handshake with TLS ({err})"
        ))
        .with_hint(
            "the listener at this port is probably plaintext: remove the [wal.tls] table if the \
             brokers use PLAINTEXT or SASL_PLAINTEXT, or use the port of their SSL / SASL_SSL \
             listener",
        ),
        other => StepError::rejected(format!(
            "the TLS handshake with broker {endpoint} failed: {other}"
        ))
        .with_hint("check the [wal.tls] table against the brokers' TLS settings"),
    }
}

/// The broker aborted TLS with `alert` (during or right after the handshake).
fn client_cert_refused(endpoint: &str, alert: AlertDescription, client_cert: bool) -> StepError {
    let cert_alert = matches!(
        alert,
        AlertDescription::CertificateRequired
            | AlertDescription::HandshakeFailure
            | AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateRevoked
            | AlertDescription::AccessDenied
    );
    if cert_alert && !client_cert {
        StepError::rejected(format!(
            "broker {endpoint} refused the TLS session ({alert:?}): it requires a client \
             certificate"
        ))
        .with_hint(
            "set both `wal.tls.client_cert_path` and `wal.tls.client_key_path` (GreptimeDB \
             presents a client certificate only when both are set)",
        )
    } else if cert_alert {
        StepError::rejected(format!(
            "broker {endpoint} refused our client certificate ({alert:?})"
        ))
        .with_hint(
            "the broker must trust the CA that signed `wal.tls.client_cert_path` (its \
             ssl.truststore), and the certificate must be valid for client authentication",
        )
    } else {
        StepError::rejected(format!(
            "broker {endpoint} aborted the TLS session ({alert:?})"
        ))
        .with_hint(
            "compare the [wal.tls] table with the brokers' TLS settings and look at the broker log",
        )
    }
}

impl Conn {
    /// The broker's range for `key`, if it offers the API.
    pub fn api(&self, key: i16) -> Option<ApiRange> {
        self.apis.iter().copied().find(|a| a.key == key)
    }

    /// Sends one request and returns the answer's body (after the correlation id).
    async fn call(
        &mut self,
        key: i16,
        version: i16,
        body: &[u8],
        stage: Stage,
        cx: &StepCx,
    ) -> Result<Vec<u8>, StepError> {
        let bound = Bound::new(self.timeout, "wal.timeout", cx);
        let id = self.next_id;
        self.next_id += 1;
        let frame = request_frame(key, version, id, body);
        let io = &mut self.io;
        let exchange = async move {
            io.write_all(&frame).await.map_err(Wire::Io)?;
            io.flush().await.map_err(Wire::Io)?;
            let mut size = [0u8; 4];
            io.read_exact(&mut size).await.map_err(Wire::Io)?;
            if size[0] == 0x15 || size[0] == 0x16 {
                return Err(Wire::TlsRecord);
            }
            let size = i32::from_be_bytes(size);
            if !(4..=MAX_FRAME).contains(&size) {
                return Err(Wire::BadSize(size));
            }
            let mut answer = vec![0u8; size as usize];
            io.read_exact(&mut answer).await.map_err(Wire::Io)?;
            let got = i32::from_be_bytes(answer[..4].try_into().expect("4 bytes"));
            if got != id {
                return Err(Wire::Correlation { expected: id, got });
            }
            answer.drain(..4);
            Ok(answer)
        };
        match tokio::time::timeout(bound.limit, exchange).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(wire)) => Err(self.wire_error(stage, wire)),
            Err(_) => Err(self.timeout_error(stage, &bound)),
        }
    }

    /// Maps a failed exchange to an error in the terms of `stage`.
    fn wire_error(&self, stage: Stage, wire: Wire) -> StepError {
        let ep = &self.endpoint;
        let request = stage.name();
        match wire {
            Wire::Io(e) if rustls_error(&e).is_some() => match rustls_error(&e).expect("checked") {
                rustls::Error::AlertReceived(alert) => {
                    client_cert_refused(ep, *alert, self.client_cert)
                }
                other => StepError::rejected(format!(
                    "the TLS session with broker {ep} failed during {request}: {other}"
                ))
                .with_hint("compare the [wal.tls] table with the brokers' TLS settings"),
            },
            Wire::Io(e) if is_closed(&e) => self.closed_error(stage),
            Wire::Io(e) => StepError::unreachable(format!(
                "the connection to broker {ep} failed during {request}: {e}"
            ))
            .with_hint("check the network path from this host to the broker"),
            Wire::TlsRecord if !self.tls => StepError::rejected(format!(
                "broker {ep} answered {request} with TLS: its listener requires TLS"
            ))
            .with_hint(
                "add a [wal.tls] table (GreptimeDB uses TLS only when it is present), with \
                 `server_ca_cert_path` naming the CA of the brokers' certificates",
            ),
            Wire::TlsRecord | Wire::BadSize(_) | Wire::Correlation { .. } => {
                let detail = match wire {
                    Wire::BadSize(size) if size.to_be_bytes() == *b"HTTP" => {
                        "an HTTP response: this is an HTTP server".to_string()
                    }
                    Wire::BadSize(size) => format!("a frame of {size} bytes"),
                    Wire::Correlation { expected, got } => {
                        format!("correlation id {got} instead of {expected}")
                    }
                    _ => "a TLS record inside the TLS session".to_string(),
                };
                StepError::rejected(format!(
                    "broker {ep} answered {request} with something that is not a Kafka response \
                     ({detail})"
                ))
                .with_hint(
                    "check that `wal.broker_endpoints` names a Kafka listener (default port \
                     9092), not another service",
                )
            }
        }
    }

    /// The peer closed the connection instead of answering `stage`.
    fn closed_error(&self, stage: Stage) -> StepError {
        let ep = &self.endpoint;
        match stage {
            Stage::ApiVersions if self.tls => StepError::rejected(format!(
                "broker {ep} closed the connection after the TLS handshake without answering \
                 ApiVersions"
            ))
            .with_hint(if self.client_cert {
                "with TLS 1.3 a broker refuses a client certificate only after the handshake: \
                 it must trust the CA that signed `wal.tls.client_cert_path` (its \
                 ssl.truststore). Otherwise check that `wal.broker_endpoints` names the \
                 brokers' SSL / SASL_SSL listener port, and look at the broker log"
            } else {
                "with TLS 1.3 a broker that requires a client certificate closes the connection \
                 only after the handshake: set both `wal.tls.client_cert_path` and \
                 `wal.tls.client_key_path`. Otherwise check that `wal.broker_endpoints` names \
                 the brokers' SSL / SASL_SSL listener port, and look at the broker log"
            }),
            Stage::ApiVersions => StepError::rejected(format!(
                "broker {ep} accepted the TCP connection but closed it without answering \
                 ApiVersions"
            ))
            .with_hint(
                "if the listener requires TLS (SSL or SASL_SSL), add a [wal.tls] table \
                 (GreptimeDB uses TLS only when it is present); otherwise check that \
                 `wal.broker_endpoints` names a Kafka listener port",
            ),
            Stage::SaslHandshake => StepError::rejected(format!(
                "broker {ep} closed the connection on the SASL handshake"
            ))
            .with_hint(
                "the listener has no SASL (PLAINTEXT or SSL: remove the [wal.sasl] table, or \
                 use the port of the brokers' SASL_PLAINTEXT / SASL_SSL listener), or it does \
                 not enable the mechanism of `wal.sasl.type`",
            ),
            Stage::SaslAuthenticate => StepError::rejected(format!(
                "broker {ep} closed the connection during SASL authentication"
            ))
            .with_hint(
                "the broker refused the credentials: check `wal.sasl.username`, \
                 `wal.sasl.password` and `wal.sasl.type`",
            ),
            Stage::Metadata if self.sasl.is_none() => StepError::rejected(format!(
                "broker {ep} answered ApiVersions but closed the connection on the Metadata \
                 request: its listener requires authentication"
            ))
            .with_hint(
                "add a [wal.sasl] table with the `type`, `username` and `password` the \
                 brokers' SASL listener expects",
            ),
            Stage::Metadata => StepError::rejected(format!(
                "broker {ep} closed the connection on the Metadata request after SASL \
                 authentication"
            ))
            .with_hint("the user of `wal.sasl.username` may lack permissions (ACLs); look at the broker log"),
        }
    }

    fn timeout_error(&self, stage: Stage, bound: &Bound) -> StepError {
        let ep = &self.endpoint;
        let hint = match stage {
            Stage::ApiVersions if !self.tls => {
                "a TLS listener waits for a TLS handshake and never answers a plaintext request: \
                 if the brokers use SSL or SASL_SSL, add a [wal.tls] table; otherwise the broker \
                 is overloaded or stuck"
            }
            Stage::SaslHandshake | Stage::SaslAuthenticate => {
                "the broker does not complete SASL authentication; check the [wal.sasl] table \
                 and the broker log"
            }
            _ => {
                "the broker accepted the connection but does not answer: it may be overloaded, \
                  starting, or unable to reach its controller"
            }
        };
        StepError::timeout(format!(
            "broker {ep} did not answer {} {}",
            stage.name(),
            bound.describe()
        ))
        .with_hint(hint)
    }

    /// ApiVersions v0: every version range the broker supports.
    async fn api_versions(&mut self, cx: &StepCx) -> Result<Vec<ApiRange>, StepError> {
        let answer = self
            .call(api::API_VERSIONS, 0, &[], Stage::ApiVersions, cx)
            .await?;
        let (error, apis) =
            parse_api_versions(&answer).map_err(|e| self.malformed(Stage::ApiVersions, &e))?;
        // UNSUPPORTED_VERSION (35) still lists the ranges.
        let usable = error == 0 || (error == 35 && !apis.is_empty());
        if !usable {
            return Err(StepError::rejected(format!(
                "broker {} answered ApiVersions with {}",
                self.endpoint,
                code_name(error)
            ))
            .with_hint("look at the broker log"));
        }
        Ok(apis)
    }

    fn malformed(&self, stage: Stage, detail: &str) -> StepError {
        StepError::rejected(format!(
            "broker {} sent a malformed {} answer: {detail}",
            self.endpoint,
            stage.name()
        ))
        .with_hint("the broker does not follow the Kafka protocol for this request; check that `wal.broker_endpoints` names Kafka brokers")
    }

    /// SaslHandshake v1 and SaslAuthenticate, stepping rsasl as rskafka does.
    async fn authenticate(&mut self, sasl: &Sasl, cx: &StepCx) -> Result<(), StepError> {
        let ep = self.endpoint.clone();
        let mechanism = sasl.mechanism.name();
        let handshake = self.api(api::SASL_HANDSHAKE);
        let auth_version = self
            .api(api::SASL_AUTHENTICATE)
            .and_then(|r| pick_version(r, (0, 1)));
        let (Some(handshake), Some(auth_version)) = (handshake, auth_version) else {
            return Err(StepError::rejected(format!(
                "broker {ep} does not offer SaslHandshake v1 and SaslAuthenticate v0-v1, which \
                 GreptimeDB's client uses for SASL"
            ))
            .with_hint("remove the [wal.sasl] table if the brokers do not use SASL; otherwise upgrade the brokers (Kafka 1.0 or later)"));
        };
        if handshake.max < 1 || handshake.min > 1 {
            return Err(StepError::rejected(format!(
                "broker {ep} offers SaslHandshake v{}-v{}, not v1, which GreptimeDB's client uses",
                handshake.min, handshake.max
            ))
            .with_hint("upgrade the brokers (Kafka 1.0 or later)"));
        }
        let answer = self
            .call(
                api::SASL_HANDSHAKE,
                1,
                &string(mechanism),
                Stage::SaslHandshake,
                cx,
            )
            .await?;
        let (error, enabled) =
            parse_sasl_handshake(&answer).map_err(|e| self.malformed(Stage::SaslHandshake, &e))?;
        match error {
            0 => {}
            33 if enabled.iter().any(|m| m == mechanism) => {
                return Err(StepError::rejected(format!(
                    "broker {ep} refused the SASL handshake for `{mechanism}` \
                     (UnsupportedSaslMechanism) although it lists that mechanism: SASL is not \
                     enabled on this listener"
                ))
                .with_hint(
                    "remove the [wal.sasl] table if the brokers do not use SASL, or use the port \
                     of their SASL_PLAINTEXT / SASL_SSL listener",
                ))
            }
            33 => {
                return Err(StepError::rejected(format!(
                    "broker {ep} does not enable the SASL mechanism `{mechanism}` of \
                     `wal.sasl.type`; it enables {}",
                    if enabled.is_empty() {
                        "none".to_string()
                    } else {
                        enabled.join(", ")
                    }
                ))
                .with_hint(
                    "set `wal.sasl.type` to a mechanism the listener enables (GreptimeDB \
                     supports PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512)",
                ))
            }
            34 => {
                return Err(StepError::rejected(format!(
                    "broker {ep} refused the SASL handshake (IllegalSaslState): this listener \
                     does not expect SASL"
                ))
                .with_hint(
                    "remove the [wal.sasl] table, or use the port of the brokers' SASL listener",
                ))
            }
            other => {
                return Err(StepError::rejected(format!(
                    "broker {ep} refused the SASL handshake for `{mechanism}` with {}",
                    code_name(other)
                ))
                .with_hint("check the [wal.sasl] table and the broker log"))
            }
        }

        let config = rsasl::config::SASLConfig::with_credentials(
            None,
            sasl.username.clone(),
            sasl.password.clone(),
        )
        .map_err(|e| StepError::could_not_run(format!("cannot set up SASL: {e}")))?;
        let client = rsasl::prelude::SASLClient::new(config);
        let name = rsasl::prelude::Mechname::parse(mechanism.as_bytes())
            .map_err(|e| StepError::could_not_run(format!("SASL mechanism `{mechanism}`: {e}")))?;
        let mut session = client.start_suggested(&[name]).map_err(|e| {
            StepError::could_not_run(format!("cannot start SASL `{mechanism}`: {e}"))
        })?;
        let credentials_hint = format!(
            "check `wal.sasl.username` and `wal.sasl.password`, and that the user exists for \
             `{mechanism}` on the brokers (SCRAM users are created per mechanism, e.g. with \
             kafka-configs --alter --add-config 'SCRAM-SHA-512=[password=…]')"
        );
        let mut received: Option<Vec<u8>> = None;
        loop {
            let mut out = Vec::new();
            let state = session.step(received.as_deref(), &mut out).map_err(|e| {
                StepError::rejected(format!(
                    "SASL {mechanism} authentication of user `{}` with broker {ep} failed: {e}",
                    sasl.username
                ))
                .with_hint(credentials_hint.clone())
            })?;
            if state.has_sent_message() {
                let answer = self
                    .call(
                        api::SASL_AUTHENTICATE,
                        auth_version,
                        &bytes(&out),
                        Stage::SaslAuthenticate,
                        cx,
                    )
                    .await?;
                let (error, message, data) = parse_sasl_authenticate(&answer)
                    .map_err(|e| self.malformed(Stage::SaslAuthenticate, &e))?;
                if error != 0 {
                    return Err(StepError::rejected(format!(
                        "broker {ep} rejected the SASL {mechanism} credentials of user `{}`: \
                         {}{}",
                        sasl.username,
                        code_name(error),
                        message.map(|m| format!(" ({m})")).unwrap_or_default()
                    ))
                    .with_hint(credentials_hint));
                }
                received = Some(data);
            }
            if state.is_finished() {
                return Ok(());
            }
        }
    }

    /// Metadata, for every topic (`all_topics`) or for none; never for named topics, so it
    /// cannot make a broker auto-create one.
    pub async fn metadata(&mut self, all_topics: bool, cx: &StepCx) -> Result<Metadata, StepError> {
        let offered = self.api(api::METADATA);
        let Some(version) = offered.and_then(|r| pick_version(r, METADATA_VERSIONS)) else {
            return Err(StepError::rejected(format!(
                "broker {} offers {}, none of Metadata v1-v4 GreptimeDB's client can use",
                self.endpoint,
                offered.map_or("no Metadata".to_string(), |r| format!(
                    "Metadata v{}-v{}",
                    r.min, r.max
                ))
            ))
            .with_hint("the broker is too old or not Kafka-compatible enough for GreptimeDB"));
        };
        let body = metadata_request(version, all_topics);
        let answer = self
            .call(api::METADATA, version, &body, Stage::Metadata, cx)
            .await?;
        parse_metadata(&answer, version).map_err(|e| self.malformed(Stage::Metadata, &e))
    }
}

/// The highest version in both the broker's range and `ours` (min, max).
pub(crate) fn pick_version(range: ApiRange, ours: (i16, i16)) -> Option<i16> {
    let high = range.max.min(ours.1);
    (high >= range.min.max(ours.0)).then_some(high)
}

/// A Kafka error code as `Name (code)`.
pub(crate) fn code_name(code: i16) -> String {
    match ProtocolError::new(code) {
        None => "no error (0)".to_string(),
        Some(ProtocolError::Unknown(_)) => format!("error code {code}"),
        Some(e) => format!("{e:?} ({code})"),
    }
}

// ------------------------------------------------------------------------------- encoding

/// `size, api_key, api_version, correlation_id, client_id, body`: request header v1.
fn request_frame(key: i16, version: i16, id: i32, body: &[u8]) -> Vec<u8> {
    let mut frame = vec![0u8; 4];
    frame.extend(key.to_be_bytes());
    frame.extend(version.to_be_bytes());
    frame.extend(id.to_be_bytes());
    frame.extend(string(CLIENT_ID));
    frame.extend(body);
    let size = (frame.len() - 4) as i32;
    frame[..4].copy_from_slice(&size.to_be_bytes());
    frame
}

/// A Kafka STRING: i16 length, then UTF-8.
fn string(text: &str) -> Vec<u8> {
    let mut out = (text.len() as i16).to_be_bytes().to_vec();
    out.extend(text.as_bytes());
    out
}

/// Kafka BYTES: i32 length, then the bytes.
fn bytes(data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as i32).to_be_bytes().to_vec();
    out.extend(data);
    out
}

/// Metadata v1-v4 request: all topics (null array) or none (empty array); v4 adds
/// `allow_auto_topic_creation = false`.
fn metadata_request(version: i16, all_topics: bool) -> Vec<u8> {
    let mut body = if all_topics { -1i32 } else { 0i32 }.to_be_bytes().to_vec();
    if version >= 4 {
        body.push(0);
    }
    body
}

// ------------------------------------------------------------------------------- decoding

/// Reads the primitive types of non-flexible Kafka messages.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or_else(|| {
            format!(
                "truncated at byte {} (needs {n} more, {} left)",
                self.pos,
                self.buf.len() - self.pos
            )
        })?;
        let slice = &self.buf[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn i8(&mut self) -> Result<i8, String> {
        Ok(self.take(1)?[0] as i8)
    }

    fn i16(&mut self) -> Result<i16, String> {
        Ok(i16::from_be_bytes(self.take(2)?.try_into().expect("2")))
    }

    fn i32(&mut self) -> Result<i32, String> {
        Ok(i32::from_be_bytes(self.take(4)?.try_into().expect("4")))
    }

    fn nullable_string(&mut self) -> Result<Option<String>, String> {
        let len = self.i16()?;
        if len < 0 {
            return Ok(None);
        }
        let raw = self.take(len as usize)?;
        Ok(Some(String::from_utf8_lossy(raw).into_owned()))
    }

    fn string(&mut self) -> Result<String, String> {
        self.nullable_string()?
            .ok_or_else(|| "null where a string is required".to_string())
    }

    fn bytes(&mut self) -> Result<Vec<u8>, String> {
        let len = self.i32()?;
        if len < 0 {
            return Ok(Vec::new());
        }
        Ok(self.take(len as usize)?.to_vec())
    }

    /// An array length (null counts as empty); at least one byte per element must remain.
    fn array_len(&mut self) -> Result<usize, String> {
        let len = self.i32()?;
        if len < 0 {
            return Ok(0);
        }
        let len = len as usize;
        if len > self.buf.len() - self.pos {
            return Err(format!(
                "array of {len} elements in {} bytes",
                self.buf.len() - self.pos
            ));
        }
        Ok(len)
    }

    fn i32_array(&mut self) -> Result<Vec<i32>, String> {
        let n = self.array_len()?;
        (0..n).map(|_| self.i32()).collect()
    }
}

/// ApiVersions v0 answer: error code and ranges.
fn parse_api_versions(answer: &[u8]) -> Result<(i16, Vec<ApiRange>), String> {
    let mut r = Reader::new(answer);
    let error = r.i16()?;
    let n = r.array_len()?;
    let mut apis = Vec::with_capacity(n);
    for _ in 0..n {
        let key = r.i16()?;
        let min = r.i16()?;
        let max = r.i16()?;
        apis.push(ApiRange { key, min, max });
    }
    Ok((error, apis))
}

/// SaslHandshake v1 answer: error code and the enabled mechanisms.
fn parse_sasl_handshake(answer: &[u8]) -> Result<(i16, Vec<String>), String> {
    let mut r = Reader::new(answer);
    let error = r.i16()?;
    let n = r.array_len()?;
    let mechanisms = (0..n).map(|_| r.string()).collect::<Result<_, _>>()?;
    Ok((error, mechanisms))
}

/// SaslAuthenticate v0-v1 answer: error code, message and the server's SASL bytes (v1 adds
/// the session lifetime, not needed).
fn parse_sasl_authenticate(answer: &[u8]) -> Result<(i16, Option<String>, Vec<u8>), String> {
    let mut r = Reader::new(answer);
    let error = r.i16()?;
    let message = r.nullable_string()?;
    let data = r.bytes()?;
    Ok((error, message, data))
}

/// Metadata v1-v4 answer.
fn parse_metadata(answer: &[u8], version: i16) -> Result<Metadata, String> {
    let mut r = Reader::new(answer);
    if version >= 3 {
        r.i32()?; // throttle_time_ms
    }
    let n = r.array_len()?;
    let mut brokers = Vec::with_capacity(n);
    for _ in 0..n {
        let id = r.i32()?;
        let host = r.string()?;
        let port = r.i32()?;
        let rack = r.nullable_string()?;
        brokers.push(BrokerMeta {
            id,
            host,
            port,
            rack,
        });
    }
    let cluster_id = if version >= 2 {
        r.nullable_string()?
    } else {
        None
    };
    let controller = r.i32()?;
    let n = r.array_len()?;
    let mut topics = Vec::with_capacity(n);
    for _ in 0..n {
        let error = r.i16()?;
        let name = r.string()?;
        let internal = r.i8()? != 0;
        let np = r.array_len()?;
        let mut partitions = Vec::with_capacity(np);
        for _ in 0..np {
            partitions.push(PartitionMeta {
                error: r.i16()?,
                index: r.i32()?,
                leader: r.i32()?,
                replicas: r.i32_array()?,
                isr: r.i32_array()?,
            });
        }
        topics.push(TopicMeta {
            name,
            error,
            internal,
            partitions,
        });
    }
    Ok(Metadata {
        brokers,
        controller_id: (controller >= 0).then_some(controller),
        cluster_id,
        topics,
    })
}

// ------------------------------------------------------------------------------- discovery

/// Metadata from the first endpoint that answers (all are tried at once), as rskafka
/// bootstraps from any of `wal.broker_endpoints`; returns that endpoint with it. When none
/// answers, the error combines every endpoint's.
pub(crate) async fn discover(
    settings: &Settings,
    all_topics: bool,
    cx: &StepCx,
) -> Result<(String, Metadata), StepError> {
    let mut pending: FuturesUnordered<_> = settings
        .endpoints
        .iter()
        .map(|endpoint| async move {
            let result = async {
                let mut conn = connect(settings, endpoint, true, cx).await?;
                conn.metadata(all_topics, cx).await
            }
            .await;
            (endpoint.clone(), result)
        })
        .collect();
    let mut failures = Vec::new();
    while let Some((endpoint, result)) = pending.next().await {
        match result {
            Ok(metadata) => return Ok((endpoint, metadata)),
            Err(e) => failures.push((endpoint, e)),
        }
    }
    let order = |e: &String| settings.endpoints.iter().position(|x| x == e);
    failures.sort_by_key(|(e, _)| order(e));
    Err(none_reachable(&failures))
}

/// The error when no endpoint answered: the common kind and hint when every endpoint failed
/// the same way (e.g. all refuse the TLS config), else `Unreachable` naming
/// `wal.broker_endpoints`.
pub(crate) fn none_reachable(failures: &[(String, StepError)]) -> StepError {
    let first = &failures[0].1;
    let same_kind = failures.iter().all(|(_, e)| e.kind == first.kind);
    let same_hint = failures.iter().all(|(_, e)| e.hint == first.hint);
    let kind = if same_kind {
        first.kind
    } else {
        ErrorKind::Unreachable
    };
    let message = if failures.len() == 1 {
        first.message.clone()
    } else {
        format!(
            "none of the {} brokers of `wal.broker_endpoints` answered: {}",
            failures.len(),
            failures
                .iter()
                .map(|(endpoint, e)| format!("{endpoint}: {}", e.message))
                .collect::<Vec<_>>()
                .join("; ")
        )
    };
    let hint = if same_kind && same_hint {
        first.hint.clone()
    } else {
        Some(
            "GreptimeDB needs at least one broker of `wal.broker_endpoints` to bootstrap from: \
             fix the endpoints (see each broker's error)"
                .to_string(),
        )
    };
    StepError {
        kind,
        message,
        hint,
    }
}

// ------------------------------------------------------------------------------- rskafka

/// Backoff of GreptimeDB's `DEFAULT_BACKOFF_CONFIG` (100 ms, ×3, at most 1 s), with the
/// deadline bounded by what the step may spend.
fn backoff(deadline: Duration) -> BackoffConfig {
    BackoffConfig {
        init_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(1),
        base: 3.0,
        deadline: Some(deadline),
    }
}

/// An rskafka client built as GreptimeDB builds it (all endpoints, TLS, SASL), bounded by
/// `limit`.
pub(crate) async fn rskafka_client(
    settings: &Settings,
    limit: Duration,
) -> Result<rskafka::client::Client, StepError> {
    let mut builder = ClientBuilder::new(settings.endpoints.clone())
        .client_id(CLIENT_ID)
        .backoff_config(backoff(limit));
    if let Some(tls) = &settings.tls {
        builder = builder.tls_config(tls.clone());
    }
    if let Some(sasl) = &settings.sasl {
        builder = builder.sasl_config(sasl.rskafka());
    }
    within(limit, "connecting (rskafka)", builder.build()).await
}

/// Awaits an rskafka call within `limit`, mapping its error.
pub(crate) async fn within<T>(
    limit: Duration,
    what: &str,
    call: impl std::future::Future<Output = Result<T, KafkaError>>,
) -> Result<T, StepError> {
    match tokio::time::timeout(limit, call).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(rskafka_error(what, &e)),
        Err(_) => Err(StepError::timeout(format!(
            "{what}: no answer within {}",
            human(limit)
        ))
        .with_hint("the brokers accepted the connection but did not complete the request; they may be overloaded or unable to reach their controller")),
    }
}

/// Maps an rskafka error to a step error.
pub(crate) fn rskafka_error(what: &str, e: &KafkaError) -> StepError {
    match e {
        KafkaError::ServerError {
            protocol_error,
            error_message,
            ..
        } => {
            let detail = error_message
                .as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default();
            let message = format!("{what}: the broker answered {protocol_error:?}{detail}");
            let hint = match protocol_error {
                ProtocolError::InvalidReplicationFactor => {
                    "`wal.replication_factor` is larger than the number of brokers; lower it or add brokers"
                }
                ProtocolError::TopicAuthorizationFailed
                | ProtocolError::ClusterAuthorizationFailed => {
                    "the user (`wal.sasl.username`, or the client certificate) lacks ACLs: \
                     GreptimeDB needs Create and Describe on the cluster and Read/Write on its \
                     WAL topics"
                }
                ProtocolError::PolicyViolation => {
                    "a broker-side topic policy refused the request (create.topic.policy.class.name)"
                }
                ProtocolError::TopicDeletionDisabled => {
                    "the brokers set delete.topic.enable=false; the self-test topic must be deleted by an operator"
                }
                ProtocolError::UnsupportedCompressionType => {
                    "the brokers refuse LZ4-compressed batches, which GreptimeDB writes"
                }
                _ => "look at the broker log",
            };
            StepError::rejected(message).with_hint(hint)
        }
        KafkaError::Connection(inner) => {
            let text = inner.to_string();
            let mut error = if text.contains("Sasl") {
                StepError::rejected(format!("{what}: {text}"))
                    .with_hint("check `wal.sasl.type`, `wal.sasl.username` and `wal.sasl.password`")
            } else {
                StepError::unreachable(format!("{what}: {text}")).with_hint(
                    "rskafka connects to the address each broker advertises \
                     (advertised.listeners); it must be reachable from this host with the \
                     [wal.tls] settings",
                )
            };
            if text.contains("certificate") || text.contains("tls") || text.contains("TLS") {
                error.kind = ErrorKind::Rejected;
                error.hint =
                    Some("check the [wal.tls] table against the brokers' TLS settings".into());
            }
            error
        }
        KafkaError::RetryFailed(BackoffError::DeadlineExceded { source, .. }) => {
            StepError::timeout(format!("{what}: gave up retrying: {source}")).with_hint(
                "the brokers kept failing the request; see the error, and the broker log",
            )
        }
        KafkaError::Timeout => StepError::timeout(format!("{what}: timed out"))
            .with_hint("the brokers did not answer in time"),
        other => {
            StepError::rejected(format!("{what}: {other}")).with_hint("look at the broker log")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_frame_is_header_v1() {
        let frame = request_frame(18, 0, 7, &[]);
        let client = CLIENT_ID.as_bytes();
        assert_eq!(&frame[..4], &((10 + client.len()) as i32).to_be_bytes());
        assert_eq!(&frame[4..6], &18i16.to_be_bytes());
        assert_eq!(&frame[6..8], &0i16.to_be_bytes());
        assert_eq!(&frame[8..12], &7i32.to_be_bytes());
        assert_eq!(&frame[12..14], &(client.len() as i16).to_be_bytes());
        assert_eq!(&frame[14..], client);
    }

    #[test]
    fn metadata_request_never_names_topics() {
        assert_eq!(metadata_request(1, true), (-1i32).to_be_bytes().to_vec());
        assert_eq!(metadata_request(3, false), 0i32.to_be_bytes().to_vec());
        // v4: allow_auto_topic_creation = false
        assert_eq!(metadata_request(4, false), vec![0, 0, 0, 0, 0]);
    }

    #[test]
    fn sasl_requests_are_length_prefixed() {
        assert_eq!(string("PLAIN"), b"\x00\x05PLAIN".to_vec());
        assert_eq!(bytes(b"\0u\0p"), b"\x00\x00\x00\x04\0u\0p".to_vec());
    }

    #[test]
    fn versions_are_picked_from_both_ranges() {
        let r = |min, max| ApiRange { key: 3, min, max };
        assert_eq!(pick_version(r(0, 12), (1, 4)), Some(4));
        assert_eq!(pick_version(r(0, 2), (1, 4)), Some(2));
        assert_eq!(pick_version(r(0, 0), (1, 4)), None);
        assert_eq!(pick_version(r(5, 9), (1, 4)), None);
    }

    #[test]
    fn api_versions_answer_parses() {
        let mut answer = 0i16.to_be_bytes().to_vec();
        answer.extend(2i32.to_be_bytes());
        for (k, min, max) in [(21i16, 0i16, 2i16), (3, 0, 12)] {
            answer.extend(k.to_be_bytes());
            answer.extend(min.to_be_bytes());
            answer.extend(max.to_be_bytes());
        }
        let (error, apis) = parse_api_versions(&answer).unwrap();
        assert_eq!(error, 0);
        assert_eq!(
            apis[0],
            ApiRange {
                key: 21,
                min: 0,
                max: 2
            }
        );
        assert!(parse_api_versions(&answer[..9]).is_err(), "truncated");
    }

    fn metadata_answer(version: i16) -> Vec<u8> {
        let mut a = Vec::new();
        if version >= 3 {
            a.extend(0i32.to_be_bytes());
        }
        a.extend(1i32.to_be_bytes()); // one broker
        a.extend(1i32.to_be_bytes());
        a.extend(string("kafka-1"));
        a.extend(9092i32.to_be_bytes());
        a.extend((-1i16).to_be_bytes()); // rack null
        if version >= 2 {
            a.extend(string("cluster-a"));
        }
        a.extend(1i32.to_be_bytes()); // controller
        a.extend(1i32.to_be_bytes()); // one topic
        a.extend(0i16.to_be_bytes());
        a.extend(string("greptimedb_wal_topic_0"));
        a.push(0);
        a.extend(1i32.to_be_bytes()); // one partition
        a.extend(0i16.to_be_bytes());
        a.extend(0i32.to_be_bytes());
        a.extend(1i32.to_be_bytes()); // leader
        a.extend(1i32.to_be_bytes());
        a.extend(1i32.to_be_bytes()); // replicas [1]
        a.extend(1i32.to_be_bytes());
        a.extend(1i32.to_be_bytes()); // isr [1]
        a
    }

    #[test]
    fn metadata_answers_parse_in_every_version() {
        for version in 1..=4 {
            let m = parse_metadata(&metadata_answer(version), version).unwrap();
            assert_eq!(m.brokers[0].address(), "kafka-1:9092");
            assert_eq!(m.controller_id, Some(1));
            assert_eq!(m.cluster_id.is_some(), version >= 2);
            assert_eq!(m.topics[0].name, "greptimedb_wal_topic_0");
            assert_eq!(m.topics[0].partitions[0].leader, 1);
            assert_eq!(m.topics[0].partitions[0].isr, vec![1]);
        }
        let v6 = BrokerMeta {
            id: 1,
            host: "fd00::1".into(),
            port: 9092,
            rack: None,
        };
        assert_eq!(v6.address(), "[fd00::1]:9092");
    }

    #[test]
    fn sasl_answers_parse() {
        let mut a = 33i16.to_be_bytes().to_vec();
        a.extend(2i32.to_be_bytes());
        a.extend(string("SCRAM-SHA-512"));
        a.extend(string("PLAIN"));
        assert_eq!(
            parse_sasl_handshake(&a).unwrap(),
            (33, vec!["SCRAM-SHA-512".to_string(), "PLAIN".to_string()])
        );
        let mut a = 58i16.to_be_bytes().to_vec();
        a.extend(string("Authentication failed"));
        a.extend(bytes(b""));
        let (code, message, data) = parse_sasl_authenticate(&a).unwrap();
        assert_eq!(
            (code, message.as_deref(), data.len()),
            (58, Some("Authentication failed"), 0)
        );
        assert_eq!(code_name(58), "SaslAuthenticationFailed (58)");
        assert_eq!(code_name(0), "no error (0)");
    }

    #[test]
    fn mechanisms_are_greptimedbs_exact_names() {
        for name in ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] {
            assert_eq!(Mechanism::parse(name).unwrap().name(), name);
        }
        for bad in ["plain", "SCRAM-SHA-1", "GSSAPI", "OAUTHBEARER", ""] {
            assert!(Mechanism::parse(bad).is_none(), "{bad}");
        }
        let err = Sasl::new(&KafkaSasl {
            mechanism: "scram-sha-256".into(),
            username: "u".into(),
            password: "secret-pw".into(),
        })
        .err()
        .unwrap();
        assert_eq!(err.kind, ErrorKind::Misconfigured);
        assert!(err.message.contains("wal.sasl.type") && !err.message.contains("secret-pw"));
    }

    fn io_err(e: rustls::Error) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }

    #[test]
    fn tls_failures_name_the_wal_tls_key() {
        let unknown = io_err(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer,
        ));
        let e = tls_error("k:9093", "k", &unknown, false);
        assert_eq!(e.kind, ErrorKind::Rejected);
        assert!(e.hint.unwrap().contains("wal.tls.server_ca_cert_path"));

        let name = io_err(rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName,
        ));
        let e = tls_error("k:9093", "k", &name, false);
        assert!(e.message.contains("does not name `k`"), "{}", e.message);

        let required = io_err(rustls::Error::AlertReceived(
            AlertDescription::CertificateRequired,
        ));
        let e = tls_error("k:9093", "k", &required, false);
        assert!(e.hint.unwrap().contains("wal.tls.client_cert_path"));
        let e = tls_error("k:9093", "k", &required, true);
        assert!(e.message.contains("refused our client certificate"));

        let plaintext = io_err(rustls::Error::InvalidMessage(
            rustls::InvalidMessage::InvalidContentType,
        ));
        let e = tls_error("k:9092", "k", &plaintext, false);
        assert!(e.hint.unwrap().contains("remove the [wal.tls] table"));

        let eof = io::Error::new(io::ErrorKind::UnexpectedEof, "eof");
        let e = tls_error("k:9092", "k", &eof, false);
        assert_eq!(e.kind, ErrorKind::Rejected);
    }

    #[test]
    fn rskafka_server_errors_are_rejections_with_hints() {
        let e = KafkaError::ServerError {
            protocol_error: ProtocolError::InvalidReplicationFactor,
            error_message: Some("Replication factor: 3 larger than available brokers: 1.".into()),
            request: rskafka::client::error::RequestContext::Topic("t".into()),
            response: None,
            is_virtual: false,
        };
        let err = rskafka_error("creating topic `t`", &e);
        assert_eq!(err.kind, ErrorKind::Rejected);
        assert!(err.message.contains("InvalidReplicationFactor"));
        assert!(err.hint.unwrap().contains("wal.replication_factor"));
        let err = rskafka_error("x", &KafkaError::Timeout);
        assert_eq!(err.kind, ErrorKind::Timeout);
    }

    #[test]
    fn none_reachable_keeps_a_common_kind() {
        let refused = |ep: &str| tcp_error(ep, &io::Error::from(io::ErrorKind::ConnectionRefused));
        let failures = vec![
            ("a:1".to_string(), refused("a:1")),
            ("b:2".to_string(), refused("b:2")),
        ];
        let e = none_reachable(&failures);
        assert_eq!(e.kind, ErrorKind::Unreachable);
        assert!(e.message.contains("a:1") && e.message.contains("b:2"));
        assert!(e.hint.unwrap().contains("wal.broker_endpoints"));
        let sasl = StepError::rejected("bad credentials").with_hint("check `wal.sasl.password`");
        let e = none_reachable(&[("a:1".into(), sasl.clone()), ("b:2".into(), sasl)]);
        assert_eq!(e.kind, ErrorKind::Rejected);
        assert!(e.hint.unwrap().contains("wal.sasl"));
        let mixed = none_reachable(&[
            ("a:1".into(), refused("a:1")),
            ("b:2".into(), StepError::rejected("x")),
        ]);
        assert_eq!(mixed.kind, ErrorKind::Unreachable);
        assert!(mixed.hint.unwrap().contains("wal.broker_endpoints"));
    }
}
