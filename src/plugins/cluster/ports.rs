//! `cluster.ports`: no two listeners on one host want the same port.

use schemars::JsonSchema;
use serde::Serialize;

use super::{and_list, canonical, host_labels, ClusterNode, Findings, GrpcKeys, HostKind};
use crate::config::Component;
use crate::plugins::net::HostPort;

/// Collects every listener of every node (`grpc.bind_addr` or its legacy key, `http.addr`;
/// on frontend and standalone also `mysql.addr` and `postgres.addr` unless disabled,
/// `http.api_server_addr` when `http.enable_api_server`, and the frontend's
/// `internal_grpc.bind_addr`). Two listeners clash when their ports are equal (not 0) and
/// their IPs overlap: equal, or either is `0.0.0.0`/`::`. Listeners of one node are always
/// compared; listeners of two nodes only when both nodes carry the same host label (a node
/// without a label is on an unknown host and compared with no other node).
pub struct Ports;

/// Output of `cluster.ports`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PortsOutput {
    /// Listeners found across all nodes.
    pub listeners: usize,
    /// The distinct host labels of the inventory.
    pub hosts: Vec<String>,
    /// Nodes without a host label, compared with no other node.
    pub unlabelled: Vec<String>,
    /// One line for a passing check.
    pub summary: String,
    #[serde(flatten)]
    pub findings: Findings,
}

super::cross_node_step!(
    Ports,
    PortsOutput,
    "cluster.ports",
    "Check that no two listeners of nodes on the same host use the same port"
);

/// One listen address of a node.
struct Listener<'a> {
    node: &'a ClusterNode,
    key: &'static str,
    addr: HostPort,
}

impl Listener<'_> {
    fn shown(&self) -> String {
        format!("`{} = {}`", self.key, self.addr)
    }

    fn overlaps(&self, other: &Listener) -> bool {
        let any = |l: &Listener| HostKind::of(&l.addr.host) == HostKind::Unspecified;
        self.addr.port == other.addr.port
            && self.addr.port != 0
            && (any(self) || any(other) || canonical(&self.addr) == canonical(&other.addr))
    }
}

/// The listen addresses a node's config sets, with their keys.
fn listen_keys(node: &ClusterNode) -> Vec<(&'static str, &str)> {
    let mut out = Vec::new();
    if node.component == Component::Cluster {
        return out;
    }
    out.extend(GrpcKeys::of(node.component).bind_of(node));
    out.extend(node.text("http.addr").map(|v| ("http.addr", v)));
    if matches!(node.component, Component::Frontend | Component::Standalone) {
        for (enable, key) in [
            ("mysql.enable", "mysql.addr"),
            ("postgres.enable", "postgres.addr"),
        ] {
            if node.flag(enable) != Some(false) {
                out.extend(node.text(key).map(|v| (key, v)));
            }
        }
        if node.flag("http.enable_api_server") == Some(true) {
            out.extend(
                node.text("http.api_server_addr")
                    .map(|v| ("http.api_server_addr", v)),
            );
        }
    }
    if node.component == Component::Frontend
        && node.get("internal_grpc").is_some_and(|v| v.is_object())
    {
        out.extend(GrpcKeys::INTERNAL.bind_of(node));
    }
    out
}

