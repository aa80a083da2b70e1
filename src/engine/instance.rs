//! One instance of a check (one `for_each` item): its title and parameters rendered, its
//! attempts run up to `retry.attempts` times with `retry.delay` between them, and in a cluster
//! run a shareable step's attempt taken from the run that executed it (`share.rs`).

use serde_json::{Map, Value};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::attempt::AttemptLimits;
use super::reach::InCluster;
use super::result::{CheckResult, Skip, Status};
use super::runner::Runner;
use super::share::{Asker, SharedAttempts};
use crate::playbook::model::{CheckDef, DEFAULT_CHECK_TIMEOUT, DEFAULT_RETRY_DELAY};
use crate::plugins::answer::{AnswerDeadline, Silence};
use crate::plugins::{millis, registry};

impl Runner<'_> {
    /// Runs one instance with retries; returns its result and captures.
    pub(super) async fn instance(
        &self,
        def: &CheckDef,
        instance: String,
        item: Option<&Value>,
        cancel: &CancellationToken,
        cleanup: bool,
    ) -> (CheckResult, Map<String, Value>) {
        let started = Instant::now();
        let ctx = self.scope.context(item, None);
        let title = self
            .templates
            .render(&def.title, &ctx)
            .unwrap_or_else(|e| format!("{} ({e})", def.id));
        let mut result = self.base_result(def, cleanup, &title, Status::Error, String::new());
        result.instance = instance;
        result.doc = def
            .doc
            .as_ref()
            .and_then(|d| self.templates.render(d, &ctx).ok());
        result.key = def
            .key
            .as_ref()
            .and_then(|k| self.templates.render(k, &ctx).ok());
        if let Some(observer) = &self.opts.observer {
            observer.started(
                &self.opts.run_id,
                self.opts.node.as_deref(),
                &result.instance,
                &self.masker.mask(&result.title),
            );
        }
        let limits = AttemptLimits {
            timeout: def.timeout.unwrap_or(DEFAULT_CHECK_TIMEOUT),
            answer: match (def.answer_timeout, self.opts.answer_timeout) {
                (Some(own), _) => AnswerDeadline::from_check(own),
                (None, Some(run)) => AnswerDeadline::from_run(run),
                (None, None) => AnswerDeadline::default(),
            },
        };
        let (attempts, delay) = match &def.retry {
            Some(r) => (r.attempts.max(1), r.delay.unwrap_or(DEFAULT_RETRY_DELAY)),
            None => (1, DEFAULT_RETRY_DELAY),
        };
        let step = registry::get(&def.step.kind).expect("validated step type");
        let mut captures = Map::new();
        for attempt in 1..=attempts {
            result.attempts = attempt;
            let mut params = match self
                .templates
                .render_value(&Value::Object(def.step.with.clone()), &ctx)
            {
                Ok(p) => p,
                Err(e) => {
                    result.status = Status::Error;
                    result.message = format!("cannot render parameters: {e}");
                    break;
                }
            };
            // shareable steps are the ones that reach the dependency their parameters name
            let redirected = match step.shareable().then(|| self.reach.apply(&mut params)) {
                Some(Err(found)) => {
                    self.not_from_here(&mut result, found);
                    break;
                }
                Some(Ok(notes)) => notes,
                None => Vec::new(),
            };
            let (end, cleanup_notes) = match &self.opts.shared {
                Some(shared) if step.shareable() => {
                    let key = SharedAttempts::key(
                        step.name(),
                        attempt,
                        &limits,
                        self.opts.read_only,
                        &params,
                    );
                    let asker = Asker {
                        run_id: &self.opts.run_id,
                        label: &self.label(),
                    };
                    let own = self.attempts.attempt(step, params, &limits, cancel);
                    shared.attempt(key, asker, own).await
                }
                _ => self.attempts.attempt(step, params, &limits, cancel).await,
            };
            result.details = redirected.into_iter().chain(cleanup_notes).collect();
            captures = self.judge(def, end, item, &mut result);
            let retry = matches!(result.status, Status::Fail | Status::Error)
                && attempt < attempts
                && !cancel.is_cancelled();
            if retry && went_silent(&result) {
                // another full deadline would only double the wait for the same silence
                result.details.push(format!(
                    "not retried: the dependency gave no answer within its first-answer deadline \
                     ({} of {attempts} attempts made)",
                    attempt
                ));
                break;
            }
            if !retry {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = cancel.cancelled() => break,
            }
        }
        if result
            .details
            .iter()
            .any(|d| d.starts_with("cleanup failed"))
            && result.status == Status::Pass
        {
            result.status = Status::Warn;
            result.message = format!("{} (but cleanup failed; see details)", result.message);
        }
        result.duration_ms = millis(started.elapsed());
        if let Some(observer) = &self.opts.observer {
            let mut shown = result.clone();
            self.masker.mask_result(&mut shown);
            observer.finished(&self.opts.run_id, self.opts.node.as_deref(), &shown);
        }
        (result, captures)
    }

    /// Skips an instance whose parameters name a host that resolves only inside the cluster.
    fn not_from_here(&self, result: &mut CheckResult, found: InCluster) {
        result.status = Status::Skipped;
        result.attempts = 0;
        result.message = format!(
            "not run from this host: `{}` names a service inside the Kubernetes cluster and does \
             not resolve here",
            found.host
        );
        result.hint = Some(self.reach.hint(&found));
        result.skip = Some(Skip::InCluster {
            host: found.host,
            port: found.port,
        });
    }

    /// How detail lines name this run: its node, or the cross-node checks.
    fn label(&self) -> String {
        match &self.opts.node {
            Some(node) => format!("node `{node}`"),
            None => "the cross-node checks".into(),
        }
    }
}

/// Whether an attempt failed because its dependency never answered (as opposed to refusing or
/// answering with an error, which a retry may see change).
fn went_silent(result: &CheckResult) -> bool {
    result
        .metrics
        .get("no_answer")
        .and_then(|v| v.as_str())
        .is_some_and(|kind| kind != Silence::Refused.as_str())
}
