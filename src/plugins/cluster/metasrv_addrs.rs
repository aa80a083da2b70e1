//! `cluster.metasrv_addrs`: every frontend, datanode and flownode dials the same metasrv
//! address set, and that set names the metasrvs of the inventory.

use std::collections::BTreeSet;
use std::net::IpAddr;

use schemars::JsonSchema;
use serde::Serialize;

use super::{
    address_set, and_list, canonical, groups, maybe_same_host, names, of, show_set, Advertised,
    Findings, GrpcKeys, HostKind, Node,
};
use crate::config::Component;
use crate::plugins::net::HostPort;

const KEY: &str = "meta_client.metasrv_addrs";

/// Compares `meta_client.metasrv_addrs` of every frontend, datanode and flownode as sets
/// (order and duplicates ignored): they must be equal. When the inventory has metasrv nodes,
/// each entry must be the address of one of them (its `grpc.server_addr`, or its
/// `grpc.bind_addr` when that is empty; a loopback entry only counts for a metasrv that may be
/// on the client's own host) and each of them must be listed. A metasrv bound to `0.0.0.0`
/// without `grpc.server_addr`, or an entry that is a host name, cannot be compared: a warning.
pub struct MetasrvAddrs;

/// Output of `cluster.metasrv_addrs`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct MetasrvAddrsOutput {
    /// The address set most frontends, datanodes and flownodes use, sorted.
    pub addresses: Vec<String>,
    /// Frontends, datanodes and flownodes in the inventory.
    pub clients: usize,
    /// Metasrvs in the inventory, with the address they are compared by (`meta-0 = host:port`).
    pub metasrvs: Vec<String>,
    /// One line for a passing check.
    pub summary: String,
    #[serde(flatten)]
    pub findings: Findings,
}

super::cross_node_step!(
    MetasrvAddrs,
    MetasrvAddrsOutput,
    "cluster.metasrv_addrs",
    "Check that all nodes dial one metasrv address set, naming the inventory's metasrvs"
);

/// A metasrv and the address the clients should name it by.
struct Target<'a> {
    node: &'a Node,
    key: &'static str,
    addr: HostPort,
}

impl Target<'_> {
    fn shown(&self) -> String {
        format!("{} = {}", self.node.name, self.addr)
    }
}

/// An entry of some clients' lists that names no metasrv of the inventory.
struct Unmatched {
    entry: String,
    clients: Vec<String>,
    /// Comparable, so surely wrong (an IP or loopback entry, every metasrv address an IP).
    certain: bool,
    loopback: bool,
    /// The metasrv whose own loopback address this is, on another host than the clients.
    owner: Option<usize>,
}

fn judge(nodes: &[Node]) -> MetasrvAddrsOutput {
    let mut findings = Findings::default();
    let clients: Vec<&Node> = nodes
        .iter()
        .filter(|n| {
            matches!(
                n.component,
                Component::Frontend | Component::Datanode | Component::Flownode
            )
        })
        .collect();
    let mut sets: Vec<(BTreeSet<String>, &Node)> = Vec::new();
    for client in &clients {
        match client.strings(KEY) {
            Some(list) if !list.is_empty() => sets.push((address_set(&list), client)),
            _ => findings.fail(
                vec![client.name.clone()],
                &[KEY],
                format!(
                    "{} {} has no `{KEY}`",
                    client.component.as_str(),
                    client.name
                ),
                format!(
                    "add `[meta_client]` with `metasrv_addrs` to {}; GreptimeDB refuses to \
                     start a {} without it",
                    client.config_ref(),
                    client.component.as_str()
                ),
            ),
        }
    }

    let grouped = groups(sets.iter().map(|(set, node)| (set.clone(), *node)));
    if let [(common, users), others @ ..] = grouped.as_slice() {
        for (set, group) in others {
            let mut involved = names(group);
            involved.extend(names(users));
            findings.fail(
                involved,
                &[KEY],
                format!(
                    "`{KEY}` is {} on {} but {} on {}",
                    show_set(set),
                    and_list(&names(group)),
                    show_set(common),
                    and_list(&names(users))
                ),
                format!(
                    "use one metasrv list on every frontend, datanode and flownode: set `{KEY}` \
                     on {} to {} (order and duplicates do not matter)",
                    and_list(&names(group)),
                    show_set(common)
                ),
            );
        }
    }

    let (targets, undetermined) = targets(nodes, &mut findings);
    if !of(nodes, Component::Metasrv).is_empty() {
        name_check(&sets, &targets, undetermined, &mut findings);
    }

    let addresses: Vec<String> = grouped
        .first()
        .map(|(set, _)| set.iter().cloned().collect())
        .unwrap_or_default();
    let metasrvs: Vec<String> = targets.iter().map(Target::shown).collect();
    let summary = if sets.is_empty() {
        "no frontend, datanode or flownode in the inventory".to_string()
    } else if metasrvs.is_empty() {
        format!(
            "{} node(s) dial [{}]; no metasrv address in the inventory to compare with",
            sets.len(),
            addresses.join(", ")
        )
    } else {
        format!(
            "{} node(s) dial [{}], naming metasrv {}",
            sets.len(),
            addresses.join(", "),
            and_list(&metasrvs)
        )
    };
    MetasrvAddrsOutput {
        addresses,
        clients: clients.len(),
        metasrvs,
        summary,
        findings,
    }
}

