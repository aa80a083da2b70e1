//! `cluster.metasrv_addrs`: every frontend, datanode and flownode dials the same metasrv
//! address set, and that set names the metasrvs of the inventory.

use std::collections::BTreeSet;
use std::net::IpAddr;

use schemars::JsonSchema;
use serde::Serialize;

use super::{
    address_set, and_list, canonical, groups, maybe_same_host, names, of, show_set, Advertised,
    ClusterNode, Findings, GrpcKeys, HostKind,
};
use crate::config::Component;
use crate::plugins::metasrv::greptimedb_makes_channel;
use crate::plugins::net::HostPort;

const KEY: &str = "meta_client.metasrv_addrs";

/// Compares `meta_client.metasrv_addrs` of every frontend, datanode and flownode as sets
/// (order and duplicates ignored): they should be equal. When the inventory has metasrv nodes,
/// each entry should be the address of one of them (its `grpc.server_addr`, or its
/// `grpc.bind_addr` when that is empty; a loopback entry only counts for a metasrv that may be
/// on the client's own host) and each of them should be listed. A metasrv bound to `0.0.0.0`
/// without `grpc.server_addr`, or an entry that is a host name, cannot be compared: a warning.
///
/// Severity follows GreptimeDB's meta client, which asks every entry concurrently, uses the
/// first leader named and only logs the entries that fail (`src/meta-client/src/client/
/// ask_leader.rs`; observed: a frontend with one live and one dead entry runs, greptimedb.md
/// §10). So differing sets, an entry naming no metasrv and a metasrv left out are warnings
/// while the node keeps one entry that names a metasrv of the inventory; a node none of whose
/// entries can name one finds no leader and exits at start-up (§10: "every address dead"):
/// a failure. So is a missing `[meta_client]` (GreptimeDB refuses to start without it) and an
/// entry GreptimeDB cannot make a channel for, which ends every AskLeader round.
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
    node: &'a ClusterNode,
    key: &'static str,
    addr: HostPort,
}

