//! `cluster.*` steps on node lists built from real TOML: each node's config is loaded with
//! `config::load`, so every key the snippet leaves out has GreptimeDB's default, then the steps
//! run through the registry as the engine runs them. The built-in cross-node playbook is
//! validated and run on the same lists.

use std::sync::Arc;
use std::time::Duration;

use crate::common;

use common::steps::{family, run_step, step, TestCx};
use greptime_self_test::config::{self, Component, EffectiveConfig, LoadOptions};
use greptime_self_test::engine::mask::Masker;
use greptime_self_test::engine::options::RunOptions;
use greptime_self_test::engine::result::Status;
use greptime_self_test::engine::run::Engine;
use greptime_self_test::playbook::load_builtin;
use serde_json::{json, Map, Value};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

fn metasrv(ip: &str) -> String {
    format!(
        r#"backend = "etcd_store"
store_addrs = ["10.0.0.5:2379"]
enable_region_failover = true

[grpc]
bind_addr = "0.0.0.0:3002"
server_addr = "{ip}:3002"

[http]
addr = "0.0.0.0:4000"

[wal]
provider = "kafka"
broker_endpoints = ["10.0.0.6:9092", "10.0.0.7:9092"]
"#
    )
}

fn datanode(id: u64, ip: &str) -> String {
    format!(
        r#"node_id = {id}

[meta_client]
metasrv_addrs = ["10.0.0.11:3002"]

[grpc]
bind_addr = "0.0.0.0:3001"
server_addr = "{ip}:3001"

[http]
addr = "0.0.0.0:4000"

[wal]
provider = "kafka"
broker_endpoints = ["10.0.0.7:9092", "10.0.0.6:9092", "10.0.0.7:9092"]

[storage]
type = "S3"
bucket = "greptimedb"
root = "/cluster-a/"
endpoint = "http://10.0.0.5:9000"
access_key_id = "AKIAEXAMPLE"
secret_access_key = "example-secret"
"#
    )
}

const FRONTEND: &str = r#"[meta_client]
metasrv_addrs = ["10.0.0.11:3002", "10.0.0.11:3002"]

[grpc]
bind_addr = "0.0.0.0:4001"
server_addr = "10.0.0.31:4001"

[http]
addr = "0.0.0.0:4000"

[mysql]
addr = "0.0.0.0:4002"

[postgres]
addr = "0.0.0.0:4003"
"#;

const FLOWNODE: &str = r#"node_id = 14

[meta_client]
metasrv_addrs = ["10.0.0.11:3002"]

[grpc]
bind_addr = "0.0.0.0:6800"
server_addr = "10.0.0.31:6800"

[http]
addr = "0.0.0.0:4010"
"#;

/// A cluster inventory: each node's TOML written to a temporary directory and loaded as
/// GreptimeDB loads it.
struct Inventory {
    dir: tempfile::TempDir,
    nodes: Vec<Value>,
}

impl Inventory {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            nodes: Vec::new(),
        }
    }

    fn node(mut self, name: &str, component: Component, host: Option<&str>, toml: &str) -> Self {
        let file = self.dir.path().join(format!("{name}.toml"));
        std::fs::write(&file, toml).unwrap();
        let effective = config::load(&LoadOptions {
            component,
            file: Some(file.clone()),
            env: Vec::new(),
            env_prefix: None,
            overrides: Vec::new(),
            start_flags: Default::default(),
        })
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        self.nodes.push(json!({
            "name": name,
            "component": component.as_str(),
            "host": host,
            "config_file": file.display().to_string(),
            "config": effective.value,
        }));
        self
    }

    /// A healthy cluster: metasrv on host-m, frontend and flownode on host-f, a datanode on
    /// each of host-a and host-b; Kafka WAL, one S3 bucket, region failover on. The datanode
    /// TOMLs go through `edit_dn0` and `edit_dn1` (host-a, host-b unless changed).
    fn healthy_with(
        edit_meta: impl Fn(String) -> String,
        dn1_host: &str,
        edit_dn1: impl Fn(String) -> String,
    ) -> Self {
        Inventory::new()
            .node(
                "metasrv-0",
                Component::Metasrv,
                Some("host-m"),
                &edit_meta(metasrv("10.0.0.11")),
            )
            .node("frontend-0", Component::Frontend, Some("host-f"), FRONTEND)
            .node("flownode-0", Component::Flownode, Some("host-f"), FLOWNODE)
            .node(
                "datanode-0",
                Component::Datanode,
                Some("host-a"),
                &datanode(0, "10.0.0.21"),
            )
            .node(
                "datanode-1",
                Component::Datanode,
                Some(dn1_host),
                &edit_dn1(datanode(1, "10.0.0.22")),
            )
    }

    /// The healthy cluster with datanode-1's TOML edited.
    fn with_dn1(edit: impl Fn(String) -> String) -> Self {
        Self::healthy_with(|m| m, "host-b", edit)
    }

    /// The healthy cluster with metasrv-0's TOML edited.
    fn with_metasrv(edit: impl Fn(String) -> String) -> Self {
        Self::healthy_with(edit, "host-b", |d| d)
    }
}

