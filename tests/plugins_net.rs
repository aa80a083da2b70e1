//! `net.*` steps against real sockets on 127.0.0.1.

use std::net::{SocketAddr, TcpListener as StdListener};
use std::time::Duration;

use crate::common;

use common::steps::{closed_port, is_root, run_step, step, TestCx};
use greptime_self_test::config::Component;
use greptime_self_test::plugins::{ErrorKind, StepError, StepOutput};
use serde_json::{json, Value};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

/// Runs step `name` against an empty datanode config, with `budget` until its deadline.
async fn run(name: &str, params: Value, budget: Duration) -> Result<StepOutput, StepError> {
    let cx = TestCx::new(Component::Datanode, "net-test")
        .budget(budget)
        .build();
    run_step(name, params, &cx).await
}

#[test]
fn an_unparsable_timeout_is_refused() {
    assert!(step("net.tcp_connect")
        .check_params(&json!({"address": "a:1", "timeout": "soon"}))
        .is_err());
}

#[tokio::test]
async fn tcp_connect_reaches_a_listener() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = tokio::spawn(async move { listener.accept().await.map(|(_, peer)| peer) });

    let out = run(
        "net.tcp_connect",
        json!({"address": format!("127.0.0.1:{port}"), "timeout": "2s"}),
        Duration::from_secs(5),
    )
    .await
    .expect("connects");
    let v = &out.value;
    assert_eq!(v["host"], "127.0.0.1");
    assert_eq!(v["port"], port);
    assert_eq!(v["connected_to"], format!("127.0.0.1:{port}"));
    assert_eq!(v["resolved"], json!([format!("127.0.0.1:{port}")]));
    assert!(v["resolve_ms"].as_f64().unwrap() >= 0.0);
    assert!(v["connect_ms"].as_f64().unwrap() >= 0.0);
    let peer = tokio::time::timeout(Duration::from_secs(2), accepted)
        .await
        .expect("the listener saw the connection")
        .unwrap()
        .unwrap();
    assert!(peer.ip().is_loopback());
}

#[tokio::test]
async fn tcp_connect_accepts_urls_and_host_names() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();

    let out = run(
        "net.tcp_connect",
        json!({"address": format!("http://127.0.0.1:{port}/v3/kv")}),
        Duration::from_secs(5),
    )
    .await
    .expect("connects through an etcd-style URL");
    assert_eq!(out.value["host"], "127.0.0.1");
    assert_eq!(
        out.value["address"],
        format!("http://127.0.0.1:{port}/v3/kv")
    );

    // `localhost` may also resolve to ::1, where nothing listens: the step moves on.
    let out = run(
        "net.tcp_connect",
        json!({"address": format!("localhost:{port}")}),
        Duration::from_secs(5),
    )
    .await
    .expect("connects by name");
    assert_eq!(out.value["connected_to"], format!("127.0.0.1:{port}"));
    assert!(out.value["resolved"]
        .as_array()
        .unwrap()
        .contains(&json!(format!("127.0.0.1:{port}"))));
}

#[tokio::test]
async fn tcp_connect_refused_is_unreachable_with_hint() {
    let port = closed_port();
    let err = run(
        "net.tcp_connect",
        json!({"address": format!("127.0.0.1:{port}")}),
        Duration::from_secs(5),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unreachable, "{err:?}");
    assert!(err.message.contains("refused"), "{}", err.message);
    let hint = err.hint.unwrap();
    assert!(
        hint.contains(&format!("nothing listens on 127.0.0.1:{port}")),
        "{hint}"
    );
    assert!(hint.contains("is the port right?"), "{hint}");
}

#[tokio::test]
async fn tcp_connect_unresolvable_host_is_unreachable() {
    let err = run(
        "net.tcp_connect",
        json!({"address": "no-such-host.invalid:2379"}),
        Duration::from_secs(10),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err.kind, ErrorKind::Unreachable | ErrorKind::Timeout),
        "{err:?}"
    );
    if err.kind == ErrorKind::Unreachable {
        assert!(
            err.message
                .contains("cannot resolve `no-such-host.invalid`"),
            "{}",
            err.message
        );
    }
}

