//! A component's own start flags after `--` (or a pasted `greptime <component> start …` line, or
//! an inventory node's `args`), applied over the file as GreptimeDB's
//! `StartCommand::merge_with_cli_options` does (`src/cmd/src/{metasrv,datanode,…}.rs`: flags >
//! file > environment > defaults), checked end to end against the metasrv stand-in, etcd and
//! PostgreSQL.

use crate::common;
use crate::metasrv_standin as standin;

use std::path::Path;

use common::{checks, datanode_config, run_in, Run};
use serde_json::Value;
use standin::{Behaviour, StandIn};

/// Runs the binary with `args` in `dir`, off the async runtime.
async fn run_async(dir: &Path, args: Vec<String>) -> Run {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_in(&dir, &args, &[])
    })
    .await
    .unwrap()
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", run.all()))
}

fn status<'a>(report: &'a Value, id: &str) -> Vec<&'a str> {
    checks(report, id)
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect()
}

// src/cmd/src/datanode.rs: `--metasrv-addrs` replaces `meta_client.metasrv_addrs` from the file
#[tokio::test(flavor = "multi_thread")]
async fn datanode_metasrv_addrs_flag_beats_the_dead_file_address() {
    let leader = StandIn::start(Behaviour::leader()).await;
    let dir = tempfile::tempdir().unwrap();
    // the file names 127.0.0.1:1, where nothing answers
    let config = datanode_config(dir.path(), "");
    let base = strings(&[
        "datanode",
        "-c",
        config.to_str().unwrap(),
        "--output",
        "json",
    ]);

    let without = json(&run_async(dir.path(), base.clone()).await);
    assert_eq!(
        status(&without, "metasrv_ask_leader"),
        ["fail"],
        "{without}"
    );

    let mut args = base;
    args.extend(strings(&["--", "--metasrv-addrs", &leader.address]));
    let with = json(&run_async(dir.path(), args).await);
    for id in ["metasrv_ask_leader", "metasrv_leader", "metasrv_store"] {
        assert_eq!(status(&with, id), ["pass"], "{id}: {with}");
    }
    let asked = checks(&with, "metasrv_ask_leader")[0]["title"].to_string();
    assert!(asked.contains(&leader.address), "{asked}");
}

// src/cmd/src/bin/greptime.rs + src/cmd/src/datanode.rs: a pasted start line; its `-c` is the
// config file, its `--node-id` supplies the node id the file lacks (GreptimeDB refuses to start
// without one: `ensure!(opts.node_id.is_some())` after the flags)
#[tokio::test(flavor = "multi_thread")]
async fn a_pasted_datanode_start_line_is_read_whole() {
    let leader = StandIn::start(Behaviour::leader()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("datanode.toml");
    std::fs::write(
        &config,
        "[meta_client]\nmetasrv_addrs = [\"127.0.0.1:1\"]\n\
         [grpc]\nbind_addr = \"127.0.0.1:0\"\n[http]\naddr = \"127.0.0.1:0\"\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let line = [
        "greptime",
        "--log-level",
        "info",
        "datanode",
        "start",
        "-c",
        config,
        "--node-id",
        "3",
        "--metasrv-addrs",
        &leader.address,
    ];
    let mut args = strings(&["datanode", "--output", "json", "--"]);
    args.extend(strings(&line));
    let report = json(&run_async(dir.path(), args).await);
    assert_eq!(status(&report, "config_lint"), ["pass"], "{report}");
    assert_eq!(status(&report, "metasrv_leader"), ["pass"], "{report}");

    // without --node-id the file's missing node_id is a config error
    let mut args = strings(&["datanode", "--output", "json", "--"]);
    args.extend(strings(&line[..7]));
    let report = json(&run_async(dir.path(), args).await);
    assert_eq!(status(&report, "config_lint"), ["fail"], "{report}");

    // `run` takes the same start arguments
    let mut args = strings(&[
        "run",
        "checks/datanode.yaml",
        "-c",
        config,
        "--output",
        "json",
    ]);
    args.extend(strings(&[
        "--",
        "--node-id",
        "3",
        "--metasrv-addrs",
        &leader.address,
    ]));
    let report = json(&run_async(dir.path(), args).await);
    assert_eq!(status(&report, "config_lint"), ["pass"], "{report}");
    assert_eq!(status(&report, "metasrv_leader"), ["pass"], "{report}");

    // the tool's -c and the start line's -c naming different files is bad input
    let mut args = strings(&["datanode", "-c", "other.toml", "--"]);
    args.extend(strings(&line));
    let run = run_async(dir.path(), args).await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("two config files"), "{}", run.stderr);
}

// src/cmd/src/datanode.rs StartCommand: clap refuses unknown flags, non-integer ids, a start line
// of another component
#[test]
fn refused_start_arguments_are_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let config = datanode_config(dir.path(), "");
    let config = config.to_str().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (
            &["--metasrv-adrs", "m:3002"],
            "did you mean `--metasrv-addrs`?",
        ),
        (&["--node-id", "abc"], "non-negative integer"),
        (&["greptime", "metasrv", "start"], "wrong component"),
        (&["--store-addrs", "etcd:2379"], "unknown start flag"),
    ];
    for (start, expected) in cases {
        let mut args = vec!["datanode", "-c", config, "--"];
        args.extend(start);
        let run = run_in(dir.path(), &args, &[]);
        assert_eq!(run.code, 2, "{start:?}: {}", run.all());
        assert!(run.stderr.contains(expected), "{start:?}: {}", run.stderr);
    }
    // src/meta-srv/src/metasrv.rs BackendImpl (clap value_enum spellings)
    let run = common::run(&["metasrv", "--", "--backend", "foo"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("`etcd-store`"), "{}", run.stderr);
}