impl Target<'_> {
    fn shown(&self) -> String {
        format!("{} = {}", self.node.name, self.addr)
    }

    /// `entry` (canonical) is this metasrv's address or one of its aliases (a Service in
    /// front of it).
    fn named_by(&self, entry: &str) -> bool {
        canonical(&self.addr) == entry
            || self.node.aliases.iter().any(|alias| {
                HostPort::parse(alias, false).is_ok_and(|alias| canonical(&alias) == entry)
            })
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

fn judge(nodes: &[ClusterNode]) -> MetasrvAddrsOutput {
    let mut findings = Findings::default();
    let clients: Vec<&ClusterNode> = nodes
        .iter()
        .filter(|n| {
            matches!(
                n.component,
                Component::Frontend | Component::Datanode | Component::Flownode
            )
        })
        .collect();
    let mut sets: Vec<(BTreeSet<String>, &ClusterNode)> = Vec::new();
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
            // Each node needs only one entry that names the leader (ask_leader.rs); whether
            // each set has one is judged per node below.
            findings.warn(
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
fn targets<'a>(nodes: &'a [ClusterNode], findings: &mut Findings) -> (Vec<Target<'a>>, bool) {
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

/// Each client's entries name metasrvs of the inventory, and every metasrv is named; a client
/// with no entry that can reach a metasrv fails.
fn name_check(
    sets: &[(BTreeSet<String>, &ClusterNode)],
    targets: &[Target],
    undetermined: bool,
    findings: &mut Findings,
) {
    let all_ips = targets
        .iter()
        .all(|t| t.addr.host.parse::<IpAddr>().is_ok());
    let mut unmatched: Vec<Unmatched> = Vec::new();
    let mut missing: Vec<(usize, Vec<String>)> = Vec::new();
    let known = and_list(&targets.iter().map(Target::shown).collect::<Vec<_>>());
    for (set, client) in sets {
        let mut named = vec![false; targets.len()];
        let mut uncertain = false;
        // entries that reach a metasrv of the inventory from this client
        let mut usable = 0;
        let mut own: Vec<Unmatched> = Vec::new();
        let mut malformed: Vec<(String, String)> = Vec::new();
        let mut broken = false;
        for entry in set {
            if !greptimedb_makes_channel(entry) {
                broken = true;
                findings.fail(
                    vec![client.name.clone()],
                    &[KEY],
                    format!(
                        "`{entry}` in `{KEY}` of {} is no valid address: GreptimeDB cannot make \
                         a channel for `http://{entry}`, which ends its whole AskLeader, so {} \
                         exits at start-up",
                        client.name, client.name
                    ),
                    format!(
                        "write every entry of `{KEY}` on {} as host:port",
                        client.name
                    ),
                );
                continue;
            }
            let addr = match HostPort::parse(entry, false) {
                Ok(addr) => addr,
                Err(error) => {
                    // GreptimeDB dials it (`http://<entry>`) and skips it when that fails.
                    malformed.push((entry.clone(), error.to_string()));
                    continue;
                }
            };
            let kind = HostKind::of(&addr.host);
            let wanted = canonical(&addr);
            let mut hit = false;
            let mut owner = None;
            for (i, target) in targets.iter().enumerate() {
                if !target.named_by(&wanted) {
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
                usable += 1;
                continue;
            }
            let comparable = kind == HostKind::Loopback || addr.host.parse::<IpAddr>().is_ok();
            let certain = comparable && all_ips && !undetermined;
            uncertain |= !certain;
            own.push(Unmatched {
                entry: entry.clone(),
                clients: vec![client.name.clone()],
                certain,
                loopback: kind == HostKind::Loopback,
                owner,
            });
        }
        if broken {
            // already a failure: this node's meta client asks no entry at all
            continue;
        }
        if usable == 0 && !uncertain {
            // No entry can name the leader: the meta client finds none and the node exits
            // (ask_leader.rs; greptimedb.md §10 "every address dead").
            let entries: Vec<String> = set.iter().cloned().collect();
            findings.fail(
                vec![client.name.clone()],
                &[KEY],
                format!(
                    "no entry of `{KEY}` of {} ({}) reaches a metasrv of the inventory ({}): \
                     its meta client finds no leader and {} exits at start-up",
                    client.name,
                    entries.join(", "),
                    if known.is_empty() {
                        "none comparable".to_string()
                    } else {
                        known.clone()
                    },
                    client.name
                ),
                format!(
                    "list the metasrvs' addresses ({known}) in `{KEY}` on {}",
                    client.name
                ),
            );
            continue;
        }
        for (entry, error) in malformed {
            findings.warn(
                vec![client.name.clone()],
                &[KEY],
                format!(
                    "`{entry}` in `{KEY}` of {}: {error}; GreptimeDB dials it as \
                     `http://{entry}`, fails and relies on the other entries",
                    client.name
                ),
                format!(
                    "write every entry of `{KEY}` on {} as host:port",
                    client.name
                ),
            );
        }
        for u in own {
            match unmatched.iter_mut().find(|m| m.entry == u.entry) {
                Some(m) => m.clients.extend(u.clients),
                None => unmatched.push(u),
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

    // The clients below keep at least one entry that names a metasrv (or may): GreptimeDB
    // skips the others with a warning (ask_leader.rs), so these are warnings.
    for u in unmatched {
        let who = and_list(&u.clients);
        if let Some(owner) = u.owner.map(|i| targets[i].node) {
            let mut involved = u.clients.clone();
            involved.push(owner.name.clone());
            findings.warn(
                involved,
                &[KEY],
                format!(
                    "`{}` in `{KEY}` of {who} is the loopback address of metasrv {}, which \
                     reaches it from its own host only; {who} skip it and rely on the other \
                     entries",
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
            findings.warn(
                u.clients,
                &[KEY],
                format!(
                    "`{}` in `{KEY}` of {who} is the address of no metasrv in the inventory \
                     (metasrvs: {}); {who} skip it and rely on the other entries",
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
                     lets this check prove it, and so does naming it in the metasrv nodes' \
                     `aliases` in the inventory",
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
        // The listed metasrvs answer for it (a follower names the leader); only while it is
        // the sole metasrv left do these nodes lose metasrv.
        findings.warn(
            involved,
            &[KEY, target.key],
            format!(
                "metasrv {} (`{} = {}`) is not in `{KEY}` of {who}: they find the leader through \
                 the others, but not when only {} is up",
                target.node.name, target.key, target.addr, target.node.name
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

    fn client(name: &str, host: Option<&str>, addrs: Value) -> ClusterNode {
        node(
            name,
            "datanode",
            host,
            json!({"meta_client": {"metasrv_addrs": addrs}}),
        )
    }

    fn meta(name: &str, host: Option<&str>, server: &str, bind: &str) -> ClusterNode {
        node(
            name,
            "metasrv",
            host,
            json!({"grpc": {"server_addr": server, "bind_addr": bind}}),
        )
    }

    /// (failure messages, warning messages)
    fn verdict(nodes: &[ClusterNode]) -> (Vec<String>, Vec<String>) {
        let out = judge(nodes);
        let messages =
            |list: &[super::super::Finding]| list.iter().map(|f| f.message.clone()).collect();
        (
            messages(&out.findings.failed),
            messages(&out.findings.warned),
        )
    }

    // The operator's clients dial the meta Service, a ClusterIP Service in front of the metasrv
    // pods (greptimedb-operator deployers/meta.go; `--metasrv-addrs <cluster>-meta.<ns>:<port>`
    // in deployers/datanode.go, frontend.go, flownode.go).
    #[test]
    fn an_entry_naming_a_metasrv_alias_names_that_metasrv() {
        let mut m0 = meta("m0", Some("m0"), "10.0.0.1:3002", "0.0.0.0:3002");
        let dn = client("d0", Some("d0"), json!(["mc-meta.prod:3002"]));
        let without = verdict(&[m0.clone(), dn.clone()]);
        assert_eq!(without.1.len(), 1, "{without:?}");
        m0.aliases = vec!["MC-meta.prod:3002".into()];
        assert_eq!(verdict(&[m0, dn]), (vec![], vec![]));
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
    fn differing_lists_warn_and_a_missing_meta_client_fails() {
        let nodes = vec![
            client("d0", None, json!(["10.0.0.1:3002"])),
            client("d1", None, json!(["10.0.0.1:3002"])),
            client("d2", None, json!(["10.0.0.9:3002"])),
            node("f0", "frontend", None, json!({})),
        ];
        let out = judge(&nodes);
        // No `[meta_client]`: GreptimeDB refuses to start (`MissingConfig`,
        // src/cmd/src/frontend.rs, datanode/builder.rs, flownode.rs).
        let failed = &out.findings.failed;
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert_eq!(
            failed[0].message,
            "frontend f0 has no `meta_client.metasrv_addrs`"
        );
        // Different sets run as long as each reaches the leader (ask_leader.rs uses the first
        // answer): a warning. Without metasrvs in the inventory nothing more can be told.
        let warned = &out.findings.warned;
        assert_eq!(warned.len(), 1, "{warned:?}");
        assert_eq!(
            warned[0].message,
            "`meta_client.metasrv_addrs` is [10.0.0.9:3002] on d2 but [10.0.0.1:3002] on d0 and d1"
        );
        assert_eq!(warned[0].nodes[0], "d2");
        assert!(warned[0].hint.contains("on d2 to [10.0.0.1:3002]"));
    }

    #[test]
    fn entries_are_matched_against_the_inventory_metasrvs() {
        let ms = || {
            vec![
                meta("m0", Some("a"), "10.0.0.1:3002", "0.0.0.0:3002"),
                meta("m1", Some("b"), "", "10.0.0.2:3002"),
            ]
        };
        let with = |extra: Vec<ClusterNode>| ms().into_iter().chain(extra).collect::<Vec<_>>();
        // (case, nodes, failure messages, warning messages). GreptimeDB's meta client asks
        // every entry, uses the first leader named and only logs the others
        // (src/meta-client/src/client/ask_leader.rs; greptimedb.md §10: one live and one dead
        // entry run), so a node keeping one entry that names a metasrv only warns; a node with
        // none finds no leader and exits (§10 "every address dead"): a failure.
        type Case<'a> = (&'a str, Vec<ClusterNode>, Vec<&'a str>, Vec<&'a str>);
        let cases: Vec<Case> = vec![
            (
                "all named (server_addr, else bind_addr)",
                with(vec![client("d0", Some("c"), json!(["10.0.0.1:3002", "10.0.0.2:3002"]))]),
                vec![],
                vec![],
            ),
            (
                "one metasrv not listed: the listed one names the leader",
                with(vec![client("d0", Some("c"), json!(["10.0.0.1:3002"]))]),
                vec![],
                vec!["metasrv m1 (`grpc.bind_addr = 10.0.0.2:3002`) is not in `meta_client.metasrv_addrs` of d0: they find the leader through the others, but not when only m1 is up"],
            ),
            (
                "an entry that is no metasrv, next to ones that are",
                with(vec![client("d0", Some("c"), json!(["10.0.0.1:3002", "10.0.0.2:3002", "10.0.0.3:3002"]))]),
                vec![],
                vec!["`10.0.0.3:3002` in `meta_client.metasrv_addrs` of d0 is the address of no metasrv in the inventory (metasrvs: m0 = 10.0.0.1:3002 and m1 = 10.0.0.2:3002); d0 skip it and rely on the other entries"],
            ),
            (
                "only entries that are no metasrv: no leader, the node exits",
                with(vec![client("d0", Some("c"), json!(["10.0.0.3:3002", "10.0.0.4:3002"]))]),
                vec!["no entry of `meta_client.metasrv_addrs` of d0 (10.0.0.3:3002, 10.0.0.4:3002) reaches a metasrv of the inventory (m0 = 10.0.0.1:3002 and m1 = 10.0.0.2:3002): its meta client finds no leader and d0 exits at start-up"],
                vec![],
            ),
            (
                "a host name cannot be compared",
                with(vec![client("d0", Some("c"), json!(["meta.svc:3002"]))]),
                vec![],
                vec!["`meta.svc:3002` in `meta_client.metasrv_addrs` of d0 is not the address of a metasrv in the inventory as far as the configs tell (a DNS name or load balancer in front of them?)"],
            ),
            (
                "an entry without a port is dialled on port 80 and skipped",
                with(vec![client("d0", Some("c"), json!(["10.0.0.1:3002", "10.0.0.2:3002", "meta"]))]),
                vec![],
                vec!["`meta` in `meta_client.metasrv_addrs` of d0: `meta` has no port; write `host:port`; GreptimeDB dials it as `http://meta`, fails and relies on the other entries"],
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
    fn an_entry_greptimedb_cannot_make_a_channel_for_fails() {
        // `create_asker(addr)?` (ask_leader.rs) ends the whole AskLeader when
        // `Endpoint::new("http://<entry>")` fails (src/common/grpc/src/channel_manager.rs).
        let nodes = vec![
            meta("m0", None, "10.0.0.1:3002", "0.0.0.0:3002"),
            client("d0", None, json!(["10.0.0.1:3002", "meta srv:3002"])),
        ];
        let (failed, _) = verdict(&nodes);
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert!(failed[0].contains("cannot make a channel"), "{failed:?}");
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
        // From another host, m0's loopback address reaches nothing: d0's only entry, so d0
        // finds no leader and exits (ask_leader.rs, §10 "every address dead").
        let other = vec![
            m.clone(),
            client("d0", Some("b"), json!(["127.0.0.1:3002"])),
        ];
        let out = judge(&other);
        assert_eq!(out.findings.failed.len(), 1, "{:?}", out.findings.failed);
        assert!(
            out.findings.failed[0]
                .message
                .starts_with("no entry of `meta_client.metasrv_addrs` of d0 (127.0.0.1:3002)"),
            "{:?}",
            out.findings.failed
        );
        assert_eq!(out.findings.failed[0].nodes, vec!["d0"]);
        let stranger = vec![
            m.clone(),
            client("d0", Some("b"), json!(["127.0.0.2:3002"])),
        ];
        let out = judge(&stranger);
        assert_eq!(out.findings.failed.len(), 1, "{:?}", out.findings.failed);
        // Next to an entry that reaches m1, the loopback entry is skipped: a warning naming
        // its owner.
        let m1 = meta("m1", Some("c"), "10.0.0.2:3002", "0.0.0.0:3002");
        let beside = vec![
            m,
            m1,
            client("d0", Some("b"), json!(["127.0.0.1:3002", "10.0.0.2:3002"])),
        ];
        let out = judge(&beside);
        assert!(out.findings.failed.is_empty(), "{:?}", out.findings.failed);
        assert_eq!(out.findings.warned.len(), 1, "{:?}", out.findings.warned);
        assert!(out.findings.warned[0]
            .message
            .contains("is the loopback address of metasrv m0 (a)"));
        assert_eq!(out.findings.warned[0].nodes, vec!["d0", "m0"]);
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
