//! Broker discovery: Metadata from the first of `wal.broker_endpoints` that answers, as rskafka
//! bootstraps from any of them, and the error when none does.

use futures::stream::{FuturesUnordered, StreamExt};

use super::connection;
use super::messages::Metadata;
use super::settings::Settings;
use crate::plugins::{ErrorKind, StepCx, StepError};

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
                let mut conn = connection::connect(settings, endpoint, true, cx).await?;
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

/// The error when no endpoint answered: the common kind, hint and silence when every endpoint
/// failed the same way (e.g. all refuse the TLS config, or all accept and stay silent), else
/// `Unreachable` naming `wal.broker_endpoints`.
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
                .map(|(endpoint, e)| if e.message.contains(endpoint.as_str()) {
                    e.message.clone()
                } else {
                    format!("{endpoint}: {}", e.message)
                })
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
    let same_silence = failures.iter().all(|(_, e)| e.silence == first.silence);
    StepError {
        kind,
        message,
        hint,
        silence: if same_silence { first.silence } else { None },
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;
    use crate::plugins::answer::Silence;
    use crate::plugins::kafka::errors::tcp_error;

    #[test]
    fn none_reachable_keeps_a_common_kind() {
        let refused = |ep: &str| tcp_error(ep, &io::Error::from(io::ErrorKind::ConnectionRefused));
        let failures = vec![
            ("a:1".to_string(), refused("a:1")),
            ("b:2".to_string(), refused("b:2")),
        ];
        let e = none_reachable(&failures);
        assert_eq!(e.kind, ErrorKind::Unreachable);
        assert_eq!(e.silence, Some(Silence::Refused));
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
        assert_eq!(mixed.silence, None);
        assert!(mixed.hint.unwrap().contains("wal.broker_endpoints"));
    }
}