/// What a step found: failures and warnings, each as (message, hint, nodes, keys).
#[derive(Debug)]
struct Verdict {
    failed: Vec<Value>,
    warned: Vec<Value>,
    output: Value,
    details: Vec<String>,
}

impl Verdict {
    fn fail_messages(&self) -> Vec<&str> {
        self.failed
            .iter()
            .map(|f| f["message"].as_str().unwrap())
            .collect()
    }

    fn warn_messages(&self) -> Vec<&str> {
        self.warned
            .iter()
            .map(|f| f["message"].as_str().unwrap())
            .collect()
    }

    fn assert_clean(&self) {
        assert!(
            self.failed.is_empty() && self.warned.is_empty(),
            "{:#?}",
            self
        );
    }
}

async fn judge(step: &str, inventory: &Inventory) -> Verdict {
    let cx = TestCx::new(Component::Cluster, "cluster-test").build();
    let out = run_step(step, json!({"nodes": inventory.nodes}), &cx)
        .await
        .unwrap_or_else(|e| panic!("{step} could not run: {e}"));
    Verdict {
        failed: out.value["failed"].as_array().unwrap().clone(),
        warned: out.value["warned"].as_array().unwrap().clone(),
        details: out.details,
        output: out.value,
    }
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect()
}

#[test]
fn nodes_are_required_and_checked() {
    for name in family("cluster") {
        let step = step(name);
        assert!(step.check_params(&json!({})).is_err(), "{name} needs nodes");
        assert!(step
            .check_params(&json!({"nodes": [{"name": "x", "component": "gateway", "config": {}}]}))
            .is_err());
    }
}

#[tokio::test]
async fn a_healthy_cluster_passes_every_rule() {
    let inventory = Inventory::with_dn1(|d| d);
    for step in family("cluster") {
        let v = judge(step, &inventory).await;
        v.assert_clean();
        assert!(v.details.is_empty(), "{step}: {:?}", v.details);
        assert!(!v.output["summary"].as_str().unwrap().is_empty(), "{step}");
    }
    let v = judge("cluster.wal", &inventory).await;
    assert_eq!(v.output["provider"], "kafka");
    assert_eq!(
        strings(&v.output["broker_endpoints"]),
        vec!["10.0.0.6:9092", "10.0.0.7:9092"]
    );
    let v = judge("cluster.metasrv_addrs", &inventory).await;
    assert_eq!(
        strings(&v.output["metasrvs"]),
        vec!["metasrv-0 = 10.0.0.11:3002"]
    );
    let v = judge("cluster.shared_storage", &inventory).await;
    assert_eq!(
        v.output["summary"],
        "2 datanodes share S3 bucket `greptimedb` at `http://10.0.0.5:9000` with root `cluster-a/`"
    );
}

