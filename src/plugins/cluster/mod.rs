//! `cluster.*`: cross-node rules over the effective configs of a whole cluster inventory. They
//! read configs only (no I/O) and run in the cross-node playbook (`component: cluster`), whose
//! `config.nodes` lists every node as `{name, component, host, config_file, config}`.
//!
//! Every step takes that list as `nodes` and reports findings: `failed` (GreptimeDB refuses the
//! combination, or the cluster cannot work with it) and `warned` (it may work, but cannot be
//! proven from the configs, or loses something). Each finding names the nodes and config keys
//! involved, and its hint names the key to change on which node.
//!
//! Host labels: two nodes are on the same machine when their `host` labels are equal. A node
//! without a label is on an unknown machine: it is compared with no other node for port clashes
//! or shared local directories, and does not count when deciding whether the inventory spans
//! several hosts (it takes two distinct labels).

mod failover;
mod metasrv_addrs;
mod node_ids;
mod ports;
mod server_addrs;
mod shared_storage;
mod wal;

use std::collections::BTreeSet;
use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use failover::{Failover, FailoverOutput};
pub use metasrv_addrs::{MetasrvAddrs, MetasrvAddrsOutput};
pub use node_ids::{NodeIds, NodeIdsOutput};
pub use ports::{Ports, PortsOutput};
pub use server_addrs::{ServerAddrs, ServerAddrsOutput};
pub use shared_storage::{SharedStorage, SharedStorageOutput};
pub use wal::{Wal, WalOutput};

use crate::config::Component;
use crate::inventory::ClusterNode;
use crate::plugins::net::HostPort;

pub(super) static STEPS: &[&dyn super::DynStep] = &[
    &NodeIds,
    &MetasrvAddrs,
    &Wal,
    &Failover,
    &ServerAddrs,
    &Ports,
    &SharedStorage,
];