fn judge(nodes: &[ClusterNode]) -> PortsOutput {
    let mut findings = Findings::default();
    let mut listeners: Vec<Listener> = Vec::new();
    for node in nodes {
        for (key, value) in listen_keys(node) {
            match HostPort::parse(value, false) {
                Ok(addr) => listeners.push(Listener { node, key, addr }),
                Err(error) => findings.fail(
                    vec![node.name.clone()],
                    &[key],
                    format!("{} has `{key} = \"{value}\"`: {error}", node.name),
                    format!("write `{key}` on {} as host:port", node.name),
                ),
            }
        }
    }
    for (i, a) in listeners.iter().enumerate() {
        for b in &listeners[i + 1..] {
            let same_node = std::ptr::eq(a.node, b.node);
            let shared_host = match (a.node.host_label(), b.node.host_label()) {
                (Some(x), Some(y)) if x == y => Some(x),
                _ => None,
            };
            if !(same_node || shared_host.is_some()) || !a.overlaps(b) {
                continue;
            }
            let port = a.addr.port;
            let message = if same_node {
                format!(
                    "{} has {} and {}: both on port {port}",
                    a.node.name,
                    a.shown(),
                    b.shown()
                )
            } else {
                format!(
                    "{} {} and {} {} both take port {port} on host {}",
                    a.node.name,
                    a.shown(),
                    b.node.name,
                    b.shown(),
                    shared_host.unwrap_or_default()
                )
            };
            let keys: Vec<&str> = if a.key == b.key {
                vec![a.key]
            } else {
                vec![a.key, b.key]
            };
            findings.fail(
                vec![b.node.name.clone(), a.node.name.clone()],
                &keys,
                message,
                format!(
                    "change `{}` on {} to a port nothing else on its host uses",
                    b.key, b.node.name
                ),
            );
        }
    }
    let hosts: Vec<String> = host_labels(nodes).into_iter().map(String::from).collect();
    let unlabelled: Vec<String> = nodes
        .iter()
        .filter(|n| n.host_label().is_none())
        .map(|n| n.name.clone())
        .collect();
    let mut summary = format!(
        "{} listener(s) on {} labelled host(s), no port taken twice on one host",
        listeners.len(),
        hosts.len()
    );
    if !unlabelled.is_empty() {
        summary.push_str(&format!(
            "; {} without a host label, compared with no other node",
            and_list(&unlabelled)
        ));
    }
    PortsOutput {
        listeners: listeners.len(),
        hosts,
        unlabelled,
        summary,
        findings,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::node;
    use super::*;

    fn dn(name: &str, host: Option<&str>, grpc: &str, http: &str) -> ClusterNode {
        node(
            name,
            "datanode",
            host,
            json!({"grpc": {"bind_addr": grpc}, "http": {"addr": http}}),
        )
    }

    #[test]
    fn overlap_rules() {
        let l = |addr: &str| HostPort::parse(addr, false).unwrap();
        let n = dn("d0", None, "", "");
        let listener = |addr| Listener {
            node: &n,
            key: "http.addr",
            addr: l(addr),
        };
        for (a, b, clash) in [
            ("127.0.0.1:4000", "127.0.0.1:4000", true),
            ("0.0.0.0:4000", "127.0.0.1:4000", true),
            ("10.0.0.1:4000", "[::]:4000", true),
            ("localhost:4000", "127.0.0.1:4000", true),
            ("127.0.0.1:4000", "10.0.0.1:4000", false),
            ("0.0.0.0:4000", "0.0.0.0:4001", false),
            ("0.0.0.0:0", "0.0.0.0:0", false),
        ] {
            assert_eq!(listener(a).overlaps(&listener(b)), clash, "{a} vs {b}");
        }
    }

    #[test]
    fn verdicts() {
        // (case, nodes, failures)
        let cases: Vec<(&str, Vec<ClusterNode>, usize)> = vec![
            (
                "same host, different ports",
                vec![
                    dn("d0", Some("a"), "0.0.0.0:3001", "0.0.0.0:4000"),
                    dn("d1", Some("a"), "0.0.0.0:3011", "0.0.0.0:4010"),
                ],
                0,
            ),
            (
                "same host, http clash",
                vec![
                    dn("d0", Some("a"), "0.0.0.0:3001", "127.0.0.1:4000"),
                    dn("d1", Some("a"), "0.0.0.0:3011", "127.0.0.1:4000"),
                ],
                1,
            ),
            (
                "any-address and loopback overlap",
                vec![
                    dn("d0", Some("a"), "0.0.0.0:3001", "0.0.0.0:4000"),
                    dn("d1", Some("a"), "127.0.0.1:3001", "127.0.0.1:4010"),
                ],
                1,
            ),
            (
                "different hosts never clash",
                vec![
                    dn("d0", Some("a"), "0.0.0.0:3001", "0.0.0.0:4000"),
                    dn("d1", Some("b"), "0.0.0.0:3001", "0.0.0.0:4000"),
                ],
                0,
            ),
            (
                "unlabelled nodes are not compared",
                vec![
                    dn("d0", None, "0.0.0.0:3001", "0.0.0.0:4000"),
                    dn("d1", None, "0.0.0.0:3001", "0.0.0.0:4000"),
                ],
                0,
            ),
            (
                "one node with two listeners on one port",
                vec![dn("d0", None, "0.0.0.0:4000", "127.0.0.1:4000")],
                1,
            ),
            (
                "unparsable listener",
                vec![dn("d0", Some("a"), "3001", "0.0.0.0:4000")],
                1,
            ),
        ];
        for (case, nodes, failed) in cases {
            let out = judge(&nodes);
            assert_eq!(
                out.findings.failed.len(),
                failed,
                "{case}: {:?}",
                out.findings
            );
        }
    }

    #[test]
    fn frontend_listeners_follow_enable_flags() {
        let fe = |mysql: bool, api: bool| {
            node(
                "f0",
                "frontend",
                Some("a"),
                json!({"grpc": {"bind_addr": "0.0.0.0:4001"},
                       "http": {"addr": "0.0.0.0:4000", "enable_api_server": api,
                                "api_server_addr": "0.0.0.0:4006"},
                       "mysql": {"enable": mysql, "addr": "0.0.0.0:4002"},
                       "postgres": {"addr": "0.0.0.0:4003"},
                       "internal_grpc": {"bind_addr": "0.0.0.0:4010"}}),
            )
        };
        let keys = |n: &ClusterNode| {
            listen_keys(n)
                .into_iter()
                .map(|(k, _)| k)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            keys(&fe(true, true)),
            vec![
                "grpc.bind_addr",
                "http.addr",
                "mysql.addr",
                "postgres.addr",
                "http.api_server_addr",
                "internal_grpc.bind_addr"
            ]
        );
        assert_eq!(
            keys(&fe(false, false)),
            vec![
                "grpc.bind_addr",
                "http.addr",
                "postgres.addr",
                "internal_grpc.bind_addr"
            ]
        );
        let clash = vec![
            fe(true, false),
            dn("d0", Some("a"), "127.0.0.1:4002", "0.0.0.0:4100"),
        ];
        let out = judge(&clash);
        assert_eq!(out.findings.failed.len(), 1, "{:?}", out.findings);
        let f = &out.findings.failed[0];
        assert_eq!(
            f.message,
            "f0 `mysql.addr = 0.0.0.0:4002` and d0 `grpc.bind_addr = 127.0.0.1:4002` both take \
             port 4002 on host a"
        );
        assert_eq!(f.nodes, vec!["d0", "f0"]);
        assert!(
            f.hint.contains("change `grpc.bind_addr` on d0"),
            "{}",
            f.hint
        );
    }
}