#[tokio::test]
async fn duplicate_and_missing_node_ids_fail() {
    let dup = Inventory::with_dn1(|d| d.replace("node_id = 1", "node_id = 0"));
    let v = judge("cluster.node_ids", &dup).await;
    assert_eq!(
        v.fail_messages(),
        vec!["datanodes datanode-0 and datanode-1 share `node_id = 0`"]
    );
    assert_eq!(strings(&v.failed[0]["keys"]), vec!["node_id"]);
    assert_eq!(
        v.failed[0]["hint"],
        "give every datanode its own `node_id`: change it on datanode-1"
    );
    assert_eq!(v.details.len(), 1);
    assert!(v.details[0].starts_with("fail: datanodes datanode-0 and datanode-1"));

    let missing = Inventory::with_dn1(|d| d.replace("node_id = 1\n", ""));
    let v = judge("cluster.node_ids", &missing).await;
    assert_eq!(
        v.fail_messages(),
        vec!["datanode datanode-1 has no `node_id`"]
    );
    let hint = v.failed[0]["hint"].as_str().unwrap();
    assert!(
        hint.starts_with("set `node_id` in datanode-1's config ("),
        "{hint}"
    );
    assert!(hint.contains("datanode-1.toml)"), "{hint}");
}

#[tokio::test]
async fn different_metasrv_addrs_warn_and_a_list_naming_no_metasrv_fails() {
    // GreptimeDB's meta client asks every entry, uses the first leader named and only logs the
    // others (src/meta-client/src/client/ask_leader.rs); greptimedb.md §10: a frontend with one
    // live and one dead entry runs. A differing or extra entry is therefore a warning.
    let other = Inventory::with_dn1(|d| {
        d.replace(
            r#"["10.0.0.11:3002"]"#,
            r#"["10.0.0.11:3002", "10.0.0.12:3002"]"#,
        )
    });
    let v = judge("cluster.metasrv_addrs", &other).await;
    assert!(v.failed.is_empty(), "{:?}", v.failed);
    let messages = v.warn_messages();
    assert_eq!(
        messages[0],
        "`meta_client.metasrv_addrs` is [10.0.0.11:3002, 10.0.0.12:3002] on datanode-1 but \
         [10.0.0.11:3002] on frontend-0, flownode-0 and datanode-0"
    );
    assert_eq!(
        messages[1],
        "`10.0.0.12:3002` in `meta_client.metasrv_addrs` of datanode-1 is the address of no \
         metasrv in the inventory (metasrvs: metasrv-0 = 10.0.0.11:3002); datanode-1 skip it \
         and rely on the other entries"
    );
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(v.warned[0]["hint"]
        .as_str()
        .unwrap()
        .contains("set `meta_client.metasrv_addrs` on datanode-1 to [10.0.0.11:3002]"));

    // The only metasrv is at an address no client lists: every client's only entry is dead, so
    // none finds a leader and each exits (§10 "frontend → every address dead").
    let unlisted = Inventory::with_metasrv(|m| m.replace("10.0.0.11:3002", "10.0.0.12:3002"));
    let v = judge("cluster.metasrv_addrs", &unlisted).await;
    let failed = v.fail_messages();
    assert_eq!(failed.len(), 4, "{failed:?}");
    assert!(
        failed.contains(
            &"no entry of `meta_client.metasrv_addrs` of datanode-0 (10.0.0.11:3002) reaches a \
              metasrv of the inventory (metasrv-0 = 10.0.0.12:3002): its meta client finds no \
              leader and datanode-0 exits at start-up"
        ),
        "{failed:?}"
    );

    let any = Inventory::with_metasrv(|m| {
        m.replace("server_addr = \"10.0.0.11:3002\"", "server_addr = \"\"")
    });
    let v = judge("cluster.metasrv_addrs", &any).await;
    assert!(v.failed.is_empty(), "{:?}", v.failed);
    assert_eq!(v.warned.len(), 2, "{:?}", v.warned);
    assert!(v.warn_messages()[0]
        .contains("`grpc.bind_addr = 0.0.0.0:3002` and has no `grpc.server_addr`"));
}

