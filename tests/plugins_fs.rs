//! `fs.writable` on temporary directories; nothing may be left behind.

use std::path::Path;
use std::time::Duration;

use crate::common;

use common::steps::{is_root, run_cleanup, run_step, TestCx};
use greptime_self_test::config::Component;
use greptime_self_test::plugins::{CleanupRegistry, ErrorKind, StepError, StepOutput};
use serde_json::{json, Value};

/// Runs `fs.writable` against an empty datanode config, with undo actions going to `cleanup`.
async fn run(
    params: Value,
    read_only: bool,
    cleanup: &CleanupRegistry,
) -> Result<StepOutput, StepError> {
    let cx = TestCx::new(Component::Datanode, "fs-test-0001")
        .budget(Duration::from_secs(10))
        .read_only(read_only)
        .cleanup(cleanup)
        .build();
    run_step("fs.writable", params, &cx).await
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn existing_directory_is_probed_and_left_clean() {
    let tmp = tempfile::tempdir().unwrap();
    let cleanup = CleanupRegistry::default();
    let out = run(json!({"path": tmp.path()}), false, &cleanup)
        .await
        .expect("writable");
    let v = &out.value;
    assert_eq!(v["path"], tmp.path().display().to_string());
    assert_eq!(v["existed"], true);
    assert_eq!(v["created"], false);
    assert_eq!(v["probed"], true);
    for key in ["write_ms", "fsync_ms", "read_ms"] {
        assert!(v[key].as_f64().unwrap() >= 0.0, "{key}");
    }
    assert!(v["total_bytes"].as_u64().unwrap() > 0);
    assert!(v["free_bytes"].as_u64().unwrap() <= v["total_bytes"].as_u64().unwrap());

    assert!(
        entries(tmp.path()).is_empty(),
        "probe removed by the step itself"
    );
    assert_eq!(
        run_cleanup(&cleanup).await,
        1,
        "one undo action was registered"
    );
    assert!(
        tmp.path().is_dir(),
        "an existing directory is never removed"
    );
}

#[tokio::test]
async fn nested_directories_are_created_then_removed_by_cleanup() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("data/wal/raft");
    let cleanup = CleanupRegistry::default();
    let given = format!("{}/./data/wal/raft/", tmp.path().display());
    let out = run(json!({ "path": given }), false, &cleanup)
        .await
        .expect("writable");
    assert_eq!(out.value["path"], target.display().to_string());
    assert_eq!(out.value["existed"], false);
    assert_eq!(out.value["created"], true);
    assert!(target.is_dir(), "created for the check");
    assert!(entries(&target).is_empty(), "probe already removed");

    run_cleanup(&cleanup).await;
    assert!(
        entries(tmp.path()).is_empty(),
        "every created directory removed"
    );
}

#[tokio::test]
async fn cleanup_keeps_directories_that_gained_content() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("home/cache");
    let cleanup = CleanupRegistry::default();
    run(json!({"path": target}), false, &cleanup)
        .await
        .expect("writable");
    std::fs::write(tmp.path().join("home/keep.txt"), b"not ours").unwrap();

    run_cleanup(&cleanup).await;
    assert!(!target.exists(), "empty created directory removed");
    assert_eq!(
        entries(&tmp.path().join("home")),
        ["keep.txt"],
        "non-empty directory kept"
    );
}

#[tokio::test]
async fn cleanup_is_idempotent_when_things_are_already_gone() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("x/y");
    let cleanup = CleanupRegistry::default();
    run(json!({"path": target}), false, &cleanup)
        .await
        .expect("writable");
    std::fs::remove_dir_all(tmp.path().join("x")).unwrap();
    assert_eq!(
        run_cleanup(&cleanup).await,
        1,
        "undo succeeds with nothing left to remove"
    );
    assert!(entries(tmp.path()).is_empty());
}

#[tokio::test]
async fn missing_directory_without_create_is_misconfigured() {
    let tmp = tempfile::tempdir().unwrap();
    let cleanup = CleanupRegistry::default();
    let err = run(
        json!({"path": tmp.path().join("nope"), "create": false}),
        false,
        &cleanup,
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Misconfigured, "{err:?}");
    assert!(err.message.contains("does not exist"), "{}", err.message);
    assert!(entries(tmp.path()).is_empty());
}