#[tokio::test]
async fn tcp_connect_bad_address_is_misconfigured() {
    for address in ["etcd", "etcd:port", "fd00::1:2379", "127.0.0.1:0"] {
        let err = run(
            "net.tcp_connect",
            json!({ "address": address }),
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Misconfigured, "{address}: {err:?}");
        assert!(err.hint.is_some(), "{address}");
    }
}

/// A listener whose accept queue is full, so further SYNs are dropped and connects hang.
async fn saturated_listener() -> (SocketAddr, Vec<TcpStream>, tokio::net::TcpListener) {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        if let Ok(Ok(s)) =
            tokio::time::timeout(Duration::from_millis(200), TcpStream::connect(addr)).await
        {
            fillers.push(s);
        }
    }
    (addr, fillers, listener)
}

#[tokio::test]
async fn tcp_connect_times_out_on_a_saturated_listener() {
    let (addr, _fillers, _listener) = saturated_listener().await;
    let started = Instant::now();
    let err = run(
        "net.tcp_connect",
        json!({"address": addr.to_string(), "timeout": "300ms"}),
        Duration::from_secs(10),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout, "{err:?}");
    assert!(
        err.message.contains("no answer within 300ms"),
        "{}",
        err.message
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the param timeout was honoured"
    );

    // Without a `timeout`, the deadline bounds the attempt.
    let budget = Duration::from_millis(500);
    let result = tokio::time::timeout(
        budget + Duration::from_millis(500),
        run(
            "net.tcp_connect",
            json!({"address": addr.to_string()}),
            budget,
        ),
    )
    .await
    .expect("ends by the deadline");
    assert_eq!(result.unwrap_err().kind, ErrorKind::Timeout);
}

#[tokio::test]
async fn bind_available_on_a_free_port_and_releases_it() {
    let port = closed_port();
    let out = run(
        "net.bind_available",
        json!({"address": format!("127.0.0.1:{port}")}),
        Duration::from_secs(5),
    )
    .await
    .expect("bindable");
    assert_eq!(out.value["bindable"], true);
    assert_eq!(out.value["ip"], "127.0.0.1");
    assert_eq!(out.value["port"], port);
    StdListener::bind(("127.0.0.1", port)).expect("the step released the port");
}

#[tokio::test]
async fn bind_available_port_in_use_is_rejected() {
    let held = StdListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    for address in [format!("127.0.0.1:{port}"), format!("0.0.0.0:{port}")] {
        let err = run(
            "net.bind_available",
            json!({ "address": address }),
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Rejected, "{address}: {err:?}");
        assert!(
            err.message
                .contains(&format!("port {port} is already in use")),
            "{}",
            err.message
        );
        assert!(err.hint.unwrap().contains("different ports"));
    }
}

#[tokio::test]
async fn bind_available_foreign_ip_is_misconfigured() {
    // 192.0.2.0/24 is TEST-NET-1: never an address of this host. Bind only, no traffic.
    let err = run(
        "net.bind_available",
        json!({"address": "192.0.2.1:4001"}),
        Duration::from_secs(5),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Misconfigured, "{err:?}");
    assert!(
        err.message
            .contains("`192.0.2.1` is not an address of this host"),
        "{}",
        err.message
    );
    assert!(err.hint.unwrap().contains("0.0.0.0"));
}

#[tokio::test]
async fn bind_available_bad_or_unresolvable_address_is_misconfigured() {
    for address in [
        "no-such-host.invalid:4001",
        "http://0.0.0.0:4000",
        "0.0.0.0",
    ] {
        let err = run(
            "net.bind_available",
            json!({ "address": address }),
            Duration::from_secs(10),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Misconfigured, "{address}: {err:?}");
    }
}

#[tokio::test]
async fn bind_available_privileged_port() {
    let is_root = is_root();
    let result = run(
        "net.bind_available",
        json!({"address": "127.0.0.1:1"}),
        Duration::from_secs(5),
    )
    .await;
    if is_root {
        // Root may bind low ports; port 1 (tcpmux) is essentially never in use.
        assert_eq!(result.expect("root binds port 1").value["bindable"], true);
    } else {
        let err = result.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Rejected, "{err:?}");
        assert!(err.hint.unwrap().contains("CAP_NET_BIND_SERVICE"));
    }
}