#[tokio::test]
async fn wal_provider_and_brokers_must_agree() {
    let raft_metasrv = Inventory::with_metasrv(|m| {
        m.replace("provider = \"kafka\"", "provider = \"raft_engine\"")
    });
    let v = judge("cluster.wal", &raft_metasrv).await;
    assert_eq!(v.failed.len(), 1, "{:?}", v.failed);
    assert_eq!(
        v.fail_messages()[0],
        "datanodes datanode-0 and datanode-1 use `wal.provider = \"kafka\"` with brokers \
         [10.0.0.6:9092, 10.0.0.7:9092] but metasrv metasrv-0 uses `wal.provider = \
         \"raft_engine\"`: metasrv must use kafka when the datanodes do"
    );
    assert_eq!(strings(&v.failed[0]["keys"]), vec!["wal.provider"]);

    let raft_datanode =
        Inventory::with_dn1(|d| d.replace("provider = \"kafka\"", "provider = \"raft_engine\""));
    let v = judge("cluster.wal", &raft_datanode).await;
    assert_eq!(v.failed.len(), 1);
    assert!(v.failed[0]["hint"].as_str().unwrap().starts_with(
        "set `wal.provider = \"kafka\"` and `wal.broker_endpoints = [10.0.0.6:9092, 10.0.0.7:9092]` on datanode-1"
    ));

    let other_brokers = Inventory::with_dn1(|d| {
        d.replace(
            r#"["10.0.0.7:9092", "10.0.0.6:9092", "10.0.0.7:9092"]"#,
            r#"["10.0.0.8:9092"]"#,
        )
    });
    let v = judge("cluster.wal", &other_brokers).await;
    assert_eq!(v.failed.len(), 1);
    assert!(v.fail_messages()[0]
        .ends_with("no broker in common, so they do not share one Kafka cluster"));
    assert_eq!(
        strings(&v.failed[0]["nodes"]),
        vec!["datanode-1", "metasrv-0"]
    );

    let fewer_brokers = Inventory::with_dn1(|d| {
        d.replace(
            r#"["10.0.0.7:9092", "10.0.0.6:9092", "10.0.0.7:9092"]"#,
            r#"["10.0.0.6:9092"]"#,
        )
    });
    let v = judge("cluster.wal", &fewer_brokers).await;
    assert!(v.failed.is_empty());
    assert_eq!(v.warned.len(), 1, "{:?}", v.warned);
}

#[tokio::test]
async fn region_failover_needs_kafka_wal_and_shared_storage() {
    let file = Inventory::with_dn1(|d| {
        let at = d.find("[storage]").unwrap();
        format!("{}[storage]\ntype = \"File\"\n", &d[..at])
    });
    let v = judge("cluster.failover", &file).await;
    assert_eq!(v.failed.len(), 1, "{:?}", v.failed);
    assert_eq!(
        v.fail_messages()[0],
        "metasrv metasrv-0 has `enable_region_failover = true` but datanode datanode-1 keeps its \
         regions on local `storage.type = \"File\"`: failover reopens a failed datanode's regions \
         on another datanode, which cannot read that disk"
    );
    assert_eq!(
        strings(&v.failed[0]["keys"]),
        vec!["enable_region_failover", "storage.type"]
    );

    let raft = |allow: bool| {
        Inventory::healthy_with(
            move |m| {
                let m = m.replace("provider = \"kafka\"", "provider = \"raft_engine\"");
                if allow {
                    m.replace(
                        "enable_region_failover = true",
                        "enable_region_failover = true\nallow_region_failover_on_local_wal = true",
                    )
                } else {
                    m
                }
            },
            "host-b",
            |d| d.replace("provider = \"kafka\"", "provider = \"raft_engine\""),
        )
    };
    let v = judge("cluster.failover", &raft(false)).await;
    assert_eq!(v.failed.len(), 1, "{:?}", v.failed);
    assert!(v.fail_messages()[0].starts_with(
        "metasrv metasrv-0 has `enable_region_failover = true` with `wal.provider = \"raft_engine\"`: \
         region failover needs a remote (Kafka) WAL, and metasrv refuses to start"
    ));
    let v = judge("cluster.failover", &raft(true)).await;
    assert!(v.failed.is_empty(), "{:?}", v.failed);
    assert_eq!(v.warned.len(), 1);
    assert!(v.warn_messages()[0].contains("allowed by `allow_region_failover_on_local_wal = true`"));
}

