//! `object_store.probe` against real servers started by `scripts/services.sh`: SeaweedFS S3
//! (SigV4, per-identity permissions), Azurite (shared key and a read-only SAS) and
//! fake-gcs-server, plus File stores on local directories. Every scenario lists what is under
//! its own root with an admin credential before and after, and finds the pre-existing objects
//! untouched and no self-test object left.

use std::path::Path;
use std::time::Duration;

use crate::common;

use common::object_store::{dir_keeping_a_file, install_ring, snapshot, wipe, S3Server, Seeded};
use common::steps::{
    assert_matches_output_schema, black_hole, closed_port, run_cleanup, run_step, silent_listener,
    step, TestCx,
};
use common::{service, unique};
use greptime_self_test::config::Component;
use greptime_self_test::plugins::answer::{AnswerDeadline, Silence};
use greptime_self_test::plugins::object_store::{probe_with, BuildOptions, ProbeParams};
use greptime_self_test::plugins::{CleanupRegistry, ErrorKind, StepError, StepOutput};
use opendal::layers::HttpClientLayer;
use opendal::raw::HttpClient;
use opendal::services::{Azblob, Gcs};
use opendal::Operator;
use serde_json::{json, Value};
use tokio::time::Instant;

/// The object seeded under the root of every scenario that starts from a [`Seeded`] store.
const PRE_EXISTING: &str = "pre-existing/object.txt";

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

/// Probes with `params`, expecting success (`what` says why), then runs the undo actions the
/// probe registered; returns the output and how many actions ran.
async fn probe_ok(params: Value, read_only: bool, what: &str) -> (Value, usize) {
    let cleanup = CleanupRegistry::default();
    let out = probe(params, read_only, &cleanup).await.expect(what);
    (out.value, run_cleanup(&cleanup).await)
}

/// Probes with `params`, expecting a failure, then runs the undo actions the probe registered;
/// returns the error and how many actions ran.
async fn probe_err(params: Value, read_only: bool) -> (StepError, usize) {
    let cleanup = CleanupRegistry::default();
    let err = probe(params, read_only, &cleanup).await.unwrap_err();
    (err, run_cleanup(&cleanup).await)
}

/// The server refused the probe, and the hint names `key` (a config key or a permission).
#[track_caller]
fn assert_rejected_naming(err: &StepError, key: &str) {
    assert_eq!(err.kind, ErrorKind::Rejected, "{err:?}");
    assert!(err.hint.as_deref().unwrap().contains(key), "{err:?}");
}

/// The credential may not `op` (`write`, `delete`): the message starts with that operation, and
/// the hint names the missing `permission`.
#[track_caller]
fn assert_refused(err: &StepError, op: &str, permission: &str) {
    assert_rejected_naming(err, permission);
    assert!(
        err.message.starts_with(&format!("{op}:")),
        "{}",
        err.message
    );
}

/// Probes `store`, whose credential the server does not accept: refused, the hint names `key`,
/// and the error never shows `secret`. Returns the error.
async fn probe_with_refused_credential(store: &Value, key: &str, secret: &str) -> StepError {
    let (err, _) = probe_err(json!({ "store": store }), false).await;
    assert_rejected_naming(&err, key);
    assert!(!format!("{err:?}").contains(secret));
    err
}

/// Points `store` at a bucket that does not exist; returns its name.
fn use_missing_bucket(store: &mut Value) -> String {
    let missing = unique("missing-bucket");
    store["bucket"] = json!(missing);
    missing
}

/// The store's bucket does not exist, and the error says which.
#[track_caller]
fn assert_missing_bucket(err: &StepError, missing: &str) {
    assert_eq!(err.kind, ErrorKind::Rejected, "{err:?}");
    assert!(
        err.message
            .contains(&format!("bucket `{missing}` does not exist")),
        "{err:?}"
    );
}

/// The probe's parameters for a File store on `data_home`.
fn file_store(data_home: impl AsRef<Path>) -> Value {
    json!({"store": {"type": "File"}, "data_home": data_home.as_ref()})
}

/// Seeds the root of a store fixture ([`s3`], [`azblob`], [`gcs`]) with [`PRE_EXISTING`];
/// `None` when the fixture is (its server is not configured).
async fn seeded(fixture: Option<(Operator, Value)>) -> Option<Seeded> {
    let (admin, store) = fixture?;
    Some(Seeded::new(admin, store, PRE_EXISTING).await)
}

/// An HTTP client of the admin operator's own. OpenDAL's default client is one process-wide
/// pool: a connection pooled by a test whose runtime has ended fails the next test that reuses
/// it ("dispatch task is gone").
fn own_client() -> HttpClientLayer {
    HttpClientLayer::new(HttpClient::with(reqwest_opendal::Client::new()))
}