#[tokio::test]
async fn a_file_where_a_directory_belongs_is_misconfigured() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("data_home");
    std::fs::write(&file, b"oops").unwrap();
    let cleanup = CleanupRegistry::default();

    let err = run(json!({ "path": file }), false, &cleanup)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Misconfigured, "{err:?}");
    assert!(
        err.message.contains("exists but is a file"),
        "{}",
        err.message
    );

    let err = run(json!({"path": file.join("wal")}), false, &cleanup)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Misconfigured, "{err:?}");
    assert!(err.message.contains("is a file"), "{}", err.message);

    run_cleanup(&cleanup).await;
    assert_eq!(
        entries(tmp.path()),
        ["data_home"],
        "nothing created, nothing removed"
    );
}

#[tokio::test]
async fn unwritable_directory_is_rejected_with_path_and_user() {
    let tmp = tempfile::tempdir().unwrap();
    // Root ignores mode bits, so as root use sysfs, which refuses new files even to root.
    let dir = if is_root() {
        Path::new("/sys").to_path_buf()
    } else {
        use std::os::unix::fs::PermissionsExt;
        let dir = tmp.path().join("locked");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        dir
    };
    let cleanup = CleanupRegistry::default();
    let err = run(json!({ "path": dir }), false, &cleanup)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Rejected, "{err:?}");
    assert!(
        err.message.contains(&dir.display().to_string()),
        "names the path: {}",
        err.message
    );
    if err.message.contains("permission denied") {
        assert!(
            err.message.contains("uid "),
            "names the user: {}",
            err.message
        );
        assert!(err.hint.unwrap().contains(&dir.display().to_string()));
    }

    // A directory that would have to be created below it is refused the same way.
    let err = run(
        json!({"path": dir.join("greptime-self-test-nope/wal")}),
        false,
        &cleanup,
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Rejected, "{err:?}");
    run_cleanup(&cleanup).await;
    assert!(!dir.join("greptime-self-test-nope").exists());
}

#[tokio::test]
async fn read_only_mode_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let cleanup = CleanupRegistry::default();

    let out = run(json!({"path": tmp.path()}), true, &cleanup)
        .await
        .expect("checked");
    assert_eq!(out.value["existed"], true);
    assert_eq!(out.value["probed"], false);
    assert!(out.value["total_bytes"].as_u64().unwrap() > 0);

    let missing = tmp.path().join("a/b");
    let out = run(json!({ "path": missing }), true, &cleanup)
        .await
        .expect("checked");
    assert_eq!(out.value["existed"], false);
    assert_eq!(out.value["created"], false);

    assert!(entries(tmp.path()).is_empty(), "nothing written or created");
    assert_eq!(cleanup.drain().len(), 0, "nothing to undo");
}

/// The `chown`/`chmod` lines printed for a directory GreptimeDB's user may not write, run as
/// printed (as root), make the check pass when rerun as that user. The tool runs as `nobody`
/// (setpriv), on a datanode config whose `storage.data_home` is a root-owned directory.
#[test]
fn printed_chown_fixes_an_unwritable_data_home() {
    if !is_root() {
        eprintln!("note: needs root to switch to `nobody`; skipped");
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI runs as root"
        );
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let home = tmp.path().join("greptimedb");
    std::fs::create_dir(&home).unwrap();
    let config = crate::common::datanode_config(
        tmp.path(),
        &format!("[storage]\ndata_home = {:?}\n", home.display().to_string()),
    );
    let as_nobody = || {
        let out = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(env!("CARGO_BIN_EXE_greptime-self-test"))
            .args([
                "datanode",
                "-c",
                config.to_str().unwrap(),
                "--output",
                "json",
            ])
            .current_dir(tmp.path())
            .env("NO_COLOR", "1")
            .output()
            .expect("setpriv runs");
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
        crate::common::checks(&report, "local_dir_writable")
            .into_iter()
            .find(|c| {
                c["message"].to_string().contains("data_home")
                    || c["title"].to_string().contains("data_home")
            })
            .cloned()
            .unwrap_or_else(|| panic!("no data_home check: {report}"))
    };

    let before = as_nobody();
    assert_eq!(before["status"], "fail", "{before}");
    let hint = before["hint"].as_str().unwrap_or_default().to_string();
    let fix = crate::common::hint_commands(&hint);
    let home_text = home.display().to_string();
    assert_eq!(
        fix,
        [
            format!("chown -R 65534:65534 {home_text}"),
            format!("chmod u+rwx {home_text}")
        ],
        "{hint}"
    );
    for command in &fix {
        let status = std::process::Command::new("sh")
            .args(["-c", command])
            .status()
            .unwrap();
        assert!(status.success(), "{command}");
    }
    let after = as_nobody();
    assert_eq!(after["status"], "pass", "{after}");
    assert_eq!(
        std::fs::read_dir(&home).unwrap().count(),
        0,
        "nothing left behind"
    );
}