/// The EXAMPLE every cluster step shares: a literal node list (a playbook passes
/// `nodes: "{{ config.nodes }}"` instead).
const EXAMPLE: &str = "\
# in a cross-node playbook: nodes: \"{{ config.nodes }}\"
nodes:
  - name: metasrv-0
    component: metasrv
    host: host-m
    config:
      grpc: {bind_addr: \"0.0.0.0:3002\", server_addr: \"10.0.0.11:3002\"}
      wal: {provider: kafka, broker_endpoints: [\"10.0.0.6:9092\"]}
  - name: datanode-0
    component: datanode
    host: host-a
    config_file: datanode-0.toml
    config:
      node_id: 0
      meta_client: {metasrv_addrs: [\"10.0.0.11:3002\"]}
      grpc: {bind_addr: \"0.0.0.0:3001\", server_addr: \"10.0.0.21:3001\"}
      wal: {provider: kafka, broker_endpoints: [\"10.0.0.6:9092\"]}
      storage: {type: S3, bucket: greptimedb, root: cluster-a}
";

/// Implements [`Step`](crate::plugins::Step) for one cross-node rule: it takes
/// [`NodesParams`], gives them to the rule module's `judge(&[ClusterNode]) -> Output`, shows the
/// output's findings as details, and shares [`EXAMPLE`]. A rule module thus holds only its
/// output type and its verdict logic.
macro_rules! cross_node_step {
    ($step:ident, $output:ty, $name:literal, $summary:literal) => {
        impl $crate::plugins::Step for $step {
            const NAME: &'static str = $name;
            const SUMMARY: &'static str = $summary;
            const EXAMPLE: &'static str = super::EXAMPLE;
            type Params = super::NodesParams;
            type Output = $output;

            async fn run(
                &self,
                params: Self::Params,
                _cx: &$crate::plugins::StepCx,
            ) -> Result<Self::Output, $crate::plugins::StepError> {
                Ok(judge(&params.nodes))
            }

            fn details(output: &Self::Output) -> Vec<String> {
                output.findings.details()
            }
        }
    };
}
use cross_node_step;

/// Parameters of every `cluster.*` step.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodesParams {
    /// The nodes of the inventory, usually `"{{ config.nodes }}"` in the cross-node playbook.
    pub nodes: Vec<ClusterNode>,
}

impl ClusterNode {
    /// The value at a dotted key path, e.g. `meta_client.metasrv_addrs`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        key.split('.')
            .try_fold(&self.config, |value, part| value.get(part))
    }

    /// A non-empty string value, trimmed.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.get(key)?
            .as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// A boolean value; `None` when absent or not a boolean.
    pub fn flag(&self, key: &str) -> Option<bool> {
        self.get(key)?.as_bool()
    }

    /// A list of strings (a lone string counts as a one-element list), trimmed, empty entries
    /// dropped; `None` when the key is absent.
    pub fn strings(&self, key: &str) -> Option<Vec<String>> {
        let list = match self.get(key)? {
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
            Value::String(one) => vec![one.as_str()],
            _ => Vec::new(),
        };
        Some(
            list.into_iter()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
        )
    }

    /// The host label, when there is a non-empty one.
    pub fn host_label(&self) -> Option<&str> {
        self.host
            .as_deref()
            .map(str::trim)
            .filter(|h| !h.is_empty())
    }

    /// The node's name with its host label, for messages: `datanode-0 (host-a)`.
    pub fn labelled(&self) -> String {
        match self.host_label() {
            Some(host) => format!("{} ({host})", self.name),
            None => self.name.clone(),
        }
    }

    /// Where to edit the node's config, for hints: `datanode-0's config (dn0.toml)`.
    pub fn config_ref(&self) -> String {
        match self.config_file.as_deref().filter(|f| !f.is_empty()) {
            Some(file) => format!("{}'s config ({file})", self.name),
            None => format!("{}'s config", self.name),
        }
    }

    /// The first of `keys` holding a non-empty string, with that key.
    fn first_text(&self, keys: &[&'static str]) -> Option<(&'static str, &str)> {
        keys.iter()
            .find_map(|key| self.text(key).map(|value| (*key, value)))
    }
}

/// Nodes of one component, in inventory order.
pub(crate) fn of(nodes: &[ClusterNode], component: Component) -> Vec<&ClusterNode> {
    nodes.iter().filter(|n| n.component == component).collect()
}

/// The distinct host labels of the inventory, sorted.
pub(crate) fn host_labels(nodes: &[ClusterNode]) -> BTreeSet<&str> {
    nodes.iter().filter_map(ClusterNode::host_label).collect()
}

/// Whether two nodes may be on one machine: equal labels, or at least one label unknown.
pub(crate) fn maybe_same_host(a: &ClusterNode, b: &ClusterNode) -> bool {
    match (a.host_label(), b.host_label()) {
        (Some(x), Some(y)) => x == y,
        _ => true,
    }
}

/// One problem found across nodes.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Finding {
    /// The nodes involved; those to change come first.
    pub nodes: Vec<String>,
    /// The config keys involved, dotted (`meta_client.metasrv_addrs`).
    pub keys: Vec<String>,
    /// What is wrong, naming the nodes, keys and values.
    pub message: String,
    /// What to change, on which node.
    pub hint: String,
}

/// What a cross-node rule found. Any failure fails the check; otherwise any warning warns it.
#[derive(Debug, Default, Serialize, JsonSchema)]
pub struct Findings {
    /// Combinations GreptimeDB refuses, or with which the cluster cannot work.
    pub failed: Vec<Finding>,
    /// Combinations that may work but cannot be proven from the configs, or lose something.
    pub warned: Vec<Finding>,
}

impl Findings {
    fn push(
        list: &mut Vec<Finding>,
        nodes: Vec<String>,
        keys: &[&str],
        message: String,
        hint: String,
    ) {
        let mut unique: Vec<String> = Vec::new();
        for node in nodes {
            if !unique.contains(&node) {
                unique.push(node);
            }
        }
        list.push(Finding {
            nodes: unique,
            keys: keys.iter().map(|k| k.to_string()).collect(),
            message,
            hint,
        });
    }

    /// Records a failure.
    pub(crate) fn fail(
        &mut self,
        nodes: Vec<String>,
        keys: &[&str],
        message: String,
        hint: String,
    ) {
        Self::push(&mut self.failed, nodes, keys, message, hint);
    }

    /// Records a warning.
    pub(crate) fn warn(
        &mut self,
        nodes: Vec<String>,
        keys: &[&str],
        message: String,
        hint: String,
    ) {
        Self::push(&mut self.warned, nodes, keys, message, hint);
    }

    /// One detail line per finding, failures first.
    pub(crate) fn details(&self) -> Vec<String> {
        let line = |level: &str, f: &Finding| format!("{level}: {} (hint: {})", f.message, f.hint);
        self.failed
            .iter()
            .map(|f| line("fail", f))
            .chain(self.warned.iter().map(|f| line("warn", f)))
            .collect()
    }
}

/// The names of `nodes`, in order.
pub(crate) fn names(nodes: &[&ClusterNode]) -> Vec<String> {
    nodes.iter().map(|n| n.name.clone()).collect()
}

/// `a`, `a and b`, `a, b and c`.
pub(crate) fn and_list<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [init @ .., last] => format!(
            "{} and {}",
            init.iter()
                .map(AsRef::as_ref)
                .collect::<Vec<_>>()
                .join(", "),
            last.as_ref()
        ),
    }
}

/// `datanode d0` or `datanodes d0 and d1`.
pub(crate) fn who(role: &str, names: &[String]) -> String {
    let plural = if names.len() == 1 { "" } else { "s" };
    format!("{role}{plural} {}", and_list(names))
}

/// `[a, b]`: a set of addresses for messages.
pub(crate) fn show_set(set: &BTreeSet<String>) -> String {
    format!("[{}]", set.iter().cloned().collect::<Vec<_>>().join(", "))
}

/// Groups items by a key: the largest group first, ties in order of first appearance.
pub(crate) fn groups<K: PartialEq, T>(items: impl IntoIterator<Item = (K, T)>) -> Vec<(K, Vec<T>)> {
    let mut out: Vec<(K, Vec<T>)> = Vec::new();
    for (key, item) in items {
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(item),
            None => out.push((key, vec![item])),
        }
    }
    out.sort_by_key(|(_, members)| std::cmp::Reverse(members.len()));
    out
}

/// A list of addresses as a set: lower-cased, duplicates dropped, order ignored.
pub(crate) fn address_set(list: &[String]) -> BTreeSet<String> {
    list.iter().map(|a| a.to_ascii_lowercase()).collect()
}

/// What kind of host an address names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HostKind {
    /// 127.0.0.0/8, `::1` or `localhost`: reachable from the same machine only.
    Loopback,
    /// `0.0.0.0` or `::`: every interface (to listen on), nothing to dial.
    Unspecified,
    /// Any other IP address or host name.
    Other,
}

impl HostKind {
    pub(crate) fn of(host: &str) -> HostKind {
        if host.eq_ignore_ascii_case("localhost") {
            return HostKind::Loopback;
        }
        match host.parse::<IpAddr>() {
            Ok(ip) if ip.is_loopback() => HostKind::Loopback,
            Ok(ip) if ip.is_unspecified() => HostKind::Unspecified,
            _ => HostKind::Other,
        }
    }
}

/// An address in a form fit for comparing: the host lower-cased, an IP in canonical form,
/// `localhost` as `127.0.0.1`.
pub(crate) fn canonical(addr: &HostPort) -> String {
    let host = match addr.host.parse::<IpAddr>() {
        Ok(ip) => ip.to_string(),
        Err(_) if addr.host.eq_ignore_ascii_case("localhost") => "127.0.0.1".to_string(),
        Err(_) => addr.host.to_ascii_lowercase(),
    };
    HostPort {
        host,
        port: addr.port,
    }
    .to_string()
}

/// The keys of one gRPC service of a node: where it listens and what it advertises. A
/// non-empty legacy key wins, as GreptimeDB copies it over the current one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GrpcKeys {
    pub server: &'static str,
    pub legacy_server: Option<&'static str>,
    pub bind: &'static str,
    pub legacy_bind: Option<&'static str>,
}

impl GrpcKeys {
    /// The main gRPC service of a component.
    pub(crate) fn of(component: Component) -> GrpcKeys {
        let (legacy_server, legacy_bind) = match component {
            Component::Metasrv => (Some("server_addr"), Some("bind_addr")),
            Component::Datanode => (Some("rpc_hostname"), Some("rpc_addr")),
            _ => (None, None),
        };
        GrpcKeys {
            server: "grpc.server_addr",
            legacy_server,
            bind: "grpc.bind_addr",
            legacy_bind,
        }
    }

    /// The frontend's optional `[internal_grpc]` service.
    pub(crate) const INTERNAL: GrpcKeys = GrpcKeys {
        server: "internal_grpc.server_addr",
        legacy_server: None,
        bind: "internal_grpc.bind_addr",
        legacy_bind: None,
    };

    fn servers(&self) -> Vec<&'static str> {
        self.legacy_server
            .into_iter()
            .chain([self.server])
            .collect()
    }

    fn binds(&self) -> Vec<&'static str> {
        self.legacy_bind.into_iter().chain([self.bind]).collect()
    }

    /// The bind address with the key that holds it.
    pub(crate) fn bind_of<'n>(&self, node: &'n ClusterNode) -> Option<(&'static str, &'n str)> {
        node.first_text(&self.binds())
    }

    /// What the service advertises to the other nodes.
    pub(crate) fn advertised(&self, node: &ClusterNode) -> Advertised {
        let parse = |key: &'static str, value: &str| {
            HostPort::parse(value, false).map_err(|error| Advertised::Invalid {
                key,
                value: value.to_string(),
                error,
            })
        };
        if let Some((key, value)) = node.first_text(&self.servers()) {
            return match parse(key, value) {
                Ok(addr) => Advertised::Explicit { key, addr },
                Err(invalid) => invalid,
            };
        }
        match self.bind_of(node) {
            Some((key, value)) => match parse(key, value) {
                Ok(bind) => Advertised::Detected { key, bind },
                Err(invalid) => invalid,
            },
            None => Advertised::Unset,
        }
    }
}