#[tokio::test]
async fn advertised_addresses_must_be_unique_and_routable_across_hosts() {
    let loopback = Inventory::with_dn1(|d| d.replace("10.0.0.22:3001", "127.0.0.1:3001"));
    let v = judge("cluster.server_addrs", &loopback).await;
    assert_eq!(
        v.fail_messages(),
        vec![
            "datanode-1 (host-b) advertises `grpc.server_addr = 127.0.0.1:3001`, a loopback \
             address, but the inventory spans hosts host-a, host-b, host-f and host-m: the other \
             hosts cannot reach it there"
        ]
    );
    assert_eq!(
        v.failed[0]["hint"],
        "set `grpc.server_addr` on datanode-1 to an address of its host that the other hosts reach"
    );

    let duplicate = Inventory::with_dn1(|d| d.replace("10.0.0.22:3001", "10.0.0.21:3001"));
    let v = judge("cluster.server_addrs", &duplicate).await;
    assert_eq!(
        v.fail_messages(),
        vec![
            "datanode-0 (`grpc.server_addr`) and datanode-1 (`grpc.server_addr`) advertise the \
             same address 10.0.0.21:3001"
        ]
    );
    assert_eq!(
        strings(&v.failed[0]["nodes"]),
        vec!["datanode-0", "datanode-1"]
    );

    let detected = Inventory::with_dn1(|d| {
        d.replace("server_addr = \"10.0.0.22:3001\"", "server_addr = \"\"")
    });
    let v = judge("cluster.server_addrs", &detected).await;
    assert!(v.failed.is_empty(), "{:?}", v.failed);
    assert_eq!(
        v.warned.len(),
        1,
        "0.0.0.0 with an empty server_addr only warns"
    );
}

#[tokio::test]
async fn listeners_clash_only_on_the_same_host() {
    // different hosts, same ports everywhere: the healthy cluster
    judge("cluster.ports", &Inventory::with_dn1(|d| d))
        .await
        .assert_clean();

    let on_host_a = |edit: fn(String) -> String| Inventory::healthy_with(|m| m, "host-a", edit);
    let clash = on_host_a(|d| d.replace("0.0.0.0:3001", "0.0.0.0:3011"));
    let v = judge("cluster.ports", &clash).await;
    assert_eq!(
        v.fail_messages(),
        vec![
            "datanode-0 `http.addr = 0.0.0.0:4000` and datanode-1 `http.addr = 0.0.0.0:4000` \
             both take port 4000 on host host-a"
        ]
    );
    assert_eq!(strings(&v.failed[0]["keys"]), vec!["http.addr"]);
    assert!(v.failed[0]["hint"]
        .as_str()
        .unwrap()
        .starts_with("change `http.addr` on datanode-1 to a port"));

    let overlap = on_host_a(|d| {
        d.replace("0.0.0.0:4000", "0.0.0.0:4100").replace(
            "bind_addr = \"0.0.0.0:3001\"",
            "bind_addr = \"127.0.0.1:3001\"",
        )
    });
    let v = judge("cluster.ports", &overlap).await;
    assert_eq!(
        v.fail_messages(),
        vec![
            "datanode-0 `grpc.bind_addr = 0.0.0.0:3001` and datanode-1 `grpc.bind_addr = \
             127.0.0.1:3001` both take port 3001 on host host-a"
        ]
    );

    let apart = on_host_a(|d| {
        d.replace("0.0.0.0:4000", "0.0.0.0:4100")
            .replace("0.0.0.0:3001", "0.0.0.0:3011")
    });
    judge("cluster.ports", &apart).await.assert_clean();
}