/// An admin S3 operator rooted at `root`, plus the S3 store table for `key`/`secret`.
fn s3(root: &str, key: &str, secret: &str) -> Option<(Operator, Value)> {
    let server = S3Server::from_env()?;
    let admin = Operator::new(server.admin(root))
        .unwrap()
        .layer(own_client())
        .finish();
    let store = json!({
        "type": "S3", "bucket": server.bucket, "root": root, "endpoint": server.endpoint,
        "region": server.region, "access_key_id": key, "secret_access_key": secret,
        "enable_read_cache": true, "cache_capacity": "1GiB",
    });
    Some((admin, store))
}

#[test]
fn store_fields_are_strict_and_a_file_store_takes_data_home() {
    let step = step("object_store.probe");
    assert!(step
        .check_params(&json!({"store": {"type": "S3", "bucket": "b", "bukcet": "x"}}))
        .is_err());
    assert!(step
        .check_params(&json!({"store": {"type": "File"}, "data_home": "/x"}))
        .is_ok());
}

#[tokio::test]
async fn s3_healthy_passes_and_leaves_nothing() {
    let (key, secret) = need!("GST_S3_RW_KEY", "GST_S3_RW_SECRET");
    let root = unique("s3ok");
    let Some(scene) = seeded(s3(&root, &key, &secret)).await else {
        return;
    };
    let (v, undone) = probe_ok(
        json!({"store": scene.store, "http_client": {"timeout": "20s"}}),
        false,
        "healthy S3",
    )
    .await;
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
    assert_eq!(undone, 1);
    scene.finish().await;
}

#[tokio::test]
async fn s3_wrong_secret_names_secret_access_key() {
    let (key,) = need!("GST_S3_RW_KEY");
    let secret = "wrong-secret-0123456789abcdef";
    let Some(scene) = seeded(s3(&unique("s3secret"), &key, secret)).await else {
        return;
    };
    let err = probe_with_refused_credential(&scene.store, "secret_access_key", secret).await;
    assert!(err.message.contains("signature"), "{}", err.message);
    scene.finish().await;
}

#[tokio::test]
async fn s3_unknown_access_key_names_access_key_id() {
    let (secret,) = need!("GST_S3_RW_SECRET");
    let Some((admin, store)) = s3(&unique("s3key"), "GSTUNKNOWNKEY00000000", &secret) else {
        return;
    };
    probe_with_refused_credential(&store, "access_key_id", &secret).await;
    assert!(snapshot(&admin).await.is_empty());
}

#[tokio::test]
async fn s3_missing_bucket_names_bucket() {
    let (key, secret) = need!("GST_S3_ADMIN_KEY", "GST_S3_ADMIN_SECRET");
    let Some((_, mut store)) = s3(&unique("s3nobucket"), &key, &secret) else {
        return;
    };
    let missing = use_missing_bucket(&mut store);
    let (err, undone) = probe_err(json!({ "store": store }), false).await;
    assert_missing_bucket(&err, &missing);
    assert!(err.hint.as_deref().unwrap().contains("`bucket`"));
    assert_eq!(undone, 0, "nothing was written");
}

#[tokio::test]
async fn s3_read_only_key_cannot_write_and_passes_read_only() {
    let (key, secret) = need!("GST_S3_RO_KEY", "GST_S3_RO_SECRET");
    let Some(scene) = seeded(s3(&unique("s3ro"), &key, &secret)).await else {
        return;
    };
    let (err, _) = probe_err(json!({ "store": scene.store }), false).await;
    assert_refused(&err, "write", "PutObject");
    assert!(err.message.contains("may not write"), "{}", err.message);
    scene.assert_untouched().await;

    // --read-only: list and read only, which this key may do.
    let (out, undone) = probe_ok(json!({ "store": scene.store }), true, "read-only probe").await;
    assert_eq!(out["read_only"], true);
    assert_eq!(out["read_object"], PRE_EXISTING);
    assert_eq!(undone, 0, "nothing to undo");
    scene.finish().await;
}

#[tokio::test]
async fn s3_endpoint_down_is_unreachable() {
    let Some((_, mut store)) = s3(&unique("s3down"), "k", "s") else {
        return;
    };
    store["endpoint"] = json!(format!("http://127.0.0.1:{}", closed_port()));
    let (err, undone) = probe_err(
        json!({ "store": store, "http_client": {"connect_timeout": "2s"} }),
        false,
    )
    .await;
    assert_eq!(err.kind, ErrorKind::Unreachable, "{err:?}");
    assert!(err.hint.as_deref().unwrap().contains("`endpoint`"));
    assert_eq!(undone, 0);
}

