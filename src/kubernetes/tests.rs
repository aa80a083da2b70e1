//! Golden tests of the stages the operator tests on their own: `pkg/dbconfig`'s `FromCluster`
//! (without `SetDefaults`, as its tests call it; `tests/fixtures/kubernetes/dbconfig/<case>/`:
//! `cluster.yaml` and `<role>.toml`) and the initializer (`…/initializer/`). The whole render
//! is tested in `tests/kubernetes_render.rs`.

use std::fs;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

use super::dbconfig::{self, Role};
use super::documents;
use super::initializer::Initializer;
use super::rendered::POD_IP_PLACEHOLDER;
use super::secrets::SecretStore;

fn fixtures(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/kubernetes")
        .join(sub)
}

/// The role's config as `FromCluster` writes it, for a cluster that was not defaulted.
fn from_cluster(dir: &Path, role: &str) -> Table {
    let path = dir.join("cluster.yaml");
    let text = fs::read_to_string(&path).unwrap();
    let docs = documents::read(&[(path.display().to_string(), text)])
        .unwrap_or_else(|d| panic!("{}", d.render_quoted()));
    let namespace = docs.cluster.metadata.namespace.clone().unwrap_or_default();
    let store = SecretStore::new(&namespace, Vec::new(), docs.secrets, docs.config_maps);
    let spec = docs.cluster.spec;
    let (meta, frontend, datanode, flownode) = (
        spec.meta.clone().unwrap_or_default(),
        spec.frontend.clone().unwrap_or_default(),
        spec.datanode.clone().unwrap_or_default(),
        spec.flownode.clone().unwrap_or_default(),
    );
    let role = match role {
        "meta" => Role::Meta(&meta),
        "frontend" => Role::Frontend(&frontend),
        "datanode" => Role::Datanode(&datanode),
        "flownode" => Role::Flownode(&flownode),
        other => panic!("unknown role file {other}.toml"),
    };
    dbconfig::from_cluster(&spec, role, &store)
        .unwrap_or_else(|d| panic!("{}", d.render_quoted()))
        .merged
}

#[test]
fn dbconfig_cases_generate_what_the_operator_tests_expect() {
    let mut cases: Vec<PathBuf> = fs::read_dir(fixtures("dbconfig"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 14, "{cases:?}");
    for dir in cases {
        let mut compared = 0;
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            let role = path.file_stem().unwrap().to_string_lossy().into_owned();
            let want: Table = fs::read_to_string(&path).unwrap().parse().unwrap();
            let got = from_cluster(&dir, &role);
            assert_eq!(got, want, "{}/{role}.toml", dir.display());
            compared += 1;
        }
        assert!(compared > 0, "{}: no expectation", dir.display());
    }
}

fn configmap(name: &str) -> Table {
    fs::read_to_string(fixtures("initializer").join(name))
        .unwrap()
        .parse()
        .unwrap()
}

fn datanode_init(group_id: Option<u32>, start_node_id: i32) -> Initializer {
    Initializer {
        rpc_port: 4001,
        group_id,
        start_node_id,
        ipv6: false,
    }
}

/// The initializer sets the three keys and leaves everything else as the ConfigMap has it.
fn assert_only_three_keys_changed(before: &Table, after: &Table) {
    for (key, value) in before {
        match key.as_str() {
            "node_id" => {}
            "grpc" => {
                let (b, a) = (value.as_table().unwrap(), after["grpc"].as_table().unwrap());
                for (k, v) in b {
                    if k != "bind_addr" && k != "server_addr" {
                        assert_eq!(a.get(k), Some(v), "grpc.{k}");
                    }
                }
            }
            _ => assert_eq!(after.get(key), Some(value), "{key}"),
        }
    }
}

// cmd/initializer TestDatanodeConfigGenerator: pod `testcluster-datanode-1`, rpc port 4001.
#[test]
fn the_datanode_initializer_sets_node_id_and_grpc_addresses() {
    let before = configmap("datanode-configmap.toml");
    let after = datanode_init(None, 0).generate(&before, 1);
    assert_eq!(after["node_id"], Value::Integer(1));
    assert_eq!(after["grpc"]["bind_addr"].as_str(), Some("0.0.0.0:4001"));
    let server = format!("{POD_IP_PLACEHOLDER}:4001");
    assert_eq!(after["grpc"]["server_addr"].as_str(), Some(server.as_str()));
    assert_only_three_keys_changed(&before, &after);
}

// cmd/initializer TestFlownodeConfigGenerator: the ConfigMap's node_id 14 is replaced.
#[test]
fn the_flownode_initializer_replaces_node_id() {
    let before = configmap("flownode-configmap.toml");
    let after = datanode_init(None, 0).generate(&before, 1);
    assert_eq!(after["node_id"], Value::Integer(1));
    assert_eq!(after["grpc"]["bind_addr"].as_str(), Some("0.0.0.0:4001"));
    assert_only_three_keys_changed(&before, &after);
}

// cmd/initializer TestDatanodeConfigGeneratorWithDatanodeGroupID (42),
// …WithStartNodeID (10) and …WithNotStartNodeID (0).
#[test]
fn group_ids_and_start_node_ids_shape_node_ids() {
    let before = configmap("datanode-configmap.toml");
    let node_id = |init: Initializer| init.generate(&before, 1)["node_id"].clone();
    assert_eq!(
        node_id(datanode_init(Some(42), 0)),
        Value::Integer((42 << 32) | 1)
    );
    assert_eq!(node_id(datanode_init(None, 10)), Value::Integer(11));
    assert_eq!(node_id(datanode_init(None, 0)), Value::Integer(1));
}

#[test]
fn ipv6_addresses_are_bracketed() {
    let init = Initializer {
        ipv6: true,
        ..datanode_init(None, 0)
    };
    let after = init.generate(&Table::new(), 0);
    assert_eq!(after["grpc"]["bind_addr"].as_str(), Some("[::]:4001"));
    let server = format!("[{POD_IP_PLACEHOLDER}]:4001");
    assert_eq!(after["grpc"]["server_addr"].as_str(), Some(server.as_str()));
}
