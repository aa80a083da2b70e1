//! The settings of one run ([`RunOptions`]) and its id: what the CLI decides before the engine
//! starts.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};
use tokio::sync::Semaphore;

use super::result::CheckResult;
use super::share::SharedAttempts;

/// Settings of one run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Bounds the step attempts in flight (`--jobs`); runs that share one semaphore (the nodes
    /// of a cluster run) share the bound.
    pub jobs: Arc<Semaphore>,
    /// Where steps draw progress bars (stderr when it is a terminal); `None` draws nothing.
    pub progress: Option<indicatif::MultiProgress>,
    /// The inventory node this run checks, in a cluster run.
    pub node: Option<String>,
    /// Whole-run deadline; reaching it cancels like Ctrl-C.
    pub overall_timeout: Duration,
    /// `--answer-timeout`: how long probes wait for a dependency's first answer; `None` is
    /// the default (`plugins::answer::DEFAULT_ANSWER_TIMEOUT`).
    pub answer_timeout: Option<Duration>,
    /// Steps must not write.
    pub read_only: bool,
    /// Values visible to templates as `options.<name>`; the CLI fills them from
    /// [`TemplateOptions`].
    pub options: Map<String, Value>,
    /// `--var name=value`: playbook vars set from the command line; they replace the
    /// playbook's own definition of the same name.
    pub var_overrides: Map<String, Value>,
    /// Unique id of the run: `<session>` ([`new_run_id`]), or `<session>-<n>` for the runs of
    /// one cluster run, which share the session (see `StepCx::session`).
    pub run_id: String,
    /// Attempts of shareable steps that the runs of one session execute once (a cluster run);
    /// `None` runs every attempt.
    pub shared: Option<Arc<SharedAttempts>>,
    /// Told when each check instance starts and ends (a live view on a terminal); `None`
    /// tells nobody.
    pub observer: Option<Arc<dyn CheckObserver>>,
}

/// Follows a run as it happens. What it is given is already masked.
pub trait CheckObserver: Send + Sync + std::fmt::Debug {
    /// A check instance of the run `run_id` (of inventory node `node`, in a cluster run)
    /// started running: its dependencies are done and its title rendered.
    fn started(&self, run_id: &str, node: Option<&str>, instance: &str, title: &str);
    /// A check instance that had started has its result.
    fn finished(&self, run_id: &str, node: Option<&str>, result: &CheckResult);
}

/// What templates see as `options.<name>`: the few run settings a playbook may branch on.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct TemplateOptions {
    /// `--include-performance`: also run the performance checks.
    pub include_performance: bool,
    /// `--read-only`: steps must not write.
    pub read_only: bool,
    /// The checked component runs on this machine, so its listen ports and local directories
    /// are this machine's.
    pub local_host: bool,
}

impl TemplateOptions {
    /// The options as the JSON object [`RunOptions::options`] holds.
    pub fn to_map(self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            _ => unreachable!("a struct of booleans serializes to an object"),
        }
    }
}

/// Creates a short unique run id.
pub fn new_run_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}