#[tokio::test]
async fn s3_other_runs_objects_are_kept_with_a_warning() {
    let (key, secret) = need!("GST_S3_RW_KEY", "GST_S3_RW_SECRET");
    let Some((admin, store)) = s3(&unique("s3other"), &key, &secret) else {
        return;
    };
    admin
        .write(".greptime-self-test/other-run/small.bin", b"x".to_vec())
        .await
        .unwrap();
    let before = snapshot(&admin).await;
    let (out, _) = probe_ok(
        json!({ "store": store }),
        false,
        "another run's objects do not stop the probe",
    )
    .await;
    let warnings = out["warnings"].as_array().unwrap();
    assert!(
        warnings.iter().any(|w| w
            .as_str()
            .unwrap()
            .contains(".greptime-self-test/other-run/small.bin")),
        "{warnings:?}"
    );
    assert_eq!(
        snapshot(&admin).await,
        before,
        "the other run's object is untouched"
    );
    wipe(&admin).await;
}

#[tokio::test]
async fn s3_cancelled_probe_leaves_nothing_after_cleanup() {
    let (key, secret) = need!("GST_S3_RW_KEY", "GST_S3_RW_SECRET");
    let mut cancelled = 0;
    for cancel_ms in [30, 80, 150, 300, 600] {
        let Some(scene) = seeded(s3(&unique("s3cancel"), &key, &secret)).await else {
            return;
        };
        let cleanup = CleanupRegistry::default();
        let cx = cx(false, &cleanup);
        let run = run_step("object_store.probe", json!({ "store": scene.store }), &cx);
        if tokio::time::timeout(Duration::from_millis(cancel_ms), run)
            .await
            .is_err()
        {
            cancelled += 1;
        }
        run_cleanup(&cleanup).await;
        scene.finish().await;
    }
    // a probe takes longer than 30 ms (a 6 MiB multipart write among its operations): the
    // short waits did cut it off, so cleanup after a cancellation was exercised
    assert!(cancelled >= 1, "no probe was cancelled");
}

fn azblob(root: &str) -> Option<(Operator, Value)> {
    let endpoint = service("GST_AZBLOB_ENDPOINT")?;
    let account = service("GST_AZBLOB_ACCOUNT")?;
    let key = service("GST_AZBLOB_KEY")?;
    let container = service("GST_AZBLOB_CONTAINER")?;
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
    .layer(own_client())
    .finish();
    let store = json!({
        "type": "Azblob", "container": container, "root": root, "endpoint": endpoint,
        "account_name": account, "account_key": key, "name": "AzureArchive",
    });
    Some((admin, store))
}

#[tokio::test]
async fn azblob_healthy_with_account_key() {
    let Some(scene) = seeded(azblob(&unique("azok"))).await else {
        return;
    };
    let (out, undone) = probe_ok(json!({ "store": scene.store }), false, "healthy Azblob").await;
    assert_eq!(out["store"], "AzureArchive");
    assert_eq!(out["type"], "Azblob");
    assert_eq!(undone, 1);
    scene.finish().await;
}

#[tokio::test]
async fn azblob_wrong_account_key_names_account_key() {
    let Some((admin, mut store)) = azblob(&unique("azkey")) else {
        return;
    };
    let wrong = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleQ==";
    store["account_key"] = json!(wrong);
    probe_with_refused_credential(&store, "account_key", wrong).await;
    assert!(snapshot(&admin).await.is_empty());
}

#[tokio::test]
async fn azblob_read_only_sas_cannot_write() {
    let (sas,) = need!("GST_AZBLOB_RO_SAS");
    let Some(mut scene) = seeded(azblob(&unique("azsas"))).await else {
        return;
    };
    scene.store["account_key"] = json!("");
    scene.store["sas_token"] = json!(sas);
    let (err, _) = probe_err(json!({ "store": scene.store }), false).await;
    assert_refused(&err, "write", "PutObject");
    assert!(!format!("{err:?}").contains(&sas));
    scene.assert_untouched().await;
    let (out, _) = probe_ok(json!({ "store": scene.store }), true, "read-only probe").await;
    assert_eq!(out["credentials"], "sas_token");
    assert!(!out.to_string().contains(&sas));
    wipe(&scene.admin).await;
}

