//! The cluster run both `cluster -f inventory.yaml` and `kubernetes -f resource.yaml` make:
//! every node's playbooks and the cross-node playbooks, run at once under one `--jobs` bound
//! and reported together. The commands differ only in where the nodes come from (an inventory
//! entry and its files, or a pod the operator would render), so each builds a [`ClusterPlan`]
//! and hands it here.
//!
//! Every node's config is loaded and every playbook checked before the plan is built; here,
//! every run's vars are resolved before the first probe is written, so a var that does not
//! resolve still stops the run with exit 2 before anything is touched.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use futures::future::join_all;
use serde_json::{Map, Value};

use super::run::{ensure_valid, Invocation};
use super::{ExecArgs, Failure, RunContext};
use crate::config::{Component, EffectiveConfig};
use crate::diag::Diagnostic;
use crate::engine::options::new_run_id;
use crate::engine::result::RunReport;
use crate::engine::share::SharedAttempts;
use crate::inventory::{ClusterNode, ClusterView};
use crate::playbook::LoadedPlaybook;

/// One node, however it was described.
pub struct PlannedNode {
    /// Names its reports and JUnit suites.
    pub name: String,
    pub component: Component,
    /// Machine label: nodes with the same label share ports and loopback.
    pub host: Option<String>,
    /// Other addresses that reach it (a Service or load balancer in front of it).
    pub aliases: Vec<String>,
    /// The node runs on this machine: check its listen ports and local directories here.
    pub local: bool,
    pub config: EffectiveConfig,
    /// Its built-in playbook (unless turned off), then its own.
    pub playbooks: Vec<LoadedPlaybook>,
    /// Its playbook variables, `--var` applied.
    pub vars: Map<String, Value>,
}

/// What a cluster run checks.
pub struct ClusterPlan {
    /// The cluster's name, for the cross-node checks.
    pub name: Option<String>,
    /// What the cross-node report names as its config (the inventory, the resource's file).
    pub source: Option<PathBuf>,
    pub nodes: Vec<PlannedNode>,
    /// Cross-node playbooks (`component: cluster`); they see every node's config.
    pub cluster_playbooks: Vec<LoadedPlaybook>,
    pub cluster_vars: Map<String, Value>,
}

/// One playbook to run against one config: a node's, or the combined cluster config.
struct PlannedRun {
    node: Option<String>,
    local_host: bool,
    playbook: LoadedPlaybook,
    config: Arc<EffectiveConfig>,
    vars: Map<String, Value>,
}

/// Runs the plan, writes the reports and returns the exit code they call for.
pub async fn run(
    plan: ClusterPlan,
    invocation: Invocation,
    exec: &ExecArgs,
    ctx: &RunContext,
) -> Result<ExitCode, Failure> {
    let reports = execute(plan, &invocation).await?;
    invocation.finish(&reports, true, exec, ctx)
}

/// Runs the plan: one masked report per node and playbook, then the cross-node ones.
pub async fn execute(
    plan: ClusterPlan,
    invocation: &Invocation,
) -> Result<Vec<RunReport>, Failure> {
    let runs = runs_of(plan)?;
    // run ids `<session>-<n>`: probes of sibling runs on a shared store know each other
    // and equal attempts of shareable steps (nodes probing one store) run once
    let cluster_id = new_run_id();
    let shared = Arc::new(SharedAttempts::default());
    let mut planned = Vec::with_capacity(runs.len());
    for (index, run) in runs.iter().enumerate() {
        ensure_valid(&run.playbook)?;
        let mut opts = invocation.options(run.vars.clone(), run.node.clone(), run.local_host);
        opts.run_id = format!("{cluster_id}-{index}");
        opts.shared = Some(shared.clone());
        let vars = invocation
            .engine
            .resolve_vars(&run.playbook, &run.config, &opts)
            .map_err(|d| in_node(d, run.node.as_deref()))?;
        planned.push((run, opts, vars));
    }
    let outcomes = join_all(planned.iter().map(|(run, opts, vars)| {
        invocation.engine.run_with_vars(
            &run.playbook,
            run.config.clone(),
            vars,
            opts,
            invocation.cancel.clone(),
        )
    }))
    .await;
    outcomes
        .into_iter()
        .zip(&runs)
        .map(|(outcome, run)| outcome.map_err(|d| in_node(d, run.node.as_deref()).into()))
        .collect()
}

/// Every node's runs, then the cross-node runs over the combined configs.
fn runs_of(plan: ClusterPlan) -> Result<Vec<PlannedRun>, Failure> {
    let mut runs = Vec::new();
    let mut nodes = Vec::new();
    let mut secrets = Vec::new();
    for node in plan.nodes {
        nodes.push(ClusterNode {
            name: node.name.clone(),
            component: node.component,
            host: node.host.clone(),
            aliases: node.aliases.clone(),
            config_file: node.config.file.as_ref().map(|f| f.display().to_string()),
            config: node.config.value.clone(),
        });
        secrets.extend(node.config.secrets.iter().cloned());
        let config = Arc::new(node.config);
        for playbook in node.playbooks {
            runs.push(PlannedRun {
                node: Some(node.name.clone()),
                local_host: node.local,
                playbook,
                config: config.clone(),
                vars: node.vars.clone(),
            });
        }
    }
    let view = ClusterView {
        name: plan.name,
        nodes,
    };
    let cluster_config = Arc::new(EffectiveConfig {
        component: Component::Cluster,
        file: plan.source,
        value: serde_json::to_value(view).map_err(|e| Failure {
            code: super::exit::INTERNAL,
            diagnostics: vec![Diagnostic::new(
                "cannot build cluster config",
                e.to_string(),
            )],
        })?,
        findings: Vec::new(),
        secrets,
    });
    for playbook in plan.cluster_playbooks {
        runs.push(PlannedRun {
            node: None,
            local_host: false,
            playbook,
            config: cluster_config.clone(),
            vars: plan.cluster_vars.clone(),
        });
    }
    Ok(runs)
}

/// Later maps win: e.g. inventory vars, then the node's, then `--var`.
pub fn layered_vars(layers: &[&Map<String, Value>]) -> Map<String, Value> {
    let mut vars = Map::new();
    for layer in layers {
        vars.extend(layer.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    vars
}

/// Says which node a diagnostic is about.
pub fn in_node(mut d: Diagnostic, node: Option<&str>) -> Diagnostic {
    if let Some(node) = node {
        d.message = format!("node `{node}`: {}", d.message);
    }
    d
}
