//! `cluster.wal`: metasrv and datanodes agree on the WAL provider and the Kafka brokers.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::Serialize;

use super::{address_set, groups, names, of, show_set, who, ClusterNode, Findings};
use crate::config::Component;

const PROVIDER: &str = "wal.provider";
const BROKERS: &str = "wal.broker_endpoints";

/// Compares `wal.provider` and, for Kafka, `wal.broker_endpoints` (as a set) of the metasrvs
/// and datanodes. Metasrv uses `kafka` exactly when the datanodes do (either way round a
/// mismatch fails); broker lists with no broker in common fail, overlapping but unequal lists
/// warn (they may be partial lists of one Kafka cluster). Several metasrvs must agree among
/// themselves. Without a metasrv in the inventory, the datanodes are compared with each other.
pub struct Wal;

/// Output of `cluster.wal`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WalOutput {
    /// The provider the others are compared with (the metasrvs', else most datanodes').
    pub provider: Option<String>,
    /// Its Kafka brokers, sorted (empty unless `kafka`).
    pub broker_endpoints: Vec<String>,
    /// Whose WAL settings are the reference, e.g. `metasrv meta-0`.
    pub reference: String,
    /// One line for a passing check.
    pub summary: String,
    #[serde(flatten)]
    pub findings: Findings,
}

super::cross_node_step!(
    Wal,
    WalOutput,
    "cluster.wal",
    "Check that metasrv and datanodes use the same WAL provider and Kafka brokers"
);

/// A node's WAL: the provider, and the broker set when it is Kafka.
#[derive(Debug, Clone, PartialEq)]
struct Setup {
    provider: String,
    brokers: BTreeSet<String>,
}

impl Setup {
    fn of(node: &ClusterNode) -> Setup {
        let provider = node.text(PROVIDER).unwrap_or("raft_engine").to_string();
        let brokers = if provider == "kafka" {
            address_set(&node.strings(BROKERS).unwrap_or_default())
        } else {
            BTreeSet::new()
        };
        Setup { provider, brokers }
    }

    fn kafka(&self) -> bool {
        self.provider == "kafka"
    }

    fn shown(&self) -> String {
        if self.kafka() {
            format!(
                "`{PROVIDER} = \"kafka\"` with brokers {}",
                show_set(&self.brokers)
            )
        } else {
            format!("`{PROVIDER} = \"{}\"`", self.provider)
        }
    }
}

/// The nodes whose setup the others are compared with.
struct Reference<'a> {
    setup: Setup,
    label: String,
    nodes: Vec<&'a ClusterNode>,
    metasrv: bool,
}

fn judge(nodes: &[ClusterNode]) -> WalOutput {
    let mut findings = Findings::default();
    let metasrvs = groups(
        of(nodes, Component::Metasrv)
            .into_iter()
            .map(|n| (Setup::of(n), n)),
    );
    let datanodes = groups(
        of(nodes, Component::Datanode)
            .into_iter()
            .map(|n| (Setup::of(n), n)),
    );

    let (reference, compared) = if let [(setup, group), others @ ..] = metasrvs.as_slice() {
        let reference = Reference {
            setup: setup.clone(),
            label: who("metasrv", &names(group)),
            nodes: group.clone(),
            metasrv: true,
        };
        for (setup, group) in others {
            findings.fail(
                names(group)
                    .into_iter()
                    .chain(names(&reference.nodes))
                    .collect(),
                &[PROVIDER, BROKERS],
                format!(
                    "{} {} {} but {} {} {}",
                    who("metasrv", &names(group)),
                    uses(group.len()),
                    setup.shown(),
                    reference.label,
                    uses(reference.nodes.len()),
                    reference.setup.shown()
                ),
                format!(
                    "give every metasrv the same `{PROVIDER}` and `{BROKERS}`: change them on {}",
                    super::and_list(&names(group))
                ),
            );
        }
        (Some(reference), datanodes.as_slice())
    } else if let [(setup, group), others @ ..] = datanodes.as_slice() {
        let reference = Reference {
            setup: setup.clone(),
            label: who("datanode", &names(group)),
            nodes: group.clone(),
            metasrv: false,
        };
        (Some(reference), others)
    } else {
        (None, &[][..])
    };

    let Some(reference) = reference else {
        return WalOutput {
            provider: None,
            broker_endpoints: Vec::new(),
            reference: String::new(),
            summary: "no metasrv or datanode in the inventory".into(),
            findings,
        };
    };
    for (setup, group) in compared {
        compare(&reference, setup, group, &mut findings);
    }
    let datanode_count = of(nodes, Component::Datanode).len();
    let summary = format!(
        "{}{} {} {}",
        reference.label,
        if reference.metasrv && datanode_count > 0 {
            format!(" and {datanode_count} datanode(s)")
        } else {
            String::new()
        },
        uses(2),
        reference.setup.shown()
    );
    WalOutput {
        provider: Some(reference.setup.provider.clone()),
        broker_endpoints: reference.setup.brokers.iter().cloned().collect(),
        reference: reference.label,
        summary,
        findings,
    }
}

fn uses(count: usize) -> &'static str {
    if count == 1 {
        "uses"
    } else {
        "use"
    }
}

