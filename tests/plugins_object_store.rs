//! `object_store.probe` against real servers started by `scripts/services.sh`: SeaweedFS S3
//! (SigV4, per-identity permissions), Azurite (shared key and a read-only SAS) and
//! fake-gcs-server, plus File stores on local directories. Every scenario lists what is under
//! its own root with an admin credential before and after, and finds the pre-existing objects
//! untouched and no self-test object left.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::common;

use common::steps::{
    assert_example_parses, assert_matches_output_schema, closed_port, run_cleanup, run_step, TestCx,
};
use futures::TryStreamExt;
use greptime_self_test::config::Component;
use greptime_self_test::plugins::object_store::{probe_with, BuildOptions, ProbeParams};
use greptime_self_test::plugins::{CleanupRegistry, ErrorKind, StepError, StepOutput};
use opendal::services::{Azblob, Gcs, S3};
use opendal::Operator;
use serde_json::{json, Value};

fn unique(tag: &str) -> String {
    format!(
        "gst-{tag}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

fn cx(read_only: bool, cleanup: &CleanupRegistry) -> greptime_self_test::plugins::StepCx {
    TestCx::new(Component::Datanode, &unique("run"))
        .budget(Duration::from_secs(60))
        .read_only(read_only)
        .cleanup(cleanup)
        .build()
}

async fn probe(
    params: Value,
    read_only: bool,
    cleanup: &CleanupRegistry,
) -> Result<StepOutput, StepError> {
    run_step("object_store.probe", params, &cx(read_only, cleanup)).await
}

/// Every object under `root` (path relative to the operator root → bytes).
async fn snapshot(op: &Operator) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut lister = op
        .lister_with("/")
        .recursive(true)
        .await
        .expect("admin list");
    while let Some(entry) = lister.try_next().await.expect("admin list") {
        if entry.metadata().is_file() {
            let bytes = op.read(entry.path()).await.expect("admin read").to_vec();
            out.insert(entry.path().to_string(), bytes);
        }
    }
    out
}

fn install_ring() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// An admin S3 operator rooted at `root`, plus the S3 store table for `key`/`secret`.
fn s3(root: &str, key: &str, secret: &str) -> Option<(Operator, Value)> {
    let endpoint = env("GST_S3_ENDPOINT")?;
    let bucket = env("GST_S3_BUCKET")?;
    let region = env("GST_S3_REGION")?;
    let admin_key = env("GST_S3_ADMIN_KEY")?;
    let admin_secret = env("GST_S3_ADMIN_SECRET")?;
    install_ring();
    let admin = Operator::new(
        S3::default()
            .root(root)
            .bucket(&bucket)
            .endpoint(&endpoint)
            .region(&region)
            .access_key_id(&admin_key)
            .secret_access_key(&admin_secret),
    )
    .unwrap()
    .finish();
    let store = json!({
        "type": "S3", "bucket": bucket, "root": root, "endpoint": endpoint, "region": region,
        "access_key_id": key, "secret_access_key": secret,
        "enable_read_cache": true, "cache_capacity": "1GiB",
    });
    Some((admin, store))
}

fn env(name: &str) -> Option<String> {
    common::service(name)
}

/// Seeds a pre-existing object under `root` and returns the snapshot.
async fn seed(admin: &Operator) -> BTreeMap<String, Vec<u8>> {
    admin
        .write("pre-existing/object.txt", b"do not touch me".to_vec())
        .await
        .expect("admin write");
    let before = snapshot(admin).await;
    assert_eq!(before.len(), 1);
    before
}

async fn assert_untouched(admin: &Operator, before: &BTreeMap<String, Vec<u8>>) {
    let after = snapshot(admin).await;
    assert_eq!(
        &after, before,
        "pre-existing objects untouched, nothing left"
    );
    assert!(after.keys().all(|k| !k.contains(".greptime-self-test")));
}

async fn wipe(admin: &Operator) {
    admin.delete_with("/").recursive(true).await.ok();
}

#[test]
fn example_parses_into_params() {
    let step = assert_example_parses("object_store.probe");
    assert!(step
        .check_params(&json!({"store": {"type": "S3", "bucket": "b", "bukcet": "x"}}))
        .is_err());
    assert!(step
        .check_params(&json!({"store": {"type": "File"}, "data_home": "/x"}))
        .is_ok());
}

#[tokio::test]
async fn s3_healthy_passes_and_leaves_nothing() {
    let (Some(key), Some(secret)) = (env("GST_S3_RW_KEY"), env("GST_S3_RW_SECRET")) else {
        return;
    };
    let root = unique("s3ok");
    let Some((admin, store)) = s3(&root, &key, &secret) else {
        return;
    };
    let before = seed(&admin).await;
    let cleanup = CleanupRegistry::default();
    let out = probe(
        json!({"store": store, "http_client": {"timeout": "20s"}}),
        false,
        &cleanup,
    )
    .await
    .expect("healthy S3");
    let v = &out.value;
    assert_matches_output_schema("object_store.probe", v);
    let ops: Vec<&str> = v["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["op"].as_str().unwrap())
        .collect();
    assert_eq!(
        ops,
        [
            "list_root",
            "list_probe_dir",
            "write",
            "stat",
            "read",
            "list",
            "multipart_write",
            "multipart_read",
            "delete",
            "delete_multipart",
            "list_after_delete"
        ]
    );
    assert!(v["operations"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["ok"] == true));
    assert_eq!(v["root"], format!("{root}/"));
    assert_eq!(v["credentials"], "keys");
    assert_eq!(v["multipart_bytes"], 6 * 1024 * 1024);
    let etag = v["multipart_etag"].as_str().unwrap_or_default();
    assert!(
        etag.trim_matches('"').ends_with("-2"),
        "a two-part multipart upload: {etag}"
    );
    assert!(!v.to_string().contains(&secret));
    assert_eq!(run_cleanup(&cleanup).await, 1);
    assert_untouched(&admin, &before).await;
    wipe(&admin).await;
}

#[tokio::test]
async fn s3_wrong_secret_names_secret_access_key() {
    let Some(key) = env("GST_S3_RW_KEY") else {
        return;
    };
    let root = unique("s3secret");
    let secret = "wrong-secret-0123456789abcdef";
    let Some((admin, store)) = s3(&root, &key, secret) else {
        return;
    };
    let before = seed(&admin).await;
    let cleanup = CleanupRegistry::default();
    let err = probe(json!({ "store": store }), false, &cleanup)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Rejected, "{err:?}");
    assert!(err.message.contains("signature"), "{}", err.message);
    assert!(
        err.hint.as_deref().unwrap().contains("secret_access_key"),
        "{err:?}"
    );
    assert!(!format!("{err:?}").contains(secret));
    run_cleanup(&cleanup).await;
    assert_untouched(&admin, &before).await;
    wipe(&admin).await;
}

#[tokio::test]
async fn s3_unknown_access_key_names_access_key_id() {
    let Some(secret) = env("GST_S3_RW_SECRET") else {
        return;
    };
    let root = unique("s3key");
    let Some((admin, store)) = s3(&root, "GSTUNKNOWNKEY00000000", &secret) else {
        return;
    };
    let cleanup = CleanupRegistry::default();
    let err = probe(json!({ "store": store }), false, &cleanup)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Rejected, "{err:?}");
    assert!(
        err.hint.as_deref().unwrap().contains("access_key_id"),
        "{err:?}"
    );
    assert!(!format!("{err:?}").contains(&secret));
    run_cleanup(&cleanup).await;
    assert!(snapshot(&admin).await.is_empty());
}

