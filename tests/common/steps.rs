//! Helpers shared by the integration tests that run plugin steps in-process
//! (`tests/plugins_*.rs`, `tests/steps.rs`): a step context, running a step by name (every
//! successful output checked against the step's output schema), checking its EXAMPLE, running
//! cleanup actions, and a few facts about the host.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use greptime_self_test::config::{Component, EffectiveConfig, LintFinding};
use greptime_self_test::plugins::{
    registry, CleanupRegistry, DynStep, StepCx, StepError, StepOutput,
};
use serde_json::{json, Value};
use tokio::time::Instant;

/// Builds the [`StepCx`] a step runs in. [`TestCx::new`] starts from an empty config with no
/// file and no findings, a 5 s budget, writes allowed and a fresh cleanup registry.
pub struct TestCx {
    component: Component,
    file: Option<PathBuf>,
    findings: Vec<LintFinding>,
    run_id: String,
    budget: Duration,
    read_only: bool,
    cleanup: CleanupRegistry,
}

impl TestCx {
    /// A context for `component` with the given run id (probe names contain it).
    pub fn new(component: Component, run_id: &str) -> Self {
        Self {
            component,
            file: None,
            findings: Vec::new(),
            run_id: run_id.into(),
            budget: Duration::from_secs(5),
            read_only: false,
            cleanup: CleanupRegistry::default(),
        }
    }

    /// The config file the effective config claims to come from.
    pub fn file(mut self, file: impl Into<PathBuf>) -> Self {
        self.file = Some(file.into());
        self
    }

    /// The loader's findings on the config.
    pub fn findings(mut self, findings: Vec<LintFinding>) -> Self {
        self.findings = findings;
        self
    }

    /// Time from now until the step's deadline.
    pub fn budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// `--read-only`: the step must not write anything.
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// The registry the step registers its undo actions with (shared, so the test can drain it).
    pub fn cleanup(mut self, cleanup: &CleanupRegistry) -> Self {
        self.cleanup = cleanup.clone();
        self
    }

    /// The context; the deadline is `budget` from now.
    pub fn build(self) -> StepCx {
        let config = EffectiveConfig {
            component: self.component,
            file: self.file,
            value: json!({}),
            findings: self.findings,
            secrets: Vec::new(),
        };
        StepCx::new(
            Arc::new(config),
            self.run_id,
            Instant::now() + self.budget,
            self.read_only,
            self.cleanup,
        )
    }
}

/// The registered step called `name`; panics when there is none.
pub fn step(name: &str) -> &'static dyn DynStep {
    registry::get(name).unwrap_or_else(|| panic!("step `{name}` is not registered"))
}

/// The registered step names of `family` (`"kafka"` gives `kafka.*`), in registry order.
pub fn family(family: &str) -> Vec<&'static str> {
    let names: Vec<&'static str> = registry::all()
        .map(|s| s.name())
        .filter(|name| name.split_once('.').map(|(f, _)| f) == Some(family))
        .collect();
    assert!(
        !names.is_empty(),
        "no step of family `{family}` is registered"
    );
    names
}

/// Runs step `name` with `params` in `cx`, as the engine does, and asserts that a successful
/// output is valid against the step's output schema. The integration tests run steps only
/// through here, so every output they see has been validated (`tests/steps.rs` names, per step,
/// a test that runs it successfully).
pub async fn run_step(name: &str, params: Value, cx: &StepCx) -> Result<StepOutput, StepError> {
    let result = step(name).run_dyn(params, cx).await;
    if let Ok(out) = &result {
        assert_matches_output_schema(name, &out.value);
    }
    result
}

/// Asserts that the EXAMPLE of step `name` is YAML that parses into its params; returns the
/// step for further checks.
pub fn assert_example_parses(name: &str) -> &'static dyn DynStep {
    let step = step(name);
    let params: Value = serde_yaml::from_str(step.example())
        .unwrap_or_else(|e| panic!("{name} EXAMPLE is not YAML: {e}"));
    step.check_params(&params)
        .unwrap_or_else(|e| panic!("{name} EXAMPLE does not parse: {e}"));
    step
}

/// Asserts that `output` is valid against the output schema of step `name`.
pub fn assert_matches_output_schema(name: &str, output: &Value) {
    let schema = step(name).output_schema().to_value();
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    let errors: Vec<String> = validator
        .iter_errors(output)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "{name} output {output} violates its schema: {errors:?}"
    );
}

/// Runs the drained cleanup actions, as the engine does after the step; panics on a failed
/// one. Returns how many ran.
pub async fn run_cleanup(cleanup: &CleanupRegistry) -> usize {
    let actions = cleanup.drain();
    let count = actions.len();
    for action in actions {
        action
            .action
            .await
            .unwrap_or_else(|e| panic!("cleanup `{}` failed: {e}", action.label));
    }
    count
}

/// A port nothing listens on: bound on 127.0.0.1, then released.
pub fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether the tests run as root (which ignores file modes and may bind low ports).
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// A listener on 127.0.0.1 that accepts every connection and never sends a byte: a hung
/// server, or (spoken to in TLS) a port that never answers the handshake. Stops when dropped.
pub struct Silent {
    /// `127.0.0.1:port`.
    pub addr: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a [`Silent`] listener.
pub async fn silent_listener() -> Silent {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    Silent { addr, task }
}

/// An address on 127.0.0.1 that neither accepts nor refuses: a listener whose accept queue is
/// full, so Linux drops further SYNs (no SYN-ACK, no RST), as a firewall that drops packets
/// does. Lasts while held.
pub struct BlackHole {
    /// `127.0.0.1:port`.
    pub addr: String,
    _listener: tokio::net::TcpListener,
    _fillers: Vec<tokio::net::TcpStream>,
}

/// Makes a [`BlackHole`]; panics if connects to it still complete.
pub async fn black_hole() -> BlackHole {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..8 {
        let connect = tokio::net::TcpStream::connect(addr);
        match tokio::time::timeout(Duration::from_millis(200), connect).await {
            Ok(Ok(stream)) => fillers.push(stream),
            Ok(Err(e)) => panic!("connecting to the filling listener failed: {e}"),
            Err(_) => {
                return BlackHole {
                    addr: addr.to_string(),
                    _listener: listener,
                    _fillers: fillers,
                }
            }
        }
    }
    panic!("the listener's accept queue never filled: connects to {addr} still complete");
}