/// The address a node's gRPC service advertises, as far as the config tells.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Advertised {
    /// `server_addr` (under `key`) is set to `addr`.
    Explicit { key: &'static str, addr: HostPort },
    /// `server_addr` is empty: GreptimeDB advertises the first interface's IP with the port of
    /// `bind` (under `key`).
    Detected { key: &'static str, bind: HostPort },
    /// The value under `key` is not `host:port`.
    Invalid {
        key: &'static str,
        value: String,
        error: String,
    },
    /// Neither address is set.
    Unset,
}

#[cfg(test)]
pub(crate) mod testing {
    use serde_json::{json, Value};

    use super::{ClusterNode, Findings};

    /// A rule's table case: its name, the nodes, and how many failures and warnings the rule
    /// must find in them.
    pub type CountCase = (&'static str, Vec<ClusterNode>, usize, usize);

    /// Judges each case's nodes with `judge` and compares the numbers of failures and warnings.
    pub fn assert_counts(cases: Vec<CountCase>, judge: impl Fn(&[ClusterNode]) -> Findings) {
        for (case, nodes, failed, warned) in cases {
            let findings = judge(&nodes);
            assert_eq!(
                (findings.failed.len(), findings.warned.len()),
                (failed, warned),
                "{case}: {findings:?}"
            );
        }
    }

    /// A node from a JSON config, e.g. `node("dn-0", "datanode", Some("a"), json!({...}))`.
    pub fn node(name: &str, component: &str, host: Option<&str>, config: Value) -> ClusterNode {
        serde_json::from_value(json!({
            "name": name, "component": component, "host": host, "config": config,
        }))
        .expect("a node")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::testing::node;
    use super::*;

    #[test]
    fn node_reads_dotted_keys_lists_and_labels() {
        let n = node(
            "dn-0",
            "datanode",
            Some(" host-a "),
            json!({"meta_client": {"metasrv_addrs": [" a:1 ", "", "b:2"]}, "wal": {"provider": ""}}),
        );
        assert_eq!(
            n.strings("meta_client.metasrv_addrs").unwrap(),
            vec!["a:1", "b:2"]
        );
        assert_eq!(n.text("wal.provider"), None);
        assert_eq!(n.strings("missing.key"), None);
        assert_eq!(n.labelled(), "dn-0 (host-a)");
        assert_eq!(n.config_ref(), "dn-0's config");
        let mut with_file = n.clone();
        with_file.config_file = Some("conf/dn-0.toml".into());
        assert_eq!(with_file.config_ref(), "dn-0's config (conf/dn-0.toml)");
        let unlabelled = node("fe-0", "frontend", Some(""), json!({}));
        assert_eq!(unlabelled.host_label(), None);
        assert!(maybe_same_host(&n, &unlabelled));
    }

    #[test]
    fn host_kinds() {
        for (host, kind) in [
            ("127.0.0.1", HostKind::Loopback),
            ("127.3.2.1", HostKind::Loopback),
            ("::1", HostKind::Loopback),
            ("LocalHost", HostKind::Loopback),
            ("0.0.0.0", HostKind::Unspecified),
            ("::", HostKind::Unspecified),
            ("10.0.0.1", HostKind::Other),
            ("metasrv-0.svc", HostKind::Other),
        ] {
            assert_eq!(HostKind::of(host), kind, "{host}");
        }
    }

    #[test]
    fn groups_put_the_largest_first_and_keep_first_seen_order_on_ties() {
        let g = groups([("x", 1), ("y", 2), ("y", 3), ("z", 4)]);
        assert_eq!(g, vec![("y", vec![2, 3]), ("x", vec![1]), ("z", vec![4])]);
        assert_eq!(and_list(&["a", "b", "c"]), "a, b and c");
        assert_eq!(and_list(&["a"]), "a");
        assert_eq!(who("datanode", &["d0".into()]), "datanode d0");
        assert_eq!(
            who("datanode", &["d0".into(), "d1".into()]),
            "datanodes d0 and d1"
        );
    }

    #[test]
    fn advertised_prefers_legacy_then_server_then_bind() {
        let keys = GrpcKeys::of(Component::Metasrv);
        let n = |config| node("m", "metasrv", None, config);
        let explicit = n(json!({"server_addr": "10.0.0.1:3002",
            "grpc": {"server_addr": "10.0.0.2:3002", "bind_addr": "0.0.0.0:3002"}}));
        assert!(matches!(
            keys.advertised(&explicit),
            Advertised::Explicit { key: "server_addr", ref addr } if addr.host == "10.0.0.1"
        ));
        let detected = n(json!({"grpc": {"server_addr": "", "bind_addr": "0.0.0.0:3002"}}));
        assert!(matches!(
            keys.advertised(&detected),
            Advertised::Detected {
                key: "grpc.bind_addr",
                ..
            }
        ));
        let invalid = n(json!({"grpc": {"server_addr": "nohost"}}));
        assert!(matches!(
            keys.advertised(&invalid),
            Advertised::Invalid {
                key: "grpc.server_addr",
                ..
            }
        ));
        assert_eq!(keys.advertised(&n(json!({}))), Advertised::Unset);
        let v6 = HostPort::parse("[0:0:0:0:0:0:0:1]:3002", false).unwrap();
        assert_eq!(canonical(&v6), "[::1]:3002");
        let local = HostPort::parse("LocalHost:3002", false).unwrap();
        assert_eq!(canonical(&local), "127.0.0.1:3002");
    }
}
