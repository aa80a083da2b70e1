//! Step attempts shared by the runs of one session (the nodes of a cluster run).
//!
//! The nodes of a cluster mostly name the same dependencies: one etcd, one bucket, one Kafka.
//! Running the same step with the same parameters from the same machine once per node gives the
//! same answer each time and multiplies the load on those services by the node count. So the
//! first run to reach such an attempt executes it and the others take its outcome, with a
//! detail line naming the run that executed it.
//!
//! Only steps that declare themselves shareable (`Step::SHAREABLE`: their outcome depends on
//! nothing but their parameters and the dependency they name) take part, and the key holds
//! everything else that can change an outcome: step type, rendered parameters, timeout,
//! read-only mode and attempt number. A waiting run holds no `--jobs` permit, so sharing cannot
//! starve the run it waits for; it waits at most that attempt's timeout plus its cleanup. An
//! interrupted attempt is not shared: another run that still wants the answer executes it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::OnceCell;

use super::attempt::{AttemptEnd, AttemptLimits};

/// The outcome of one executed attempt, as the other runs see it.
struct Outcome {
    end: AttemptEnd,
    cleanup_notes: Vec<String>,
    /// Run id and label (node name) of the run that executed it.
    run_id: String,
    label: String,
}

/// The attempts of shareable steps in one session, by key.
#[derive(Default)]
pub struct SharedAttempts {
    cells: Mutex<HashMap<String, Arc<OnceCell<Arc<Outcome>>>>>,
}

impl std::fmt::Debug for SharedAttempts {
    /// Counts only: the keys hold rendered parameters, secrets included.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let len = self.cells.lock().map(|c| c.len()).unwrap_or_default();
        write!(f, "SharedAttempts({len} keys)")
    }
}

/// Who is asking: the run's id and its label in detail lines.
pub(super) struct Asker<'a> {
    pub run_id: &'a str,
    pub label: &'a str,
}

impl SharedAttempts {
    /// The key of an attempt: everything its outcome can depend on besides the dependency.
    pub(super) fn key(
        step: &str,
        attempt: u32,
        limits: &AttemptLimits,
        read_only: bool,
        params: &Value,
    ) -> String {
        format!(
            "{step}\n{attempt}\n{}\n{}\n{read_only}\n{params}",
            limits.timeout.as_millis(),
            limits.answer.limit.as_millis()
        )
    }

