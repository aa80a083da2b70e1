//! One attempt of a step: its own task under the attempt's timeout and the run's cancellation,
//! then its cleanup actions, however it ended. The outcome is an [`AttemptEnd`], not yet judged.
//!
//! This module knows nothing of checks, retries or `RunOptions`, so `share.rs` can hand an
//! `AttemptEnd` from one run to another without depending on the rest of the engine.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::dep_logs::{collect, Collected};
use crate::config::EffectiveConfig;
use crate::notation::hosts::Redirect;
use crate::plugins::answer::AnswerDeadline;
use crate::plugins::{CleanupRegistry, CreatedDirs, DynStep, StepCx, StepError, StepOutput};

/// How long each cleanup action may take.
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(15);

/// How one attempt ended, before judging.
#[derive(Debug, Clone)]
pub(super) enum AttemptEnd {
    Output(StepOutput),
    Failed(StepError),
    TimedOut(Duration),
    Interrupted,
    Crashed(String),
}

/// The limits of one attempt: its whole timeout and its dependency's first-answer deadline.
#[derive(Debug, Clone)]
pub(super) struct AttemptLimits {
    pub timeout: Duration,
    pub answer: AnswerDeadline,
}

/// What every attempt of one run executes with, besides its step, parameters and timeout.
pub(super) struct AttemptCx<'a> {
    /// Bounds the attempts in flight (`--jobs`).
    pub jobs: &'a Semaphore,
    pub config: Arc<EffectiveConfig>,
    pub run_id: &'a str,
    pub read_only: bool,
    pub progress: Option<indicatif::MultiProgress>,
    /// Directories the run's steps created, removed when the run ends if empty.
    pub created_dirs: CreatedDirs,
    /// `--resolve` redirects, for addresses steps learn while running.
    pub redirects: Arc<[Redirect]>,
}

impl AttemptCx<'_> {
    /// Runs one attempt in its own task, then its cleanup actions; returns how it ended and
    /// one note per cleanup action.
    pub(super) async fn attempt(
        &self,
        step: &'static dyn DynStep,
        params: Value,
        limits: &AttemptLimits,
        cancel: &CancellationToken,
    ) -> (AttemptEnd, Vec<String>) {
        let timeout = limits.timeout;
        let _permit = self.jobs.acquire().await.expect("semaphore open");
        tracing::debug!(step = step.name(), %params, "running step");
        let undo = CleanupRegistry::default();
        let cx = StepCx::new(
            self.config.clone(),
            self.run_id.to_string(),
            Instant::now() + timeout,
            self.read_only,
            undo.clone(),
        )
        .with_answer(limits.answer.clone())
        .with_progress(self.progress.clone())
        .with_created_dirs(self.created_dirs.clone())
        .with_redirects(self.redirects.clone());
        let logs = Collected::default();
        let mut task = tokio::spawn(collect(logs.clone(), async move {
            step.run_dyn(params, &cx).await
        }));
        let end = tokio::select! {
            joined = tokio::time::timeout(timeout, &mut task) => match joined {
                Ok(Ok(Ok(output))) => AttemptEnd::Output(output),
                Ok(Ok(Err(e))) => AttemptEnd::Failed(e),
                Ok(Err(join)) => AttemptEnd::Crashed(join.to_string()),
                Err(_) => AttemptEnd::TimedOut(timeout),
            },
            _ = cancel.cancelled() => AttemptEnd::Interrupted,
        };
        if matches!(end, AttemptEnd::TimedOut(_) | AttemptEnd::Interrupted) {
            // the step must be gone before its cleanup starts: an aborted task can still be in
            // the middle of a poll on another worker thread, about to send one more request
            task.abort();
            let _ = tokio::time::timeout(CLEANUP_TIMEOUT, &mut task).await;
        }
        let mut notes = logs.take();
        for action in undo.drain() {
            match tokio::time::timeout(CLEANUP_TIMEOUT, action.action).await {
                Ok(Ok(())) => notes.push(format!("cleaned up {}", action.label)),
                Ok(Err(e)) => notes.push(format!("cleanup failed for {}: {e}", action.label)),
                Err(_) => notes.push(format!("cleanup failed for {}: timed out", action.label)),
            }
        }
        (end, notes)
    }
}
