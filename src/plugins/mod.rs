//! The step plugin API.
//!
//! A plugin is a [`Step`]: a name (`family.verb`), typed parameters and a typed output, both
//! with a JSON Schema (doc comments on the fields become the descriptions shown by `explain`),
//! and an async `run`. A blanket impl erases the types into [`DynStep`], so the engine only ever
//! handles JSON values. Each family module exports a `STEPS` list; [`registry`] chains them.
//!
//! Plugins never retry, print, read the CLI or the environment, or enforce their own overall
//! timeout: the engine owns retries, deadlines, cancellation, masking and cleanup. A plugin that
//! creates something registers its undo with [`StepCx::on_cleanup`] *before* creating it, so
//! the engine can remove it after success, failure, timeout or Ctrl-C.

pub mod answer;
pub mod backend_tls;
pub mod cluster;
pub mod config;
pub mod etcd;
pub mod fs;
pub mod http;
pub mod kafka;
pub mod metasrv;
pub mod net;
pub mod object_store;
pub mod registry;
pub mod sql;

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use schemars::{JsonSchema, Schema};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use tokio::time::Instant;

use crate::config::EffectiveConfig;

// Small helpers shared by every step family.

/// Deserializes an optional humantime duration (`"3s"`, `"500ms"`).
pub fn de_opt_duration<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    Option::<String>::deserialize(deserializer)?
        .map(|text| crate::config::units::parse_duration(&text).map_err(serde::de::Error::custom))
        .transpose()
}

/// Milliseconds as f64, for `*_ms` outputs.
pub fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// A duration for messages, rounded to 10 ms below a second and to 100 ms above (`1s`, not
/// `999.93ms`, for a deadline that has just begun to run).
pub fn human(duration: Duration) -> String {
    let ms = (duration.as_secs_f64() * 1000.0).round() as u64;
    let step = if ms >= 995 { 100 } else { 10 };
    let ms = if ms < 10 {
        ms
    } else {
        (ms + step / 2) / step * step
    };
    humantime::format_duration(Duration::from_millis(ms)).to_string()
}

/// Nearest-rank percentiles of latency samples, in milliseconds (what the benchmark steps of
/// every family report).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencySummary {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl LatencySummary {
    /// Summarizes samples in milliseconds; `None` when there are none.
    pub fn of(samples_ms: &[f64]) -> Option<Self> {
        let mut sorted = samples_ms.to_vec();
        sorted.sort_by(f64::total_cmp);
        let rank = |q: f64| {
            let index = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
            sorted[index]
        };
        Some(Self {
            max: *sorted.last()?,
            p50: rank(0.50),
            p90: rank(0.90),
            p99: rank(0.99),
        })
    }
}

/// A step type: typed parameters in, typed output out.
pub trait Step: Send + Sync + 'static {
    /// Registry name, `family.verb`.
    const NAME: &'static str;
    /// One line for `list`.
    const SUMMARY: &'static str;
    /// An example `with:` block in YAML, shown by `explain` and checked by the tests.
    const EXAMPLE: &'static str;
    /// Whether equal attempts (same parameters) in the runs of one cluster run may be executed
    /// once and their outcome shared (`engine::share`): true only for a step whose outcome
    /// depends on nothing but its parameters and the dependency they name, not on the node's
    /// config in [`StepCx`] nor on which node asks.
    const SHAREABLE: bool = false;
    type Params: DeserializeOwned + JsonSchema + Send;
    type Output: Serialize + JsonSchema + Send;

    /// Runs the step once. Errors describe what went wrong with the dependency.
    fn run(
        &self,
        params: Self::Params,
        cx: &StepCx,
    ) -> impl Future<Output = Result<Self::Output, StepError>> + Send;

    /// Human detail lines for `-v` and JUnit system-out (e.g. one per lint finding).
    fn details(_output: &Self::Output) -> Vec<String> {
        Vec::new()
    }
}

/// What a step produced, as the engine sees it.
#[derive(Debug, Clone)]
pub struct StepOutput {
    pub value: Value,
    pub details: Vec<String>,
}

