//! `cluster -f cluster.yaml`: every node's playbooks and the cross-node checks, run at once
//! under one `--jobs` bound and reported together (one report per node and playbook, the
//! cross-node report last).
//!
//! Everything is loaded and checked before anything runs: a bad inventory, an unreadable TOML,
//! an invalid site playbook or a variable that does not resolve stops the run with exit 2
//! before the first probe is written.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use futures::future::join_all;
use serde_json::{Map, Value};

use super::run::{ensure_valid, var_overrides, Invocation};
use super::{ExecArgs, Failure, RunContext};
use crate::config::{self, Component, EffectiveConfig, LoadOptions};
use crate::diag::Diagnostic;
use crate::engine::mask::Masker;
use crate::engine::options::new_run_id;
use crate::engine::share::SharedAttempts;
use crate::inventory::{self, ClusterNode, ClusterView, LoadedInventory, NodeDef};
use crate::playbook::{self, LoadedPlaybook};

/// One playbook to run against one config: a node's, or the combined cluster config.
struct PlannedRun {
    node: Option<String>,
    /// The node runs on this machine (its `local: true`).
    local_host: bool,
    playbook: LoadedPlaybook,
    config: Arc<EffectiveConfig>,
    vars: Map<String, Value>,
}

/// Runs the inventory at `path`.
pub async fn run(
    path: &Path,
    var_flags: &[String],
    exec: ExecArgs,
    ctx: &RunContext,
    masker: Arc<Masker>,
) -> Result<ExitCode, Failure> {
    let loaded = inventory::load(path)?;
    let cli_vars = var_overrides(var_flags)?;
    let invocation = Invocation::new(&exec, ctx, masker)?;
    let mut runs = Vec::new();
    let mut nodes = Vec::new();
    let mut secrets = Vec::new();
    for (index, node) in loaded.inventory.nodes.iter().enumerate() {
        let config = Arc::new(node_config(&loaded, index, ctx)?);
        nodes.push(ClusterNode {
            name: node.name.clone(),
            component: node.component,
            host: node.host.clone(),
            config_file: config.file.as_ref().map(|f| f.display().to_string()),
            config: config.value.clone(),
        });
        secrets.extend(config.secrets.iter().cloned());
        let vars = layered_vars(&[&loaded.inventory.vars, &node.vars, &cli_vars]);
        for playbook in node_playbooks(&loaded, index)? {
            runs.push(PlannedRun {
                node: Some(node.name.clone()),
                local_host: node.local,
                playbook,
                config: config.clone(),
                vars: vars.clone(),
            });
        }
    }
    let cluster_config = Arc::new(EffectiveConfig {
        component: Component::Cluster,
        file: Some(path.to_path_buf()),
        value: cluster_value(ClusterView {
            name: loaded.inventory.name.clone(),
            nodes,
        })?,
        findings: Vec::new(),
        secrets,
    });
    let cluster_vars = layered_vars(&[&loaded.inventory.vars, &cli_vars]);
    for playbook in cluster_playbooks(&loaded)? {
        runs.push(PlannedRun {
            node: None,
            local_host: false,
            playbook,
            config: cluster_config.clone(),
            vars: cluster_vars.clone(),
        });
    }

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
    let reports = outcomes
        .into_iter()
        .zip(&runs)
        .map(|(outcome, run)| outcome.map_err(|d| in_node(d, run.node.as_deref())))
        .collect::<Result<Vec<_>, _>>()?;
    invocation.finish(&reports, true, &exec, ctx)
}

/// The cross-node playbook's `config`: the view as JSON, as templates read it.
fn cluster_value(view: ClusterView) -> Result<Value, Failure> {
    serde_json::to_value(view).map_err(|e| Failure {
        code: super::exit::INTERNAL,
        diagnostics: vec![Diagnostic::new(
            "cannot build cluster config",
            e.to_string(),
        )],
    })
}

