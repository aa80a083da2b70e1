//! The built-in frontend playbook end to end against the metasrv stand-in (a tonic server of
//! GreptimeDB's metasrv contract: no metasrv binary can be installed on these machines).

use crate::common;
use crate::metasrv_standin as standin;

use serde_json::Value;
use standin::{Behaviour, StandIn};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// Runs `greptime-self-test frontend` on a config naming `metasrv_addrs`, off the runtime.
async fn frontend(metasrv_addrs: &[&str], extra: &[&str]) -> (i32, Value) {
    component("frontend", metasrv_addrs, extra).await
}

/// Runs the built-in playbook of `component` (frontend, datanode or flownode) on a minimal
/// healthy config of it naming `metasrv_addrs`, off the runtime; returns the exit code and the
/// JSON report.
async fn component(component: &str, metasrv_addrs: &[&str], extra: &[&str]) -> (i32, Value) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join(format!("{component}.toml"));
    let addrs: Vec<String> = metasrv_addrs.iter().map(|a| format!("\"{a}\"")).collect();
    let meta = format!("[meta_client]\nmetasrv_addrs = [{}]\n", addrs.join(", "));
    let listeners = "[http]\naddr = \"127.0.0.1:0\"\n[grpc]\nbind_addr = \"127.0.0.1:0\"\n";
    let body = match component {
        "frontend" => {
            format!("{meta}{listeners}[mysql]\nenable = false\n[postgres]\nenable = false\n")
        }
        "datanode" => format!(
            "node_id = 1\n{meta}{listeners}[storage]\ntype = \"File\"\ndata_home = \"{}\"\n",
            dir.path().join("data").display()
        ),
        "flownode" => format!("node_id = 2\n{meta}{listeners}"),
        other => panic!("no config for {other}"),
    };
    std::fs::write(&config, body).unwrap();
    let mut args = vec![
        component.to_string(),
        "-c".into(),
        config.display().to_string(),
    ];
    args.extend(["--output".into(), "json".into()]);
    args.extend(extra.iter().map(|a| a.to_string()));
    let cwd = dir.path().to_path_buf();
    let run = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        common::run_in(&cwd, &args, &[])
    })
    .await
    .unwrap();
    let report = serde_json::from_str(&run.stdout).unwrap_or_else(|_| panic!("{}", run.all()));
    (run.code, report)
}

/// The checks of a report with `status`, as `id: message` lines.
fn with_status(report: &Value, status: &str) -> Vec<String> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == status)
        .map(|c| format!("{}: {}", c["id"], c["message"]))
        .collect()
}

/// Every instance of check `id`.
fn instances<'a>(report: &'a Value, id: &str) -> Vec<&'a Value> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == id)
        .collect()
}

fn dead() -> String {
    format!("127.0.0.1:{}", common::steps::closed_port())
}

fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}: {report}"))
}

/// An HTTP/1.1 server answering `200 {}` to every request, like metasrv's `/health`.
async fn health_server() -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let task = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = [0u8; 1024];
            let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut buf).await;
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{}")
                .await;
        }
    });
    (address, task)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_healthy_metasrv_cluster_passes() {
    // the leader's follower list cannot name the followers' ports before they exist; the
    // followers name the leader, which is what the agreement check needs
    let leader = StandIn::start(Behaviour::leader().keys(&["__table_name/1"])).await;
    let follower_a = StandIn::start(Behaviour::follower(&leader.address)).await;
    let follower_b = StandIn::start(Behaviour::follower(&leader.address)).await;
    let (http, _server) = health_server().await;
    let var = format!("metasrv_http_addr={http}");
    let (code, report) = frontend(
        &[&leader.address, &follower_a.address, &follower_b.address],
        &["--var", &var],
    )
    .await;
    assert_eq!(code, 0, "{report}");
    // The stand-in refuses an empty Store.Range key as an etcd-backed metasrv does
    // (kv_backend/etcd.rs, greptimedb.md §10): a healthy cluster passes with nothing to report.
    assert_eq!(with_status(&report, "fail"), Vec::<String>::new());
    assert_eq!(with_status(&report, "warn"), Vec::<String>::new());
    for id in [
        "metasrv_leader",
        "metasrv_peers",
        "metasrv_store",
        "metasrv_http_health",
    ] {
        assert_eq!(
            check(&report, id)["status"],
            "pass",
            "{id}: {}",
            check(&report, id)
        );
    }
    let leader_check = check(&report, "metasrv_leader")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(leader_check.contains(&leader.address), "{leader_check}");
    assert!(
        leader_check.contains("3 of 3 address(es)"),
        "{leader_check}"
    );
    let store = check(&report, "metasrv_store")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(store.contains("1 key(s)"), "{store}");
}

