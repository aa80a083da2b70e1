//! What a run produces: one [`CheckResult`] per check instance, gathered in a [`RunReport`].
//!
//! These types are the only thing reporters see. They are masked by the engine before any
//! reporter gets them, and they serialize to the JSON report described by
//! `schemas/report.schema.json`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The verdict of one check instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every assertion held and no warn/fail outcome matched.
    Pass,
    /// A warn outcome matched; the component will probably start but something is off.
    Warn,
    /// An assertion or a fail outcome matched: the component will not work as configured.
    Fail,
    /// The check could not be carried out, so it says nothing about the component: its
    /// parameters or `for_each` could not be rendered, the step could not run (`CouldNotRun`,
    /// e.g. a local failure), the run was interrupted while it ran, the step crashed, or an
    /// `assert`/`outcome` expression could not be evaluated. An unreachable, refusing or
    /// silent dependency (a step timeout included) is `fail`, not `error`.
    Error,
    /// Not run: its condition was false, a dependency did not pass, or the run was interrupted.
    Skipped,
}

impl Status {
    /// Lower-case name, as used in every output.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Error => "error",
            Status::Skipped => "skipped",
        }
    }

    /// Whether a check that depends on this one may run.
    pub fn satisfies_dependency(self) -> bool {
        matches!(self, Status::Pass | Status::Warn)
    }
}

/// The result of one check instance (one check, or one item of a fanned-out check).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CheckResult {
    /// The check id from the playbook.
    pub id: String,
    /// Unique instance id: the check id, plus `[n]` for fanned-out instances.
    pub instance: String,
    /// Rendered human title; unique within a run.
    pub title: String,
    pub status: Status,
    /// One line saying what was found.
    pub message: String,
    /// What to change, for warn/fail/error results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The config key this check judges, e.g. `meta_client.metasrv_addrs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Link to documentation for this check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// The step type that ran, e.g. `net.tcp_connect`.
    pub step: String,
    /// Whether this is a cleanup check (always runs).
    #[serde(default)]
    pub cleanup: bool,
    /// Wall time of all attempts, in milliseconds.
    pub duration_ms: f64,
    /// Number of attempts made (0 when skipped).
    pub attempts: u32,
    /// Numbers and short facts from the step output, for `-v`, JSON and JUnit properties.
    #[serde(default)]
    pub metrics: Map<String, Value>,
    /// Further detail lines (lint findings, per-operation results), shown with `-v`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
    /// Why a skipped check did not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip: Option<Skip>,
}

/// Why a check was skipped; the text report folds or groups skipped checks by it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Skip {
    /// Its `when` is false for this config and these options: the check does not apply.
    NotApplicable,
    /// A check it depends on did not pass; `cause` is the instance whose failure explains it
    /// (followed through checks that were themselves skipped for the same reason).
    Blocked { cause: String },
    /// Every instance of its `inputs` failed; those failures already report the cause.
    AlreadyReported { causes: Vec<String> },
    /// The run was interrupted before it started.
    Interrupted,
    /// Its `for_each` list is empty.
    NothingToCheck,
    /// Not run from this host: a parameter names `host`, a name inside the Kubernetes cluster
    /// that does not resolve here (`kubernetes` command; see docs/kubernetes-run.md). The hint
    /// gives the fix: `--resolve` to a port-forward, or `--emit-job` to run inside.
    InCluster {
        host: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
    },
}

impl Skip {
    /// The instances whose failures explain this skip, if any.
    pub fn causes(&self) -> &[String] {
        match self {
            Skip::Blocked { cause } => std::slice::from_ref(cause),
            Skip::AlreadyReported { causes } => causes,
            _ => &[],
        }
    }
}

/// Counts of results by status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Counts {
    pub total: usize,
    pub passed: usize,
    pub warnings: usize,
    pub failed: usize,
    pub errors: usize,
    pub skipped: usize,
    /// Skipped checks that do not apply to this config and options (part of `skipped`).
    #[serde(default)]
    pub not_applicable: usize,
    /// Skipped checks whose cause is a failure reported by another check (part of `skipped`):
    /// a failed dependency, or inputs that all failed. They are never counted as failures.
    #[serde(default)]
    pub blocked: usize,
    /// Skipped checks not run from this host because they name an in-cluster host, or depend
    /// on one that does (part of `skipped`, not of `blocked`). `--strict` exits 4 on them.
    #[serde(default)]
    pub in_cluster: usize,
}

