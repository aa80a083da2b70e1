//! `cluster.server_addrs`: the gRPC addresses nodes advertise are unique and reachable from
//! the other hosts.

use schemars::JsonSchema;
use serde::Serialize;

use super::{
    and_list, canonical, groups, host_labels, Advertised, ClusterNode, Findings, GrpcKeys, HostKind,
};
use crate::config::Component;
use crate::plugins::net::HostPort;

/// Judges the advertised gRPC address of every metasrv, frontend (also `internal_grpc`),
/// datanode and flownode. A set `server_addr` must be unique across nodes, and must not be
/// loopback (127.0.0.0/8, `::1`, `localhost`) or `0.0.0.0`/`::` when the inventory spans two
/// or more host labels. An empty `server_addr` makes GreptimeDB advertise the first interface's
/// IP with the bind port, so the bind address is judged: loopback fails across hosts (warns on
/// one host), `0.0.0.0` warns across hosts (the detected interface cannot be checked), a
/// specific address warns (the detected IP need not be it).
pub struct ServerAddrs;

/// One advertised address that is set.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AdvertisedAddr {
    /// The node.
    pub node: String,
    /// The key that sets it, e.g. `grpc.server_addr`.
    pub key: String,
    /// The address, `host:port`.
    pub address: String,
}

/// Output of `cluster.server_addrs`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ServerAddrsOutput {
    /// Every advertised address that is set.
    pub advertised: Vec<AdvertisedAddr>,
    /// The distinct host labels of the inventory.
    pub hosts: Vec<String>,
    /// True when the inventory spans two or more host labels.
    pub multi_host: bool,
    /// One line for a passing check.
    pub summary: String,
    #[serde(flatten)]
    pub findings: Findings,
}

super::cross_node_step!(
    ServerAddrs,
    ServerAddrsOutput,
    "cluster.server_addrs",
    "Check that advertised server_addr values are unique and not loopback across hosts"
);

/// The gRPC services of a node that advertise an address.
fn services(node: &ClusterNode) -> Vec<GrpcKeys> {
    match node.component {
        Component::Standalone | Component::Cluster => Vec::new(),
        Component::Frontend if node.get("internal_grpc").is_some_and(|v| v.is_object()) => {
            vec![GrpcKeys::of(node.component), GrpcKeys::INTERNAL]
        }
        component => vec![GrpcKeys::of(component)],
    }
}