#[tokio::test]
async fn s3_missing_bucket_names_bucket() {
    let (Some(key), Some(secret)) = (env("GST_S3_ADMIN_KEY"), env("GST_S3_ADMIN_SECRET")) else {
        return;
    };
    let Some((_, mut store)) = s3(&unique("s3nobucket"), &key, &secret) else {
        return;
    };
    let missing = unique("missing-bucket");
    store["bucket"] = json!(missing);
    let cleanup = CleanupRegistry::default();
    let err = probe(json!({ "store": store }), false, &cleanup)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Rejected, "{err:?}");
    assert!(
        err.message
            .contains(&format!("bucket `{missing}` does not exist")),
        "{err:?}"
    );
    assert!(err.hint.as_deref().unwrap().contains("`bucket`"));
    assert_eq!(run_cleanup(&cleanup).await, 0, "nothing was written");
}

#[tokio::test]
async fn s3_read_only_key_cannot_write_and_passes_read_only() {
    let (Some(key), Some(secret)) = (env("GST_S3_RO_KEY"), env("GST_S3_RO_SECRET")) else {
        return;
    };
    let root = unique("s3ro");
    let Some((admin, store)) = s3(&root, &key, &secret) else {
        return;
    };
    let before = seed(&admin).await;
    let cleanup = CleanupRegistry::default();
    let err = probe(json!({ "store": store.clone() }), false, &cleanup)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Rejected, "{err:?}");
    assert!(err.message.starts_with("write:"), "{}", err.message);
    assert!(err.message.contains("may not write"), "{}", err.message);
    assert!(
        err.hint.as_deref().unwrap().contains("PutObject"),
        "{err:?}"
    );
    run_cleanup(&cleanup).await;
    assert_untouched(&admin, &before).await;

    // --read-only: list and read only, which this key may do.
    let out = probe(json!({ "store": store }), true, &cleanup)
        .await
        .expect("read-only probe");
    assert_eq!(out.value["read_only"], true);
    assert_eq!(out.value["read_object"], "pre-existing/object.txt");
    assert_eq!(run_cleanup(&cleanup).await, 0, "nothing to undo");
    assert_untouched(&admin, &before).await;
    wipe(&admin).await;
}