impl Counts {
    /// The counts of several runs together (a cluster run's summary).
    pub fn sum<'a>(all: impl IntoIterator<Item = &'a Counts>) -> Self {
        all.into_iter().fold(Counts::default(), |sum, c| Counts {
            total: sum.total + c.total,
            passed: sum.passed + c.passed,
            warnings: sum.warnings + c.warnings,
            failed: sum.failed + c.failed,
            errors: sum.errors + c.errors,
            skipped: sum.skipped + c.skipped,
            not_applicable: sum.not_applicable + c.not_applicable,
            blocked: sum.blocked + c.blocked,
            in_cluster: sum.in_cluster + c.in_cluster,
        })
    }

    /// The verdict these counts give: fail as soon as one check failed or errored.
    pub fn overall(&self) -> Overall {
        if self.failed + self.errors > 0 {
            Overall::Fail
        } else {
            Overall::Pass
        }
    }

    pub fn of(results: &[CheckResult]) -> Self {
        let mut c = Counts {
            total: results.len(),
            ..Counts::default()
        };
        let in_cluster: std::collections::HashSet<&str> = results
            .iter()
            .filter(|r| matches!(r.skip, Some(Skip::InCluster { .. })))
            .map(|r| r.instance.as_str())
            .collect();
        for r in results {
            match r.status {
                Status::Pass => c.passed += 1,
                Status::Warn => c.warnings += 1,
                Status::Fail => c.failed += 1,
                Status::Error => c.errors += 1,
                Status::Skipped => c.skipped += 1,
            }
            match &r.skip {
                Some(Skip::NotApplicable) => c.not_applicable += 1,
                Some(Skip::InCluster { .. }) => c.in_cluster += 1,
                Some(Skip::Blocked { cause }) if in_cluster.contains(cause.as_str()) => {
                    c.in_cluster += 1
                }
                Some(Skip::Blocked { .. } | Skip::AlreadyReported { .. }) => c.blocked += 1,
                _ => {}
            }
        }
        c
    }
}

/// Overall verdict of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Overall {
    /// Nothing failed and nothing errored (warnings allowed).
    Pass,
    /// At least one check failed or could not run.
    Fail,
}

/// Everything one playbook run produced, masked and ready for the reporters.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RunReport {
    /// Version of greptime-self-test that produced the report.
    pub tool_version: String,
    /// The GreptimeDB release whose config rules and behaviour the verdicts follow.
    #[serde(default)]
    pub greptimedb_version: String,
    /// Unique id of this run; also the namespace of every probe key, object and table.
    pub run_id: String,
    /// GreptimeDB component the config belongs to (`cluster` for cross-node playbooks).
    pub component: String,
    /// The inventory node, in a cluster run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Playbook name.
    pub playbook: String,
    /// Path of the component config file, if one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_file: Option<String>,
    /// Facts shown in the report header (backend, storage type, …), from the playbook's `summary`.
    #[serde(default)]
    pub summary: Map<String, Value>,
    /// Start time, RFC 3339 UTC.
    pub timestamp: String,
    /// Host the run was made on.
    pub hostname: String,
    pub overall: Overall,
    pub counts: Counts,
    pub duration_ms: f64,
    /// True when the run was cut short by Ctrl-C or `--timeout`.
    #[serde(default)]
    pub interrupted: bool,
    pub checks: Vec<CheckResult>,
}

impl RunReport {
    /// A report of this tool and GreptimeDB release, started at `started` on this host, with
    /// no checks yet; the caller fills in what it ran and calls [`RunReport::finalize`].
    pub fn new(
        run_id: String,
        component: String,
        playbook: String,
        started: time::OffsetDateTime,
    ) -> Self {
        RunReport {
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            greptimedb_version: crate::config::GREPTIMEDB_VERSION.to_string(),
            run_id,
            component,
            node: None,
            playbook,
            config_file: None,
            summary: Map::new(),
            timestamp: started
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            hostname: hostname::get()
                .map(|h| h.to_string_lossy().into_owned())
                .unwrap_or_else(|_| "localhost".into()),
            overall: Overall::Pass,
            counts: Counts::default(),
            duration_ms: 0.0,
            interrupted: false,
            checks: Vec::new(),
        }
    }

    /// Recomputes counts and the overall verdict from the results.
    pub fn finalize(&mut self) {
        self.counts = Counts::of(&self.checks);
        self.overall = self.counts.overall();
    }
}