fn gcs(root: &str) -> Option<(Operator, Value)> {
    let endpoint = service("GST_GCS_ENDPOINT")?;
    let bucket = service("GST_GCS_BUCKET")?;
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
    .layer(own_client())
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
    let Some(scene) = seeded(gcs(&unique("gcsok"))).await else {
        return;
    };
    let cleanup = CleanupRegistry::default();
    match gcs_probe(scene.store.clone(), &cleanup).await {
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
    scene.finish().await;
}

#[tokio::test]
async fn gcs_missing_bucket_names_bucket() {
    let Some((_, mut store)) = gcs(&unique("gcsnobucket")) else {
        return;
    };
    let missing = use_missing_bucket(&mut store);
    let cleanup = CleanupRegistry::default();
    let err = gcs_probe(store, &cleanup).await.unwrap_err();
    assert_missing_bucket(&err, &missing);
    assert_eq!(run_cleanup(&cleanup).await, 0);
}

#[tokio::test]
async fn file_store_on_tempdir_passes_and_leaves_nothing() {
    let tmp = dir_keeping_a_file();
    let (out, undone) = probe_ok(file_store(tmp.path()), false, "File store").await;
    assert_eq!(out["credentials"], "none");
    assert_eq!(out["type"], "File");
    assert_eq!(undone, 1);
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
    let (err, undone) = probe_err(file_store(file.join("data")), false).await;
    assert_eq!(err.kind, ErrorKind::Rejected, "{err:?}");
    assert!(err.message.contains("data_home"), "{}", err.message);
    assert!(err.hint.unwrap().contains("storage.data_home"));
    assert_eq!(undone, 0);

    // /proc refuses new directories even to root.
    let (err, _) = probe_err(file_store("/proc/greptime-self-test-nope"), false).await;
    assert_eq!(err.kind, ErrorKind::Rejected, "{err:?}");
}

#[tokio::test]
async fn config_step_checks_shape_without_io() {
    let step = step("object_store.config");
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
    let tmp = dir_keeping_a_file();
    let (out, undone) = probe_ok(file_store(tmp.path()), true, "read-only File store").await;
    assert_eq!(out["read_object"], "keep.txt");
    assert_eq!(undone, 0);
    let names: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "no .tmp/ nor probe directory created");
    let missing = tmp.path().join("not-yet");
    let (err, _) = probe_err(file_store(&missing), true).await;
    assert_eq!(err.kind, ErrorKind::Rejected, "{err:?}");
    assert!(!missing.exists(), "not created in a --read-only run");
}

