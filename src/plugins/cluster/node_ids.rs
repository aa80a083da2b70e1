//! `cluster.node_ids`: every datanode and every flownode has its own `node_id`.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use super::{and_list, groups, names, of, ClusterNode, Findings};
use crate::config::Component;

/// Checks that each datanode has a `node_id` no other datanode has, and likewise among
/// flownodes (the two roles are numbered separately). A missing or non-integer `node_id` fails
/// too: GreptimeDB refuses to start such a node.
pub struct NodeIds;

/// Output of `cluster.node_ids`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct NodeIdsOutput {
    /// Datanodes in the inventory.
    pub datanodes: usize,
    /// Flownodes in the inventory.
    pub flownodes: usize,
    /// One line for a passing check.
    pub summary: String,
    #[serde(flatten)]
    pub findings: Findings,
}

super::cross_node_step!(
    NodeIds,
    NodeIdsOutput,
    "cluster.node_ids",
    "Check that datanodes and flownodes each have a node_id unique within their role"
);

/// A node's `node_id`: an unsigned integer, or a string holding one (as an environment
/// variable may give it).
fn node_id(node: &ClusterNode) -> Option<Result<u64, String>> {
    match node.get("node_id")? {
        Value::Null => None,
        Value::Number(n) => Some(n.as_u64().ok_or_else(|| n.to_string())),
        Value::String(s) => Some(s.trim().parse().map_err(|_| format!("\"{s}\""))),
        other => Some(Err(other.to_string())),
    }
}

fn judge(nodes: &[ClusterNode]) -> NodeIdsOutput {
    let mut findings = Findings::default();
    let mut parts = Vec::new();
    for component in [Component::Datanode, Component::Flownode] {
        let role = component.as_str();
        let members = of(nodes, component);
        let mut numbered = Vec::new();
        for node in &members {
            match node_id(node) {
                None => findings.fail(
                    vec![node.name.clone()],
                    &["node_id"],
                    format!("{role} {} has no `node_id`", node.name),
                    format!(
                        "set `node_id` in {} to an integer no other {role} uses; GreptimeDB \
                         refuses to start a {role} without one",
                        node.config_ref()
                    ),
                ),
                Some(Err(raw)) => findings.fail(
                    vec![node.name.clone()],
                    &["node_id"],
                    format!(
                        "{role} {} has `node_id = {raw}`, not an unsigned integer",
                        node.name
                    ),
                    format!(
                        "set `node_id` in {} to an unsigned integer",
                        node.config_ref()
                    ),
                ),
                Some(Ok(id)) => numbered.push((id, *node)),
            }
        }
        let mut ids: Vec<u64> = numbered.iter().map(|(id, _)| *id).collect();
        for (id, sharing) in groups(numbered).into_iter().filter(|(_, g)| g.len() > 1) {
            let all = names(&sharing);
            findings.fail(
                all.clone(),
                &["node_id"],
                format!("{role}s {} share `node_id = {id}`", and_list(&all)),
                format!(
                    "give every {role} its own `node_id`: change it on {}",
                    and_list(&all[1..])
                ),
            );
        }
        ids.sort_unstable();
        ids.dedup();
        if !members.is_empty() {
            let shown: Vec<String> = ids.iter().map(u64::to_string).collect();
            parts.push(format!(
                "{} {role}(s) with node_id {}",
                members.len(),
                shown.join(", ")
            ));
        }
    }
    let summary = if parts.is_empty() {
        "no datanode or flownode in the inventory".to_string()
    } else {
        parts.join("; ")
    };
    NodeIdsOutput {
        datanodes: of(nodes, Component::Datanode).len(),
        flownodes: of(nodes, Component::Flownode).len(),
        summary,
        findings,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::node;
    use super::*;

    #[test]
    fn verdicts() {
        let dn = |name: &str, id: Value| node(name, "datanode", None, json!({"node_id": id}));
        let fl = |name: &str, id: Value| node(name, "flownode", None, json!({"node_id": id}));
        let cases: Vec<(&str, Vec<ClusterNode>, Vec<&str>)> = vec![
            (
                "unique",
                vec![dn("d0", json!(0)), dn("d1", json!(1))],
                vec![],
            ),
            (
                "roles numbered separately",
                vec![dn("d0", json!(1)), fl("f0", json!(1))],
                vec![],
            ),
            (
                "string from env",
                vec![dn("d0", json!("0")), dn("d1", json!(1))],
                vec![],
            ),
            (
                "duplicate datanode",
                vec![dn("d0", json!(1)), dn("d1", json!(2)), dn("d2", json!("1"))],
                vec!["datanodes d0 and d2 share `node_id = 1`"],
            ),
            (
                "duplicate flownode",
                vec![fl("f0", json!(7)), fl("f1", json!(7))],
                vec!["flownodes f0 and f1 share `node_id = 7`"],
            ),
            (
                "missing",
                vec![
                    node("d0", "datanode", None, json!({})),
                    dn("d1", Value::Null),
                ],
                vec![
                    "datanode d0 has no `node_id`",
                    "datanode d1 has no `node_id`",
                ],
            ),
            (
                "not an integer",
                vec![fl("f0", json!(-3)), fl("f1", json!("x"))],
                vec![
                    "flownode f0 has `node_id = -3`, not an unsigned integer",
                    "flownode f1 has `node_id = \"x\"`, not an unsigned integer",
                ],
            ),
        ];
        for (case, nodes, expected) in cases {
            let out = judge(&nodes);
            let got: Vec<&str> = out
                .findings
                .failed
                .iter()
                .map(|f| f.message.as_str())
                .collect();
            assert_eq!(got, expected, "{case}");
            assert!(out.findings.warned.is_empty(), "{case}");
        }
    }

    #[test]
    fn hint_names_the_nodes_to_change() {
        let nodes: Vec<ClusterNode> = (0..3)
            .map(|i| node(&format!("d{i}"), "datanode", None, json!({"node_id": 5})))
            .collect();
        let out = judge(&nodes);
        assert_eq!(out.findings.failed[0].nodes, vec!["d0", "d1", "d2"]);
        assert!(out.findings.failed[0]
            .hint
            .contains("change it on d1 and d2"));
        assert_eq!(out.datanodes, 3);
        assert_eq!(out.summary, "3 datanode(s) with node_id 5");
    }
}
