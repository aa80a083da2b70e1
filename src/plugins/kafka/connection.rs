//! One connection to one broker, set up as GreptimeDB's client (rskafka) sets it up: DNS, TCP,
//! TLS with the `[wal.tls]` config, ApiVersions, then SASL (SaslHandshake and SaslAuthenticate,
//! stepping rsasl with the `[wal.sasl]` credentials) and Metadata on request.
//!
//! rskafka exposes neither the ApiVersions answer nor the broker list and controller of the
//! Metadata answer, so these requests are sent here (messages in [`super::messages`], framing in
//! [`super::wire`]); writes go through rskafka itself ([`super::rskafka_adapter`]).

use std::io;
use std::net::SocketAddr;

use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::bounds::Phase;
use super::errors::{no_answer, tcp_error, tls_error, Peer, Stage};
use super::messages::{
    api, api_ranges, api_versions_request, code_name, metadata_request, pick_version,
    sasl_authenticate_request, sasl_handshake_request, ApiRange, Exchange, Metadata,
    API_VERSIONS_VERSION, METADATA_VERSIONS, SASL_AUTHENTICATE_VERSIONS, SASL_HANDSHAKE_VERSION,
};
use super::settings::{parse_endpoint, Sasl, Settings};
use super::wire::{self, Io};
use crate::plugins::answer::Silence;
use crate::plugins::{StepCx, StepError};