#[tokio::test]
async fn s3_endpoint_down_is_unreachable() {
    let root = unique("s3down");
    let Some((_, mut store)) = s3(&root, "k", "s") else {
        return;
    };
    store["endpoint"] = json!(format!("http://127.0.0.1:{}", closed_port()));
    let cleanup = CleanupRegistry::default();
    let err = probe(
        json!({ "store": store, "http_client": {"connect_timeout": "2s"} }),
        false,
        &cleanup,
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unreachable, "{err:?}");
    assert!(err.hint.as_deref().unwrap().contains("`endpoint`"));
    assert_eq!(run_cleanup(&cleanup).await, 0);
}

#[tokio::test]
async fn s3_other_runs_objects_are_kept_with_a_warning() {
    let (Some(key), Some(secret)) = (env("GST_S3_RW_KEY"), env("GST_S3_RW_SECRET")) else {
        return;
    };
    let root = unique("s3other");
    let Some((admin, store)) = s3(&root, &key, &secret) else {
        return;
    };
    admin
        .write(".greptime-self-test/other-run/small.bin", b"x".to_vec())
        .await
        .unwrap();
    let before = snapshot(&admin).await;
    let cleanup = CleanupRegistry::default();
    let out = probe(json!({ "store": store }), false, &cleanup)
        .await
        .expect("another run's objects do not stop the probe");
    let warnings = out.value["warnings"].as_array().unwrap();
    assert!(
        warnings.iter().any(|w| w
            .as_str()
            .unwrap()
            .contains(".greptime-self-test/other-run/small.bin")),
        "{warnings:?}"
    );
    run_cleanup(&cleanup).await;
    assert_eq!(
        snapshot(&admin).await,
        before,
        "the other run's object is untouched"
    );
    wipe(&admin).await;
}

#[tokio::test]
async fn s3_cancelled_probe_leaves_nothing_after_cleanup() {
    let (Some(key), Some(secret)) = (env("GST_S3_RW_KEY"), env("GST_S3_RW_SECRET")) else {
        return;
    };
    for cancel_ms in [30, 80, 150, 300, 600] {
        let root = unique("s3cancel");
        let Some((admin, store)) = s3(&root, &key, &secret) else {
            return;
        };
        let before = seed(&admin).await;
        let cleanup = CleanupRegistry::default();
        let cx = cx(false, &cleanup);
        let run = run_step("object_store.probe", json!({ "store": store }), &cx);
        let _ = tokio::time::timeout(Duration::from_millis(cancel_ms), run).await;
        run_cleanup(&cleanup).await;
        assert_untouched(&admin, &before).await;
        wipe(&admin).await;
    }
}

