//! `cluster.shared_storage`: all datanodes use one object store.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use super::{and_list, groups, names, of, who, ClusterNode, Findings};
use crate::config::Component;

/// Compares the object store of every datanode: `[storage]` by type, bucket (container for
/// Azblob), endpoint and root (normalised as GreptimeDB does), and each
/// `[[storage.providers]]` entry by name.
///
/// Each datanode opens the regions it holds from its own store, so a cluster whose datanodes
/// use different stores (or local `File` storage, on one host or several) runs; what it loses
/// is moving regions between datanodes (region migration, and failover, which
/// `cluster.failover` fails when it is enabled). Those are warnings. Failures: a provider
/// missing on some datanodes (a region stored there cannot open on them: `get_object_store`
/// answers `ObjectStoreNotFound`, `src/mito2/src/region/opener.rs`), and datanodes on one host
/// sharing one `storage.data_home`.
pub struct SharedStorage;

/// Output of `cluster.shared_storage`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SharedStorageOutput {
    /// Datanodes in the inventory.
    pub datanodes: usize,
    /// The `[storage]` store most datanodes use, described.
    pub store: Option<String>,
    /// One line for a passing check.
    pub summary: String,
    #[serde(flatten)]
    pub findings: Findings,
}

super::cross_node_step!(
    SharedStorage,
    SharedStorageOutput,
    "cluster.shared_storage",
    "Check that all datanodes use the same object store (type, bucket, endpoint, root)"
);

/// What identifies an object store: two datanodes with equal `Store`s read the same objects.
#[derive(Debug, Clone, PartialEq)]
struct Store {
    kind: String,
    bucket: String,
    endpoint: String,
    root: String,
}

fn field(table: &Value, key: &str) -> String {
    table
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or_default()
        .to_string()
}

impl Store {
    /// The store of a storage table or provider entry. For `File`, the root is `data_home`.
    fn of(table: &Value, data_home: &str) -> Store {
        let kind = Some(field(table, "type"))
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| "File".into());
        let root = |path: &str| {
            path.split('/')
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("/")
        };
        if kind == "File" {
            return Store {
                kind,
                bucket: String::new(),
                endpoint: String::new(),
                root: if data_home.starts_with('/') {
                    format!("/{}", root(data_home))
                } else {
                    root(data_home)
                },
            };
        }
        let bucket = if kind == "Azblob" {
            field(table, "container")
        } else {
            field(table, "bucket")
        };
        Store {
            bucket,
            endpoint: field(table, "endpoint")
                .trim_end_matches('/')
                .to_ascii_lowercase(),
            root: root(&field(table, "root")),
            kind,
        }
    }

    fn is_file(&self) -> bool {
        self.kind == "File"
    }

    fn bucket_key(&self) -> &'static str {
        if self.kind == "Azblob" {
            "container"
        } else {
            "bucket"
        }
    }

    fn shown(&self) -> String {
        if self.is_file() {
            return format!("File storage under `{}`", self.root);
        }
        let mut out = format!("{} {} `{}`", self.kind, self.bucket_key(), self.bucket);
        if !self.endpoint.is_empty() {
            out.push_str(&format!(" at `{}`", self.endpoint));
        }
        out.push_str(&format!(" with root `{}/`", self.root));
        out
    }

    /// The keys (below `prefix`) whose values differ from `other`.
    fn differing(&self, other: &Store, prefix: &str) -> Vec<String> {
        let mut keys = Vec::new();
        if self.kind != other.kind {
            keys.push("type");
        }
        if self.bucket != other.bucket || self.bucket_key() != other.bucket_key() {
            keys.push(self.bucket_key());
        }
        if self.endpoint != other.endpoint {
            keys.push("endpoint");
        }
        if self.root != other.root {
            keys.push("root");
        }
        keys.into_iter().map(|k| format!("{prefix}.{k}")).collect()
    }
}

/// A datanode's `[storage]` store.
fn default_store(node: &ClusterNode) -> Store {
    let table = node.get("storage").cloned().unwrap_or(Value::Null);
    Store::of(&table, node.text("storage.data_home").unwrap_or(""))
}

/// One `[[storage.providers]]` entry.
struct Provider {
    /// The name as GreptimeDB looks it up (lower-cased).
    lookup: String,
    /// The name as written (or the type, when unnamed).
    written: String,
    store: Store,
}

