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
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("frontend.toml");
    let addrs: Vec<String> = metasrv_addrs.iter().map(|a| format!("\"{a}\"")).collect();
    std::fs::write(
        &config,
        format!(
            "[meta_client]\nmetasrv_addrs = [{}]\n[http]\naddr = \"127.0.0.1:0\"\n\
             [grpc]\nbind_addr = \"127.0.0.1:0\"\n[mysql]\nenable = false\n[postgres]\nenable = false\n",
            addrs.join(", ")
        ),
    )
    .unwrap();
    let mut args = vec![
        "frontend".to_string(),
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
    assert!(leader_check.contains("3 address(es)"), "{leader_check}");
    let store = check(&report, "metasrv_store")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(store.contains("1 key(s)"), "{store}");
}

#[tokio::test(flavor = "multi_thread")]
async fn metasrv_addresses_naming_different_leaders_fail() {
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
