//! Kubernetes input: a `GreptimeDBCluster` (and its Secrets) rendered into each pod's config
//! and command line as the greptimedb-operator renders them (v0.6.0): validation and the
//! Secret check, `SetDefaults` and the merges, the per-role config generation merged into the
//! user's `config`, the datanode/flownode initializer, the container args.
//!
//! One concern per file: `documents` (streams → the cluster, Secrets, ConfigMaps), `resource`
//! (the CR's types), `errors` (unknown fields), `secrets`, `validate`, `defaults`, `dbconfig`
//! (generated keys and the merge), `initializer`, `args`, `env` (the kubelet's environment
//! and `$(VAR)` expansion), `pods` (workloads and pods), `findings`.

mod args;
mod dbconfig;
mod defaults;
mod documents;
mod env;
mod errors;
mod findings;
mod initializer;
mod pods;
pub mod rendered;
mod resource;
mod secrets;
#[cfg(test)]
mod tests;
mod validate;

use std::path::PathBuf;

use crate::diag::Diagnostic;
use rendered::RenderedCluster;
use secrets::{SecretData, SecretStore};

/// What `kubernetes -f` was given.
#[derive(Debug, Clone, Default)]
pub struct Input {
    /// YAML streams, each with the name to show in errors (a path, or `<stdin>`).
    pub documents: Vec<(String, String)>,
    /// `--secret NAME=FILE`: Secrets supplied outside the streams. The file holds the Secret's
    /// keys as a YAML mapping (as `stringData`), or a whole `Secret` manifest.
    pub secret_files: Vec<(String, PathBuf)>,
}

/// Renders the one `GreptimeDBCluster` of `input` as the operator would.
pub fn render(input: &Input) -> Result<RenderedCluster, Diagnostic> {
    let docs = documents::read(&input.documents)?;
    let files = input
        .secret_files
        .iter()
        .map(|(name, path)| SecretData::from_file(name, path))
        .collect::<Result<Vec<_>, _>>()?;
    let cluster = docs.cluster;
    let name = cluster
        .metadata
        .name
        .clone()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            Diagnostic::new(
                "GreptimeDBCluster without a name",
                format!("{} has no metadata.name", docs.cluster_origin),
            )
            .with_hint("every resource name its pods: set metadata.name")
        })?;
    let namespace = cluster
        .metadata
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "default".to_string());
    let store = SecretStore::new(&namespace, files, docs.secrets, docs.config_maps);

    let raw = cluster.spec;
    validate::validate(&raw, &docs.cluster_origin)?;
    validate::check(&raw, &store)?;
    let mut spec = raw.clone();
    defaults::apply(&mut spec);

    let workloads = pods::workloads(&name, &namespace, &spec, &store)?;
    let nodes = pods::nodes(&workloads, &namespace, &store)?;
    let findings = findings::find(&findings::Context {
        raw: &raw,
        workloads: &workloads,
        namespace: &namespace,
        store: &store,
    });
    Ok(RenderedCluster {
        name,
        namespace,
        nodes,
        findings,
        secrets: store.values_read(),
    })
}
