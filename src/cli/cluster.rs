//! `cluster -f cluster.yaml`: every node's playbooks and the cross-node checks, run at once
//! under one `--jobs` bound and reported together (one report per node and playbook, the
//! cross-node report last). This file turns the inventory into a [`ClusterPlan`];
//! `cluster_plan.rs` runs it.
//!
//! Everything is loaded and checked before anything runs: a bad inventory, an unreadable TOML,
//! an invalid site playbook or a variable that does not resolve stops the run with exit 2
//! before the first probe is written.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use super::cluster_plan::{self, in_node, layered_vars, ClusterPlan, PlannedNode};
use super::run::{var_overrides, Invocation};
use super::{ExecArgs, Failure, RunContext};
use crate::config::{self, Component, EffectiveConfig, LoadOptions};
use crate::diag::Diagnostic;
use crate::engine::mask::Masker;
use crate::inventory::{self, LoadedInventory, NodeDef};
use crate::playbook::{self, LoadedPlaybook};

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
    let mut nodes = Vec::new();
    for (index, node) in loaded.inventory.nodes.iter().enumerate() {
        nodes.push(PlannedNode {
            name: node.name.clone(),
            component: node.component,
            host: node.host.clone(),
            aliases: node.aliases.clone(),
            local: node.local,
            config: node_config(&loaded, index, ctx)?,
            playbooks: node_playbooks(&loaded, index)?,
            vars: layered_vars(&[&loaded.inventory.vars, &node.vars, &cli_vars]),
        });
    }
    let plan = ClusterPlan {
        name: loaded.inventory.name.clone(),
        source: Some(path.to_path_buf()),
        nodes,
        cluster_playbooks: cluster_playbooks(&loaded)?,
        cluster_vars: layered_vars(&[&loaded.inventory.vars, &cli_vars]),
    };
    cluster_plan::run(plan, invocation, &exec, ctx).await
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
