//! The cluster inventory (`greptime-self-test cluster -f cluster.yaml`): which nodes make up a
//! GreptimeDB cluster, where each node's TOML and environment come from, and which host each
//! runs on. `schemas/inventory.schema.json` is generated from these types.
//!
//! Paths in an inventory are relative to the inventory file. A node's environment overlay is
//! its `env` map only: the tool's own `GREPTIMEDB_*` variables belong to the machine running
//! the tool, not to the nodes, so they are not applied. Values may say `${NAME}` to take
//! `NAME` from the tool's environment (how CI passes secrets in).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::Component;
use crate::diag::{Diagnostic, SourceSpan};
use crate::playbook::source::YamlFile;

/// The inventory format version this build reads.
pub const INVENTORY_VERSION: u32 = 1;

/// A GreptimeDB cluster: its nodes, checked together by `greptime-self-test cluster`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// Format version; must be 1.
    pub version: u32,
    /// Name of the cluster, for the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Playbook variables for every node (a node's own `vars` win; `--var` wins over both).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub vars: Map<String, Value>,
    /// Run the built-in cross-node checks (`checks/cluster.yaml`) on the combined configs.
    #[serde(default = "default_true")]
    pub cross_node: bool,
    /// Further cross-node playbooks of your own (`component: cluster`), relative to the
    /// inventory; they see `config.nodes` as the built-in one does.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_playbooks: Vec<String>,
    /// The nodes, each checked with its component's playbook and its own config.
    pub nodes: Vec<NodeDef>,
}

/// One node of the cluster.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeDef {
    /// Unique name of the node, e.g. `datanode-0`; names its report section and JUnit suite.
    pub name: String,
    /// The node's component: `metasrv`, `frontend`, `datanode`, `flownode` or `standalone`.
    pub component: Component,
    /// The node's TOML, relative to the inventory; leave it out for GreptimeDB's defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    /// Environment overlay, as the node's process sees it
    /// (`GREPTIMEDB_DATANODE__STORAGE__BUCKET: prod`); `${NAME}` takes `NAME` from the
    /// environment of the tool.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub env: IndexMap<String, String>,
    /// Environment prefix, like GreptimeDB's `--env-prefix` (default `GREPTIMEDB_<COMPONENT>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_prefix: Option<String>,
    /// The node's start arguments, one list item per argument as in a Kubernetes container's
    /// `args` (`[--node-id, "3", --metasrv-addrs, "meta-0:3002,meta-1:3002"]`), applied over
    /// its TOML as GreptimeDB does (flags > file > environment > defaults). A leading
    /// `greptime <component> start` may be kept. Their `-c`/`--config-file` is used when
    /// `config` is absent (relative to the inventory); with `config` given, `config` is the
    /// local copy of that file and wins. Their `--env-prefix` must agree with `env_prefix`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Other addresses (host:port) that reach this node's gRPC service: a DNS name or load
    /// balancer in front of the metasrvs. A `meta_client.metasrv_addrs` entry naming one
    /// counts as naming this node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Label of the machine the node runs on. Nodes with the same label are checked for
    /// listen-port clashes; different labels mean advertised addresses must not be loopback.
    /// A node without a label is compared with no other node for port clashes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The node runs on the machine running the tool: also check that its listen ports are
    /// free and its local directories writable here (default false: from a CI runner or an
    /// operator's laptop those checks would judge the wrong machine, so they are skipped).
    #[serde(default)]
    pub local: bool,
    /// Run the component's built-in playbook (default true).
    #[serde(default = "default_true")]
    pub builtin: bool,
    /// Site playbooks of your own for this node, relative to the inventory.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub playbooks: Vec<String>,
    /// Playbook variables for this node only.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub vars: Map<String, Value>,
}

/// One node of the inventory with its effective config. Fields other than these are ignored,
/// so the inventory may describe nodes further.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "Node")]
pub struct ClusterNode {
    /// Unique node name, e.g. `datanode-0`.
    pub name: String,
    /// `metasrv`, `frontend`, `datanode`, `flownode` or `standalone`.
    pub component: Component,
    /// Label of the machine the node runs on; empty or null means unknown.
    #[serde(default)]
    pub host: Option<String>,
    /// The node's TOML, named in hints that say where to add a key.
    #[serde(default)]
    pub config_file: Option<String>,
    /// Other addresses that reach the node's gRPC service (a Service or load balancer in
    /// front of it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// The node's effective config (defaults < environment < file), as a JSON object.
    pub config: Value,
}

/// What the cross-node playbook sees as `config`: the cluster's name and every node with its
/// effective config (`config.nodes`, read back by the `cluster.*` steps as [`ClusterNode`]s).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterView {
    pub name: Option<String>,
    pub nodes: Vec<ClusterNode>,
}

fn default_true() -> bool {
    true
}

/// A loaded, checked inventory and where it came from.
#[derive(Debug)]
pub struct LoadedInventory {
    pub inventory: Inventory,
    pub source: YamlFile,
}

