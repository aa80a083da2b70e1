//! rskafka, the client GreptimeDB uses, built as GreptimeDB builds it (all endpoints, TLS, SASL,
//! its backoff), and its errors put in the terms of the config key to fix. Topic creation,
//! produce, fetch and deletion go through it.

use std::time::Duration;

use rskafka::client::error::{Error as KafkaError, ProtocolError};
use rskafka::client::ClientBuilder;
use rskafka::{BackoffConfig, BackoffError};

use super::settings::{Settings, CLIENT_ID};
use crate::plugins::{human, ErrorKind, StepError};

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
}