/// A datanode's providers.
fn providers(node: &ClusterNode) -> Vec<Provider> {
    let Some(Value::Array(entries)) = node.get("storage.providers") else {
        return Vec::new();
    };
    entries
        .iter()
        .map(|entry| {
            let store = Store::of(entry, "");
            let written = Some(field(entry, "name"))
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| store.kind.clone());
            Provider {
                lookup: written.to_lowercase(),
                written,
                store,
            }
        })
        .collect()
}

const SHARE: &str = "each datanode reads its regions from its own store, so they run, but no \
     region can move between datanodes on different stores (region migration, failover)";

fn judge(nodes: &[ClusterNode]) -> SharedStorageOutput {
    let mut findings = Findings::default();
    let datanodes = of(nodes, Component::Datanode);
    let stores: Vec<(Store, &ClusterNode)> =
        datanodes.iter().map(|d| (default_store(d), *d)).collect();
    let object = groups(
        stores
            .iter()
            .filter(|(s, _)| !s.is_file())
            .map(|(s, n)| (s.clone(), *n)),
    );
    let file: Vec<&ClusterNode> = stores
        .iter()
        .filter(|(s, _)| s.is_file())
        .map(|(_, n)| *n)
        .collect();

    if datanodes.len() >= 2 {
        if let (false, Some((store, users))) = (file.is_empty(), object.first()) {
            findings.warn(
                names(&file).into_iter().chain(names(users)).collect(),
                &["storage.type"],
                format!(
                    "{} keep{} regions on local `storage.type = \"File\"` while {} use {}: {SHARE}",
                    who("datanode", &names(&file)),
                    if file.len() == 1 { "s its" } else { " their" },
                    who("datanode", &names(users)),
                    store.shown()
                ),
                format!(
                    "set `storage.type` and the store's keys on {} to those of {}",
                    and_list(&names(&file)),
                    and_list(&names(users))
                ),
            );
        }
        if let [(common, users), others @ ..] = object.as_slice() {
            for (store, group) in others {
                let keys = store.differing(common, "storage");
                let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
                findings.warn(
                    names(group).into_iter().chain(names(users)).collect(),
                    &key_refs,
                    format!(
                        "{} {} {} but {} {} {}: {SHARE}",
                        who("datanode", &names(group)),
                        if group.len() == 1 { "uses" } else { "use" },
                        store.shown(),
                        who("datanode", &names(users)),
                        if users.len() == 1 { "uses" } else { "use" },
                        common.shown()
                    ),
                    format!(
                        "set {} on {} as on {}",
                        and_list(&keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>()),
                        and_list(&names(group)),
                        and_list(&names(users))
                    ),
                );
            }
        }
        file_checks(&file, &stores, &mut findings);
        provider_checks(&datanodes, &mut findings);
    }

    let store = object
        .first()
        .map(|(s, _)| s.shown())
        .or_else(|| stores.first().map(|(s, _)| s.shown()));
    let summary = match (&store, datanodes.len()) {
        (_, 0) => "no datanode in the inventory".to_string(),
        (Some(store), 1) => format!("one datanode, on {store}"),
        (Some(store), n) => format!("{n} datanodes share {store}"),
        (None, _) => String::new(),
    };
    SharedStorageOutput {
        datanodes: datanodes.len(),
        store,
        summary,
        findings,
    }
}

/// The distinct object stores (`[storage]`, not `File`) of the datanodes, as shown, with the
/// datanodes on each; for `cluster.failover`.
pub(super) fn object_stores(nodes: &[ClusterNode]) -> Vec<(String, Vec<&ClusterNode>)> {
    groups(
        of(nodes, Component::Datanode)
            .into_iter()
            .map(|d| (default_store(d), d))
            .filter(|(s, _)| !s.is_file()),
    )
    .into_iter()
    .map(|(store, users)| (store.shown(), users))
    .collect()
}