    /// Runs `attempt` unless another run of the session has executed (or is executing) the
    /// attempt with the same `key`; then returns that outcome with a detail line saying so.
    pub(super) async fn attempt(
        &self,
        key: String,
        asker: Asker<'_>,
        attempt: impl Future<Output = (AttemptEnd, Vec<String>)>,
    ) -> (AttemptEnd, Vec<String>) {
        let cell = self
            .cells
            .lock()
            .expect("shared attempts lock")
            .entry(key)
            .or_default()
            .clone();
        let shared = cell
            .get_or_try_init(|| async {
                let (end, cleanup_notes) = attempt.await;
                if matches!(end, AttemptEnd::Interrupted) {
                    return Err((end, cleanup_notes));
                }
                Ok(Arc::new(Outcome {
                    end,
                    cleanup_notes,
                    run_id: asker.run_id.to_string(),
                    label: asker.label.to_string(),
                }))
            })
            .await;
        match shared {
            Err(own) => own,
            Ok(outcome) if outcome.run_id == asker.run_id => {
                (outcome.end.clone(), outcome.cleanup_notes.clone())
            }
            Ok(outcome) => {
                let mut notes = vec![format!(
                    "shared: run once for the whole cluster run, by {} (same step, parameters \
                     and timeout)",
                    outcome.label
                )];
                notes.extend(outcome.cleanup_notes.iter().cloned());
                (outcome.end.clone(), notes)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use std::time::Duration;

    use super::*;
    use crate::plugins::answer::AnswerDeadline;
    use crate::plugins::StepOutput;

    fn asker<'a>(run_id: &'a str, label: &'a str) -> Asker<'a> {
        Asker { run_id, label }
    }

    /// An attempt that counts its executions and ends with `end` after a short while.
    async fn counted(runs: &AtomicUsize, end: AttemptEnd) -> (AttemptEnd, Vec<String>) {
        runs.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        (end, vec!["cleaned up probe".into()])
    }

    fn output() -> AttemptEnd {
        AttemptEnd::Output(StepOutput {
            value: serde_json::json!({"ok": true}),
            details: Vec::new(),
        })
    }

    #[tokio::test]
    async fn equal_keys_execute_once_and_the_others_say_whose_outcome_they_show() {
        let shared = SharedAttempts::default();
        let runs = AtomicUsize::new(0);
        let (first, second, other_key) = tokio::join!(
            shared.attempt(
                "k".into(),
                asker("s-0", "node `a`"),
                counted(&runs, output())
            ),
            shared.attempt(
                "k".into(),
                asker("s-1", "node `b`"),
                counted(&runs, output())
            ),
            shared.attempt(
                "k2".into(),
                asker("s-1", "node `b`"),
                counted(&runs, output())
            ),
        );
        assert_eq!(runs.load(Ordering::SeqCst), 2, "k once, k2 once");
        assert_eq!(first.1, ["cleaned up probe"]);
        assert!(matches!(second.0, AttemptEnd::Output(_)));
        assert!(
            second.1[0].starts_with("shared: run once"),
            "{:?}",
            second.1
        );
        assert!(second.1[0].contains("node `a`"), "{:?}", second.1);
        assert_eq!(second.1[1], "cleaned up probe");
        assert_eq!(other_key.1, ["cleaned up probe"]);
    }

    #[tokio::test]
    async fn an_interrupted_attempt_is_not_shared() {
        let shared = SharedAttempts::default();
        let runs = AtomicUsize::new(0);
        let interrupted = shared
            .attempt(
                "k".into(),
                asker("s-0", "node `a`"),
                counted(&runs, AttemptEnd::Interrupted),
            )
            .await;
        assert!(matches!(interrupted.0, AttemptEnd::Interrupted));
        let next = shared
            .attempt(
                "k".into(),
                asker("s-1", "node `b`"),
                counted(&runs, output()),
            )
            .await;
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert!(matches!(next.0, AttemptEnd::Output(_)));
        assert_eq!(next.1, ["cleaned up probe"], "executed by b itself");
    }

    #[test]
    fn keys_differ_in_everything_that_can_change_an_outcome() {
        let params = serde_json::json!({"endpoint": "127.0.0.1:2379"});
        let second = Duration::from_secs(1);
        let key = |step, attempt, timeout: Duration, read_only, params: &Value| {
            let limits = AttemptLimits {
                timeout,
                answer: AnswerDeadline::default(),
            };
            SharedAttempts::key(step, attempt, &limits, read_only, params)
        };
        let base = key("etcd.probe", 1, second, false, &params);
        assert_eq!(base, key("etcd.probe", 1, second, false, &params.clone()));
        let shorter_answer = AttemptLimits {
            timeout: second,
            answer: AnswerDeadline::from_run(second / 2),
        };
        for other in [
            key("etcd.latency", 1, second, false, &params),
            key("etcd.probe", 2, second, false, &params),
            key("etcd.probe", 1, second * 2, false, &params),
            key("etcd.probe", 1, second, true, &params),
            SharedAttempts::key("etcd.probe", 1, &shorter_answer, false, &params),
            key(
                "etcd.probe",
                1,
                second,
                false,
                &serde_json::json!({"endpoint": "127.0.0.1:2380"}),
            ),
        ] {
            assert_ne!(base, other);
        }
    }

    #[test]
    fn debug_shows_no_key() {
        let shared = SharedAttempts::default();
        shared
            .cells
            .lock()
            .unwrap()
            .insert("step\nsecret-password".into(), Arc::default());
        assert_eq!(format!("{shared:?}"), "SharedAttempts(1 keys)");
    }
}
