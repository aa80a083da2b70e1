//! `cluster.failover`: region failover is enabled only where it can work.

use schemars::JsonSchema;
use serde::Serialize;

use super::{and_list, names, of, who, ClusterNode, Findings};
use crate::config::Component;

const ENABLE: &str = "enable_region_failover";
const ALLOW_LOCAL: &str = "allow_region_failover_on_local_wal";

/// For every metasrv with `enable_region_failover = true`: GreptimeDB's metasrv example config
/// says failover needs a remote WAL and shared storage. Metasrv refuses to start with failover
/// on a local WAL (`wal.provider` other than `kafka`) unless
/// `allow_region_failover_on_local_wal = true`, which it accepts with a data-loss warning (a
/// warning here too). A datanode on `File` storage fails: failover reopens a failed datanode's
/// regions on another datanode, which cannot read its local disk; so do datanodes on different
/// object stores (the other datanode reads another store).
pub struct Failover;

/// Output of `cluster.failover`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FailoverOutput {
    /// Metasrvs with `enable_region_failover = true`.
    pub enabled_on: Vec<String>,
    /// Metasrvs in the inventory.
    pub metasrvs: usize,
    /// One line for a passing check.
    pub summary: String,
    #[serde(flatten)]
    pub findings: Findings,
}

super::cross_node_step!(
    Failover,
    FailoverOutput,
    "cluster.failover",
    "Check that region failover is enabled only with a Kafka WAL and shared object storage"
);

