//! `metasrv.*` steps against stand-in metasrvs (`tests/support/metasrv_standin.rs`): real tonic
//! gRPC servers on loopback addresses that implement AskLeader, MetasrvPeers and Store.Range
//! from the crate's own protobuf contract, since no metasrv binary can be installed here.
//! Everything runs on 127.0.0.0/8 and ::1 only.
//!
//! "Leader advertised on a loopback address while this host reaches metasrv on another one" is
//! a Misconfigured error; proving it end to end needs a non-loopback address, so that verdict
//! is covered by the unit tests of `src/plugins/metasrv` (pure functions). Here the loopback
//! leader is tested as the single-host case allows: advertised on 127.0.0.1 at a closed port
//! while reached on 127.0.0.2, so it is reported loopback, the configuration is loopback too,
//! and the leader does not confirm.

use std::time::Duration;

use crate::common;
use crate::metasrv_standin as standin;

use common::steps::{black_hole, closed_port, run_step, step, TestCx};
use greptime_self_test::config::Component;
use greptime_self_test::plugins::answer::{AnswerDeadline, Silence};
use greptime_self_test::plugins::metasrv::proto::Role;
use greptime_self_test::plugins::{ErrorKind, StepError};
use serde_json::{json, Value};
use standin::{Answer, Behaviour, Received, StandIn};
use tokio::time::Instant;

/// Runs `name` with a 10 s budget (`run_step` checks a successful output against the output
/// schema).
async fn run(name: &str, params: Value) -> Result<Value, StepError> {
    let cx = TestCx::new(Component::Frontend, "metasrv-test")
        .budget(Duration::from_secs(10))
        .build();
    Ok(run_step(name, params, &cx).await?.value)
}

async fn run_ok(name: &str, params: Value) -> Value {
    run(name, params)
        .await
        .unwrap_or_else(|e| panic!("{name} failed: {} (hint: {:?})", e.message, e.hint))
}

async fn run_failing(name: &str, params: Value, kind: ErrorKind) -> StepError {
    match run(name, params).await {
        Ok(out) => panic!("{name}: expected {kind:?}, got {out}"),
        Err(e) => {
            assert_eq!(e.kind, kind, "{}: {:?}", e.message, e.hint);
            e
        }
    }
}

#[track_caller]
fn assert_contains(text: &str, needle: &str) {
    assert!(text.contains(needle), "`{needle}` expected in: {text}");
}

fn hint(e: &StepError) -> &str {
    e.hint.as_deref().unwrap_or("")
}

/// A leader and two followers naming it.
async fn healthy_cluster() -> (StandIn, StandIn, StandIn) {
    let leader = StandIn::start(Behaviour::leader()).await;
    let f1 = StandIn::start(Behaviour::follower(&leader.address)).await;
    let f2 = StandIn::start(Behaviour::follower(&leader.address)).await;
    (leader, f1, f2)
}

fn dead() -> String {
    format!("127.0.0.1:{}", closed_port())
}

#[test]
fn params_are_checked() {
    let ask = step("metasrv.ask_leader");
    assert!(ask
        .check_params(&json!({"address": "a:1", "role": "datanode", "member_id": 3}))
        .is_ok());
    assert!(ask
        .check_params(&json!({"address": "a:1", "role": "metasrv"}))
        .is_err());
    assert!(ask
        .check_params(&json!({"address": "a:1", "timeout": "3 parsecs"}))
        .is_err());
    assert!(step("metasrv.leader")
        .check_params(&json!({"addresses": ["a:1"], "connect_timeout": "500ms"}))
        .is_ok());
    assert!(step("metasrv.store_range")
        .check_params(&json!({"address": "a:1", "key": "__table"}))
        .is_ok());
}

#[tokio::test]
async fn ask_leader_on_leader_and_follower() {
    let (leader, f1, _f2) = healthy_cluster().await;
    let out = run_ok("metasrv.ask_leader", json!({"address": leader.address})).await;
    assert_eq!(out["leader_addr"], json!(leader.address));
    assert_eq!(out["names_itself"], json!(true));
    assert_eq!(out["leader_id"], json!(0));
    assert!(out["latency_ms"].as_f64().unwrap() >= 0.0);

    let out = run_ok(
        "metasrv.ask_leader",
        json!({"address": format!(" {} ", f1.address), "member_id": 7, "role": "datanode"}),
    )
    .await;
    assert_eq!(out["address"], json!(f1.address));
    assert_eq!(out["leader_addr"], json!(leader.address));
    assert_eq!(out["names_itself"], json!(false));

    // The request header is GreptimeDB's: protocol version 1, the given member id and role.
    let Received::AskLeader(request) = &f1.received()[0] else {
        panic!("not AskLeader: {:?}", f1.received());
    };
    let header = request.header.as_ref().expect("header");
    assert_eq!(header.protocol_version, 1);
    assert_eq!(header.member_id, 7);
    assert_eq!(header.role, Role::Datanode as i32);
    let Received::AskLeader(request) = &leader.received()[0] else {
        panic!("not AskLeader");
    };
    let header = request.header.as_ref().expect("header");
    assert_eq!(
        (header.member_id, header.role),
        (0, Role::Frontend as i32),
        "default member id 0, role FRONTEND"
    );
}