/// A type-erased [`Step`], as held by the registry and the engine.
pub trait DynStep: Send + Sync {
    fn name(&self) -> &'static str;
    fn summary(&self) -> &'static str;
    fn example(&self) -> &'static str;
    /// [`Step::SHAREABLE`].
    fn shareable(&self) -> bool;
    fn params_schema(&self) -> Schema;
    fn output_schema(&self) -> Schema;
    /// Deserializes rendered params into the typed form, to validate them.
    fn check_params(&self, params: &Value) -> Result<(), String>;
    fn run_dyn<'a>(
        &'a self,
        params: Value,
        cx: &'a StepCx,
    ) -> BoxFuture<'a, Result<StepOutput, StepError>>;
}

impl<S: Step> DynStep for S {
    fn name(&self) -> &'static str {
        S::NAME
    }
    fn summary(&self) -> &'static str {
        S::SUMMARY
    }
    fn example(&self) -> &'static str {
        S::EXAMPLE
    }
    fn shareable(&self) -> bool {
        S::SHAREABLE
    }
    fn params_schema(&self) -> Schema {
        schemars::schema_for!(S::Params)
    }
    fn output_schema(&self) -> Schema {
        schemars::schema_for!(S::Output)
    }
    fn check_params(&self, params: &Value) -> Result<(), String> {
        serde_json::from_value::<S::Params>(params.clone())
            .map(drop)
            .map_err(|e| e.to_string())
    }
    fn run_dyn<'a>(
        &'a self,
        params: Value,
        cx: &'a StepCx,
    ) -> BoxFuture<'a, Result<StepOutput, StepError>> {
        Box::pin(async move {
            let params: S::Params = serde_json::from_value(params).map_err(|e| {
                StepError::could_not_run(format!("invalid parameters for {}: {e}", S::NAME))
                    .with_hint(format!("run `greptime-self-test explain {}`", S::NAME))
            })?;
            let output = self.run(params, cx).await?;
            let details = S::details(&output);
            let value = serde_json::to_value(&output).map_err(|e| {
                StepError::could_not_run(format!("{}: output not serializable: {e}", S::NAME))
            })?;
            Ok(StepOutput { value, details })
        })
    }
}

/// Why a step did not produce an output; its [`as_str`](ErrorKind::as_str) is the report's
/// `metrics.error_kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The dependency could not be reached (DNS, refused, no route).
    Unreachable,
    /// The dependency did not answer in time.
    Timeout,
    /// The dependency answered but said no (auth, permission, protocol error, wrong answer).
    Rejected,
    /// The component config itself holds an unusable value (unparsable address, bad path).
    Misconfigured,
    /// The check could not be carried out at all (bad rendered params, local failure, bug).
    CouldNotRun,
    /// The run was cancelled (Ctrl-C or the overall `--timeout`) while the step ran. Set by the
    /// engine, never by a step.
    Interrupted,
    /// The step panicked: a bug in this tool. Set by the engine, never by a step.
    Internal,
}

impl ErrorKind {
    /// Name used as JUnit failure/error `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Unreachable => "Unreachable",
            ErrorKind::Timeout => "Timeout",
            ErrorKind::Rejected => "Rejected",
            ErrorKind::Misconfigured => "Misconfigured",
            ErrorKind::CouldNotRun => "CouldNotRun",
            ErrorKind::Interrupted => "Interrupted",
            ErrorKind::Internal => "Internal",
        }
    }

    /// True when the error is a verdict on the dependency or config (status `fail`), false
    /// when the check itself could not be carried out (status `error`).
    pub fn is_verdict(self) -> bool {
        !matches!(
            self,
            ErrorKind::CouldNotRun | ErrorKind::Interrupted | ErrorKind::Internal
        )
    }
}

/// An error from a step, with a hint a person can act on.
#[derive(Debug, Clone)]
pub struct StepError {
    pub kind: ErrorKind,
    pub message: String,
    pub hint: Option<String>,
    /// Which silence a dependency met the probe with, when it did not answer in time
    /// ([`answer::first_answer`]); the report's `metrics.no_answer`.
    pub silence: Option<answer::Silence>,
}

impl StepError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            hint: None,
            silence: None,
        }
    }
    pub fn unreachable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unreachable, message)
    }
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Timeout, message)
    }
    pub fn rejected(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Rejected, message)
    }
    pub fn misconfigured(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Misconfigured, message)
    }
    pub fn could_not_run(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::CouldNotRun, message)
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// An undo action registered by a step; run by the engine with its own deadline.
pub struct CleanupAction {
    /// What is being removed, for the report (e.g. the probe file path).
    pub label: String,
    pub action: BoxFuture<'static, Result<(), String>>,
}