fn judge(nodes: &[ClusterNode]) -> FailoverOutput {
    let mut findings = Findings::default();
    let metasrvs = of(nodes, Component::Metasrv);
    let enabled: Vec<&ClusterNode> = metasrvs
        .iter()
        .copied()
        .filter(|m| m.flag(ENABLE) == Some(true))
        .collect();
    let on_file: Vec<&ClusterNode> = of(nodes, Component::Datanode)
        .into_iter()
        .filter(|d| d.text("storage.type").unwrap_or("File") == "File")
        .collect();
    let stores = super::shared_storage::object_stores(nodes);
    for metasrv in &enabled {
        let name = &metasrv.name;
        let provider = metasrv.text("wal.provider").unwrap_or("raft_engine");
        if provider != "kafka" {
            let stated = format!(
                "metasrv {name} has `{ENABLE} = true` with `wal.provider = \"{provider}\"`"
            );
            if metasrv.flag(ALLOW_LOCAL) == Some(true) {
                findings.warn(
                    vec![name.clone()],
                    &[ENABLE, "wal.provider", ALLOW_LOCAL],
                    format!(
                        "{stated}, allowed by `{ALLOW_LOCAL} = true`: a failover loses the writes \
                         still in the failed datanode's local WAL"
                    ),
                    format!(
                        "for failover without data loss, set `wal.provider = \"kafka\"` (with \
                         `wal.broker_endpoints`) on {name} and on every datanode"
                    ),
                );
            } else {
                findings.fail(
                    vec![name.clone()],
                    &[ENABLE, "wal.provider"],
                    format!(
                        "{stated}: region failover needs a remote (Kafka) WAL, and metasrv \
                         refuses to start with it on a local WAL unless `{ALLOW_LOCAL} = true`"
                    ),
                    format!(
                        "set `wal.provider = \"kafka\"` (with `wal.broker_endpoints`) on {name} and \
                         on every datanode, or `{ENABLE} = false` on {name}"
                    ),
                );
            }
        }
        if let [(first, users), others @ ..] = stores.as_slice() {
            for (store, group) in others {
                let involved: Vec<String> = names(group)
                    .into_iter()
                    .chain(names(users))
                    .chain([name.clone()])
                    .collect();
                findings.fail(
                    involved,
                    &[ENABLE, "storage"],
                    format!(
                        "metasrv {name} has `{ENABLE} = true` but {} {} {store} while {} {} \
                         {first}: failover reopens a failed datanode's regions on another \
                         datanode, which reads another store",
                        who("datanode", &names(group)),
                        if group.len() == 1 { "uses" } else { "use" },
                        who("datanode", &names(users)),
                        if users.len() == 1 { "uses" } else { "use" },
                    ),
                    format!(
                        "put every datanode on one object store (the same `[storage]` type, \
                         bucket, endpoint and root), or set `{ENABLE} = false` on {name}"
                    ),
                );
            }
        }
        if !on_file.is_empty() {
            let file_names = names(&on_file);
            findings.fail(
                file_names.iter().cloned().chain([name.clone()]).collect(),
                &[ENABLE, "storage.type"],
                format!(
                    "metasrv {name} has `{ENABLE} = true` but {} keep{} regions on local \
                     `storage.type = \"File\"`: failover reopens a failed datanode's regions on \
                     another datanode, which cannot read that disk",
                    who("datanode", &file_names),
                    if file_names.len() == 1 {
                        "s its"
                    } else {
                        " their"
                    }
                ),
                format!(
                    "put every datanode on one shared object store (`storage.type` = S3, Oss, \
                     Azblob or Gcs) on {}, or set `{ENABLE} = false` on {name}",
                    and_list(&file_names)
                ),
            );
        }
    }
    let enabled_on = names(&enabled);
    let summary = if metasrvs.is_empty() {
        "no metasrv in the inventory".to_string()
    } else if enabled_on.is_empty() {
        format!(
            "region failover is off on {}",
            who("metasrv", &names(&metasrvs))
        )
    } else {
        format!(
            "region failover is on ({}) with a Kafka WAL and no datanode on File storage",
            who("metasrv", &enabled_on)
        )
    };
    FailoverOutput {
        enabled_on,
        metasrvs: metasrvs.len(),
        summary,
        findings,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::super::testing::{assert_counts, node, CountCase};
    use super::*;

    fn metasrv(failover: bool, provider: &str, allow_local: bool) -> ClusterNode {
        node(
            "m0",
            "metasrv",
            None,
            json!({ENABLE: failover, ALLOW_LOCAL: allow_local, "wal": {"provider": provider}}),
        )
    }

    fn datanode(name: &str, storage: Value) -> ClusterNode {
        node(name, "datanode", None, json!({"storage": storage}))
    }

    #[test]
    fn verdicts() {
        let s3 = || json!({"type": "S3", "bucket": "b"});
        let file = || json!({"type": "File"});
        // (case, nodes, failures, warnings)
        let cases: Vec<CountCase> = vec![
            (
                "off",
                vec![metasrv(false, "raft_engine", false), datanode("d0", file())],
                0,
                0,
            ),
            (
                "kafka and S3",
                vec![metasrv(true, "kafka", false), datanode("d0", s3())],
                0,
                0,
            ),
            (
                "raft_engine WAL",
                vec![metasrv(true, "raft_engine", false), datanode("d0", s3())],
                1,
                0,
            ),
            (
                "local WAL allowed",
                vec![metasrv(true, "raft_engine", true), datanode("d0", s3())],
                0,
                1,
            ),
            (
                "File storage",
                vec![
                    metasrv(true, "kafka", false),
                    datanode("d0", s3()),
                    datanode("d1", file()),
                ],
                1,
                0,
            ),
            (
                "storage type left out is File",
                vec![metasrv(true, "kafka", false), datanode("d0", json!({}))],
                1,
                0,
            ),
            (
                "both",
                vec![metasrv(true, "raft_engine", false), datanode("d0", file())],
                2,
                0,
            ),
            // Failover reopens a failed datanode's regions on another datanode, which must
            // read the same store (metasrv's example config: failover needs shared storage);
            // `cluster.shared_storage` only warns about different stores, so the failure is here.
            (
                "different object stores",
                vec![
                    metasrv(true, "kafka", false),
                    datanode("d0", s3()),
                    datanode("d1", json!({"type": "S3", "bucket": "other"})),
                ],
                1,
                0,
            ),
            (
                "different object stores, failover off",
                vec![
                    metasrv(false, "kafka", false),
                    datanode("d0", s3()),
                    datanode("d1", json!({"type": "S3", "bucket": "other"})),
                ],
                0,
                0,
            ),
            ("no metasrv", vec![datanode("d0", file())], 0, 0),
        ];
        assert_counts(cases, |nodes| judge(nodes).findings);
    }

    #[test]
    fn file_storage_finding_names_the_datanodes() {
        let nodes = vec![
            metasrv(true, "kafka", false),
            datanode("d0", json!({"type": "File"})),
            datanode("d1", json!({"type": "File"})),
        ];
        let out = judge(&nodes);
        let f = &out.findings.failed[0];
        assert_eq!(f.nodes, vec!["d0", "d1", "m0"]);
        assert!(
            f.message.contains("datanodes d0 and d1 keep their regions"),
            "{}",
            f.message
        );
        assert!(f
            .hint
            .contains("on d0 and d1, or set `enable_region_failover = false` on m0"));
        assert_eq!(out.enabled_on, vec!["m0"]);
    }
}