#[tokio::test]
async fn ask_leader_over_ipv6_loopback() {
    let leader = StandIn::start_on("::1", Behaviour::leader()).await;
    assert!(leader.address.starts_with("[::1]:"), "{}", leader.address);
    let out = run_ok("metasrv.ask_leader", json!({"address": leader.address})).await;
    assert_eq!(out["leader_addr"], json!(leader.address));
}

#[tokio::test]
async fn all_healthy_agree_and_the_leader_confirms() {
    let (leader, f1, f2) = healthy_cluster().await;
    let out = run_ok(
        "metasrv.leader",
        json!({"addresses": [f1.address, leader.address, f2.address, ""]}),
    )
    .await;
    assert_eq!(out["agree"], json!(true), "{out}");
    assert_eq!(out["leaders"], json!([leader.address]));
    assert_eq!(out["leader"], json!(leader.address));
    assert_eq!(
        (out["answered"].clone(), out["failed"].clone()),
        (json!(3), json!(0))
    );
    assert_eq!(out["leader_confirms"], json!(true));
    assert_eq!(out["leader_error"], Value::Null);
    assert_eq!(out["leader_is_loopback"], json!(true));
    assert_eq!(out["configured_loopback"], json!(true));
    let addresses = out["addresses"].as_array().unwrap();
    assert_eq!(addresses.len(), 3, "the empty entry is dropped");
    assert_eq!(addresses[0]["address"], json!(f1.address));
    assert!(addresses.iter().all(|a| a["ok"] == json!(true)));
    // The leader is among the addresses and named itself: not asked a second time.
    assert_eq!(leader.received().len(), 1);
}

#[tokio::test]
async fn the_leader_is_asked_at_its_advertised_address_when_not_configured() {
    let (leader, f1, f2) = healthy_cluster().await;
    let out = run_ok(
        "metasrv.leader",
        json!({"addresses": [f1.address, f2.address]}),
    )
    .await;
    assert_eq!(out["leader"], json!(leader.address));
    assert_eq!(out["leader_confirms"], json!(true), "{out}");
    assert_eq!(
        leader.received().len(),
        1,
        "confirmation asked the leader once"
    );
}