impl LoadedInventory {
    /// The directory paths in the inventory are relative to.
    pub fn dir(&self) -> &Path {
        self.source.name().parent().unwrap_or(Path::new(""))
    }

    /// A path of the inventory, resolved against its directory.
    pub fn resolve(&self, path: &str) -> PathBuf {
        self.dir().join(path)
    }

    /// The span of a node's field, for diagnostics (`nodes[3].config`).
    pub fn span(&self, node: usize, field: &str) -> Option<SourceSpan> {
        self.source.span(&format!("nodes[{node}].{field}"))
    }

    /// The node's environment overlay with `${NAME}` taken from `env` (the tool's environment).
    pub fn node_env(
        &self,
        index: usize,
        env: &[(String, String)],
    ) -> Result<Vec<(String, String)>, Diagnostic> {
        let node = &self.inventory.nodes[index];
        node.env
            .iter()
            .map(|(key, value)| {
                expand(value, env)
                    .map(|value| (key.clone(), value))
                    .map_err(|missing| {
                        Diagnostic::new(
                            "undefined environment variable",
                            format!(
                                "node `{}`: `{key}` refers to `${{{missing}}}`, which is not set",
                                node.name
                            ),
                        )
                        .at(self.source.span(&format!("nodes[{index}].env.{key}")))
                        .with_hint(format!(
                            "export {missing} before running, or write the value itself"
                        ))
                    })
            })
            .collect()
    }
}

/// Reads and checks an inventory: YAML shape (with line and column), version, unique node
/// names, no `cluster` component.
pub fn load(path: &Path) -> Result<LoadedInventory, Diagnostic> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostic::new("cannot read inventory", format!("{}: {e}", path.display()))
            .with_hint("give the cluster inventory with -f, e.g. -f cluster.yaml")
    })?;
    let source = YamlFile::new(path.to_path_buf(), text);
    let inventory: Inventory =
        source.parse("invalid inventory", "see schemas/inventory.schema.json")?;
    if inventory.version != INVENTORY_VERSION {
        return Err(Diagnostic::new(
            "unsupported inventory version",
            format!(
                "version {} is not supported; this build reads version {INVENTORY_VERSION}",
                inventory.version
            ),
        )
        .at(source.span("version")));
    }
    if inventory.nodes.is_empty() {
        return Err(
            Diagnostic::new("empty inventory", "the inventory lists no nodes")
                .at(source.span("nodes"))
                .with_hint("add a `nodes:` entry per metasrv, frontend, datanode and flownode"),
        );
    }
    let mut seen = HashSet::new();
    for (index, node) in inventory.nodes.iter().enumerate() {
        let at = |field: &str| source.span(&format!("nodes[{index}].{field}"));
        if node.name.trim().is_empty() {
            return Err(
                Diagnostic::new("unnamed node", "a node has an empty `name`")
                    .at(at("name"))
                    .with_hint("name every node, e.g. `datanode-0`"),
            );
        }
        if !seen.insert(node.name.as_str()) {
            return Err(Diagnostic::new(
                "duplicate node name",
                format!("`{}` names two nodes", node.name),
            )
            .at(at("name"))
            .with_hint("node names must be unique: they name report sections and JUnit suites"));
        }
        if node.component == Component::Cluster {
            return Err(Diagnostic::new(
                "not a node component",
                format!("node `{}`: `cluster` is not a component", node.name),
            )
            .at(at("component"))
            .with_hint("use metasrv, frontend, datanode, flownode or standalone"));
        }
        if !node.builtin && node.playbooks.is_empty() {
            return Err(Diagnostic::new(
                "nothing to run",
                format!(
                    "node `{}` turns the built-in playbook off and names no playbook",
                    node.name
                ),
            )
            .at(at("builtin"))
            .with_hint("set `builtin: true` or list `playbooks:`"));
        }
    }
    Ok(LoadedInventory { inventory, source })
}

/// `text` with every `${NAME}` replaced from `env`; `Err(NAME)` for the first unset one.
/// `$$` stands for a literal `$`.
fn expand(text: &str, env: &[(String, String)]) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some((name, tail)) = after
            .strip_prefix('{')
            .and_then(|inner| inner.split_once('}'))
        {
            let value = env
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value)
                .ok_or_else(|| name.to_string())?;
            out.push_str(value);
            rest = tail;
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The JSON Schema of the inventory format.
pub fn inventory_schema() -> schemars::Schema {
    schemars::schema_for!(Inventory)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expand_takes_braced_names_from_the_environment() {
        let env = vec![("S3_SECRET".to_string(), "s3cr3t".to_string())];
        assert_eq!(expand("${S3_SECRET}", &env).unwrap(), "s3cr3t");
        assert_eq!(expand("a-${S3_SECRET}-b", &env).unwrap(), "a-s3cr3t-b");
        assert_eq!(expand("$$5 and $HOME", &env).unwrap(), "$5 and $HOME");
        assert_eq!(expand("${MISSING}", &env).unwrap_err(), "MISSING");
    }
}
