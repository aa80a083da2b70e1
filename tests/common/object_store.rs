//! Helpers shared by the object-store tests (`tests/plugins_object_store.rs`,
//! `tests/bench_object_store.rs`): the S3 test server, an administrator's view of a store root
//! (to seed, list and wipe it around a scenario) and a directory for File stores.

use std::collections::BTreeMap;

use futures::TryStreamExt;
use opendal::services::S3;
use opendal::Operator;
use serde_json::Value;

use super::service;

/// Every object under a root: path relative to the root → bytes.
pub type Objects = BTreeMap<String, Vec<u8>>;

/// Installs the rustls crypto provider OpenDAL's HTTP client needs (again is harmless).
pub fn install_ring() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The SeaweedFS S3 server started by `scripts/services.sh` (`GST_S3_*`).
pub struct S3Server {
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    admin_key: String,
    admin_secret: String,
}

impl S3Server {
    /// The server the environment names; `None` (the test skips) when a variable is missing.
    pub fn from_env() -> Option<Self> {
        Some(Self {
            endpoint: service("GST_S3_ENDPOINT")?,
            bucket: service("GST_S3_BUCKET")?,
            region: service("GST_S3_REGION")?,
            admin_key: service("GST_S3_ADMIN_KEY")?,
            admin_secret: service("GST_S3_ADMIN_SECRET")?,
        })
    }

    /// The S3 service rooted at `root` with the admin credential, to seed, list and wipe it.
    pub fn admin(&self, root: &str) -> S3 {
        install_ring();
        S3::default()
            .root(root)
            .bucket(&self.bucket)
            .endpoint(&self.endpoint)
            .region(&self.region)
            .access_key_id(&self.admin_key)
            .secret_access_key(&self.admin_secret)
    }
}

/// Every object under the root of `admin`.
pub async fn snapshot(admin: &Operator) -> Objects {
    let mut out = BTreeMap::new();
    let mut lister = admin
        .lister_with("/")
        .recursive(true)
        .await
        .expect("admin list");
    while let Some(entry) = lister.try_next().await.expect("admin list") {
        if entry.metadata().is_file() {
            let bytes = admin
                .read(entry.path())
                .await
                .unwrap_or_else(|e| panic!("admin read of listed `{}`: {e}", entry.path()));
            out.insert(entry.path().to_string(), bytes.to_vec());
        }
    }
    out
}

/// Removes everything under the root of `admin`.
pub async fn wipe(admin: &Operator) {
    admin.delete_with("/").recursive(true).await.ok();
}

/// A store under a fresh root that holds one pre-existing object: the store table a step is
/// given, an admin operator on the same root, and what the root held before the scenario.
pub struct Seeded {
    pub admin: Operator,
    pub store: Value,
    before: Objects,
}

impl Seeded {
    /// Writes `object` under the (empty) root of `admin` and takes the snapshot to compare with.
    pub async fn new(admin: Operator, store: Value, object: &str) -> Self {
        admin
            .write(object, b"do not touch me".to_vec())
            .await
            .expect("admin write");
        let before = snapshot(&admin).await;
        assert_eq!(before.len(), 1, "a fresh root holds the seeded object only");
        Self {
            admin,
            store,
            before,
        }
    }

    /// The root holds exactly what it held before: the pre-existing object untouched, no
    /// object of the self-test left.
    pub async fn assert_untouched(&self) {
        let after = snapshot(&self.admin).await;
        assert!(
            after.keys().all(|k| !k.contains(".greptime-self-test")),
            "self-test objects left: {:?}",
            after.keys().collect::<Vec<_>>()
        );
        assert_eq!(
            after, self.before,
            "pre-existing objects untouched, nothing left"
        );
    }

    /// [`Self::assert_untouched`], then wipes the root.
    pub async fn finish(self) {
        self.assert_untouched().await;
        wipe(&self.admin).await;
    }
}

/// A temporary directory holding one file, `keep.txt` (`keep`), that a File store step must
/// leave alone.
pub fn dir_keeping_a_file() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("keep.txt"), b"keep").unwrap();
    tmp
}