/// The node's effective config: its TOML and its own environment overlay, as the node reads it.
fn node_config(
    loaded: &LoadedInventory,
    index: usize,
    ctx: &RunContext,
) -> Result<EffectiveConfig, Failure> {
    let node = &loaded.inventory.nodes[index];
    let env = loaded.node_env(index, &ctx.env)?;
    let at_args = |d: Diagnostic| in_node(d.at(loaded.span(index, "args")), Some(&node.name));
    let start_flags = config::start_flags::parse(node.component, &node.args).map_err(at_args)?;
    let env_prefix = start_flags
        .choose_env_prefix(node.env_prefix.clone())
        .map_err(at_args)?;
    let file = node
        .config
        .as_deref()
        .or(start_flags.config_file())
        .map(|c| loaded.resolve(c));
    if let Some(file) = &file {
        if !file.is_file() {
            return Err(Diagnostic::new(
                "cannot read node config",
                format!("node `{}`: {} does not exist", node.name, file.display()),
            )
            .at(loaded.span(index, "config"))
            .with_hint("config paths are relative to the inventory file")
            .into());
        }
    }
    let opts = LoadOptions {
        component: node.component,
        file,
        env,
        env_prefix,
        overrides: Vec::new(),
        start_flags,
    };
    config::load(&opts).map_err(|d| in_node(d, Some(&node.name)).into())
}

/// The node's playbooks: its component's built-in one (unless turned off), then its own.
fn node_playbooks(loaded: &LoadedInventory, index: usize) -> Result<Vec<LoadedPlaybook>, Failure> {
    let node = &loaded.inventory.nodes[index];
    let mut playbooks = Vec::new();
    if node.builtin {
        playbooks.push(playbook::load_builtin(node.component)?);
    }
    for (i, file) in node.playbooks.iter().enumerate() {
        let playbook = site_playbook(loaded, file, &format!("nodes[{index}].playbooks[{i}]"))?;
        ensure_component(&playbook, node, loaded, index)?;
        playbooks.push(playbook);
    }
    Ok(playbooks)
}

/// The cross-node playbooks: the built-in one (unless `cross_node: false`), then the
/// inventory's own.
fn cluster_playbooks(loaded: &LoadedInventory) -> Result<Vec<LoadedPlaybook>, Failure> {
    let mut playbooks = Vec::new();
    if loaded.inventory.cross_node {
        playbooks.push(playbook::load_builtin(Component::Cluster)?);
    }
    for (i, file) in loaded.inventory.cluster_playbooks.iter().enumerate() {
        let playbook = site_playbook(loaded, file, &format!("cluster_playbooks[{i}]"))?;
        if playbook.component != Some(Component::Cluster) {
            return Err(Diagnostic::new(
                "not a cross-node playbook",
                format!("`{file}` does not say `component: cluster`"),
            )
            .at(loaded.source.span(&format!("cluster_playbooks[{i}]")))
            .with_hint("cross-node playbooks read `config.nodes`; add `component: cluster`")
            .into());
        }
        playbooks.push(playbook);
    }
    Ok(playbooks)
}

/// Loads a playbook named in the inventory (relative to it); a missing file points at the entry.
fn site_playbook(
    loaded: &LoadedInventory,
    file: &str,
    entry: &str,
) -> Result<LoadedPlaybook, Failure> {
    let path = loaded.resolve(file);
    if !path.is_file() {
        return Err(Diagnostic::new(
            "cannot read playbook",
            format!("{} does not exist", path.display()),
        )
        .at(loaded.source.span(entry))
        .with_hint("playbook paths are relative to the inventory file")
        .into());
    }
    Ok(playbook::load_file(&path)?)
}

/// A node's site playbook must be written for the node's component (or name none).
fn ensure_component(
    playbook: &LoadedPlaybook,
    node: &NodeDef,
    loaded: &LoadedInventory,
    index: usize,
) -> Result<(), Failure> {
    match playbook.component {
        Some(found) if found != node.component => Err(Diagnostic::new(
            "playbook for another component",
            format!(
                "node `{}` is a {} but playbook `{}` is for {}",
                node.name,
                node.component.as_str(),
                playbook.name,
                found.as_str()
            ),
        )
        .at(loaded.span(index, "playbooks"))
        .with_hint("list the playbook under a node of its component")
        .into()),
        _ => Ok(()),
    }
}

/// Later maps win: inventory vars, then the node's, then `--var`.
fn layered_vars(layers: &[&Map<String, Value>]) -> Map<String, Value> {
    let mut vars = Map::new();
    for layer in layers {
        vars.extend(layer.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    vars
}

/// Says which node a diagnostic is about.
fn in_node(mut d: Diagnostic, node: Option<&str>) -> Diagnostic {
    if let Some(node) = node {
        d.message = format!("node `{node}`: {}", d.message);
    }
    d
}