/// Judges one group of datanodes sharing `setup` against the reference.
fn compare(reference: &Reference, setup: &Setup, group: &[&ClusterNode], findings: &mut Findings) {
    let group_names = names(group);
    let them = who("datanode", &group_names);
    let on = super::and_list(&group_names);
    let involved: Vec<String> = group_names
        .iter()
        .cloned()
        .chain(names(&reference.nodes))
        .collect();
    let wanted = &reference.setup;
    let stated = format!(
        "{them} {} {} but {} {} {}",
        uses(group.len()),
        setup.shown(),
        reference.label,
        uses(reference.nodes.len()),
        wanted.shown()
    );
    match (wanted.kafka(), setup.kafka()) {
        (false, false) => {}
        (true, false) => findings.fail(
            involved,
            &[PROVIDER],
            format!("{stated}: the datanodes must use the Kafka WAL too"),
            format!(
                "set `{PROVIDER} = \"kafka\"` and `{BROKERS} = {}` on {on}",
                show_set(&wanted.brokers)
            ),
        ),
        (false, true) if reference.metasrv => findings.fail(
            involved,
            &[PROVIDER],
            format!("{stated}: metasrv must use kafka when the datanodes do"),
            format!(
                "set `{PROVIDER} = \"kafka\"` and `{BROKERS} = {}` on {}, or `{PROVIDER} = \"{}\"` on {on}",
                show_set(&setup.brokers),
                super::and_list(&names(&reference.nodes)),
                wanted.provider
            ),
        ),
        (false, true) => findings.fail(
            involved,
            &[PROVIDER],
            format!("{stated}: all datanodes of a cluster use one WAL provider"),
            format!(
                "set `{PROVIDER}` on {on} to \"{}\", or move every datanode (and metasrv) to kafka",
                wanted.provider
            ),
        ),
        (true, true) if setup.brokers == wanted.brokers => {}
        (true, true) if setup.brokers.is_disjoint(&wanted.brokers) => findings.fail(
            involved,
            &[BROKERS],
            format!("{stated}: no broker in common, so they do not share one Kafka cluster"),
            format!(
                "set `{BROKERS}` on {on} to {}, the brokers of {}",
                show_set(&wanted.brokers),
                reference.label
            ),
        ),
        (true, true) => findings.warn(
            involved,
            &[BROKERS],
            format!("{stated}: the lists overlap but differ"),
            format!(
                "if these are brokers of one Kafka cluster, list the same ones everywhere: set \
                 `{BROKERS}` on {on} to {}",
                show_set(&wanted.brokers)
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::super::testing::{assert_counts, node, CountCase};
    use super::*;

    fn raft() -> Value {
        json!({"wal": {"provider": "raft_engine", "broker_endpoints": ["127.0.0.1:9092"]}})
    }

    fn kafka(brokers: &[&str]) -> Value {
        json!({"wal": {"provider": "kafka", "broker_endpoints": brokers}})
    }

    #[test]
    fn verdicts() {
        let m = |config| node("m0", "metasrv", None, config);
        let d = |name: &str, config| node(name, "datanode", None, config);
        // (case, nodes, failures, warnings)
        let cases: Vec<CountCase> = vec![
            ("both raft_engine", vec![m(raft()), d("d0", raft())], 0, 0),
            (
                "provider left out means raft_engine",
                vec![m(json!({})), d("d0", raft())],
                0,
                0,
            ),
            (
                "noop datanode with raft_engine metasrv",
                vec![m(raft()), d("d0", json!({"wal": {"provider": "noop"}}))],
                0,
                0,
            ),
            (
                "same brokers as a set",
                vec![
                    m(kafka(&["k1:9092", "k2:9092"])),
                    d("d0", kafka(&["k2:9092", "K1:9092", "k2:9092"])),
                ],
                0,
                0,
            ),
            (
                "datanode on kafka, metasrv on raft_engine",
                vec![m(raft()), d("d0", kafka(&["k1:9092"]))],
                1,
                0,
            ),
            (
                "metasrv on kafka, datanode on raft_engine",
                vec![m(kafka(&["k1:9092"])), d("d0", raft())],
                1,
                0,
            ),
            (
                "disjoint brokers",
                vec![m(kafka(&["k1:9092"])), d("d0", kafka(&["k9:9092"]))],
                1,
                0,
            ),
            (
                "overlapping brokers",
                vec![
                    m(kafka(&["k1:9092", "k2:9092"])),
                    d("d0", kafka(&["k1:9092"])),
                ],
                0,
                1,
            ),
            (
                "metasrvs disagree",
                vec![
                    m(kafka(&["k1:9092"])),
                    node("m1", "metasrv", None, raft()),
                    node("m2", "metasrv", None, kafka(&["k1:9092"])),
                ],
                1,
                0,
            ),
            (
                "no metasrv: datanodes agree",
                vec![d("d0", kafka(&["k1:9092"])), d("d1", kafka(&["k1:9092"]))],
                0,
                0,
            ),
            (
                "no metasrv: datanodes differ",
                vec![
                    d("d0", raft()),
                    d("d1", raft()),
                    d("d2", kafka(&["k1:9092"])),
                ],
                1,
                0,
            ),
            ("empty inventory", vec![], 0, 0),
        ];
        assert_counts(cases, |nodes| judge(nodes).findings);
    }

    #[test]
    fn messages_name_nodes_keys_and_values() {
        let nodes = vec![
            node("m0", "metasrv", None, raft()),
            node("d0", "datanode", None, raft()),
            node("d1", "datanode", None, kafka(&["k1:9092"])),
        ];
        let out = judge(&nodes);
        let f = &out.findings.failed[0];
        assert_eq!(
            f.message,
            "datanode d1 uses `wal.provider = \"kafka\"` with brokers [k1:9092] but metasrv m0 \
             uses `wal.provider = \"raft_engine\"`: metasrv must use kafka when the datanodes do"
        );
        assert_eq!(f.nodes, vec!["d1", "m0"]);
        assert_eq!(f.keys, vec!["wal.provider"]);
        assert!(
            f.hint
                .contains("on m0, or `wal.provider = \"raft_engine\"` on d1"),
            "{}",
            f.hint
        );
        assert_eq!(out.reference, "metasrv m0");
        assert_eq!(out.provider.as_deref(), Some("raft_engine"));
    }
}
