//! How long each phase of a broker connection waits for the broker's first answer: the run's
//! first-answer deadline (`cx.answer`), capped by the `[wal]` key GreptimeDB's client applies
//! to that phase, and cut short by the step's deadline so that the step names the phase that
//! hung.
//!
//! GreptimeDB builds its Kafka client (rskafka, GreptimeDB's fork) with
//! `connect_timeout(wal.connect_timeout)` and `timeout(wal.timeout)`
//! (`src/log-store/src/kafka/client_manager.rs` for the datanode,
//! `src/common/meta/src/wal_provider/topic_creator.rs` for metasrv). The fork applies the first
//! to the name resolution and TCP connection only (`Transport::connect_timeout`), not to the
//! TLS handshake (`Transport::wrap_tls` has no timeout), and the second to every request
//! (`Messenger::request_with_version_ranges`).

use std::time::Duration;

use crate::plugins::answer::AnswerDeadline;
use crate::plugins::{human, StepCx};

/// Time a request may take: what is left before the deadline, less a margin so that the step
/// reports which request hung before the engine gives up on the whole step.
pub(crate) fn request_limit(cx: &StepCx) -> Duration {
    cx.request_limit()
}

/// A phase of one broker connection, by the limit GreptimeDB's client puts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Name resolution and the TCP connection: `wal.connect_timeout`.
    Connect(Duration),
    /// The TLS handshake: no limit in GreptimeDB's client.
    TlsHandshake,
    /// One request (ApiVersions, SASL, Metadata): `wal.timeout`.
    Request(Duration),
}

impl Phase {
    /// The `[wal]` key that bounds the phase in GreptimeDB, and its value.
    fn key(self) -> Option<(&'static str, Duration)> {
        match self {
            Phase::Connect(value) => Some(("wal.connect_timeout", value)),
            Phase::TlsHandshake => None,
            Phase::Request(value) => Some(("wal.timeout", value)),
        }
    }

    /// What GreptimeDB's own client does in this phase, for the hint of a verdict.
    pub fn greptimedb(self) -> String {
        match self {
            Phase::Connect(value) => format!(
                "GreptimeDB's Kafka client waits `wal.connect_timeout` ({}) for each broker's \
                 name resolution and TCP connection, tries the bootstrap brokers one after \
                 another, and goes round them again while its retry backoff lasts (about 3s of \
                 pauses)",
                human(value)
            ),
            Phase::TlsHandshake => "GreptimeDB's Kafka client bounds only the TCP connection \
                 by `wal.connect_timeout`, not the TLS handshake: when it tries this broker its \
                 start-up waits without limit"
                .to_string(),
            Phase::Request(value) => format!(
                "GreptimeDB's Kafka client waits `wal.timeout` ({}) for each answer, then gives \
                 up on the broker",
                human(value)
            ),
        }
    }

    /// How long this phase waits: `cx.answer`, capped by the phase's `[wal]` key when that is
    /// smaller, and by what is left of the step when that is smaller still.
    pub fn deadline(self, cx: &StepCx) -> AnswerDeadline {
        match self.key() {
            Some((key, value)) => cx.answer.capped_by(key, value),
            None => cx.answer.clone(),
        }
        .within_check(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::time::Instant;

    use super::*;
    use crate::config::{Component, EffectiveConfig};
    use crate::plugins::CleanupRegistry;

    fn cx(budget: Duration, answer: Duration) -> StepCx {
        let config = EffectiveConfig {
            component: Component::Datanode,
            file: None,
            value: serde_json::json!({}),
            findings: Vec::new(),
            secrets: Vec::new(),
        };
        StepCx::new(
            Arc::new(config),
            "t".into(),
            Instant::now() + budget,
            false,
            CleanupRegistry::default(),
        )
        .with_answer(AnswerDeadline::from_run(answer))
    }

    #[tokio::test]
    async fn each_phase_is_capped_by_the_key_greptimedb_applies_to_it() {
        let secs = Duration::from_secs;
        let cx = cx(secs(30), secs(5));
        let connect = Phase::Connect(secs(3)).deadline(&cx);
        assert_eq!(connect.limit, secs(3));
        assert!(connect.describe().contains("`wal.connect_timeout`"));
        let request = Phase::Request(secs(2)).deadline(&cx);
        assert_eq!(request.limit, secs(2));
        assert!(request.describe().contains("`wal.timeout`"));
        // No limit on the TLS handshake in GreptimeDB: the run's deadline holds.
        let tls = Phase::TlsHandshake.deadline(&cx);
        assert_eq!(tls, AnswerDeadline::from_run(secs(5)));
        // A larger key leaves the run's deadline.
        assert_eq!(
            Phase::Request(secs(10)).deadline(&cx),
            AnswerDeadline::from_run(secs(5))
        );
    }

    #[tokio::test]
    async fn the_steps_own_deadline_cuts_every_phase() {
        let cx = cx(Duration::from_secs(1), Duration::from_secs(5));
        let d = Phase::TlsHandshake.deadline(&cx);
        assert!(d.limit < Duration::from_secs(1));
        assert!(
            d.describe().contains("the check's `timeout`"),
            "{}",
            d.describe()
        );
    }
}