/// The metasrvs whose address can be told, and whether some cannot.
fn targets<'a>(nodes: &'a [Node], findings: &mut Findings) -> (Vec<Target<'a>>, bool) {
    let mut targets = Vec::new();
    let mut undetermined = false;
    let keys = GrpcKeys::of(Component::Metasrv);
    for node in of(nodes, Component::Metasrv) {
        match keys.advertised(node) {
            Advertised::Explicit { key, addr } => targets.push(Target { node, key, addr }),
            Advertised::Detected { key, bind }
                if HostKind::of(&bind.host) != HostKind::Unspecified =>
            {
                targets.push(Target {
                    node,
                    key,
                    addr: bind,
                })
            }
            Advertised::Detected { key, bind } => {
                undetermined = true;
                findings.warn(
                    vec![node.name.clone()],
                    &[keys.server, key],
                    format!(
                        "metasrv {} listens on `{key} = {bind}` and has no `{}`: its address is \
                         detected at start-up, so whether the other nodes name it cannot be \
                         checked",
                        node.name, keys.server
                    ),
                    format!(
                        "set `{}` on {} to the address the other nodes dial",
                        keys.server, node.name
                    ),
                );
            }
            Advertised::Invalid { key, value, error } => {
                undetermined = true;
                findings.fail(
                    vec![node.name.clone()],
                    &[key],
                    format!("metasrv {} has `{key} = \"{value}\"`: {error}", node.name),
                    format!("write `{key}` on {} as host:port", node.name),
                );
            }
            Advertised::Unset => {
                undetermined = true;
                findings.warn(
                    vec![node.name.clone()],
                    &[keys.server, keys.bind],
                    format!(
                        "metasrv {} sets neither `{}` nor `{}`",
                        node.name, keys.server, keys.bind
                    ),
                    format!("set `{}` on {}", keys.server, node.name),
                );
            }
        }
    }
    (targets, undetermined)
}