/// Several datanodes on local File storage.
fn file_checks(file: &[&ClusterNode], stores: &[(Store, &ClusterNode)], findings: &mut Findings) {
    if file.len() < 2 {
        return;
    }
    let labels: BTreeSet<&str> = file.iter().filter_map(|n| n.host_label()).collect();
    if labels.len() >= 2 {
        let shown: Vec<String> = file.iter().map(|n| n.labelled()).collect();
        findings.warn(
            names(file),
            &["storage.type"],
            format!(
                "datanodes {} keep their regions on local `storage.type = \"File\"` on different \
                 hosts: none can open another's regions, and {SHARE}",
                and_list(&shown)
            ),
            "move every datanode to one object store (`storage.type` = S3, Oss, Azblob or Gcs, \
             with the same bucket and root)"
                .to_string(),
        );
        return;
    }
    let same_dir = groups(
        stores
            .iter()
            .filter(|(s, n)| s.is_file() && n.host_label().is_some())
            .map(|(s, n)| ((n.host_label(), s.root.clone()), *n)),
    );
    for ((host, dir), group) in same_dir.iter().filter(|(_, g)| g.len() > 1) {
        findings.fail(
            names(group),
            &["storage.data_home"],
            format!(
                "datanodes {} on host {} share `storage.data_home` (`{dir}`): both would write \
                 the same directory",
                and_list(&names(group)),
                host.unwrap_or_default()
            ),
            format!(
                "give each datanode its own `storage.data_home`: change it on {}",
                and_list(&names(&group[1..]))
            ),
        );
    }
    findings.warn(
        names(file),
        &["storage.type"],
        format!(
            "datanodes {} keep their regions on local `storage.type = \"File\"`: regions cannot \
             move between them (no region migration or failover)",
            and_list(&names(file))
        ),
        "for a cluster of several datanodes, use one shared object store (`storage.type` = S3, \
         Oss, Azblob or Gcs)"
            .to_string(),
    );
}