#[tokio::test]
async fn datanodes_share_one_object_store() {
    // Each datanode opens its own regions from its own store, so different stores run; only
    // moving regions (migration, failover) needs one store: a warning here, a failure in
    // `cluster.failover` when failover is on (metasrv.example.toml: failover needs shared
    // storage).
    let bucket =
        Inventory::with_dn1(|d| d.replace("bucket = \"greptimedb\"", "bucket = \"greptimedb-b\""));
    let v = judge("cluster.shared_storage", &bucket).await;
    assert!(v.failed.is_empty(), "{:?}", v.failed);
    assert_eq!(v.warned.len(), 1, "{:?}", v.warned);
    assert_eq!(strings(&v.warned[0]["keys"]), vec!["storage.bucket"]);
    assert!(v.warn_messages()[0].starts_with(
        "datanode datanode-1 uses S3 bucket `greptimedb-b` at `http://10.0.0.5:9000` with root \
         `cluster-a/` but datanode datanode-0 uses S3 bucket `greptimedb`"
    ));
    assert_eq!(
        v.warned[0]["hint"],
        "set `storage.bucket` on datanode-1 as on datanode-0"
    );
    // The inventory's metasrv has failover on: there the different bucket breaks failover.
    let v = judge("cluster.failover", &bucket).await;
    assert_eq!(v.failed.len(), 1, "{:?}", v.failed);
    assert!(
        v.fail_messages()[0].contains("uses S3 bucket `greptimedb-b`"),
        "{:?}",
        v.fail_messages()
    );

    let root_spelling =
        Inventory::with_dn1(|d| d.replace("root = \"/cluster-a/\"", "root = \"cluster-a\""));
    judge("cluster.shared_storage", &root_spelling)
        .await
        .assert_clean();

    let file = |d: String| {
        let at = d.find("[storage]").unwrap();
        format!(
            "{}[storage]\ntype = \"File\"\ndata_home = \"/var/lib/greptimedb\"\n",
            &d[..at]
        )
    };
    let two_hosts = Inventory::new()
        .node(
            "datanode-0",
            Component::Datanode,
            Some("host-a"),
            &file(datanode(0, "10.0.0.21")),
        )
        .node(
            "datanode-1",
            Component::Datanode,
            Some("host-b"),
            &file(datanode(1, "10.0.0.22")),
        );
    let v = judge("cluster.shared_storage", &two_hosts).await;
    assert!(v.failed.is_empty(), "{:?}", v.failed);
    assert_eq!(
        v.warn_messages(),
        vec![
            "datanodes datanode-0 (host-a) and datanode-1 (host-b) keep their regions on local \
             `storage.type = \"File\"` on different hosts: none can open another's regions, and \
             each datanode reads its regions from its own store, so they run, but no region can \
             move between datanodes on different stores (region migration, failover)"
        ]
    );
}

#[tokio::test]
async fn greptimedb_defaults_on_unknown_hosts() {
    // Only what GreptimeDB requires; everything else is its default (127.0.0.1 listeners,
    // empty server_addr, File storage, raft_engine WAL). No host labels.
    let minimal = |id: u64| {
        format!("node_id = {id}\n\n[meta_client]\nmetasrv_addrs = [\"127.0.0.1:3002\"]\n")
    };
    let inventory = Inventory::new()
        .node("metasrv-0", Component::Metasrv, None, "")
        .node("datanode-0", Component::Datanode, None, &minimal(0))
        .node("datanode-1", Component::Datanode, None, &minimal(1));
    judge("cluster.node_ids", &inventory).await.assert_clean();
    judge("cluster.wal", &inventory).await.assert_clean();
    judge("cluster.failover", &inventory).await.assert_clean();
    judge("cluster.metasrv_addrs", &inventory)
        .await
        .assert_clean();
    let ports = judge("cluster.ports", &inventory).await;
    ports.assert_clean();
    assert_eq!(
        strings(&ports.output["unlabelled"]),
        vec!["metasrv-0", "datanode-0", "datanode-1"]
    );
    let addrs = judge("cluster.server_addrs", &inventory).await;
    assert!(addrs.failed.is_empty(), "{:?}", addrs.failed);
    assert_eq!(
        addrs.warned.len(),
        3,
        "loopback binds with an empty server_addr"
    );
    assert!(addrs.warn_messages()[1].starts_with(
        "datanode-0 has no `grpc.server_addr` and listens on loopback `grpc.bind_addr = 127.0.0.1:3001`"
    ));
    let storage = judge("cluster.shared_storage", &inventory).await;
    assert!(storage.failed.is_empty(), "{:?}", storage.failed);
    assert_eq!(storage.warned.len(), 1);
}