fn azblob(root: &str) -> Option<(Operator, Value)> {
    let endpoint = env("GST_AZBLOB_ENDPOINT")?;
    let account = env("GST_AZBLOB_ACCOUNT")?;
    let key = env("GST_AZBLOB_KEY")?;
    let container = env("GST_AZBLOB_CONTAINER")?;
    install_ring();
    let admin = Operator::new(
        Azblob::default()
            .root(root)
            .container(&container)
            .endpoint(&endpoint)
            .account_name(&account)
            .account_key(&key),
    )
    .unwrap()
    .finish();
    let store = json!({
        "type": "Azblob", "container": container, "root": root, "endpoint": endpoint,
        "account_name": account, "account_key": key, "name": "AzureArchive",
    });
    Some((admin, store))
}

#[tokio::test]
async fn azblob_healthy_with_account_key() {
    let root = unique("azok");
    let Some((admin, store)) = azblob(&root) else {
        return;
    };
    let before = seed(&admin).await;
    let cleanup = CleanupRegistry::default();
    let out = probe(json!({ "store": store }), false, &cleanup)
        .await
        .expect("healthy Azblob");
    assert_eq!(out.value["store"], "AzureArchive");
    assert_eq!(out.value["type"], "Azblob");
    assert_matches_output_schema("object_store.probe", &out.value);
    assert_eq!(run_cleanup(&cleanup).await, 1);
    assert_untouched(&admin, &before).await;
    wipe(&admin).await;
}

#[tokio::test]
async fn azblob_wrong_account_key_names_account_key() {
    let root = unique("azkey");
    let Some((admin, mut store)) = azblob(&root) else {
        return;
    };
    let wrong = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleQ==";
    store["account_key"] = json!(wrong);
    let cleanup = CleanupRegistry::default();
    let err = probe(json!({ "store": store }), false, &cleanup)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Rejected, "{err:?}");
    assert!(
        err.hint.as_deref().unwrap().contains("account_key"),
        "{err:?}"
    );
    assert!(!format!("{err:?}").contains(wrong));
    run_cleanup(&cleanup).await;
    assert!(snapshot(&admin).await.is_empty());
}

#[tokio::test]
async fn azblob_read_only_sas_cannot_write() {
    let Some(sas) = env("GST_AZBLOB_RO_SAS") else {
        return;
    };
    let root = unique("azsas");
    let Some((admin, mut store)) = azblob(&root) else {
        return;
    };
    let before = seed(&admin).await;
    store["account_key"] = json!("");
    store["sas_token"] = json!(sas);
    let cleanup = CleanupRegistry::default();
    let err = probe(json!({ "store": store.clone() }), false, &cleanup)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Rejected, "{err:?}");
    assert!(err.message.starts_with("write:"), "{}", err.message);
    assert!(
        err.hint.as_deref().unwrap().contains("PutObject"),
        "{err:?}"
    );
    assert!(!format!("{err:?}").contains(&sas));
    run_cleanup(&cleanup).await;
    assert_untouched(&admin, &before).await;
    let out = probe(json!({ "store": store }), true, &cleanup)
        .await
        .expect("read-only probe");
    assert_eq!(out.value["credentials"], "sas_token");
    assert!(!out.value.to_string().contains(&sas));
    wipe(&admin).await;
}

fn gcs(root: &str) -> Option<(Operator, Value)> {
    let endpoint = env("GST_GCS_ENDPOINT")?;
    let bucket = env("GST_GCS_BUCKET")?;
    install_ring();
    let admin = Operator::new(
        Gcs::default()
            .root(root)
            .bucket(&bucket)
            .endpoint(&endpoint)
            .skip_signature()
            .disable_vm_metadata()
            .disable_config_load(),
    )
    .unwrap()
    .finish();
    let store = json!({"type": "Gcs", "bucket": bucket, "root": root, "endpoint": endpoint,
                       "scope": "https://www.googleapis.com/auth/devstorage.read_write"});
    Some((admin, store))
}

