//! Ctrl-C in the middle of a write workload on a real etcd: the run stops, cleanup runs, and
//! the store holds no key of the self-test and the same other keys as before.

use crate::common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{path, service};

/// Every key and value under `prefix`, as etcdctl prints them.
fn dump(etcdctl: &str, endpoint: &str, prefix: &str) -> String {
    let out = Command::new(etcdctl)
        .args(["--endpoints", endpoint, "get", "--prefix", prefix])
        .env("ETCDCTL_API", "3")
        .output()
        .expect("etcdctl runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn etcdctl(etcdctl: &str, endpoint: &str, args: &[&str]) {
    let status = Command::new(etcdctl)
        .args(["--endpoints", endpoint])
        .args(args)
        .env("ETCDCTL_API", "3")
        .stdout(Stdio::null())
        .status()
        .expect("etcdctl runs");
    assert!(status.success());
}

#[test]
fn ctrl_c_during_the_etcd_write_workload_leaves_nothing() {
    let (Some(endpoint), Some(ctl)) = (service("GST_ETCD_ENDPOINT"), service("GST_ETCDCTL")) else {
        return;
    };
    let _etcd = common::PLAIN_ETCD.blocking_read();
    let prefix = format!("gst-interrupt-{}/", std::process::id());
    // pre-existing metadata next to the self-test's namespace
    let existing = format!("{prefix}__greptime_metadata/table/1");
    etcdctl(&ctl, &endpoint, &["put", &existing, "value-\u{1}-bytes"]);
    let before = dump(&ctl, &endpoint, &prefix);

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("metasrv.toml");
    std::fs::write(
        &config,
        format!("backend = \"etcd_store\"\nstore_addrs = [\"{endpoint}\"]\nstore_key_prefix = \"{prefix}\"\n"),
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_greptime-self-test"))
        .args([
            "run",
            path("tests/fixtures/playbooks/etcd_long_probe.yaml")
                .to_str()
                .unwrap(),
        ])
        .args(["-c", config.to_str().unwrap(), "--output", "json"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // wait until the workload has written something, then interrupt it
    let started = Instant::now();
    while !dump(&ctl, &endpoint, &prefix).contains("__greptime_self_test") {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the workload never started writing"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    common::interrupt(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report written");
    assert_eq!(report["interrupted"], true);
    assert_eq!(report["checks"][0]["message"], "interrupted");

    let after = dump(&ctl, &endpoint, &prefix);
    assert!(
        !after.contains("__greptime_self_test"),
        "self-test keys left:\n{after}"
    );
    assert_eq!(after, before, "other keys changed");
    etcdctl(&ctl, &endpoint, &["del", &existing]);
}
