//! What a failed connection to a broker means, in the terms of the config key to fix: TCP
//! errors, TLS handshake failures and alerts, and an exchange that failed at a given request
//! (closed, timed out, not Kafka, malformed).

use std::io;
use std::time::Duration;

use rustls::{AlertDescription, CertificateError};

use super::bounds::Phase;
use super::wire::Wire;
use crate::plugins::answer::{AnswerDeadline, NoAnswer, Silence};
use crate::plugins::StepError;

/// The request a connection is at, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    ApiVersions,
    SaslHandshake,
    SaslAuthenticate,
    Metadata,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::ApiVersions => "ApiVersions",
            Stage::SaslHandshake => "SaslHandshake",
            Stage::SaslAuthenticate => "SaslAuthenticate",
            Stage::Metadata => "Metadata",
        }
    }
}

/// What the errors of a connection need to know about it.
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    /// The endpoint connected to, as given.
    pub endpoint: String,
    pub tls: bool,
    /// Whether a client certificate is presented.
    pub client_cert: bool,
    /// Whether `[wal.sasl]` is present.
    pub sasl: bool,
    /// `wal.timeout`, which GreptimeDB's client applies to every request.
    pub timeout: Duration,
}

/// The verdict on a broker that did not answer a phase within `deadline`, worded as
/// [`NoAnswer::into_error`] words every first-answer verdict: `what` is the request that got no
/// answer, `hint` the Kafka-specific cause and fix (in place of the generic advice of
/// `silence`), followed by what GreptimeDB's own client does in `phase`.
pub(crate) fn no_answer(
    endpoint: &str,
    silence: Silence,
    phase: Phase,
    deadline: &AnswerDeadline,
    what: &str,
    hint: &str,
) -> StepError {
    let greptimedb = phase.greptimedb();
    let mut error = NoAnswer {
        silence: Some(silence),
        endpoint: format!("broker {endpoint}"),
        deadline: deadline.clone(),
    }
    .into_error(what, &greptimedb);
    error.hint = Some(format!("{hint}; {greptimedb}"));
    error
}

pub(crate) fn tcp_error(endpoint: &str, e: &io::Error) -> StepError {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => StepError {
            silence: Some(Silence::Refused),
            ..StepError::unreachable(format!(
                "cannot connect to broker {endpoint}: connection refused"
            ))
            .with_hint(format!(
                "nothing listens on {endpoint}: is the broker running, and is this its \
                 listener's host and port (default 9092)? Check `wal.broker_endpoints`"
            ))
        },
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
pub(crate) fn tls_error(endpoint: &str, host: &str, e: &io::Error, client_cert: bool) -> StepError {
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

impl Peer {
    /// Maps a failed exchange to an error in the terms of `stage`.
    pub fn wire_error(&self, stage: Stage, wire: Wire) -> StepError {
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
            Wire::Malformed(detail) => self.malformed(stage, &detail),
            Wire::Encode(detail) => StepError::could_not_run(format!(
                "cannot encode the {request} request for broker {ep}: {detail}"
            )),
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
            Stage::Metadata if !self.sasl => StepError::rejected(format!(
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

    /// The broker accepted the connection and sent no answer to `stage` within `deadline`.
    pub fn timeout_error(&self, stage: Stage, deadline: &AnswerDeadline) -> StepError {
        let hint = match stage {
            Stage::ApiVersions if !self.tls => {
                "a TLS listener waits for a TLS handshake and never answers a plaintext request: \
                 if the brokers use SSL or SASL_SSL, add a [wal.tls] table; otherwise the broker \
                 is overloaded or stuck, see its log"
            }
            Stage::SaslHandshake | Stage::SaslAuthenticate => {
                "the broker does not complete SASL authentication; check the [wal.sasl] table \
                 and the broker log"
            }
            _ => {
                "the broker took the connection but answers nothing: it may be overloaded, \
                 starting, or unable to reach its controller, see its log"
            }
        };
        no_answer(
            &self.endpoint,
            Silence::AcceptedSilent,
            Phase::Request(self.timeout),
            deadline,
            stage.name(),
            hint,
        )
    }

    fn malformed(&self, stage: Stage, detail: &str) -> StepError {
        StepError::rejected(format!(
            "broker {} sent a malformed {} answer: {detail}",
            self.endpoint,
            stage.name()
        ))
        .with_hint("the broker does not follow the Kafka protocol for this request; check that `wal.broker_endpoints` names Kafka brokers")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::ErrorKind;

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
}