/// The engine-owned list of undo actions of a run.
#[derive(Clone, Default)]
pub struct CleanupRegistry {
    actions: Arc<Mutex<Vec<CleanupAction>>>,
}

impl CleanupRegistry {
    pub fn push(&self, action: CleanupAction) {
        self.actions.lock().expect("cleanup lock").push(action);
    }

    /// Takes every pending action, newest first.
    pub fn drain(&self) -> Vec<CleanupAction> {
        let mut all = std::mem::take(&mut *self.actions.lock().expect("cleanup lock"));
        all.reverse();
        all
    }
}

/// Directories the steps of one run created (as GreptimeDB creates them at start-up). A step
/// removes what it created when it is empty at its own cleanup, but steps sharing a directory
/// (a `fs.writable` check and a File store probe on one `data_home`) run concurrently, so
/// neither can tell whether the other still uses it; the engine removes every recorded
/// directory that is empty once the whole run has ended.
#[derive(Clone, Default)]
pub struct CreatedDirs {
    dirs: Arc<Mutex<Vec<PathBuf>>>,
}

impl CreatedDirs {
    /// Notes that `dir` did not exist before a step of this run created it.
    pub fn record(&self, dir: PathBuf) {
        self.dirs.lock().expect("created dirs lock").push(dir);
    }

    /// Removes every recorded directory that is empty, deepest first (a parent emptied by
    /// removing its child goes too); keeps the others. Returns the directories removed.
    pub fn remove_empty(&self) -> Vec<PathBuf> {
        let mut dirs = std::mem::take(&mut *self.dirs.lock().expect("created dirs lock"));
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        dirs.dedup();
        dirs.into_iter()
            .filter(|dir| std::fs::remove_dir(dir).is_ok())
            .collect()
    }
}

/// What a running step may use: the effective config, the run id, its deadline and the
/// engine's cleanup registry.
pub struct StepCx {
    pub config: Arc<EffectiveConfig>,
    /// Unique id of this run; every probe name contains it.
    pub run_id: String,
    /// When the engine will stop waiting for this attempt.
    pub deadline: Instant,
    /// `--read-only`: steps must not write anything.
    pub read_only: bool,
    /// How long a probe waits for its dependency's first answer (see [`answer`]).
    pub answer: answer::AnswerDeadline,
    cleanup: CleanupRegistry,
    created_dirs: CreatedDirs,
    progress: Option<indicatif::MultiProgress>,
    /// `--resolve` redirects, for addresses a step learns while running (the engine has
    /// already applied them to its parameters).
    redirects: Arc<[crate::notation::hosts::Redirect]>,
}

impl StepCx {
    pub fn new(
        config: Arc<EffectiveConfig>,
        run_id: String,
        deadline: Instant,
        read_only: bool,
        cleanup: CleanupRegistry,
    ) -> Self {
        Self {
            config,
            run_id,
            deadline,
            read_only,
            answer: answer::AnswerDeadline::default(),
            cleanup,
            created_dirs: CreatedDirs::default(),
            progress: None,
            redirects: Arc::new([]),
        }
    }

    /// Lets [`StepCx::redirected`] apply the run's `--resolve` redirects.
    pub fn with_redirects(mut self, redirects: Arc<[crate::notation::hosts::Redirect]>) -> Self {
        self.redirects = redirects;
        self
    }

    /// Where to dial an address learnt while running (e.g. the `grpc.server_addr` a metasrv
    /// leader advertises): `Some((address, note))` when a `--resolve` redirect applies, the
    /// note to report so the redirect is never silent.
    pub fn redirected(&self, address: &str) -> Option<(String, String)> {
        let (dial, used) = crate::notation::hosts::Redirect::apply_all(&self.redirects, address)?;
        let notes: Vec<String> = used.iter().map(|r| r.note()).collect();
        Some((dial, notes.join("; ")))
    }

    /// Sets the first-answer deadline (the run's `--answer-timeout` or the check's own).
    pub fn with_answer(mut self, answer: answer::AnswerDeadline) -> Self {
        self.answer = answer;
        self
    }