/// fake-gcs-server has no authentication: the probe runs with `gcs_anonymous`, a
/// construction for tests only.
async fn gcs_probe(store: Value, cleanup: &CleanupRegistry) -> Result<Value, StepError> {
    let params: ProbeParams = serde_json::from_value(json!({ "store": store })).unwrap();
    let out = probe_with(
        params,
        &cx(false, cleanup),
        BuildOptions {
            gcs_anonymous: true,
            ..BuildOptions::default()
        },
    )
    .await?;
    Ok(serde_json::to_value(out).unwrap())
}

#[tokio::test]
async fn gcs_healthy() {
    let root = unique("gcsok");
    let Some((admin, store)) = gcs(&root) else {
        return;
    };
    let before = seed(&admin).await;
    let cleanup = CleanupRegistry::default();
    match gcs_probe(store, &cleanup).await {
        Ok(v) => assert_matches_output_schema("object_store.probe", &v),
        // OpenDAL writes multipart GCS objects through the XML API (`?uploads`), which real
        // GCS serves and fake-gcs-server does not: everything before it must have passed.
        Err(err) => {
            assert!(err.message.starts_with("multipart_write:"), "{err:?}");
            assert!(err.message.contains("invalid uploadType"), "{err:?}");
            for done in [
                "list_root ",
                "list_probe_dir ",
                "write ",
                "stat ",
                "read ",
                "list ",
            ] {
                assert!(err.message.contains(done), "{done} passed: {err:?}");
            }
        }
    }
    assert_eq!(run_cleanup(&cleanup).await, 1);
    assert_untouched(&admin, &before).await;
    wipe(&admin).await;
}

#[tokio::test]
async fn gcs_missing_bucket_names_bucket() {
    let Some((_, mut store)) = gcs(&unique("gcsnobucket")) else {
        return;
    };
    let missing = unique("missing-bucket");
    store["bucket"] = json!(missing);
    let cleanup = CleanupRegistry::default();
    let err = gcs_probe(store, &cleanup).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Rejected, "{err:?}");
    assert!(
        err.message
            .contains(&format!("bucket `{missing}` does not exist")),
        "{err:?}"
    );
    assert_eq!(run_cleanup(&cleanup).await, 0);
}

#[tokio::test]
async fn file_store_on_tempdir_passes_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("keep.txt"), b"keep").unwrap();
    let cleanup = CleanupRegistry::default();
    let out = probe(
        json!({"store": {"type": "File"}, "data_home": tmp.path()}),
        false,
        &cleanup,
    )
    .await
    .expect("File store");
    assert_eq!(out.value["credentials"], "none");
    assert_eq!(out.value["type"], "File");
    assert_eq!(run_cleanup(&cleanup).await, 1);
    let mut names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["keep.txt"]);
    assert_eq!(std::fs::read(tmp.path().join("keep.txt")).unwrap(), b"keep");
}

#[tokio::test]
async fn file_store_on_unwritable_dir_is_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    // Root ignores mode bits: a directory below a regular file can never be created.
    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let home = file.join("data");
    let cleanup = CleanupRegistry::default();
    let err = probe(
        json!({"store": {"type": "File"}, "data_home": home}),
        false,
        &cleanup,
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Rejected, "{err:?}");
    assert!(err.message.contains("data_home"), "{}", err.message);
    assert!(err.hint.unwrap().contains("storage.data_home"));
    assert_eq!(run_cleanup(&cleanup).await, 0);

    // /proc refuses new directories even to root.
    let err = probe(
        json!({"store": {"type": "File"}, "data_home": "/proc/greptime-self-test-nope"}),
        false,
        &cleanup,
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Rejected, "{err:?}");
    run_cleanup(&cleanup).await;
}

