//! The connection settings of a `kafka.*` step, read from GreptimeDB's `[wal]` keys and validated
//! once: `wal.broker_endpoints`, the timeouts, `[wal.tls]` (built by [`super::tls`]) and
//! `[wal.sasl]`.

use std::sync::Arc;
use std::time::Duration;

use rskafka::client::{Credentials, SaslConfig};
use rustls::ClientConfig;

use super::{tls, KafkaConnection, KafkaSasl};
use crate::plugins::net::HostPort;
use crate::plugins::StepError;

/// The client id sent with every request (brokers log it).
pub(crate) const CLIENT_ID: &str = "greptime-self-test";

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
    /// Used to authenticate, never repeated in messages.
    pub(super) password: String,
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
                let (config, client_cert) = tls::config(tls, &mut notes).await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::ErrorKind;

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
}