/// One connection to one broker, set up as GreptimeDB's client sets it up.
pub(crate) struct Conn {
    io: Box<dyn Io>,
    next_id: i32,
    peer: Peer,
    /// The broker's ApiVersions answer.
    pub apis: Vec<ApiRange>,
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
    let phase = Phase::Connect(settings.connect_timeout);
    let deadline = phase.deadline(cx);
    let started = Instant::now();
    let left = || deadline.limit.saturating_sub(started.elapsed());

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
                "resolving `{}` (broker {endpoint}) did not finish within {}",
                target.host,
                deadline.describe()
            ))
            .with_hint(format!(
                "the DNS server does not answer in time; {}",
                phase.greptimedb()
            )))
        }
    };
    let tcp = match tokio::time::timeout(left(), connect_any(&addrs)).await {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(e)) => return Err(tcp_error(endpoint, &e)),
        Err(_) => {
            return Err(no_answer(
                endpoint,
                Silence::BlackHoled,
                phase,
                &deadline,
                "TCP connect",
                "no SYN-ACK and no refusal came back: a firewall or security group drops the \
                 traffic, the route is wrong, or the host is down; check the host and port in \
                 `wal.broker_endpoints`",
            ))
        }
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
            // GreptimeDB's client puts no limit on the handshake; this waits for the run's
            // first-answer deadline.
            let phase = Phase::TlsHandshake;
            let deadline = phase.deadline(cx);
            let handshake = tokio_rustls::TlsConnector::from(config.clone()).connect(name, tcp);
            match tokio::time::timeout(deadline.limit, handshake).await {
                Ok(Ok(stream)) => Box::new(stream),
                Ok(Err(e)) => {
                    return Err(tls_error(endpoint, &target.host, &e, settings.client_cert))
                }
                Err(_) => {
                    return Err(no_answer(
                        endpoint,
                        Silence::TlsStalled,
                        phase,
                        &deadline,
                        "TLS, as `[wal.tls]` asks",
                        "the listener at this port probably does not speak TLS (a PLAINTEXT or \
                         SASL_PLAINTEXT listener waits for a Kafka request and never answers a \
                         TLS handshake): remove the [wal.tls] table, or use the port of the \
                         brokers' SSL / SASL_SSL listener; otherwise the broker is stuck",
                    ))
                }
            }
        }
    };
    let mut conn = Conn {
        io,
        next_id: 1,
        peer: Peer {
            endpoint: endpoint.to_string(),
            tls: settings.tls.is_some(),
            client_cert: settings.client_cert,
            sasl: settings.sasl.is_some(),
            timeout: settings.timeout,
        },
        apis: Vec::new(),
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

impl Conn {
    /// The broker's range for `key`, if it offers the API.
    pub fn api(&self, key: i16) -> Option<ApiRange> {
        self.apis.iter().copied().find(|a| a.key == key)
    }

    /// Sends one request as `version` and returns the answer.
    async fn call<R: Exchange>(
        &mut self,
        request: R,
        version: i16,
        stage: Stage,
        cx: &StepCx,
    ) -> Result<R::Response, StepError> {
        let deadline = Phase::Request(self.peer.timeout).deadline(cx);
        let id = self.next_id;
        self.next_id += 1;
        let exchange = wire::exchange(self.io.as_mut(), &request, version, id);
        match tokio::time::timeout(deadline.limit, exchange).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(wire)) => Err(self.peer.wire_error(stage, wire)),
            Err(_) => Err(self.peer.timeout_error(stage, &deadline)),
        }
    }

    /// ApiVersions v0: every version range the broker supports.
    async fn api_versions(&mut self, cx: &StepCx) -> Result<Vec<ApiRange>, StepError> {
        let answer = self
            .call(
                api_versions_request(),
                API_VERSIONS_VERSION,
                Stage::ApiVersions,
                cx,
            )
            .await?;
        let (error, apis) = api_ranges(&answer);
        // UNSUPPORTED_VERSION (35) still lists the ranges.
        let usable = error == 0 || (error == 35 && !apis.is_empty());
        if !usable {
            return Err(StepError::rejected(format!(
                "broker {} answered ApiVersions with {}",
                self.peer.endpoint,
                code_name(error)
            ))
            .with_hint("look at the broker log"));
        }
        Ok(apis)
    }

    /// SaslHandshake v1 and SaslAuthenticate, stepping rsasl as rskafka does.
    async fn authenticate(&mut self, sasl: &Sasl, cx: &StepCx) -> Result<(), StepError> {
        let ep = self.peer.endpoint.clone();
        let mechanism = sasl.mechanism.name();
        let handshake = self.api(api::SASL_HANDSHAKE);
        let auth_version = self
            .api(api::SASL_AUTHENTICATE)
            .and_then(|r| pick_version(r, SASL_AUTHENTICATE_VERSIONS));
        let (Some(handshake), Some(auth_version)) = (handshake, auth_version) else {
            return Err(StepError::rejected(format!(
                "broker {ep} does not offer SaslHandshake v1 and SaslAuthenticate v0-v1, which \
                 GreptimeDB's client uses for SASL"
            ))
            .with_hint("remove the [wal.sasl] table if the brokers do not use SASL; otherwise upgrade the brokers (Kafka 1.0 or later)"));
        };
        if pick_version(handshake, (SASL_HANDSHAKE_VERSION, SASL_HANDSHAKE_VERSION)).is_none() {
            return Err(StepError::rejected(format!(
                "broker {ep} offers SaslHandshake v{}-v{}, not v1, which GreptimeDB's client uses",
                handshake.min, handshake.max
            ))
            .with_hint("upgrade the brokers (Kafka 1.0 or later)"));
        }
        let answer = self
            .call(
                sasl_handshake_request(mechanism),
                SASL_HANDSHAKE_VERSION,
                Stage::SaslHandshake,
                cx,
            )
            .await?;
        let error = answer.error_code;
        let enabled: Vec<&str> = answer.mechanisms.iter().map(|m| m.as_str()).collect();
        match error {
            0 => {}
            33 if enabled.contains(&mechanism) => {
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
                        sasl_authenticate_request(out),
                        auth_version,
                        Stage::SaslAuthenticate,
                        cx,
                    )
                    .await?;
                if answer.error_code != 0 {
                    return Err(StepError::rejected(format!(
                        "broker {ep} rejected the SASL {mechanism} credentials of user `{}`: \
                         {}{}",
                        sasl.username,
                        code_name(answer.error_code),
                        answer
                            .error_message
                            .map(|m| format!(" ({})", m.as_str()))
                            .unwrap_or_default()
                    ))
                    .with_hint(credentials_hint));
                }
                received = Some(answer.auth_bytes.to_vec());
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
                self.peer.endpoint,
                offered.map_or("no Metadata".to_string(), |r| format!(
                    "Metadata v{}-v{}",
                    r.min, r.max
                ))
            ))
            .with_hint("the broker is too old or not Kafka-compatible enough for GreptimeDB"));
        };
        let request = metadata_request(version, all_topics);
        let answer = self.call(request, version, Stage::Metadata, cx).await?;
        Ok(answer.into())
    }
}