/// A metasrv config whose etcd address is dead, with the given ports on 0.
fn metasrv_config(dir: &Path, rest: &str) -> String {
    let config = dir.join("metasrv.toml");
    std::fs::write(
        &config,
        format!(
            "backend = \"etcd_store\"\nstore_addrs = [\"127.0.0.1:1\"]\n{rest}\n\
             [grpc]\nbind_addr = \"127.0.0.1:0\"\n[http]\naddr = \"127.0.0.1:0\"\n"
        ),
    )
    .unwrap();
    config.to_str().unwrap().to_string()
}

// src/cmd/src/metasrv.rs: `--store-addrs` (alias `--store-addr`) replaces `store_addrs`
#[test]
fn metasrv_store_addrs_flag_reaches_the_live_etcd() {
    let (endpoint,) = need!("GST_ETCD_ENDPOINT");
    let _etcd = common::PLAIN_ETCD.blocking_read();
    let dir = tempfile::tempdir().unwrap();
    let config = metasrv_config(dir.path(), "store_key_prefix = \"gst-start-flags/\"");
    let base = ["metasrv", "-c", config.as_str(), "--output", "json"];

    let without = json(&run_in(dir.path(), &base, &[]));
    assert_eq!(status(&without, "etcd_endpoint"), ["fail"], "{without}");

    let mut args = base.to_vec();
    args.extend([
        "--",
        "--store-addr",
        endpoint.as_str(),
        "--backend",
        "etcd-store",
    ]);
    let run = run_in(dir.path(), &args, &[]);
    let with = json(&run);
    assert_eq!(run.code, 0, "{}", run.all());
    for id in ["etcd_endpoint", "etcd_cluster", "etcd_probe"] {
        assert_eq!(status(&with, id), ["pass"], "{id}: {with}");
    }
}

// src/cmd/src/metasrv.rs `sanitize_store_addrs`: GreptimeDB itself hides the password of a
// `--store-addrs` connection string; so does every output here
#[test]
fn a_store_addrs_password_never_reaches_any_output() {
    let (url,) = need!("GST_PG_RW_URL");
    let password = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, pw)| pw.to_string())
        .expect("GST_PG_RW_URL has a password");
    let dir = tempfile::tempdir().unwrap();
    let config = metasrv_config(dir.path(), "");
    let start = [
        "--",
        "--backend",
        "postgres-store",
        "--store-addrs",
        url.as_str(),
    ];
    let mut outputs = Vec::new();
    for format in ["text", "json", "junit"] {
        let mut args = vec!["metasrv", "-c", config.as_str(), "-v", "--output", format];
        args.extend(["--json-file", "r.json", "--junit-file", "r.xml"]);
        args.extend(start);
        let run = run_in(dir.path(), &args, &[]);
        assert!(run.code == 0 || run.code == 3, "{format}: {}", run.all());
        outputs.push(run.all());
        outputs.push(std::fs::read_to_string(dir.path().join("r.json")).unwrap());
        outputs.push(std::fs::read_to_string(dir.path().join("r.xml")).unwrap());
    }
    // the flag's store is the one checked: the SQL connection passes
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(status(&report, "sql_connect"), ["pass"], "{report}");
    for output in &outputs {
        assert!(
            !output.contains(&password),
            "the password reached an output"
        );
    }
    // and a refused start line does not echo it either
    let run = run_in(
        dir.path(),
        &["metasrv", "-c", &config, "--", "--backend", &url],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        !run.all().contains(&password),
        "the password reached stderr"
    );
}

// an inventory node's `args` are its start flags (src/cmd/src/datanode.rs)
#[tokio::test(flavor = "multi_thread")]
async fn an_inventory_node_carries_its_start_args() {
    let leader = StandIn::start(Behaviour::leader()).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dn.toml"),
        "[meta_client]\nmetasrv_addrs = [\"127.0.0.1:1\"]\n\
         [grpc]\nbind_addr = \"127.0.0.1:0\"\n[http]\naddr = \"127.0.0.1:0\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("cluster.yaml"),
        format!(
            "version: 1\ncross_node: false\nnodes:\n  - name: dn-0\n    component: datanode\n    \
             args: [greptime, datanode, start, -c, dn.toml, --node-id, \"3\", --metasrv-addrs, \"{}\"]\n",
            leader.address
        ),
    )
    .unwrap();
    let run = run_async(
        dir.path(),
        strings(&["cluster", "-f", "cluster.yaml", "--output", "json"]),
    )
    .await;
    let reports = json(&run);
    let report = &reports[0];
    assert_eq!(report["node"], "dn-0", "{reports}");
    assert_eq!(status(report, "config_lint"), ["pass"], "{report}");
    assert_eq!(status(report, "metasrv_leader"), ["pass"], "{report}");

    // an unknown flag in `args` is bad input pointing at the inventory
    std::fs::write(
        dir.path().join("cluster.yaml"),
        "version: 1\nnodes:\n  - name: dn-0\n    component: datanode\n    config: dn.toml\n    \
         args: [--node-idd, \"3\"]\n",
    )
    .unwrap();
    let run = run_async(dir.path(), strings(&["cluster", "-f", "cluster.yaml"])).await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("did you mean `--node-id`?"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("cluster.yaml:6"), "{}", run.stderr);
}