    /// Lets [`StepCx::record_created_dir`] note directories in the run's `dirs` (the engine
    /// passes one per run).
    pub fn with_created_dirs(mut self, dirs: CreatedDirs) -> Self {
        self.created_dirs = dirs;
        self
    }

    /// Notes a directory this step created; the engine removes it when the run ends, if it is
    /// empty then. The step should still remove it at its own cleanup when it can.
    pub fn record_created_dir(&self, dir: PathBuf) {
        self.created_dirs.record(dir);
    }

    /// Lets [`StepCx::progress_bar`] draw on `progress` (the engine passes stderr's, when it is
    /// a terminal).
    pub fn with_progress(mut self, progress: Option<indicatif::MultiProgress>) -> Self {
        self.progress = progress;
        self
    }

    /// A progress bar of `len` units for a long step (a benchmark): drawn when the run shows
    /// progress, hidden otherwise. The step finishes or drops it; nothing of it reaches reports.
    pub fn progress_bar(&self, len: u64, message: impl Into<String>) -> indicatif::ProgressBar {
        let Some(multi) = &self.progress else {
            return indicatif::ProgressBar::hidden();
        };
        let style = indicatif::ProgressStyle::with_template(
            "{spinner} {msg} [{bar:30}] {pos}/{len} ({elapsed})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> ");
        multi.add(
            indicatif::ProgressBar::new(len)
                .with_style(style)
                .with_message(message.into()),
        )
    }

    /// The session of this run: the part of the run id before `-`. In this crate "session"
    /// means only this: the runs that know each other's probes and share attempts. A single
    /// run is its own session; the runs of one cluster run are `<session>-<n>` and share it, so a probe treats what its siblings write next to
    /// it (nodes sharing one store) as theirs, not as a stranger's leftovers.
    pub fn session(&self) -> &str {
        self.run_id.split('-').next().unwrap_or(&self.run_id)
    }

    /// Time left before the engine cancels this attempt.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// What a request may wait: [`Self::remaining`] less a margin (a tenth, at most 500 ms), so
    /// the step says what it waited for before the engine gives up on the attempt.
    pub fn request_limit(&self) -> Duration {
        let remaining = self.remaining();
        remaining.saturating_sub((remaining / 10).min(Duration::from_millis(500)))
    }

    /// Registers an idempotent undo action. Register it before creating the thing it removes;
    /// the engine runs it after the step ends, however it ends.
    pub fn on_cleanup(
        &self,
        label: impl Into<String>,
        action: impl Future<Output = Result<(), String>> + Send + 'static,
    ) {
        self.cleanup.push(CleanupAction {
            label: label.into(),
            action: Box::pin(action),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_summary_uses_nearest_rank() {
        let samples: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        let s = LatencySummary::of(&samples).unwrap();
        assert_eq!((s.p50, s.p90, s.p99, s.max), (50.0, 90.0, 99.0, 100.0));
        let one = LatencySummary::of(&[7.0]).unwrap();
        assert_eq!((one.p50, one.p99, one.max), (7.0, 7.0, 7.0));
        assert_eq!(LatencySummary::of(&[]), None);
    }

    #[test]
    fn created_dirs_go_deepest_first_and_only_when_empty() {
        let tmp = std::env::temp_dir().join(format!("gst-created-{}", std::process::id()));
        let (a, b, c, kept) = (
            tmp.join("a"),
            tmp.join("a/b"),
            tmp.join("a/b/c"),
            tmp.join("k"),
        );
        std::fs::create_dir_all(&c).unwrap();
        std::fs::create_dir_all(&kept).unwrap();
        std::fs::write(kept.join("data"), b"x").unwrap();
        let dirs = CreatedDirs::default();
        for dir in [&b, &kept, &a, &c, &b] {
            dirs.record(dir.to_path_buf());
        }
        assert_eq!(dirs.remove_empty(), vec![c, b, a.clone()]);
        assert!(!a.exists());
        assert!(kept.join("data").exists(), "a directory with content stays");
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn human_durations_are_rounded() {
        use std::time::Duration;
        assert_eq!(human(Duration::from_micros(999_930)), "1s");
        assert_eq!(human(Duration::from_micros(299_700)), "300ms");
        assert_eq!(human(Duration::from_millis(2_960)), "3s");
        assert_eq!(human(Duration::from_millis(1_450)), "1s 500ms");
        assert_eq!(human(Duration::from_millis(3)), "3ms");
    }
}
