//! `greptime-self-test cluster -f <inventory>` end to end: real servers (etcd, SeaweedFS) from
//! `scripts/services.sh` and the metasrv stand-in (no metasrv binary can run here), the
//! combined JSON and JUnit reports validated against their schemas, and inventory errors.

use crate::common;
use crate::metasrv_standin as standin;

use std::path::Path;

use common::{run_in, Run};
use serde_json::Value;
use standin::{Behaviour, StandIn};

/// Writes `files` (name, text) into `dir`.
fn write_all(dir: &Path, files: &[(&str, String)]) {
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

/// Runs `cluster -f cluster.yaml` in `dir` with `extra` arguments and `env`, off the runtime.
async fn cluster(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let dir = dir.to_path_buf();
    let mut args: Vec<String> = vec!["cluster".into(), "-f".into(), "cluster.yaml".into()];
    args.extend(extra.iter().map(|a| a.to_string()));
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        run_in(&dir, &args, &env)
    })
    .await
    .unwrap()
}

/// A datanode TOML: S3 storage on SeaweedFS, metasrv at `metasrv`, its own ports.
fn datanode_toml(node_id: u32, port: u16, metasrv: &str, s3: &S3) -> String {
    format!(
        "node_id = {node_id}\n[grpc]\nbind_addr = \"127.0.0.1:{port}\"\nserver_addr = \"127.0.0.1:{port}\"\n\
         [http]\naddr = \"127.0.0.1:{}\"\n[meta_client]\nmetasrv_addrs = [\"{metasrv}\"]\n\
         [storage]\ntype = \"S3\"\nbucket = \"{}\"\nroot = \"gst-cluster-cli\"\nendpoint = \"{}\"\n\
         region = \"us-east-1\"\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\n",
        port + 2000,
        s3.bucket,
        s3.endpoint,
        s3.key,
        s3.secret
    )
}

/// SeaweedFS S3 and a read-write identity.
struct S3 {
    endpoint: String,
    bucket: String,
    key: String,
    secret: String,
}

fn reports(run: &Run) -> Vec<Value> {
    let parsed: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{}", run.all()));
    parsed
        .as_array()
        .unwrap_or_else(|| panic!("{parsed}"))
        .clone()
}