#[test]
fn the_built_in_playbook_validates() {
    let r = common::run_in(&common::root(), &["validate", "checks/cluster.yaml"], &[]);
    assert_eq!(r.code, 0, "{}", r.all());
    let playbook = load_builtin(Component::Cluster).expect("the built-in cluster playbook");
    assert_eq!(playbook.name, "cross_node");
    assert_eq!(playbook.component, Some(Component::Cluster));
    let steps: Vec<&str> = playbook
        .checks
        .iter()
        .map(|c| c.def.step.kind.as_str())
        .collect();
    assert_eq!(steps, family("cluster"), "one check per cross-node rule");
}

/// Runs the built-in cross-node playbook through the engine with `config.nodes`.
async fn run_playbook(inventory: &Inventory) -> Vec<(String, Status, String, Option<String>)> {
    let playbook = load_builtin(Component::Cluster).unwrap();
    let config = EffectiveConfig {
        component: Component::Cluster,
        file: None,
        value: json!({"nodes": inventory.nodes}),
        findings: Vec::new(),
        secrets: Vec::new(),
    };
    let opts = RunOptions {
        jobs: Arc::new(Semaphore::new(4)),
        progress: None,
        node: None,
        overall_timeout: Duration::from_secs(30),
        answer_timeout: None,
        read_only: true,
        options: Map::new(),
        var_overrides: Map::new(),
        run_id: "cluster-playbook".into(),
        shared: None,
        observer: None,
    };
    let engine = Engine::new(Arc::new(Masker::default()));
    let report = engine
        .run(&playbook, Arc::new(config), &opts, CancellationToken::new())
        .await
        .expect("the playbook runs");
    assert_eq!(report.component, "cluster");
    let hosts = report.summary["hosts"].as_str().unwrap();
    assert!(
        hosts == "(no host labels)" || hosts.contains("host-a"),
        "{hosts}"
    );
    report
        .checks
        .into_iter()
        .map(|c| (c.id, c.status, c.message, c.hint))
        .collect()
}

#[tokio::test]
async fn the_built_in_playbook_judges_the_inventory() {
    let healthy = run_playbook(&Inventory::with_dn1(|d| d)).await;
    assert_eq!(healthy.len(), 7);
    for (id, status, message, _) in &healthy {
        assert_eq!(*status, Status::Pass, "{id}: {message}");
    }

    let broken = run_playbook(&Inventory::with_dn1(|d| {
        d.replace("node_id = 1", "node_id = 0")
            .replace("bucket = \"greptimedb\"", "bucket = \"elsewhere\"")
    }))
    .await;
    let status = |id: &str| broken.iter().find(|c| c.0 == id).unwrap();
    let (_, s, message, hint) = status("node_ids");
    assert_eq!(*s, Status::Fail);
    assert_eq!(
        message,
        "datanodes datanode-0 and datanode-1 share `node_id = 0`"
    );
    assert_eq!(
        hint.as_deref(),
        Some("give every datanode its own `node_id`: change it on datanode-1")
    );
    // Different buckets: a warning on their own (each datanode opens its own regions), a
    // failure of region_failover, which the inventory enables.
    let (_, s, message, hint) = status("shared_storage");
    assert_eq!(*s, Status::Warn);
    assert!(message.contains("bucket `elsewhere`"), "{message}");
    assert_eq!(status("region_failover").1, Status::Fail);
    assert_eq!(
        hint.as_deref(),
        Some("set `storage.bucket` on datanode-1 as on datanode-0")
    );
    assert_eq!(status("wal").1, Status::Pass);

    let no_metasrv = Inventory::new().node(
        "datanode-0",
        Component::Datanode,
        Some("host-a"),
        &datanode(0, "10.0.0.21"),
    );
    let checks = run_playbook(&no_metasrv).await;
    let failover = checks.iter().find(|c| c.0 == "region_failover").unwrap();
    assert_eq!(failover.1, Status::Skipped, "no metasrv in the inventory");
}