#[tokio::test]
async fn s3_key_that_cannot_delete_names_delete_object() {
    let (key, secret) = need!("GST_S3_NODELETE_KEY", "GST_S3_NODELETE_SECRET");
    let Some(scene) = seeded(s3(&unique("s3nodelete"), &key, &secret)).await else {
        return;
    };
    let cleanup = CleanupRegistry::default();
    let err = probe(json!({ "store": scene.store }), false, &cleanup)
        .await
        .unwrap_err();
    assert_refused(&err, "delete", "DeleteObject");
    assert!(err.message.contains("may not delete"), "{}", err.message);
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
    let left = snapshot(&scene.admin).await;
    assert!(left.keys().any(|k| k.starts_with(".greptime-self-test/")));
    scene
        .admin
        .delete_with(".greptime-self-test/")
        .recursive(true)
        .await
        .unwrap();
    scene.finish().await;
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
    let (out, _) = probe_ok(
        json!({ "store": storage }),
        false,
        "File store from the whole [storage] table",
    )
    .await;
    assert_eq!(
        out["root"],
        format!("{}/", tmp.path().display()),
        "the table's data_home"
    );
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

// ------------------------------------------------------------------ stores that do not answer

/// A first-answer deadline of `ms` milliseconds, as `--answer-timeout` sets it.
fn answer_ms(ms: u64) -> AnswerDeadline {
    AnswerDeadline::from_run(Duration::from_millis(ms))
}

/// Probes `params` with a 30 s budget and the first-answer deadline `answer` (GCS stores
/// anonymously, as fake-gcs-server needs); returns the error, how long the probe took and how
/// many cleanup actions it registered (run afterwards).
async fn probe_silent(params: Value, answer: AnswerDeadline) -> (StepError, Duration, usize) {
    let cleanup = CleanupRegistry::default();
    let cx = TestCx::new(Component::Datanode, &unique("run"))
        .budget(Duration::from_secs(30))
        .cleanup(&cleanup)
        .build()
        .with_answer(answer);
    let gcs = params["store"]["type"] == "Gcs";
    let params: ProbeParams = serde_json::from_value(params).unwrap();
    let started = Instant::now();
    let result = probe_with(
        params,
        &cx,
        BuildOptions {
            gcs_anonymous: gcs,
            ..BuildOptions::default()
        },
    )
    .await;
    let took = started.elapsed();
    let err = result.expect_err("a store that does not answer fails the probe");
    (err, took, run_cleanup(&cleanup).await)
}

/// Judged within `limit` plus 1.5 s.
#[track_caller]
fn judged_within(took: Duration, limit: Duration) {
    let bound = limit + Duration::from_millis(1500);
    assert!(took <= bound, "took {took:?}, more than {bound:?}");
}

/// The verdict on a store that did not answer the first listing: `silence`, a timeout (refused:
/// unreachable), the message naming `endpoint` and the listing, the hint naming `key`.
#[track_caller]
fn assert_no_answer(err: &StepError, silence: Silence, endpoint: &str, key: &str) {
    assert_eq!(err.silence, Some(silence), "{err:?}");
    let kind = if silence == Silence::Refused {
        ErrorKind::Unreachable
    } else {
        ErrorKind::Timeout
    };
    assert_eq!(err.kind, kind, "{err:?}");
    assert!(err.message.starts_with("list_root: "), "{}", err.message);
    assert!(err.message.contains(endpoint), "{}", err.message);
    let hint = err.hint.as_deref().unwrap_or_default();
    assert!(hint.contains(key), "{hint}");
    assert!(hint.contains("this probe makes one attempt"), "{hint}");
}

/// An S3 store at `endpoint` (nothing of it is contacted before the probe).
fn s3_at(endpoint: &str) -> Value {
    json!({"type": "S3", "bucket": "greptime", "endpoint": endpoint, "region": "us-east-1",
           "access_key_id": "AKIDEXAMPLE", "secret_access_key": "wJalrXUtnFEMIK7MDENGbPxRfiCY"})
}

/// The case of the issue: an S3 endpoint that takes the TCP connection and never answers is
/// judged accepted-but-silent at the first-answer deadline (not after OpenDAL's retries), with
/// no cleanup registered, naming what GreptimeDB would wait on.
#[tokio::test]
async fn s3_silent_endpoint_is_accepted_silent_at_the_answer_deadline() {
    let silent = silent_listener().await;
    let endpoint = format!("http://{}", silent.addr);
    let (err, took, undone) =
        probe_silent(json!({ "store": s3_at(&endpoint) }), answer_ms(1000)).await;
    judged_within(took, Duration::from_secs(1));
    assert_no_answer(
        &err,
        Silence::AcceptedSilent,
        &format!(
            "S3 endpoint {endpoint} accepted the connection but sent no answer to the listing \
             of bucket `greptime` (ListObjectsV2) within 1s (`--answer-timeout`)"
        ),
        "`storage.http_client.timeout = 30s`: GreptimeDB would wait up to 30s per request, then retry",
    );
    assert_eq!(undone, 0, "no cleanup before the store answered");
}

/// `https://` to a port that takes the connection and never answers the TLS handshake.
#[tokio::test]
async fn s3_https_endpoint_stalling_the_handshake_is_tls_stalled() {
    let silent = silent_listener().await;
    let endpoint = format!("https://{}", silent.addr);
    let (err, took, undone) =
        probe_silent(json!({ "store": s3_at(&endpoint) }), answer_ms(1000)).await;
    judged_within(took, Duration::from_secs(1));
    assert_no_answer(
        &err,
        Silence::TlsStalled,
        "did not answer the TLS handshake within 1s",
        "`storage.http_client.timeout = 30s`",
    );
    assert_eq!(undone, 0);
}

/// An endpoint whose SYNs are dropped; with `connect_timeout` below `timeout` the hint names the
/// connect timeout GreptimeDB would wait.
#[tokio::test]
async fn s3_black_holed_endpoint_is_black_holed() {
    let hole = black_hole().await;
    let (err, took, undone) = probe_silent(
        json!({ "store": s3_at(&format!("http://{}", hole.addr)),
                "http_client": {"connect_timeout": "10s"} }),
        answer_ms(1000),
    )
    .await;
    judged_within(took, Duration::from_secs(1));
    assert_no_answer(
        &err,
        Silence::BlackHoled,
        &format!("{} did not answer the TCP connection within 1s", hole.addr),
        "`storage.http_client.connect_timeout = 10s`: GreptimeDB would wait up to 10s for each TCP connection",
    );
    assert_eq!(undone, 0);
}

/// Nothing listens: refused at once (no retry), unreachable, naming `endpoint`.
#[tokio::test]
async fn s3_refused_endpoint_is_refused_at_once() {
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let (err, took, undone) =
        probe_silent(json!({ "store": s3_at(&endpoint) }), answer_ms(5000)).await;
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert_eq!(err.silence, Some(Silence::Refused), "{err:?}");
    assert_eq!(err.kind, ErrorKind::Unreachable, "{err:?}");
    assert!(
        err.hint.as_deref().unwrap().contains("`endpoint`"),
        "{err:?}"
    );
    assert_eq!(undone, 0);
}

/// A `storage.http_client.timeout` below the first-answer deadline caps it, and is named: the
/// HTTP client's own timeout ends the request at the same moment, and the verdict still names
/// the silence.
#[tokio::test]
async fn s3_smaller_http_client_timeout_caps_the_deadline_and_is_named() {
    let silent = silent_listener().await;
    let (err, took, _) = probe_silent(
        json!({ "store": s3_at(&format!("http://{}", silent.addr)),
                "http_client": {"timeout": "700ms"} }),
        answer_ms(5000),
    )
    .await;
    judged_within(took, Duration::from_millis(700));
    assert_no_answer(
        &err,
        Silence::AcceptedSilent,
        "within 700ms (`storage.http_client.timeout`, GreptimeDB's own limit)",
        "`storage.http_client.timeout = 700ms`",
    );
}

/// A provider entry with its own `http_client` table: the key is named as the provider's.
#[tokio::test]
async fn provider_http_client_timeout_is_named_as_the_providers() {
    let silent = silent_listener().await;
    let mut store = s3_at(&format!("http://{}", silent.addr));
    store["name"] = json!("archive");
    store["http_client"] = json!({"timeout": "600ms"});
    let (err, took, _) = probe_silent(json!({ "store": store }), answer_ms(5000)).await;
    judged_within(took, Duration::from_millis(600));
    assert_no_answer(
        &err,
        Silence::AcceptedSilent,
        "within 600ms (`http_client.timeout` of provider `archive`, GreptimeDB's own limit)",
        "`http_client.timeout = 600ms` of provider `archive`",
    );
}

#[tokio::test]
async fn azblob_silent_endpoint_is_accepted_silent() {
    let silent = silent_listener().await;
    let endpoint = format!("http://{}/gtaccount", silent.addr);
    let store = json!({"type": "Azblob", "container": "greptime", "endpoint": endpoint,
                       "account_name": "gtaccount", "account_key": "c2VjcmV0LWtleS1zZWNyZXQta2V5"});
    let (err, took, undone) = probe_silent(json!({ "store": store }), answer_ms(1000)).await;
    judged_within(took, Duration::from_secs(1));
    assert_no_answer(
        &err,
        Silence::AcceptedSilent,
        &format!(
            "Azblob endpoint http://{} accepted the connection but sent no answer to the \
             listing of container `greptime` (List Blobs)",
            silent.addr
        ),
        "`storage.http_client.timeout = 30s`",
    );
    assert_eq!(undone, 0);
}

#[tokio::test]
async fn azblob_black_holed_endpoint_is_black_holed() {
    let hole = black_hole().await;
    let store = json!({"type": "Azblob", "container": "greptime",
                       "endpoint": format!("http://{}/gtaccount", hole.addr),
                       "account_name": "gtaccount", "account_key": "c2VjcmV0LWtleS1zZWNyZXQta2V5"});
    let (err, took, _) = probe_silent(json!({ "store": store }), answer_ms(1000)).await;
    judged_within(took, Duration::from_secs(1));
    assert_no_answer(
        &err,
        Silence::BlackHoled,
        "did not answer the TCP connection within 1s",
        "`storage.http_client.timeout = 30s`",
    );
}

#[tokio::test]
async fn gcs_silent_endpoint_is_accepted_silent_and_capped_by_its_timeout() {
    let silent = silent_listener().await;
    let store = json!({"type": "Gcs", "bucket": "greptime",
                       "endpoint": format!("http://{}", silent.addr)});
    let (err, took, undone) = probe_silent(
        json!({ "store": store, "http_client": {"timeout": "800ms"} }),
        answer_ms(5000),
    )
    .await;
    judged_within(took, Duration::from_millis(800));
    assert_no_answer(
        &err,
        Silence::AcceptedSilent,
        "the listing of bucket `greptime` (objects.list) within 800ms (`storage.http_client.timeout`",
        "`storage.http_client.timeout = 800ms`",
    );
    assert_eq!(undone, 0);
}

#[tokio::test]
async fn gcs_https_endpoint_stalling_the_handshake_is_tls_stalled() {
    let silent = silent_listener().await;
    let store = json!({"type": "Gcs", "bucket": "greptime",
                       "endpoint": format!("https://{}", silent.addr)});
    let (err, took, _) = probe_silent(json!({ "store": store }), answer_ms(1000)).await;
    judged_within(took, Duration::from_secs(1));
    assert_no_answer(
        &err,
        Silence::TlsStalled,
        "did not answer the TLS handshake within 1s",
        "`storage.http_client.timeout = 30s`",
    );
}

/// The datanode playbook through the CLI on a config whose S3 endpoint never answers, with
/// `--answer-timeout 1s`: the probe is judged accepted-but-silent in the JSON report
/// (`metrics.no_answer`), quickly, and nothing of OpenDAL reaches stderr.
#[test]
fn cli_silent_s3_endpoint_is_judged_quickly_and_quietly() {
    let (addr, _server) = common::hung_server();
    let dir = tempfile::tempdir().unwrap();
    let config = common::datanode_config(
        dir.path(),
        &format!(
            "[storage]\ntype = \"S3\"\nbucket = \"greptime\"\nroot = \"data\"\n\
             endpoint = \"http://{addr}\"\nregion = \"us-east-1\"\n\
             access_key_id = \"AKIDEXAMPLE\"\nsecret_access_key = \"wJalrXUtnFEMIK7MDENGbPxRfiCY\"\n"
        ),
    );
    let started = Instant::now();
    let (run, report) =
        common::run_component("datanode", dir.path(), &config, &["--answer-timeout", "1s"]);
    let took = started.elapsed();
    let probe = common::checks(&report, "object_store_probe");
    assert_eq!(probe.len(), 1, "{report}");
    assert_eq!(probe[0]["status"], "fail", "{}", probe[0]);
    assert_eq!(
        probe[0]["metrics"]["no_answer"], "accepted_silent",
        "{}",
        probe[0]
    );
    assert_eq!(probe[0]["metrics"]["error_kind"], "Timeout", "{}", probe[0]);
    assert!(
        took < Duration::from_secs(20),
        "took {took:?}:\n{}",
        run.all()
    );
    assert!(
        !run.stderr.contains("opendal") && !run.stderr.contains("WARN"),
        "stderr: {}",
        run.stderr
    );
}

/// An S3 stand-in on 127.0.0.1 that answers its first `answers` requests with an empty
/// listing, then takes every request and never answers. Returns its address.
async fn s3_that_stops_answering(answers: usize) -> (String, tokio::task::JoinHandle<()>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let served = Arc::new(AtomicUsize::new(0));
    let task = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let served = served.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                loop {
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    buf.clear();
                    if served.fetch_add(1, Ordering::SeqCst) >= answers {
                        // hold the connection, answer nothing
                        std::future::pending::<()>().await;
                    }
                    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult \
                        xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>greptime</Name>\
                        <Prefix></Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys>\
                        <IsTruncated>false</IsTruncated></ListBucketResult>";
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/xml\r\ncontent-length: {}\r\n\r\n",
                        body.len()
                    );
                    if socket.write_all(head.as_bytes()).await.is_err()
                        || socket.write_all(body.as_bytes()).await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (addr, task)
}

/// The store answers the two listings (so the cleanup is registered), then stops answering:
/// the write times out at `http_client.timeout`, and the cleanup waits only the first-answer
/// deadline for the store, not its full limit, and says to delete the prefix by hand.
#[tokio::test]
async fn cleanup_after_the_store_went_silent_waits_only_the_answer_deadline() {
    let (addr, server) = s3_that_stops_answering(2).await;
    let cleanup = CleanupRegistry::default();
    let cx = TestCx::new(Component::Datanode, &unique("run"))
        .budget(Duration::from_secs(30))
        .cleanup(&cleanup)
        .build()
        .with_answer(answer_ms(1000));
    let params = json!({ "store": s3_at(&format!("http://{addr}")),
                         "http_client": {"timeout": "1s"} });
    let err = run_step("object_store.probe", params, &cx)
        .await
        .expect_err("the write gets no answer");
    assert!(err.message.starts_with("write: "), "{}", err.message);
    assert_eq!(err.kind, ErrorKind::Timeout, "{err:?}");
    assert!(
        err.message.contains("`storage.http_client.timeout = 1s`"),
        "{}",
        err.message
    );
    let actions = cleanup.drain();
    assert_eq!(actions.len(), 1, "registered once the store answered");
    let started = Instant::now();
    for action in actions {
        let undone = action.action.await;
        let e = undone.expect_err("the store does not answer the delete");
        assert!(e.contains("delete it by hand"), "{e}");
    }
    judged_within(started.elapsed(), Duration::from_secs(1));
    server.abort();
}

// ------------------------------------------------------------------------------------------
// The printed fix for a missing bucket or container, run through the emulator's API (the
// provider CLIs are not installed here): each test runs the command's API equivalent with the
// names the command holds, then reruns the probe.

/// The command line of a hint (`$ …`).
fn printed_command(err: &StepError) -> String {
    let hint = err.hint.as_deref().unwrap_or_default();
    common::hint_commands(hint)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no command in the hint: {hint}"))
}

/// The value after `flag` in a command line.
fn flag_value(command: &str, flag: &str) -> String {
    let words: Vec<&str> = command.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| *w == flag)
        .unwrap_or_else(|| panic!("{flag} missing: {command}"));
    words[at + 1].to_string()
}