#[tokio::test]
async fn config_step_checks_shape_without_io() {
    let step = assert_example_parses("object_store.config");
    assert!(step
        .check_params(&json!({"store": {"type": "S3"}, "data_home": "/x"}))
        .is_err());
    let cleanup = CleanupRegistry::default();
    let cx = cx(false, &cleanup);
    let out = run_step(
        "object_store.config",
        json!({"store": {"type": "S3", "bucket": "b", "endpoint": format!("http://127.0.0.1:{}", closed_port())},
               "http_client": {"skip_ssl_validation": true}}),
        &cx,
    )
    .await
    .expect("shape is fine; nothing is contacted");
    assert_eq!(out.value["default_credentials"], true);
    assert_eq!(out.value["skip_ssl_validation"], true);
    assert_matches_output_schema("object_store.config", &out.value);
    let err = run_step(
        "object_store.config",
        json!({"store": {"type": "Azblob", "container": "c"}}),
        &cx,
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Misconfigured);
    assert!(err.message.contains("`endpoint`"), "{}", err.message);
}

#[tokio::test]
async fn file_store_read_only_creates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("keep.txt"), b"keep").unwrap();
    let cleanup = CleanupRegistry::default();
    let out = probe(
        json!({"store": {"type": "File"}, "data_home": tmp.path()}),
        true,
        &cleanup,
    )
    .await
    .expect("read-only File store");
    assert_eq!(out.value["read_object"], "keep.txt");
    assert_eq!(run_cleanup(&cleanup).await, 0);
    let names: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "no .tmp/ nor probe directory created");
    let missing = tmp.path().join("not-yet");
    let err = probe(
        json!({"store": {"type": "File"}, "data_home": missing}),
        true,
        &cleanup,
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Rejected, "{err:?}");
    assert!(!missing.exists(), "not created in a --read-only run");
}

#[tokio::test]
async fn s3_key_that_cannot_delete_names_delete_object() {
    let (Some(key), Some(secret)) = (env("GST_S3_NODELETE_KEY"), env("GST_S3_NODELETE_SECRET"))
    else {
        return;
    };
    let root = unique("s3nodelete");
    let Some((admin, store)) = s3(&root, &key, &secret) else {
        return;
    };
    let before = seed(&admin).await;
    let cleanup = CleanupRegistry::default();
    let err = probe(json!({ "store": store }), false, &cleanup)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Rejected, "{err:?}");
    assert!(err.message.starts_with("delete:"), "{}", err.message);
    assert!(err.message.contains("may not delete"), "{}", err.message);
    assert!(
        err.hint.as_deref().unwrap().contains("DeleteObject"),
        "{err:?}"
    );
    // The cleanup runs with the same credential: it fails, and says so.
    let actions = cleanup.drain();
    assert_eq!(actions.len(), 1);
    for action in actions {
        let failed = action.action.await.unwrap_err();
        // S3 batch deletes (DeleteObjects) report per-key failures without their code.
        assert!(failed.contains("DeleteObject"), "{failed}");
        assert!(!failed.contains(&secret));
    }
    // An administrator removes what the probe could not.
    let left = snapshot(&admin).await;
    assert!(left.keys().any(|k| k.starts_with(".greptime-self-test/")));
    admin
        .delete_with(".greptime-self-test/")
        .recursive(true)
        .await
        .unwrap();
    assert_untouched(&admin, &before).await;
    wipe(&admin).await;
}

#[tokio::test]
async fn whole_storage_table_is_accepted_as_store() {
    // `[storage]` as the effective datanode config holds it, defaults included.
    let tmp = tempfile::tempdir().unwrap();
    let storage = json!({
        "data_home": tmp.path(), "type": "File", "enable_read_cache": true, "cache_path": "",
        "cache_capacity": "5GiB",
        "providers": [{"type": "S3", "name": "archive", "bucket": "b"}],
        "http_client": {"pool_max_idle_per_host": 1024, "connect_timeout": "30s", "timeout": "30s",
                        "pool_idle_timeout": "90s", "skip_ssl_validation": false}
    });
    let cleanup = CleanupRegistry::default();
    let out = probe(json!({ "store": storage }), false, &cleanup)
        .await
        .expect("File store from the whole [storage] table");
    assert_eq!(
        out.value["root"],
        format!("{}/", tmp.path().display()),
        "the table's data_home"
    );
    run_cleanup(&cleanup).await;
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}