#[tokio::test(flavor = "multi_thread")]
async fn healthy_datanode_and_flownode_pass_without_warnings() {
    // Both start their meta client exactly as the frontend does (create_meta_client,
    // src/meta-client/src/lib.rs), so a healthy metasrv is a pass for them too.
    let leader = StandIn::start(Behaviour::leader().keys(&["__table_name/1"])).await;
    let follower = StandIn::start(Behaviour::follower(&leader.address)).await;
    for name in ["datanode", "flownode"] {
        let (code, report) = component(name, &[&leader.address, &follower.address], &[]).await;
        assert_eq!(with_status(&report, "fail"), Vec::<String>::new(), "{name}");
        assert_eq!(with_status(&report, "warn"), Vec::<String>::new(), "{name}");
        assert_eq!(code, 0, "{name}: {report}");
        assert_eq!(check(&report, "metasrv_store")["status"], "pass", "{name}");
    }
    // Every Store.Range the runs sent had a non-empty key.
    for request in leader.received() {
        if let standin::Received::Range(range) = request {
            assert!(!range.key.is_empty());
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_live_and_one_dead_address_only_warn() {
    // GreptimeDB's meta client asks every address, uses the first leader named and only logs
    // `Failed to ask leader from: <addr>` for the dead one (src/meta-client/src/client/
    // ask_leader.rs); observed: the frontend starts and is healthy (greptimedb.md §10).
    let leader = StandIn::start(Behaviour::leader()).await;
    let dead = dead();
    let (code, report) = frontend(&[&leader.address, &dead], &[]).await;
    assert_eq!(
        code, 0,
        "warnings exit 0 without --strict (src/cli/exit.rs): {report}"
    );
    assert_eq!(with_status(&report, "fail"), Vec::<String>::new());
    let asked = instances(&report, "metasrv_ask_leader");
    assert_eq!(asked.len(), 2, "{report}");
    assert_eq!(asked[0]["status"], "pass", "{}", asked[0]);
    assert_eq!(asked[1]["status"], "warn", "{}", asked[1]);
    let message = asked[1]["message"].as_str().unwrap();
    assert!(message.contains(&dead), "{message}");
    assert!(message.contains("starts anyway"), "{message}");
    assert!(
        asked[1]["hint"]
            .as_str()
            .unwrap()
            .contains("meta_client.metasrv_addrs"),
        "{}",
        asked[1]
    );
    // The leader checks still run.
    for id in ["metasrv_leader", "metasrv_peers", "metasrv_store"] {
        assert_eq!(check(&report, id)["status"], "pass", "{id}: {report}");
    }
    assert_eq!(with_status(&report, "warn").len(), 1, "{report}");

    let (code, _) = frontend(&[&leader.address, &dead], &["--strict"]).await;
    assert_eq!(
        code, 4,
        "--strict turns the warning into exit code 4 (src/cli/exit.rs)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_address_dead_fails() {
    // No address names a leader: the meta client gives up after its retries
    // (ask_leader.rs, client.rs DEFAULT_ASK_LEADER_MAX_RETRY) and the frontend exits
    // (greptimedb.md §10 "frontend → every address dead").
    let (one, two) = (dead(), dead());
    let (code, report) = frontend(&[&one, &two], &[]).await;
    assert_eq!(code, 3, "{report}");
    for asked in instances(&report, "metasrv_ask_leader") {
        assert_eq!(asked["status"], "fail", "{asked}");
        assert!(
            asked["hint"]
                .as_str()
                .unwrap()
                .contains("exits at start-up"),
            "{asked}"
        );
    }
    assert_eq!(check(&report, "metasrv_leader")["status"], "skipped");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_leader_advertising_a_dead_address_fails() {
    // The meta client talks to the address AskLeader returns; observed: a frontend whose
    // metasrv advertises a dead `server_addr` exits (greptimedb.md §10).
    let advertised = dead();
    let metasrv = StandIn::start(Behaviour::leader().advertise(&advertised)).await;
    let (code, report) = frontend(&[&metasrv.address], &[]).await;
    assert_eq!(code, 3, "{report}");
    let leader = check(&report, "metasrv_leader");
    assert_eq!(leader["status"], "fail", "{leader}");
    assert!(
        leader["message"].as_str().unwrap().contains(&advertised),
        "{leader}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn metasrv_addresses_naming_different_leaders_fail() {
    // GreptimeDB keeps whichever answer arrives first (ask_leader.rs), so a node given two
    // clusters' metasrvs may join either one: kept a failure (see `metasrv.leader`).
    let one = StandIn::start(Behaviour::leader()).await;
    let other = StandIn::start(Behaviour::leader()).await;
    let (code, report) = frontend(&[&one.address, &other.address], &[]).await;
    assert_eq!(code, 3, "{report}");
    let leader = check(&report, "metasrv_leader");
    assert_eq!(leader["status"], "fail", "{leader}");
    assert!(
        leader["message"]
            .as_str()
            .unwrap()
            .contains("different leaders"),
        "{leader}"
    );
    assert_eq!(check(&report, "metasrv_peers")["status"], "skipped");
}