/// Runs the services' stdlib object-store client (`GST_OBJSTORE_PY`): SigV4 and Azure Shared
/// Key requests as the provider CLIs send them.
fn objstore_py(script: &str, args: &[&str]) {
    let out = std::process::Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[tokio::test]
async fn s3_printed_create_bucket_makes_the_probe_pass() {
    let (script, key, secret) = need!("GST_OBJSTORE_PY", "GST_S3_ADMIN_KEY", "GST_S3_ADMIN_SECRET");
    let Some((_, mut store)) = s3(&unique("fixbucket"), &key, &secret) else {
        return;
    };
    let endpoint = store["endpoint"].as_str().unwrap().to_string();
    let bucket = use_missing_bucket(&mut store);
    let (err, _) = probe_err(json!({ "store": store }), false).await;
    assert_missing_bucket(&err, &bucket);
    let command = printed_command(&err);
    assert!(command.starts_with("aws s3api create-bucket "), "{command}");
    assert!(!command.contains(&secret), "{command}");
    assert_eq!(flag_value(&command, "--bucket"), bucket);
    assert_eq!(flag_value(&command, "--endpoint-url"), endpoint);
    let url = format!("{endpoint}/{bucket}");
    objstore_py(&script, &["s3", "PUT", &url, &key, &secret]);
    let cleanup = CleanupRegistry::default();
    let result = probe(json!({ "store": store }), false, &cleanup).await;
    run_cleanup(&cleanup).await;
    objstore_py(&script, &["s3", "DELETE", &url, &key, &secret]);
    result.expect("the probe passes once the printed bucket exists");
}

#[tokio::test]
async fn azblob_printed_container_create_makes_the_probe_pass() {
    let (script,) = need!("GST_OBJSTORE_PY");
    let Some((_, mut store)) = azblob(&unique("fixcont")) else {
        return;
    };
    let container = unique("fixcontainer").to_lowercase().replace('_', "-");
    store["container"] = json!(container);
    let (err, _) = probe_err(json!({ "store": store }), false).await;
    assert_eq!(err.kind, ErrorKind::Rejected, "{err:?}");
    let command = printed_command(&err);
    assert!(
        command.starts_with("az storage container create "),
        "{command}"
    );
    let key = store["account_key"].as_str().unwrap().to_string();
    assert!(!command.contains(&key), "{command}");
    assert_eq!(flag_value(&command, "--name"), container);
    let account = flag_value(&command, "--account-name");
    let url = format!(
        "{}/{container}?restype=container",
        flag_value(&command, "--blob-endpoint")
    );
    objstore_py(&script, &["az", "PUT", &url, &account, &key]);
    let cleanup = CleanupRegistry::default();
    let result = probe(json!({ "store": store }), false, &cleanup).await;
    run_cleanup(&cleanup).await;
    objstore_py(&script, &["az", "DELETE", &url, &account, &key]);
    result.expect("the probe passes once the printed container exists");
}

/// fake-gcs-server takes the JSON API's bucket insert (what `gcloud storage buckets create`
/// sends) without authentication; the rerun gets past the listing (fake-gcs-server then stops
/// at the multipart write, see `gcs_healthy`).
#[tokio::test]
async fn gcs_printed_bucket_create_gets_the_probe_past_the_missing_bucket() {
    let Some((_, mut store)) = gcs(&unique("gcsfix")) else {
        return;
    };
    let endpoint = store["endpoint"].as_str().unwrap().to_string();
    let bucket = use_missing_bucket(&mut store);
    let cleanup = CleanupRegistry::default();
    let err = gcs_probe(store.clone(), &cleanup).await.unwrap_err();
    assert_missing_bucket(&err, &bucket);
    assert_eq!(
        printed_command(&err),
        format!("gcloud storage buckets create gs://{bucket}")
    );
    let client = reqwest::Client::new();
    let created = client
        .post(format!("{endpoint}/storage/v1/b"))
        .json(&json!({ "name": bucket }))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{}", created.status());
    let result = gcs_probe(store, &cleanup).await;
    run_cleanup(&cleanup).await;
    client
        .delete(format!("{endpoint}/storage/v1/b/{bucket}"))
        .send()
        .await
        .ok();
    if let Err(err) = result {
        assert!(err.message.starts_with("multipart_write:"), "{err:?}");
        assert!(!err.message.contains("does not exist"), "{err:?}");
    }
}

/// The SAS permissions the hint names (`racwdl`), signed for the container by its account key
/// (what `az storage container generate-sas` does), make the probe that a read-only SAS failed
/// pass.
#[tokio::test]
async fn azblob_sas_with_the_printed_permissions_makes_the_probe_pass() {
    let (script, ro_sas, account, key) = need!(
        "GST_OBJSTORE_PY",
        "GST_AZBLOB_RO_SAS",
        "GST_AZBLOB_ACCOUNT",
        "GST_AZBLOB_KEY"
    );
    let Some(mut scene) = seeded(azblob(&unique("azsasfix"))).await else {
        return;
    };
    let container = scene.store["container"].as_str().unwrap().to_string();
    scene.store["account_key"] = json!("");
    scene.store["sas_token"] = json!(ro_sas);
    let (err, _) = probe_err(json!({ "store": scene.store }), false).await;
    let hint = err.hint.clone().unwrap_or_default();
    let permissions = regex::Regex::new(r"permissions ([a-z]+) ")
        .unwrap()
        .captures(&hint)
        .unwrap_or_else(|| panic!("no SAS permissions in the hint: {hint}"))[1]
        .to_string();
    assert_eq!(permissions, "racwdl");
    let out = std::process::Command::new("python3")
        .args([
            &script,
            "az-sas",
            &account,
            &key,
            &container,
            &permissions,
            "1",
        ])
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "{out:?}");
    let sas = String::from_utf8(out.stdout).unwrap().trim().to_string();
    scene.store["sas_token"] = json!(sas);
    let (out, _) = probe_ok(json!({ "store": scene.store }), false, "probe with racwdl").await;
    assert_eq!(out["credentials"], "sas_token");
    scene.finish().await;
}