/// Each client's entries name metasrvs of the inventory, and every metasrv is named.
fn name_check(
    sets: &[(BTreeSet<String>, &Node)],
    targets: &[Target],
    undetermined: bool,
    findings: &mut Findings,
) {
    let all_ips = targets
        .iter()
        .all(|t| t.addr.host.parse::<IpAddr>().is_ok());
    let mut unmatched: Vec<Unmatched> = Vec::new();
    let mut missing: Vec<(usize, Vec<String>)> = Vec::new();
    for (set, client) in sets {
        let mut named = vec![false; targets.len()];
        let mut uncertain = false;
        for entry in set {
            let addr = match HostPort::parse(entry, false) {
                Ok(addr) => addr,
                Err(error) => {
                    findings.fail(
                        vec![client.name.clone()],
                        &[KEY],
                        format!("`{entry}` in `{KEY}` of {}: {error}", client.name),
                        format!(
                            "write every entry of `{KEY}` on {} as host:port",
                            client.name
                        ),
                    );
                    continue;
                }
            };
            let kind = HostKind::of(&addr.host);
            let wanted = canonical(&addr);
            let mut hit = false;
            let mut owner = None;
            for (i, target) in targets.iter().enumerate() {
                if canonical(&target.addr) != wanted {
                    continue;
                }
                // meant for this metasrv, so it is not reported as missing as well
                named[i] = true;
                if kind != HostKind::Loopback || maybe_same_host(client, target.node) {
                    hit = true;
                } else {
                    owner = Some(i);
                }
            }
            if hit {
                continue;
            }
            let comparable = kind == HostKind::Loopback || addr.host.parse::<IpAddr>().is_ok();
            let certain = comparable && all_ips && !undetermined;
            uncertain |= !certain;
            match unmatched.iter_mut().find(|u| u.entry == *entry) {
                Some(u) => u.clients.push(client.name.clone()),
                None => unmatched.push(Unmatched {
                    entry: entry.clone(),
                    clients: vec![client.name.clone()],
                    certain,
                    loopback: kind == HostKind::Loopback,
                    owner,
                }),
            }
        }
        if uncertain {
            continue;
        }
        for (i, _) in named.iter().enumerate().filter(|(_, named)| !**named) {
            match missing.iter_mut().find(|(t, _)| *t == i) {
                Some((_, clients)) => clients.push(client.name.clone()),
                None => missing.push((i, vec![client.name.clone()])),
            }
        }
    }

    let known = and_list(&targets.iter().map(Target::shown).collect::<Vec<_>>());
    for u in unmatched {
        let who = and_list(&u.clients);
        if let Some(owner) = u.owner.map(|i| targets[i].node) {
            let mut involved = u.clients.clone();
            involved.push(owner.name.clone());
            findings.fail(
                involved,
                &[KEY],
                format!(
                    "`{}` in `{KEY}` of {who} is the loopback address of metasrv {}, which \
                     reaches it from its own host only",
                    u.entry,
                    owner.labelled()
                ),
                format!(
                    "list an address of {} that {who} can reach in `{KEY}` on {who}, and \
                     advertise it as {}'s `grpc.server_addr`",
                    owner.name, owner.name
                ),
            );
        } else if u.certain {
            let hint = if u.loopback {
                format!(
                    "a loopback address reaches a metasrv on the node's own host only; list the \
                     metasrvs' addresses ({known}) in `{KEY}` on {who}"
                )
            } else {
                format!(
                    "list the metasrvs' addresses ({known}) in `{KEY}` on {who}, or add the \
                     metasrv at `{}` to the inventory",
                    u.entry
                )
            };
            findings.fail(
                u.clients,
                &[KEY],
                format!(
                    "`{}` in `{KEY}` of {who} is the address of no metasrv in the inventory \
                     (metasrvs: {})",
                    u.entry,
                    if known.is_empty() {
                        "none comparable".into()
                    } else {
                        known.clone()
                    }
                ),
                hint,
            );
        } else {
            findings.warn(
                u.clients,
                &[KEY],
                format!(
                    "`{}` in `{KEY}` of {who} is not the address of a metasrv in the inventory as \
                     far as the configs tell (a DNS name or load balancer in front of them?)",
                    u.entry
                ),
                format!(
                    "make sure `{}` reaches the metasrvs from {who}; listing their own addresses \
                     lets this check prove it",
                    u.entry
                ),
            );
        }
    }
    for (i, clients) in missing {
        let target = &targets[i];
        let who = and_list(&clients);
        let mut involved = clients.clone();
        involved.push(target.node.name.clone());
        findings.fail(
            involved,
            &[KEY, target.key],
            format!(
                "metasrv {} (`{} = {}`) is not in `{KEY}` of {who}",
                target.node.name, target.key, target.addr
            ),
            format!(
                "add `{}` to `{KEY}` on {who}, or correct `{}` on {} if it names the wrong address",
                target.addr, target.key, target.node.name
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::super::testing::node;
    use super::*;

    fn client(name: &str, host: Option<&str>, addrs: Value) -> Node {
        node(
            name,
            "datanode",
            host,
            json!({"meta_client": {"metasrv_addrs": addrs}}),
        )
    }

    fn meta(name: &str, host: Option<&str>, server: &str, bind: &str) -> Node {
        node(
            name,
            "metasrv",
            host,
            json!({"grpc": {"server_addr": server, "bind_addr": bind}}),
        )
    }

    /// (failure messages, warning messages)
    fn verdict(nodes: &[Node]) -> (Vec<String>, Vec<String>) {
        let out = judge(nodes);
        let messages =
            |list: &[super::super::Finding]| list.iter().map(|f| f.message.clone()).collect();
        (
            messages(&out.findings.failed),
            messages(&out.findings.warned),
        )
    }

    #[test]
    fn sets_ignore_order_duplicates_and_case() {
        let nodes = vec![
            client("d0", None, json!(["M-0:3002", "m-1:3002"])),
            client("d1", None, json!(["m-1:3002", "m-0:3002", "m-0:3002"])),
        ];
        assert_eq!(verdict(&nodes), (vec![], vec![]));
        assert_eq!(judge(&nodes).addresses, vec!["m-0:3002", "m-1:3002"]);
    }

    #[test]
    fn differing_and_missing_lists_fail() {
        let nodes = vec![
            client("d0", None, json!(["10.0.0.1:3002"])),
            client("d1", None, json!(["10.0.0.1:3002"])),
            client("d2", None, json!(["10.0.0.9:3002"])),
            node("f0", "frontend", None, json!({})),
        ];
        let out = judge(&nodes);
        let failed = &out.findings.failed;
        assert_eq!(failed.len(), 2, "{failed:?}");
        assert_eq!(
            failed[0].message,
            "frontend f0 has no `meta_client.metasrv_addrs`"
        );
        assert_eq!(
            failed[1].message,
            "`meta_client.metasrv_addrs` is [10.0.0.9:3002] on d2 but [10.0.0.1:3002] on d0 and d1"
        );
        assert_eq!(failed[1].nodes[0], "d2");
        assert!(failed[1].hint.contains("on d2 to [10.0.0.1:3002]"));
    }

    #[test]
    fn entries_are_matched_against_the_inventory_metasrvs() {
        let ms = || {
            vec![
                meta("m0", Some("a"), "10.0.0.1:3002", "0.0.0.0:3002"),
                meta("m1", Some("b"), "", "10.0.0.2:3002"),
            ]
        };
        let with = |extra: Vec<Node>| ms().into_iter().chain(extra).collect::<Vec<_>>();
        // (case, nodes, failure messages, warning messages)
        type Case<'a> = (&'a str, Vec<Node>, Vec<&'a str>, Vec<&'a str>);
        let cases: Vec<Case> = vec![
            (
                "all named (server_addr, else bind_addr)",
                with(vec![client("d0", Some("c"), json!(["10.0.0.1:3002", "10.0.0.2:3002"]))]),
                vec![],
                vec![],
            ),
            (
                "one metasrv not listed",
                with(vec![client("d0", Some("c"), json!(["10.0.0.1:3002"]))]),
                vec!["metasrv m1 (`grpc.bind_addr = 10.0.0.2:3002`) is not in `meta_client.metasrv_addrs` of d0"],
                vec![],
            ),
            (
                "an entry that is no metasrv",
                with(vec![client("d0", Some("c"), json!(["10.0.0.1:3002", "10.0.0.2:3002", "10.0.0.3:3002"]))]),
                vec!["`10.0.0.3:3002` in `meta_client.metasrv_addrs` of d0 is the address of no metasrv in the inventory (metasrvs: m0 = 10.0.0.1:3002 and m1 = 10.0.0.2:3002)"],
                vec![],
            ),
            (
                "a host name cannot be compared",
                with(vec![client("d0", Some("c"), json!(["meta.svc:3002"]))]),
                vec![],
                vec!["`meta.svc:3002` in `meta_client.metasrv_addrs` of d0 is not the address of a metasrv in the inventory as far as the configs tell (a DNS name or load balancer in front of them?)"],
            ),
        ];
        for (case, nodes, failed, warned) in cases {
            let (f, w) = verdict(&nodes);
            assert_eq!(
                (f, w),
                (
                    failed.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                    warned.iter().map(|s| s.to_string()).collect::<Vec<_>>()
                ),
                "{case}"
            );
        }
    }

    #[test]
    fn loopback_entries_name_a_metasrv_on_the_same_host_only() {
        let m = meta("m0", Some("a"), "127.0.0.1:3002", "127.0.0.1:3002");
        let same = vec![
            m.clone(),
            client("d0", Some("a"), json!(["127.0.0.1:3002"])),
        ];
        assert_eq!(verdict(&same), (vec![], vec![]));
        let unlabelled = vec![m.clone(), client("d0", None, json!(["localhost:3002"]))];
        assert_eq!(
            verdict(&unlabelled),
            (vec![], vec![]),
            "localhost is 127.0.0.1"
        );
        let other = vec![
            m.clone(),
            client("d0", Some("b"), json!(["127.0.0.1:3002"])),
        ];
        let out = judge(&other);
        assert_eq!(out.findings.failed.len(), 1, "{:?}", out.findings.failed);
        assert_eq!(
            out.findings.failed[0].message,
            "`127.0.0.1:3002` in `meta_client.metasrv_addrs` of d0 is the loopback address of \
             metasrv m0 (a), which reaches it from its own host only"
        );
        assert_eq!(out.findings.failed[0].nodes, vec!["d0", "m0"]);
        let stranger = vec![m, client("d0", Some("b"), json!(["127.0.0.2:3002"]))];
        let out = judge(&stranger);
        assert_eq!(out.findings.failed.len(), 2, "{:?}", out.findings.failed);
        assert!(out.findings.failed[0]
            .hint
            .starts_with("a loopback address"));
    }

    #[test]
    fn an_any_address_metasrv_without_server_addr_warns() {
        let nodes = vec![
            meta("m0", None, "", "0.0.0.0:3002"),
            client("d0", None, json!(["10.0.0.1:3002"])),
        ];
        let (failed, warned) = verdict(&nodes);
        assert!(failed.is_empty(), "{failed:?}");
        assert_eq!(warned.len(), 2, "{warned:?}");
        assert!(
            warned[0].contains("`grpc.bind_addr = 0.0.0.0:3002`"),
            "{warned:?}"
        );
    }
}