#[tokio::test]
async fn one_dead_address_is_reported_not_fatal() {
    let (leader, f1, _f2) = healthy_cluster().await;
    let dead = dead();
    let out = run_ok(
        "metasrv.leader",
        json!({"addresses": [leader.address, f1.address, dead]}),
    )
    .await;
    assert_eq!(out["agree"], json!(true));
    assert_eq!(
        (out["answered"].clone(), out["failed"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(out["leader_confirms"], json!(true));
    let failed = &out["addresses"][2];
    assert_eq!(failed["ok"], json!(false));
    assert_eq!(failed["error_kind"], json!("Unreachable"));
    assert_contains(failed["error"].as_str().unwrap(), "connection refused");
    assert_contains(
        failed["error_hint"].as_str().unwrap(),
        "meta_client.metasrv_addrs",
    );

    // The same address alone, through metasrv.ask_leader.
    let e = run_failing(
        "metasrv.ask_leader",
        json!({"address": dead}),
        ErrorKind::Unreachable,
    )
    .await;
    assert_contains(&e.message, &dead);
    assert_contains(hint(&e), "meta_client.metasrv_addrs");
}

#[tokio::test]
async fn a_dead_address_whose_peers_name_the_leader_is_reported_not_failed() {
    // GreptimeDB's meta client asks every address, takes the first leader named and only logs
    // `Failed to ask leader from: <addr>` for the others (src/meta-client/src/client/
    // ask_leader.rs); a frontend with one live and one dead address starts (greptimedb.md §10).
    let (leader, f1, _f2) = healthy_cluster().await;
    let dead = dead();
    let out = run_ok(
        "metasrv.ask_leader",
        json!({"address": dead, "peers": [dead, f1.address]}),
    )
    .await;
    assert_eq!(out["ok"], json!(false), "{out}");
    assert_eq!(out["error_kind"], json!("Unreachable"));
    assert_contains(out["error"].as_str().unwrap(), "connection refused");
    assert_eq!(out["answered_by"], json!(f1.address));
    assert_eq!(out["peer_leader"], json!(leader.address));
    assert_eq!(out["leader_addr"], Value::Null);

    // An address that answers without a leader is skipped the same way (`No leader from`).
    let leaderless = StandIn::start(Behaviour::no_leader(Answer::NoLeaderEmpty)).await;
    let out = run_ok(
        "metasrv.ask_leader",
        json!({"address": leaderless.address, "peers": [leader.address]}),
    )
    .await;
    assert_eq!(
        (out["ok"].clone(), out["error_kind"].clone()),
        (json!(false), json!("Rejected"))
    );

    // A live address is asked alone: its peers are not asked.
    let out = run_ok(
        "metasrv.ask_leader",
        json!({"address": f1.address, "peers": [f1.address, leader.address]}),
    )
    .await;
    assert_eq!(out["ok"], json!(true));
    assert_eq!(
        leader.received().len(),
        1,
        "only the leaderless case asked the leader"
    );
}

#[tokio::test]
async fn a_dead_address_fails_when_no_peer_names_a_leader() {
    // Nothing names a leader: the meta client gives up after its retries and the frontend exits
    // (ask_leader.rs, greptimedb.md §10 "frontend → every address dead").
    let (one, two) = (dead(), dead());
    let leaderless = StandIn::start(Behaviour::no_leader(Answer::NoLeaderStatus)).await;
    let e = run_failing(
        "metasrv.ask_leader",
        json!({"address": one, "peers": [one, two, leaderless.address]}),
        ErrorKind::Unreachable,
    )
    .await;
    assert_contains(&e.message, &one);
    assert_contains(hint(&e), "No other entry of `meta_client.metasrv_addrs`");
    assert_contains(hint(&e), "exits at start-up");
}

#[tokio::test]
async fn an_entry_greptimedb_cannot_make_a_channel_for_fails_even_with_live_peers() {
    // `create_asker(addr)?` in ask_leader.rs ends the whole AskLeader when the channel for one
    // entry cannot be built (`Endpoint::new("http://<entry>")`,
    // src/common/grpc/src/channel_manager.rs).
    let leader = StandIn::start(Behaviour::leader()).await;
    let e = run_failing(
        "metasrv.ask_leader",
        json!({"address": "meta srv:3002", "peers": ["meta srv:3002", leader.address]}),
        ErrorKind::Misconfigured,
    )
    .await;
    assert_contains(hint(&e), "meta_client.metasrv_addrs");
    assert!(leader.received().is_empty());
}

#[tokio::test]
async fn all_dead_fails_at_once() {
    let addresses = [dead(), dead(), dead()];
    let started = Instant::now();
    let e = run_failing(
        "metasrv.leader",
        json!({"addresses": addresses, "timeout": "1s"}),
        ErrorKind::Unreachable,
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_contains(&e.message, "3 of 3");
    for address in &addresses {
        assert_contains(&e.message, address);
    }
    assert_contains(hint(&e), "meta_client.metasrv_addrs");
}

#[tokio::test]
async fn all_slow_ends_within_about_one_timeout() {
    let slow = Duration::from_secs(5);
    let a = StandIn::start(Behaviour::leader().slow(slow)).await;
    let b = StandIn::start(Behaviour::follower(&a.address).slow(slow)).await;
    let c = StandIn::start(Behaviour::follower(&a.address).slow(slow)).await;
    let timeout = Duration::from_millis(800);
    let started = Instant::now();
    let e = run_failing(
        "metasrv.leader",
        json!({"addresses": [a.address, b.address, c.address], "timeout": "800ms"}),
        ErrorKind::Timeout,
    )
    .await;
    let elapsed = started.elapsed();
    assert!(
        elapsed >= timeout && elapsed < 2 * timeout,
        "took {elapsed:?}, not about one timeout of {timeout:?}: the addresses were not asked concurrently"
    );
    assert_contains(&e.message, "3 of 3");
    assert_contains(hint(&e), "meta_client.timeout");
}

#[tokio::test]
async fn slow_answer_beyond_the_timeout_is_a_timeout() {
    let slow = StandIn::start(Behaviour::leader().slow(Duration::from_secs(5))).await;
    let started = Instant::now();
    let e = run_failing(
        "metasrv.ask_leader",
        json!({"address": slow.address, "timeout": "500ms"}),
        ErrorKind::Timeout,
    )
    .await;
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(500) && elapsed < Duration::from_millis(1000),
        "{elapsed:?}"
    );
    assert_contains(
        &e.message,
        "sent no answer to Heartbeat.AskLeader within 500ms (`meta_client.timeout`, \
         GreptimeDB's own limit)",
    );
    assert_eq!(e.silence, Some(Silence::AcceptedSilent));

    // A slow answer within the timeout is fine.
    let lagging = StandIn::start(Behaviour::leader().slow(Duration::from_millis(200))).await;
    let out = run_ok(
        "metasrv.ask_leader",
        json!({"address": lagging.address, "timeout": "2s"}),
    )
    .await;
    assert!(out["latency_ms"].as_f64().unwrap() >= 200.0, "{out}");
}

#[tokio::test]
async fn followers_disagreeing_is_data() {
    let leader = StandIn::start(Behaviour::leader()).await;
    let other = StandIn::start(Behaviour::leader()).await;
    let f1 = StandIn::start(Behaviour::follower(&leader.address)).await;
    let f2 = StandIn::start(Behaviour::follower(&other.address)).await;
    let out = run_ok(
        "metasrv.leader",
        json!({"addresses": [f1.address, f2.address]}),
    )
    .await;
    assert_eq!(out["agree"], json!(false));
    assert_eq!(out["leaders"], json!([leader.address, other.address]));
    assert_eq!(out["leader"], Value::Null);
    assert_eq!(out["answered"], json!(2));
    assert_eq!(out["leader_confirms"], json!(false));
    assert_contains(out["leader_error"].as_str().unwrap(), "2 different leaders");
}

#[tokio::test]
async fn a_leader_naming_another_does_not_confirm() {
    // The followers name `stale`, which itself names `leader`: the election moved.
    let leader = StandIn::start(Behaviour::leader()).await;
    let stale = StandIn::start(Behaviour::follower(&leader.address)).await;
    let f1 = StandIn::start(Behaviour::follower(&stale.address)).await;
    let out = run_ok("metasrv.leader", json!({"addresses": [f1.address]})).await;
    assert_eq!(out["leader"], json!(stale.address));
    assert_eq!(out["leader_confirms"], json!(false));
    assert_eq!(out["leader_error_kind"], json!("Rejected"));
    assert_contains(
        out["leader_error"].as_str().unwrap(),
        &format!("names {} as leader", leader.address),
    );
}

#[tokio::test]
async fn leader_advertised_on_an_unreachable_loopback_address() {
    // Reached on 127.0.0.2, the leader advertises 127.0.0.1 at a port where nothing listens:
    // what a metasrv with `grpc.server_addr = "127.0.0.1:3002"` looks like from elsewhere.
    let advertised = dead();
    let leader = StandIn::start_on("127.0.0.2", Behaviour::leader().advertise(&advertised)).await;
    let follower = StandIn::start_on("127.0.0.2", Behaviour::follower(&advertised)).await;
    let out = run_ok(
        "metasrv.leader",
        json!({"addresses": [leader.address, follower.address]}),
    )
    .await;
    assert_eq!(out["agree"], json!(true));
    assert_eq!(out["leader"], json!(advertised));
    assert_eq!(out["leader_is_loopback"], json!(true));
    assert_eq!(out["configured_loopback"], json!(true));
    assert_eq!(out["leader_confirms"], json!(false));
    assert_eq!(out["leader_error_kind"], json!("Unreachable"));
    assert_contains(out["leader_error"].as_str().unwrap(), "connection refused");
    assert_contains(
        out["leader_error_hint"].as_str().unwrap(),
        "`grpc.server_addr`",
    );
}

#[tokio::test]
async fn localhost_addresses_count_as_loopback() {
    let leader = StandIn::start(Behaviour::leader()).await;
    let via_name = format!("localhost:{}", leader.addr.port());
    let out = run_ok("metasrv.leader", json!({"addresses": [via_name]})).await;
    assert_eq!(out["configured_loopback"], json!(true));
    assert_eq!(out["leader"], json!(leader.address));
    assert_eq!(out["leader_confirms"], json!(true), "{out}");
}

#[tokio::test]
async fn no_leader_elected_is_rejected() {
    for answer in [
        Answer::NoLeaderHeader,
        Answer::NoLeaderEmpty,
        Answer::NoLeaderStatus,
    ] {
        let metasrv = StandIn::start(Behaviour::no_leader(answer.clone())).await;
        let e = run_failing(
            "metasrv.ask_leader",
            json!({"address": metasrv.address}),
            ErrorKind::Rejected,
        )
        .await;
        assert_contains(&e.message, &metasrv.address);
        match answer {
            Answer::NoLeaderHeader => {
                assert_contains(&e.message, "reports no leader: NotLeader (code 2)")
            }
            Answer::NoLeaderEmpty => assert_contains(&e.message, "the election has no leader"),
            // GreptimeDB masks internal errors (ElectionNoLeader) as `Internal error: 1003`
            // (`output_msg`, src/common/error/src/ext.rs).
            _ => assert_contains(&e.message, "Internal error: 1003"),
        }
        assert_contains(hint(&e), "store_addrs");
    }

    let a = StandIn::start(Behaviour::no_leader(Answer::NoLeaderEmpty)).await;
    let b = StandIn::start(Behaviour::no_leader(Answer::NoLeaderStatus)).await;
    let e = run_failing(
        "metasrv.leader",
        json!({"addresses": [a.address, b.address]}),
        ErrorKind::Rejected,
    )
    .await;
    assert_contains(&e.message, "no metasrv names a leader (2 of 2");
    assert_contains(hint(&e), "election");
}

#[tokio::test]
async fn what_is_not_a_metasrv_is_rejected() {
    // A gRPC server without the Heartbeat service (a frontend or datanode port).
    let grpc = StandIn::start(Behaviour::leader().without_heartbeat()).await;
    let e = run_failing(
        "metasrv.ask_leader",
        json!({"address": grpc.address}),
        ErrorKind::Rejected,
    )
    .await;
    assert_contains(&e.message, "Unimplemented");
    assert_contains(hint(&e), "3002");

    // An HTTP/1 server (metasrv's HTTP port, 4000).
    let (http, _guard) = standin::http1_server().await;
    let e = run_failing(
        "metasrv.ask_leader",
        json!({"address": http}),
        ErrorKind::Rejected,
    )
    .await;
    assert_contains(hint(&e), "meta_client.metasrv_addrs");

    // Something that accepts connections and never answers.
    let (silent, _guard) = standin::silent_server().await;
    let e = run_failing(
        "metasrv.ask_leader",
        json!({"address": silent, "timeout": "300ms", "connect_timeout": "300ms"}),
        ErrorKind::Timeout,
    )
    .await;
    assert_contains(&e.message, &silent);
}

#[tokio::test]
async fn unusable_addresses_are_misconfigured() {
    let e = run_failing(
        "metasrv.ask_leader",
        json!({"address": "http://127.0.0.1:3002"}),
        ErrorKind::Misconfigured,
    )
    .await;
    assert_contains(hint(&e), "meta_client.metasrv_addrs");
    let e = run_failing(
        "metasrv.leader",
        json!({"addresses": [" ", ""]}),
        ErrorKind::Misconfigured,
    )
    .await;
    assert_contains(hint(&e), "meta_client.metasrv_addrs");
}

#[tokio::test]
async fn a_deadline_shorter_than_the_timeout_bounds_the_call() {
    let slow = StandIn::start(Behaviour::leader().slow(Duration::from_secs(5))).await;
    let cx = TestCx::new(Component::Frontend, "metasrv-test")
        .budget(Duration::from_millis(300))
        .build();
    let started = Instant::now();
    let e = run_step(
        "metasrv.ask_leader",
        json!({"address": slow.address, "timeout": "3s"}),
        &cx,
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout);
    assert_contains(&e.message, "what is left of the check's `timeout`");
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn peers_lists_leader_and_followers() {
    let leader =
        StandIn::start(Behaviour::leader().followers(&["10.0.0.12:3002", "10.0.0.13:3002"])).await;
    let out = run_ok("metasrv.peers", json!({"address": leader.address})).await;
    assert_eq!(out["leader"]["addr"], json!(leader.address));
    assert_eq!(out["leader"]["version"], json!("v1.0.0-standin"));
    assert_eq!(out["leader"]["hostname"], json!("standin"));
    assert_eq!(out["leader_is_address"], json!(true));
    assert_eq!(out["follower_count"], json!(2));
    let followers: Vec<&str> = out["followers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["addr"].as_str().unwrap())
        .collect();
    assert_eq!(followers, ["10.0.0.12:3002", "10.0.0.13:3002"]);
    let Received::MetasrvPeers(request) = &leader.received()[0] else {
        panic!("not MetasrvPeers");
    };
    assert_eq!(request.header.as_ref().unwrap().protocol_version, 1);

    // A follower refuses with NotLeader.
    let follower = StandIn::start(Behaviour::follower(&leader.address)).await;
    let e = run_failing(
        "metasrv.peers",
        json!({"address": follower.address}),
        ErrorKind::Rejected,
    )
    .await;
    assert_contains(&e.message, "NotLeader (code 2)");
    assert_contains(hint(&e), "metasrv.leader");

    let e = run_failing(
        "metasrv.peers",
        json!({"address": dead()}),
        ErrorKind::Unreachable,
    )
    .await;
    assert_contains(&e.message, "connection refused");
}

#[tokio::test]
async fn store_range_reads_one_key_without_its_value() {
    let metasrv = StandIn::start(Behaviour::leader().keys(&["__a", "__b", "__c"])).await;
    // The stand-in is backed like an etcd metasrv: it refuses an empty key as GreptimeDB does
    // (kv_backend/etcd.rs, greptimedb.md §10), so this passes only with a non-empty key.
    let out = run_ok("metasrv.store_range", json!({"address": metasrv.address})).await;
    assert_eq!(out["kvs"], json!(1));
    assert_eq!(out["more"], json!(true));
    assert_eq!(out["key"], Value::Null);
    let Received::Range(request) = &metasrv.received()[0] else {
        panic!("not Range");
    };
    // `\0`..`\0`: every key (`to_range`, src/common/meta/src/rpc/store.rs).
    assert_eq!(request.key, [0]);
    assert_eq!(request.range_end, [0]);
    assert_eq!(request.limit, 1);
    assert!(request.keys_only);
    assert_eq!(request.header.as_ref().unwrap().protocol_version, 1);

    let out = run_ok(
        "metasrv.store_range",
        json!({"address": metasrv.address, "key": "__c"}),
    )
    .await;
    assert_eq!(
        (out["kvs"].clone(), out["more"].clone()),
        (json!(1), json!(false))
    );
    let out = run_ok(
        "metasrv.store_range",
        json!({"address": metasrv.address, "key": "__d"}),
    )
    .await;
    assert_eq!(out["kvs"], json!(0));

    // A follower serves Store requests too.
    let follower = StandIn::start(Behaviour::follower(&metasrv.address)).await;
    let out = run_ok("metasrv.store_range", json!({"address": follower.address})).await;
    assert_eq!(out["kvs"], json!(1));
}

#[tokio::test]
async fn store_range_with_a_broken_backend_is_rejected() {
    // A failing etcd is `EtcdFailed`, an internal error: metasrv answers a gRPC status whose
    // message is masked (`Internal error: 1003`, src/common/error/src/ext.rs) with the status
    // code in `x-greptime-err-code` (src/common/error/src/status_code.rs).
    let metasrv = StandIn::start(Behaviour::leader().broken_backend()).await;
    let e = run_failing(
        "metasrv.store_range",
        json!({"address": metasrv.address}),
        ErrorKind::Rejected,
    )
    .await;
    assert_contains(&e.message, "cannot read its metadata backend");
    assert_contains(
        &e.message,
        "Internal, GreptimeDB status 1003: Internal error: 1003",
    );
    assert_contains(hint(&e), "store_addrs");
}

#[tokio::test]
async fn an_empty_key_is_refused_as_an_etcd_backed_metasrv_refuses_it() {
    use greptime_self_test::plugins::metasrv::proto::store_client::StoreClient;
    use greptime_self_test::plugins::metasrv::proto::RangeRequest;

    // The stand-in enforces GreptimeDB's rule (kv_backend/etcd.rs: EmptyKey, status code
    // InvalidArguments 1004 → tonic InvalidArgument; greptimedb.md §10).
    let metasrv = StandIn::start(Behaviour::leader()).await;
    let mut client = StoreClient::connect(format!("http://{}", metasrv.address))
        .await
        .unwrap();
    let empty = RangeRequest {
        header: None,
        key: Vec::new(),
        range_end: vec![0],
        limit: 1,
        keys_only: true,
    };
    let status = client.range(empty.clone()).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(status.message(), "Empty key is not allowed");
    assert_eq!(
        status.metadata().get("x-greptime-err-code").unwrap(),
        "1004"
    );

    // The step does not send an empty key: a `key: ""` is refused before anything is sent.
    let e = run_failing(
        "metasrv.store_range",
        json!({"address": metasrv.address, "key": ""}),
        ErrorKind::Misconfigured,
    )
    .await;
    assert_contains(&e.message, "Empty key is not allowed");
    assert_eq!(
        metasrv.received().len(),
        1,
        "only the raw request above reached it"
    );

    // A backend that takes an empty key (PostgreSQL, MySQL, or etcd under a store_key_prefix):
    // the default request reads there too.
    let sql = StandIn::start(Behaviour::leader().empty_key_allowed()).await;
    assert!(client_range_ok(&sql.address, empty).await);
    let out = run_ok("metasrv.store_range", json!({"address": sql.address})).await;
    assert_eq!(out["kvs"], json!(1));
}

/// Whether a raw Store.Range succeeds at `address`.
async fn client_range_ok(
    address: &str,
    request: greptime_self_test::plugins::metasrv::proto::RangeRequest,
) -> bool {
    use greptime_self_test::plugins::metasrv::proto::store_client::StoreClient;
    let mut client = StoreClient::connect(format!("http://{address}"))
        .await
        .unwrap();
    client.range(request).await.is_ok()
}

// ------------------------------------------------------------- silent metasrvs

/// Runs `name` with a 15 s budget and a first-answer deadline of `answer`; returns the result
/// and the step's time.
async fn run_answering(
    name: &str,
    params: Value,
    answer: Option<Duration>,
) -> (Result<Value, StepError>, Duration) {
    let mut cx = TestCx::new(Component::Frontend, "metasrv-test")
        .budget(Duration::from_secs(15))
        .build();
    if let Some(answer) = answer {
        cx = cx.with_answer(AnswerDeadline::from_run(answer));
    }
    let started = Instant::now();
    let result = run_step(name, params, &cx).await.map(|out| out.value);
    (result, started.elapsed())
}

/// Asserts the step was judged within `limit` plus the slack a loaded test host needs.
#[track_caller]
fn within(took: Duration, limit: Duration, what: &str) {
    let bound = limit + Duration::from_millis(1500);
    assert!(took <= bound, "{what}: took {took:?}, more than {bound:?}");
}

#[track_caller]
fn expect_timeout(result: Result<Value, StepError>) -> StepError {
    match result {
        Ok(out) => panic!("expected a timeout, got {out}"),
        Err(e) => {
            assert_eq!(e.kind, ErrorKind::Timeout, "{}: {:?}", e.message, e.hint);
            e
        }
    }
}

/// A port that takes the connection and never answers, for every metasrv step: judged
/// accepted-but-silent within the first-answer deadline (1 s, below `meta_client.timeout`),
/// naming the address, the deadline and what GreptimeDB's meta client does.
#[tokio::test]
async fn silent_metasrv_is_accepted_silent_within_the_deadline() {
    let (silent, _guard) = standin::silent_server().await;
    for (name, params, says) in [
        (
            "metasrv.ask_leader",
            json!({"address": silent}),
            "`HEARTBEAT_TIMEOUT`",
        ),
        (
            "metasrv.leader",
            json!({"addresses": [silent]}),
            "`HEARTBEAT_TIMEOUT`",
        ),
        (
            "metasrv.peers",
            json!({"address": silent}),
            "`meta_client.timeout` = 3s",
        ),
        (
            "metasrv.store_range",
            json!({"address": silent}),
            "`meta_client.timeout` = 3s",
        ),
    ] {
        let (result, took) = run_answering(name, params, Some(Duration::from_secs(1))).await;
        let e = expect_timeout(result);
        within(took, Duration::from_secs(1), name);
        assert_eq!(
            e.silence,
            Some(Silence::AcceptedSilent),
            "{name}: {}",
            e.message
        );
        assert_contains(
            &e.message,
            &format!("metasrv at {silent} accepted the connection but sent no answer"),
        );
        assert_contains(&e.message, "within 1s (`--answer-timeout`)");
        assert_contains(hint(&e), says);
    }
}

/// A smaller `meta_client.timeout` caps the default first-answer deadline (5 s), and the
/// message names it as the limit.
#[tokio::test]
async fn a_smaller_meta_client_timeout_caps_the_deadline() {
    let (silent, _guard) = standin::silent_server().await;
    let (result, took) = run_answering(
        "metasrv.store_range",
        json!({"address": silent, "timeout": "400ms"}),
        None,
    )
    .await;
    let e = expect_timeout(result);
    within(
        took,
        Duration::from_millis(400),
        "meta_client.timeout = 400ms",
    );
    assert_contains(
        &e.message,
        "within 400ms (`meta_client.timeout`, GreptimeDB's own limit)",
    );
    assert_eq!(e.silence, Some(Silence::AcceptedSilent));
}

/// A metasrv address whose SYNs are dropped: black-holed within `meta_client.connect_timeout`
/// (GreptimeDB gives up connecting after it), which the message names as the limit.
#[tokio::test]
async fn black_holed_metasrv_is_judged_within_connect_timeout() {
    let hole = black_hole().await;
    let (result, took) = run_answering(
        "metasrv.ask_leader",
        json!({"address": hole.addr, "connect_timeout": "500ms"}),
        None,
    )
    .await;
    let e = expect_timeout(result);
    within(took, Duration::from_millis(500), "black-holed");
    assert_eq!(e.silence, Some(Silence::BlackHoled), "{}", e.message);
    assert_contains(
        &e.message,
        &format!(
            "metasrv at {} did not answer the TCP connection within 500ms \
             (`meta_client.connect_timeout`, GreptimeDB's own limit): black-holed",
            hole.addr
        ),
    );
    assert_contains(
        hint(&e),
        "`meta_client.connect_timeout` = 500ms: GreptimeDB's meta client gives up connecting after 500ms",
    );
    assert_contains(hint(&e), "meta_client.metasrv_addrs");

    // The default `connect_timeout` (1s) caps the default deadline (5s).
    let (result, took) =
        run_answering("metasrv.ask_leader", json!({"address": hole.addr}), None).await;
    let e = expect_timeout(result);
    within(
        took,
        Duration::from_secs(1),
        "black-holed, default connect_timeout",
    );
    assert_contains(&e.message, "within 1s (`meta_client.connect_timeout`");
}

/// A closed port is refused at once, and the report says so.
#[tokio::test]
async fn refused_metasrv_is_named_refused() {
    let dead = dead();
    let (result, took) = run_answering("metasrv.ask_leader", json!({"address": dead}), None).await;
    assert!(took < Duration::from_secs(1), "took {took:?}");
    let e = result.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unreachable);
    assert_eq!(e.silence, Some(Silence::Refused));
}

/// Three silent or black-holed `meta_client.metasrv_addrs` entries: asked at once, judged in
/// about one deadline, each named with its silence.
#[tokio::test]
async fn three_dead_addresses_are_judged_within_one_deadline() {
    let holes = [black_hole().await, black_hole().await, black_hole().await];
    let addresses: Vec<&str> = holes.iter().map(|h| h.addr.as_str()).collect();
    let (result, took) = run_answering(
        "metasrv.leader",
        json!({"addresses": addresses}),
        Some(Duration::from_secs(1)),
    )
    .await;
    let e = expect_timeout(result);
    within(took, Duration::from_secs(1), "three black-holed");
    assert_eq!(e.silence, Some(Silence::BlackHoled), "{}", e.message);
    assert_contains(&e.message, "3 of 3");
    for address in &addresses {
        assert_contains(&e.message, address);
    }

    // ask_leader with its peers: the entry and its peers are asked together.
    let (s1, _g1) = standin::silent_server().await;
    let (s2, _g2) = standin::silent_server().await;
    let (result, took) = run_answering(
        "metasrv.ask_leader",
        json!({"address": s1, "peers": [s1, s2, addresses[0]]}),
        Some(Duration::from_secs(1)),
    )
    .await;
    let e = expect_timeout(result);
    within(took, Duration::from_secs(1), "ask_leader with dead peers");
    assert_contains(&e.message, &s1);
    assert_contains(hint(&e), "No other entry");
}

/// One silent entry among live ones in `metasrv.leader`: reported as data with its silence,
/// within one deadline.
#[tokio::test]
async fn a_silent_address_among_live_ones_is_reported_with_its_silence() {
    let (leader, f1, _f2) = healthy_cluster().await;
    let (silent, _guard) = standin::silent_server().await;
    let (result, took) = run_answering(
        "metasrv.leader",
        json!({"addresses": [leader.address, silent, f1.address]}),
        Some(Duration::from_secs(1)),
    )
    .await;
    within(took, Duration::from_secs(1), "silent among live");
    let out = result.expect("the live ones name the leader");
    assert_eq!(out["failed"], 1, "{out}");
    assert_eq!(out["addresses"][1]["no_answer"], "accepted_silent", "{out}");
    assert_eq!(out["addresses"][0]["no_answer"], Value::Null, "{out}");
}