fn report_of<'a>(reports: &'a [Value], node: &str) -> &'a Value {
    reports
        .iter()
        .find(|r| r["node"] == node)
        .unwrap_or_else(|| panic!("no report of node {node}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_healthy_cluster_passes_with_a_report_per_node_and_valid_outputs() {
    let (endpoint, bucket, key, secret) = need!(
        "GST_S3_ENDPOINT",
        "GST_S3_BUCKET",
        "GST_S3_RW_KEY",
        "GST_S3_RW_SECRET"
    );
    let (etcd,) = need!("GST_ETCD_ENDPOINT");
    let _etcd = common::PLAIN_ETCD.read().await;
    let s3 = S3 {
        endpoint,
        bucket,
        key,
        secret,
    };
    let metasrv = StandIn::start(Behaviour::leader().keys(&["__table_name/1"])).await;
    let dir = tempfile::tempdir().unwrap();
    write_all(
        dir.path(),
        &[
            (
                "metasrv.toml",
                format!(
                    "backend = \"etcd_store\"\nstore_addrs = [\"{etcd}\"]\n\
                     [grpc]\nbind_addr = \"{0}\"\nserver_addr = \"{0}\"\n\
                     [http]\naddr = \"127.0.0.1:14000\"\n",
                    metasrv.address
                ),
            ),
            ("datanode-0.toml", datanode_toml(1, 13001, &metasrv.address, &s3)),
            ("datanode-1.toml", datanode_toml(2, 13002, &metasrv.address, &s3)),
            (
                "frontend.toml",
                format!(
                    "[meta_client]\nmetasrv_addrs = [\"{}\"]\n[grpc]\nbind_addr = \"127.0.0.1:14001\"\n\
                     [http]\naddr = \"127.0.0.1:14002\"\n[mysql]\naddr = \"127.0.0.1:14003\"\n\
                     [postgres]\naddr = \"127.0.0.1:14004\"\n",
                    metasrv.address
                ),
            ),
            (
                "cluster.yaml",
                "version: 1\nname: ci\nnodes:\n\
                 - {name: metasrv-0, component: metasrv, config: metasrv.toml, host: ci}\n\
                 - {name: frontend-0, component: frontend, config: frontend.toml, host: ci}\n\
                 - {name: datanode-0, component: datanode, config: datanode-0.toml, host: ci}\n\
                 - {name: datanode-1, component: datanode, config: datanode-1.toml, host: ci}\n"
                    .to_string(),
            ),
        ],
    );
    let run = cluster(
        dir.path(),
        &[
            "--output",
            "json",
            "--junit-file",
            "report.xml",
            "--json-file",
            "report.json",
        ],
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let reports = reports(&run);
    let nodes: Vec<&str> = reports.iter().filter_map(|r| r["node"].as_str()).collect();
    assert_eq!(
        nodes,
        ["metasrv-0", "frontend-0", "datanode-0", "datanode-1"]
    );
    let cross = reports.last().unwrap();
    assert_eq!(cross["component"], "cluster", "{cross}");
    assert!(cross["node"].is_null());
    assert!(cross["counts"]["passed"].as_u64().unwrap() > 0, "{cross}");
    // both datanodes name the same store: one probes it, the other shows that outcome
    let mut shared = 0;
    for node in ["datanode-0", "datanode-1"] {
        let probe = report_of(&reports, node)["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "object_store_probe")
            .unwrap()
            .clone();
        assert_eq!(probe["status"], "pass", "{probe}");
        let details = probe["details"].as_array().unwrap();
        shared += usize::from(
            details
                .iter()
                .any(|d| d.as_str().unwrap().starts_with("shared:")),
        );
    }
    assert_eq!(shared, 1, "{}", run.stdout);
    assert!(!run.all().contains(&s3.secret), "secret in output");

    // the JSON file is the stdout document, valid against the committed report schema
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(file.as_array().unwrap().len(), reports.len());
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(common::path("schemas/report.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&file)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");

    // one testsuite per node, then the cross-node suite; valid against both XSDs
    let xml = std::fs::read_to_string(dir.path().join("report.xml")).unwrap();
    for suite in [
        "name=\"metasrv-0\"",
        "name=\"frontend-0\"",
        "name=\"datanode-0\"",
        "name=\"datanode-1\"",
        "name=\"cluster.cross_node\"",
    ] {
        let tag = format!(" {suite} package=");
        assert_eq!(xml.matches(&tag).count(), 1, "{suite}: {xml}");
    }
    assert!(xml.contains("classname=\"greptime.datanode-1.datanode\""));
    assert!(!xml.contains(&s3.secret));
    if let Some(xsd) = common::junit_validator() {
        common::assert_valid_xml(&dir.path().join("report.xml"), &xsd);
        common::assert_no_case_output(&dir.path().join("report.xml"));
    }
}

/// A frontend TOML whose metasrv is `metasrv`, on ports from `port`.
fn frontend_toml(metasrv: &str, port: u16) -> String {
    format!(
        "[meta_client]\nmetasrv_addrs = [\"{metasrv}\"]\n[grpc]\nbind_addr = \"127.0.0.1:{port}\"\n\
         [http]\naddr = \"127.0.0.1:{}\"\n",
        port + 1
    )
}

/// Instances of the checks of `report` that show another run's outcome (a "shared:" detail).
fn shared_checks(report: &Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["details"].as_array().is_some_and(|details| {
                details
                    .iter()
                    .any(|d| d.as_str().is_some_and(|d| d.starts_with("shared:")))
            })
        })
        .map(|c| c["instance"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn nodes_naming_the_same_dependency_ask_it_once() {
    // one frontend: what its checks ask the metasrv
    let alone = StandIn::start(Behaviour::leader()).await;
    let dir = tempfile::tempdir().unwrap();
    write_all(
        dir.path(),
        &[
            ("frontend-0.toml", frontend_toml(&alone.address, 14101)),
            (
                "cluster.yaml",
                "version: 1\ncross_node: false\nnodes:\n\
                 - {name: frontend-0, component: frontend, config: frontend-0.toml}\n"
                    .to_string(),
            ),
        ],
    );
    let run = cluster(dir.path(), &["--output", "json"], &[]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let asked_alone = alone.received().len();
    assert!(asked_alone > 0, "the frontend checks ask the metasrv");

    // three frontends on one metasrv ask it no more; a fourth on another metasrv asks that one
    let shared = StandIn::start(Behaviour::leader()).await;
    let other = StandIn::start(Behaviour::leader()).await;
    write_all(
        dir.path(),
        &[
            ("frontend-0.toml", frontend_toml(&shared.address, 14101)),
            ("frontend-1.toml", frontend_toml(&shared.address, 14111)),
            ("frontend-2.toml", frontend_toml(&shared.address, 14121)),
            ("frontend-3.toml", frontend_toml(&other.address, 14131)),
            (
                "cluster.yaml",
                "version: 1\ncross_node: false\nnodes:\n\
                 - {name: frontend-0, component: frontend, config: frontend-0.toml}\n\
                 - {name: frontend-1, component: frontend, config: frontend-1.toml}\n\
                 - {name: frontend-2, component: frontend, config: frontend-2.toml}\n\
                 - {name: frontend-3, component: frontend, config: frontend-3.toml}\n"
                    .to_string(),
            ),
        ],
    );
    let run = cluster(dir.path(), &["--output", "json"], &[]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(shared.received().len(), asked_alone, "{}", run.stdout);
    assert_eq!(other.received().len(), asked_alone, "{}", run.stdout);

    // every metasrv check ran in exactly one of the three nodes; the others say by whom
    let reports = reports(&run);
    let metasrv_checks: Vec<String> = report_of(&reports, "frontend-0")["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["step"].as_str().unwrap().starts_with("metasrv."))
        .map(|c| c["instance"].as_str().unwrap().to_string())
        .collect();
    assert!(!metasrv_checks.is_empty());
    let sharers: Vec<Vec<String>> = ["frontend-0", "frontend-1", "frontend-2"]
        .iter()
        .map(|node| shared_checks(report_of(&reports, node)))
        .collect();
    for check in &metasrv_checks {
        let times_shared = sharers.iter().filter(|s| s.contains(check)).count();
        assert_eq!(times_shared, 2, "{check}: {sharers:?}");
    }
    // checks that judge the node itself (its own listen ports, its config) are never shared,
    // and the node on the other metasrv shares nothing
    for shared in &sharers {
        assert!(
            !shared
                .iter()
                .any(|c| c.starts_with("config_") || c.starts_with("listen")),
            "{shared:?}"
        );
    }
    assert_eq!(
        shared_checks(report_of(&reports, "frontend-3")),
        Vec::<String>::new()
    );
}

/// Runs an inventory of `nodes` frontends, each with only the `hung.yaml` site playbook against
/// a server of its own that never answers (its check times out after 1 s), under `--jobs`
/// `jobs`; returns the run, its wall time and the health check of every node.
async fn dead_dependencies(nodes: usize, jobs: usize) -> (Run, std::time::Duration, Vec<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let playbook = common::path("tests/fixtures/playbooks/hung.yaml");
    let mut inventory = String::from("version: 1\ncross_node: false\nnodes:\n");
    let mut servers = Vec::new();
    for i in 0..nodes {
        let (addr, server) = common::hung_server();
        servers.push(server);
        std::fs::write(
            dir.path().join(format!("frontend-{i}.toml")),
            format!("[http]\naddr = \"{addr}\"\n"),
        )
        .unwrap();
        inventory.push_str(&format!(
            "- name: frontend-{i}\n  component: frontend\n  config: frontend-{i}.toml\n  \
             builtin: false\n  playbooks: [\"{}\"]\n",
            playbook.display()
        ));
    }
    write_all(dir.path(), &[("cluster.yaml", inventory)]);
    let started = std::time::Instant::now();
    let jobs = jobs.to_string();
    let run = cluster(dir.path(), &["--output", "json", "--jobs", &jobs], &[]).await;
    let elapsed = started.elapsed();
    let health = reports(&run)
        .iter()
        .map(|r| {
            r["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["id"] == "health")
                .unwrap()
                .clone()
        })
        .collect();
    (run, elapsed, health)
}

#[tokio::test(flavor = "multi_thread")]
async fn nodes_on_dead_dependencies_finish_within_about_one_timeout() {
    const NODES: usize = 16;
    // every node waits for its own dead server at the same time: about one 1 s timeout for
    // all of them (one after another would take 16 s)
    let (run, elapsed, health) = dead_dependencies(NODES, NODES).await;
    assert_eq!(run.code, 3, "{}", run.all());
    assert_eq!(health.len(), NODES);
    for check in &health {
        assert_eq!(check["status"], "fail", "{check}");
        assert_eq!(check["metrics"]["error_kind"], "Timeout", "{check}");
    }
    assert!(
        elapsed < std::time::Duration::from_secs(4),
        "{NODES} nodes took {elapsed:?}"
    );

    // and --jobs bounds them: 4 at a time make 4 rounds of the 1 s timeout (each judged by
    // the step itself 100 ms before it, to name the silence)
    let (run, elapsed, health) = dead_dependencies(NODES, 4).await;
    assert_eq!(run.code, 3, "{}", run.all());
    assert_eq!(health.len(), NODES);
    assert!(
        elapsed >= std::time::Duration::from_millis(3500),
        "--jobs 4 let {NODES} one-second checks finish in {elapsed:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_reads_its_own_environment_overlay_and_never_shows_secrets() {
    let (endpoint, bucket, key, secret) = need!(
        "GST_S3_ENDPOINT",
        "GST_S3_BUCKET",
        "GST_S3_RW_KEY",
        "GST_S3_RW_SECRET"
    );
    let s3 = S3 {
        endpoint,
        bucket,
        key,
        secret: String::new(),
    };
    // GreptimeDB lets the file win over the environment: the secret is only in the overlay;
    // a root of its own, as the healthy-cluster test probes the same bucket at the same time
    let toml = datanode_toml(7, 13011, "127.0.0.1:9", &s3)
        .replace("secret_access_key = \"\"\n", "")
        .replace("gst-cluster-cli", "gst-cluster-cli-env");
    let dir = tempfile::tempdir().unwrap();
    write_all(
        dir.path(),
        &[
            ("datanode.toml", toml),
            (
                "cluster.yaml",
                "version: 1\ncross_node: false\nnodes:\n\
                 - name: datanode-0\n  component: datanode\n  config: datanode.toml\n  env:\n    \
                 GREPTIMEDB_DATANODE__STORAGE__SECRET_ACCESS_KEY: \"${S3_SECRET_FROM_CI}\"\n"
                    .to_string(),
            ),
        ],
    );
    // the tool's own GREPTIMEDB_* variables are not the node's: node_id stays 7
    let run = cluster(
        dir.path(),
        &["--output", "json"],
        &[
            ("S3_SECRET_FROM_CI", secret.as_str()),
            ("GREPTIMEDB_DATANODE__NODE_ID", "999"),
        ],
    )
    .await;
    let reports = reports(&run);
    let node = report_of(&reports, "datanode-0");
    assert_eq!(node["summary"]["node_id"], "7", "{node}");
    let probe = node["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "object_store_probe")
        .unwrap();
    assert_eq!(
        probe["status"], "pass",
        "the overlay's secret was not used: {probe}"
    );
    assert!(!run.all().contains(&secret), "secret in output");

    // an undefined ${VAR} is bad input naming the variable, the node and the line
    let run = cluster(dir.path(), &[], &[]).await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("S3_SECRET_FROM_CI"), "{}", run.stderr);
    assert!(run.stderr.contains("datanode-0"), "{}", run.stderr);
    assert!(run.stderr.contains("cluster.yaml:8:"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn text_output_groups_checks_by_node_and_ends_with_a_cluster_summary() {
    let dir = tempfile::tempdir().unwrap();
    let toml =
        "[meta_client]\nmetasrv_addrs = [\"127.0.0.1:9\"]\n[grpc]\nbind_addr = \"127.0.0.1:0\"\n";
    write_all(
        dir.path(),
        &[
            ("frontend.toml", toml.to_string()),
            (
                "cluster.yaml",
                "version: 1\ncross_node: false\nnodes:\n\
                 - {name: fe-a, component: frontend, config: frontend.toml}\n\
                 - {name: fe-b, component: frontend, config: frontend.toml}\n"
                    .to_string(),
            ),
        ],
    );
    let run = cluster(dir.path(), &[], &[]).await;
    assert_eq!(run.code, 3, "metasrv is down: {}", run.all());
    let fe_a = run.stdout.find("node fe-a: frontend").expect("fe-a header");
    let fe_b = run.stdout.find("node fe-b: frontend").expect("fe-b header");
    let summary = run.stdout.find("Cluster summary").expect("summary");
    assert!(fe_a < fe_b && fe_b < summary, "{}", run.stdout);
    let tail = &run.stdout[summary..];
    assert!(
        tail.contains("fe-a frontend/frontend") && tail.contains("FAIL"),
        "{tail}"
    );
    assert!(tail.contains("Overall Result: FAIL"), "{tail}");
    // listen ports of nodes not marked `local` are not this machine's: not applicable, folded
    // into one line per node in the text report
    assert!(
        run.stdout
            .contains("do not apply to this config and options (-v lists them)"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("condition not met"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn inventory_mistakes_are_bad_input_with_file_line_and_column() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "version: 1\nnodes:\n  - {name: a, component: frontend}\n  - {name: a, component: datanode}\n",
            "duplicate",
            &["cluster.yaml:4:", "`a` names two nodes"],
        ),
        (
            "version: 1\nnodes:\n  - name: a\n    component: frontend\n    confg: x.toml\n",
            "unknown field",
            &["cluster.yaml:5:", "confg"],
        ),
        (
            "version: 1\nnodes:\n  - name: a\n    component: frontend\n    config: missing.toml\n",
            "missing config",
            &["cluster.yaml:5:", "missing.toml", "relative to the inventory"],
        ),
        (
            "version: 1\nnodes:\n  - {name: a, component: cluster}\n",
            "cluster component",
            &["cluster.yaml:3:", "not a component"],
        ),
        (
            "version: 2\nnodes: []\n",
            "version",
            &["cluster.yaml:1:", "version 2 is not supported"],
        ),
        (
            "version: 1\nnodes:\n  - name: a\n    component: frontend\n    playbooks: [site.yaml]\n",
            "site playbook of another component",
            &["playbook for another component", "node `a` is a frontend"],
        ),
        (
            "version: 1\nnodes: [\n",
            "malformed YAML",
            &["cluster.yaml:3:"],
        ),
        (
            "version: 1\nnodes:\n  - name: a\n    component: datanode\n    env:\n      \
             GREPTIMEDB_DATANODE__STORAGE__SECRET_ACCESS_KEY: \"literal-s3cr3t-${NOPE}\"\n",
            "undefined variable next to a literal secret",
            &["cluster.yaml:6:", "`${NOPE}`, which is not set"],
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("site.yaml"),
        "version: 1\nname: site\ncomponent: datanode\nchecks: []\n",
    )
    .unwrap();
    for (inventory, what, expected) in cases {
        std::fs::write(dir.path().join("cluster.yaml"), inventory).unwrap();
        let run = cluster(dir.path(), &[], &[]).await;
        assert_eq!(run.code, 2, "{what}: {}", run.all());
        for text in *expected {
            assert!(
                run.stderr.contains(text),
                "{what}: no `{text}` in {}",
                run.stderr
            );
        }
        assert!(
            run.stdout.is_empty(),
            "{what}: nothing runs: {}",
            run.stdout
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_example_inventory_shows_cross_node_mistakes() {
    let example = common::path("examples/cluster");
    let run = tokio::task::spawn_blocking(move || {
        run_in(
            &example,
            &["cluster", "-f", "cluster.yaml", "--output", "json"],
            &[],
        )
    })
    .await
    .unwrap();
    assert_eq!(run.code, 3, "{}", run.all());
    let reports = reports(&run);
    assert_eq!(reports.len(), 6, "five nodes and the cross-node report");
    let cross = reports.last().unwrap();
    assert_eq!(cross["component"], "cluster");
    let status = |id: &str| {
        let check = cross["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("no {id}: {cross}"));
        (
            check["status"].as_str().unwrap().to_string(),
            check["message"].as_str().unwrap().to_string(),
        )
    };
    // datanode-1's env overlay loses to the file, as in GreptimeDB: duplicate identity
    let (node_ids, message) = status("node_ids");
    assert_eq!(node_ids, "fail");
    assert!(
        message.contains("datanode-0") && message.contains("datanode-1"),
        "{message}"
    );
    let (server_addrs, message) = status("server_addrs");
    assert_eq!(server_addrs, "fail");
    assert!(message.contains("loopback"), "{message}");
    let (ports, message) = status("ports");
    assert_eq!(ports, "fail");
    assert!(message.contains("port 4000 on host host-a"), "{message}");
    assert_eq!(status("wal").0, "pass");
    assert_eq!(status("shared_storage").0, "pass");
}