/// Every `[[storage.providers]]` name is on every datanode, with the same store.
fn provider_checks(datanodes: &[&ClusterNode], findings: &mut Findings) {
    let per_node: Vec<(&ClusterNode, Vec<Provider>)> =
        datanodes.iter().map(|d| (*d, providers(d))).collect();
    let mut seen: Vec<(String, String)> = Vec::new();
    for (_, list) in &per_node {
        for p in list {
            if !seen.iter().any(|(l, _)| *l == p.lookup) {
                seen.push((p.lookup.clone(), p.written.clone()));
            }
        }
    }
    for (lookup, written) in seen {
        let mut having: Vec<(Store, &ClusterNode)> = Vec::new();
        let mut lacking: Vec<&ClusterNode> = Vec::new();
        for (node, list) in &per_node {
            match list.iter().find(|p| p.lookup == lookup) {
                Some(p) => having.push((p.store.clone(), node)),
                None => lacking.push(node),
            }
        }
        let holders: Vec<&ClusterNode> = having.iter().map(|(_, n)| *n).collect();
        if !lacking.is_empty() {
            findings.fail(
                names(&lacking).into_iter().chain(names(&holders)).collect(),
                &["storage.providers"],
                format!(
                    "storage provider `{written}` is configured on {} but not on {}: a table \
                     stored there cannot open on {}",
                    and_list(&names(&holders)),
                    and_list(&names(&lacking)),
                    and_list(&names(&lacking))
                ),
                format!(
                    "add the same `[[storage.providers]]` entry named `{written}` to {}",
                    and_list(&names(&lacking))
                ),
            );
        }
        let grouped = groups(having);
        if let [(common, users), others @ ..] = grouped.as_slice() {
            for (store, group) in others {
                let keys = store.differing(common, &format!("storage.providers[{written}]"));
                let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
                findings.warn(
                    names(group).into_iter().chain(names(users)).collect(),
                    &key_refs,
                    format!(
                        "storage provider `{written}` is {} on {} but {} on {}: {SHARE}",
                        store.shown(),
                        and_list(&names(group)),
                        common.shown(),
                        and_list(&names(users))
                    ),
                    format!(
                        "make provider `{written}` on {} the same as on {}",
                        and_list(&names(group)),
                        and_list(&names(users))
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::{assert_counts, node, CountCase};
    use super::*;

    fn dn(name: &str, host: Option<&str>, storage: Value) -> ClusterNode {
        node(name, "datanode", host, json!({ "storage": storage }))
    }

    fn s3(bucket: &str, root: &str) -> Value {
        json!({"type": "S3", "bucket": bucket, "root": root, "endpoint": "http://minio:9000/",
               "data_home": "/var/lib/greptimedb"})
    }

    #[test]
    fn stores_compare_as_greptimedb_normalises_them() {
        let a = Store::of(&s3("b", "/data//greptime/"), "");
        let b = Store::of(
            &json!({"type": "S3", "bucket": "b", "root": "data/greptime", "endpoint": "HTTP://minio:9000"}),
            "",
        );
        assert_eq!(a, b);
        let az = Store::of(&json!({"type": "Azblob", "container": "c", "root": ""}), "");
        assert_eq!(az.shown(), "Azblob container `c` with root `/`");
        assert_eq!(
            az.differing(&a, "storage"),
            vec![
                "storage.type",
                "storage.container",
                "storage.endpoint",
                "storage.root"
            ]
        );
        let file = Store::of(&json!({}), "./greptimedb_data/");
        assert_eq!(file.shown(), "File storage under `./greptimedb_data`");
        assert_eq!(Store::of(&json!({}), "//var/lib//gt/").root, "/var/lib/gt");
        assert_ne!(Store::of(&json!({}), "/d"), Store::of(&json!({}), "d"));
    }

    #[test]
    fn verdicts() {
        let file = |home: &str| json!({"type": "File", "data_home": home});
        // (case, nodes, failures, warnings)
        let cases: Vec<CountCase> = vec![
            (
                "one store",
                vec![
                    dn("d0", Some("a"), s3("b", "r")),
                    dn("d1", Some("b"), s3("b", "/r/")),
                ],
                0,
                0,
            ),
            // Different stores run: each datanode opens its own regions from its own store;
            // only moving regions (migration, failover) needs one store. Warnings; with failover
            // enabled `cluster.failover` fails.
            (
                "different buckets",
                vec![
                    dn("d0", None, s3("b1", "r")),
                    dn("d1", None, s3("b1", "r")),
                    dn("d2", None, s3("b2", "r")),
                ],
                0,
                1,
            ),
            (
                "different roots",
                vec![dn("d0", None, s3("b", "r1")), dn("d1", None, s3("b", "r2"))],
                0,
                1,
            ),
            (
                "File mixed with S3",
                vec![dn("d0", None, s3("b", "r")), dn("d1", None, file("/d"))],
                0,
                1,
            ),
            (
                "File on two hosts",
                vec![
                    dn("d0", Some("a"), file("/d")),
                    dn("d1", Some("b"), file("/d")),
                ],
                0,
                1,
            ),
            (
                "File on one host, own directories",
                vec![
                    dn("d0", Some("a"), file("/d0")),
                    dn("d1", Some("a"), file("/d1")),
                ],
                0,
                1,
            ),
            (
                "File on one host, one directory",
                vec![
                    dn("d0", Some("a"), file("/d")),
                    dn("d1", Some("a"), file("/d/")),
                ],
                1,
                1,
            ),
            (
                "File, hosts unknown",
                vec![dn("d0", None, file("/d")), dn("d1", None, file("/d"))],
                0,
                1,
            ),
            (
                "a single datanode",
                vec![dn("d0", Some("a"), file("/d"))],
                0,
                0,
            ),
        ];
        assert_counts(cases, |nodes| judge(nodes).findings);
    }

    #[test]
    fn differing_bucket_names_the_key_and_nodes() {
        let nodes = vec![
            dn("d0", None, s3("b1", "r")),
            dn("d1", None, s3("b1", "r")),
            dn("d2", None, s3("b2", "r")),
        ];
        let f = &judge(&nodes).findings.warned[0];
        assert_eq!(f.keys, vec!["storage.bucket"]);
        assert_eq!(f.nodes, vec!["d2", "d0", "d1"]);
        assert_eq!(f.hint, "set `storage.bucket` on d2 as on d0 and d1");
        assert!(f.message.starts_with("datanode d2 uses S3 bucket `b2` at `http://minio:9000` with root `r/` but datanodes d0 and d1 use S3 bucket `b1`"), "{}", f.message);
    }

    #[test]
    fn providers_are_compared_by_name() {
        let with = |providers: Value| {
            let mut storage = s3("b", "r");
            storage["providers"] = providers;
            storage
        };
        let archive = |bucket: &str| json!([{"type": "S3", "name": "Archive", "bucket": bucket}]);
        let same = vec![
            dn("d0", None, with(archive("x"))),
            dn(
                "d1",
                None,
                with(json!([{"type": "S3", "name": "archive", "bucket": "x"}])),
            ),
        ];
        assert!(judge(&same).findings.failed.is_empty());
        let missing = vec![
            dn("d0", None, with(archive("x"))),
            dn("d1", None, s3("b", "r")),
        ];
        let f = &judge(&missing).findings.failed[0];
        assert_eq!(
            f.message,
            "storage provider `Archive` is configured on d0 but not on d1: a table stored there \
             cannot open on d1"
        );
        let differ = vec![
            dn("d0", None, with(archive("x"))),
            dn("d1", None, with(archive("y"))),
        ];
        // Same name, different buckets: each datanode opens its regions there (a warning, as
        // for `[storage]`); a missing provider above is ObjectStoreNotFound (a failure).
        let f = &judge(&differ).findings.warned[0];
        assert_eq!(f.keys, vec!["storage.providers[Archive].bucket"]);
    }
}