fn judge(nodes: &[ClusterNode]) -> ServerAddrsOutput {
    let mut findings = Findings::default();
    let hosts: Vec<String> = host_labels(nodes).into_iter().map(String::from).collect();
    let multi_host = hosts.len() >= 2;
    let spans = format!("the inventory spans hosts {}", and_list(&hosts));
    let mut set: Vec<(&ClusterNode, &'static str, HostPort)> = Vec::new();
    for node in nodes {
        for keys in services(node) {
            let name = &node.name;
            let server = keys.server;
            match keys.advertised(node) {
                Advertised::Explicit { key, addr } => {
                    let kind = HostKind::of(&addr.host);
                    let what = match kind {
                        HostKind::Loopback => "a loopback address",
                        HostKind::Unspecified => "the any-address, which nobody can dial",
                        HostKind::Other => "",
                    };
                    if kind != HostKind::Other && multi_host {
                        findings.fail(
                            vec![name.clone()],
                            &[key],
                            format!(
                                "{} advertises `{key} = {addr}`, {what}, but {spans}: the other \
                                 hosts cannot reach it there",
                                node.labelled()
                            ),
                            format!(
                                "set `{key}` on {name} to an address of its host that the other \
                                 hosts reach"
                            ),
                        );
                    } else if kind == HostKind::Unspecified {
                        findings.warn(
                            vec![name.clone()],
                            &[key],
                            format!("{name} advertises `{key} = {addr}`, {what}"),
                            format!("set `{key}` on {name} to the address the other nodes dial"),
                        );
                    }
                    set.push((node, key, addr));
                }
                Advertised::Detected { key, bind } => {
                    let port = bind.port;
                    let detected = format!(
                        "GreptimeDB advertises its host's first interface IP with port {port}"
                    );
                    match HostKind::of(&bind.host) {
                        HostKind::Loopback if multi_host => findings.fail(
                            vec![name.clone()],
                            &[server, key],
                            format!(
                                "{} has no `{server}` and listens on loopback `{key} = {bind}`, \
                                 but {spans}: {detected}, where nothing listens",
                                node.labelled()
                            ),
                            format!(
                                "set `{key}` on {name} to `0.0.0.0:{port}` (or its host's IP) and \
                                 `{server}` to the address the other hosts dial"
                            ),
                        ),
                        HostKind::Loopback => findings.warn(
                            vec![name.clone()],
                            &[server, key],
                            format!(
                                "{name} has no `{server}` and listens on loopback \
                                 `{key} = {bind}`: {detected}, where nothing listens"
                            ),
                            format!(
                                "set `{server} = \"{bind}\"` on {name} for a cluster on one host, \
                                 or listen on an address the other nodes reach"
                            ),
                        ),
                        HostKind::Unspecified if multi_host => findings.warn(
                            vec![name.clone()],
                            &[server, key],
                            format!(
                                "{} listens on `{key} = {bind}` without `{server}`: {detected}; \
                                 which interface that is cannot be checked here",
                                node.labelled()
                            ),
                            format!("set `{server}` on {name} to the address the other hosts dial"),
                        ),
                        HostKind::Unspecified => {}
                        HostKind::Other => findings.warn(
                            vec![name.clone()],
                            &[server, key],
                            format!(
                                "{name} has no `{server}`: {detected}, which need not be `{}`",
                                bind.host
                            ),
                            format!("set `{server} = \"{bind}\"` on {name}"),
                        ),
                    }
                }
                Advertised::Invalid { key, value, error } => findings.fail(
                    vec![name.clone()],
                    &[key],
                    format!("{name} has `{key} = \"{value}\"`: {error}"),
                    format!("write `{key}` on {name} as host:port"),
                ),
                Advertised::Unset => {}
            }
        }
    }

    for (address, users) in groups(set.iter().map(|(n, k, a)| (canonical(a), (*n, *k)))) {
        if users.len() < 2 {
            continue;
        }
        let shown: Vec<String> = users
            .iter()
            .map(|(n, k)| format!("{} (`{k}`)", n.name))
            .collect();
        let mut keys: Vec<&str> = Vec::new();
        for (_, key) in &users {
            if !keys.contains(key) {
                keys.push(key);
            }
        }
        let change: Vec<String> = users[1..]
            .iter()
            .map(|(n, k)| format!("`{k}` on {}", n.name))
            .collect();
        findings.fail(
            users.iter().map(|(n, _)| n.name.clone()).collect(),
            &keys,
            format!("{} advertise the same address {address}", and_list(&shown)),
            format!(
                "every node needs its own advertised address: change {}",
                and_list(&change)
            ),
        );
    }

    let advertised: Vec<AdvertisedAddr> = set
        .iter()
        .map(|(node, key, addr)| AdvertisedAddr {
            node: node.name.clone(),
            key: key.to_string(),
            address: addr.to_string(),
        })
        .collect();
    let summary = format!(
        "{} advertised address(es) set, all distinct{}",
        advertised.len(),
        if multi_host {
            format!(", none loopback across hosts {}", and_list(&hosts))
        } else {
            String::new()
        }
    );
    ServerAddrsOutput {
        advertised,
        hosts,
        multi_host,
        summary,
        findings,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::{assert_counts, node, CountCase};
    use super::*;

    fn dn(name: &str, host: &str, server: &str, bind: &str) -> ClusterNode {
        node(
            name,
            "datanode",
            Some(host),
            json!({"grpc": {"server_addr": server, "bind_addr": bind}}),
        )
    }

    #[test]
    fn verdicts() {
        // (case, nodes, failures, warnings)
        let cases: Vec<CountCase> = vec![
            (
                "distinct routable",
                vec![
                    dn("d0", "a", "10.0.0.1:3001", "0.0.0.0:3001"),
                    dn("d1", "b", "10.0.0.2:3001", "0.0.0.0:3001"),
                ],
                0,
                0,
            ),
            (
                "loopback on one host",
                vec![
                    dn("d0", "a", "127.0.0.1:3001", "127.0.0.1:3001"),
                    dn("d1", "a", "127.0.0.1:3011", "127.0.0.1:3011"),
                ],
                0,
                0,
            ),
            (
                "loopback across hosts",
                vec![
                    dn("d0", "a", "127.0.0.1:3001", "0.0.0.0:3001"),
                    dn("d1", "b", "10.0.0.2:3001", "0.0.0.0:3001"),
                ],
                1,
                0,
            ),
            (
                "localhost across hosts",
                vec![
                    dn("d0", "a", "localhost:3001", "0.0.0.0:3001"),
                    dn("d1", "b", "10.0.0.2:3001", "0.0.0.0:3001"),
                ],
                1,
                0,
            ),
            (
                "duplicate",
                vec![
                    dn("d0", "a", "10.0.0.1:3001", "0.0.0.0:3001"),
                    dn("d1", "b", "10.0.0.1:3001", "0.0.0.0:3001"),
                ],
                1,
                0,
            ),
            (
                "empty server_addr, any-address bind, one host",
                vec![dn("d0", "a", "", "0.0.0.0:3001")],
                0,
                0,
            ),
            (
                "empty server_addr, any-address bind, two hosts",
                vec![
                    dn("d0", "a", "", "0.0.0.0:3001"),
                    dn("d1", "b", "10.0.0.2:3001", "0.0.0.0:3001"),
                ],
                0,
                1,
            ),
            (
                "empty server_addr, loopback bind, two hosts",
                vec![
                    dn("d0", "a", "", "127.0.0.1:3001"),
                    dn("d1", "b", "10.0.0.2:3001", "0.0.0.0:3001"),
                ],
                1,
                0,
            ),
            (
                "empty server_addr, loopback bind, one host",
                vec![dn("d0", "a", "", "127.0.0.1:3001")],
                0,
                1,
            ),
            (
                "empty server_addr, specific bind",
                vec![dn("d0", "a", "", "10.0.0.1:3001")],
                0,
                1,
            ),
            (
                "advertising the any-address on one host",
                vec![dn("d0", "a", "0.0.0.0:3001", "0.0.0.0:3001")],
                0,
                1,
            ),
            (
                "unlabelled nodes are one host at most",
                vec![
                    node(
                        "d0",
                        "datanode",
                        None,
                        json!({"grpc": {"server_addr": "127.0.0.1:3001"}}),
                    ),
                    dn("d1", "b", "127.0.0.1:3011", ""),
                ],
                0,
                0,
            ),
            (
                "not host:port",
                vec![dn("d0", "a", "10.0.0.1", "0.0.0.0:3001")],
                1,
                0,
            ),
        ];
        assert_counts(cases, |nodes| judge(nodes).findings);
    }

    #[test]
    fn frontend_internal_grpc_counts_and_duplicates_name_keys() {
        let fe = node(
            "f0",
            "frontend",
            Some("a"),
            json!({"grpc": {"server_addr": "10.0.0.1:4001", "bind_addr": "0.0.0.0:4001"},
                   "internal_grpc": {"server_addr": "10.0.0.2:3001", "bind_addr": "0.0.0.0:4010"}}),
        );
        let d = dn("d0", "b", "10.0.0.2:3001", "0.0.0.0:3001");
        let out = judge(&[fe, d]);
        assert_eq!(out.advertised.len(), 3);
        let f = &out.findings.failed[0];
        assert_eq!(
            f.message,
            "f0 (`internal_grpc.server_addr`) and d0 (`grpc.server_addr`) advertise the same \
             address 10.0.0.2:3001"
        );
        assert_eq!(
            f.hint,
            "every node needs its own advertised address: change `grpc.server_addr` on d0"
        );
        assert_eq!(
            f.keys,
            vec!["internal_grpc.server_addr", "grpc.server_addr"]
        );
    }

    #[test]
    fn metasrv_legacy_server_addr_is_judged() {
        let m = node(
            "m0",
            "metasrv",
            Some("a"),
            json!({"server_addr": "127.0.0.1:3002", "grpc": {"server_addr": "", "bind_addr": "0.0.0.0:3002"}}),
        );
        let d = dn("d0", "b", "10.0.0.2:3001", "0.0.0.0:3001");
        let out = judge(&[m, d]);
        assert_eq!(out.findings.failed.len(), 1);
        assert_eq!(out.findings.failed[0].keys, vec!["server_addr"]);
        assert!(out.findings.failed[0].message.starts_with("m0 (a) advertises `server_addr = 127.0.0.1:3002`, a loopback address, but the inventory spans hosts a and b"));
    }
}
