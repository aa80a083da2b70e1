//! `object_store.*`: the datanode's object storage (`[storage]` and every
//! `[[storage.providers]]` entry), reached through OpenDAL 0.57 exactly as GreptimeDB builds
//! its operator: the same service per `type` (File → fs, S3, Oss, Azblob, Gcs), the same
//! builder fields, the root normalised as GreptimeDB normalises it, a reqwest client built
//! from `[storage.http_client]` and handed to OpenDAL with `HttpClientLayer`. GreptimeDB also
//! adds OpenDAL's `RetryLayer` to every type but File; these steps deliberately do not: each
//! operation is one attempt, the first one (a listing) runs under the first-answer deadline
//! (`plugins::answer`), and retries are the playbook's `retry:`.
//!
//! - `object_store.config`: the fields the store's type needs, default credentials and
//!   `skip_ssl_validation`, without any I/O.
//! - `object_store.probe`: reachability, then write / stat / read back / list / delete and a
//!   multipart write of a few MiB, under `<root>/.greptime-self-test/<run id>/`, each a
//!   reported operation with its latency and a precise verdict.
//! - `object_store.bench` (`--include-performance`): small-object PUT/GET latency and GET
//!   time to first byte, then warp-style PUT and GET throughput, under the same prefix.
//!
//! Both writing steps pass every write through a `WriteGate` and register one cleanup that
//! waits for the writes in flight before it deletes the prefix, so nothing is left behind
//! after success, failure, timeout or Ctrl-C.
//!
//! Every step takes one store object as it stands in the config, so a playbook checks the
//! default store and each provider as separate check instances.

/// The `store:` block of the probe's and the benchmark's `explain` examples.
macro_rules! s3_store_example {
    () => {
        "\
store:
  type: S3
  bucket: greptimedb
  root: data
  endpoint: https://s3.us-west-2.amazonaws.com
  region: us-west-2
  access_key_id: AKIA...
  secret_access_key: \"{{ secret }}\"
"
    };
}

mod bench;
mod client;
mod config;
mod probe;

use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

pub use bench::{Bench, BenchOutput, BenchParams};
pub use client::BuildOptions;
pub use config::{Config, ConfigOutput, ConfigParams};
pub use probe::{probe_with, Operation, Probe, ProbeOutput, ProbeParams};

use crate::plugins::de_opt_duration;

pub(super) static STEPS: &[&dyn super::DynStep] = &[&Config, &Probe, &Bench];

/// Directory (key prefix) under the store root that holds every self-test object.
pub const PROBE_DIR: &str = ".greptime-self-test/";

/// `storage.type` (or a provider's `type`), spelled as GreptimeDB spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum StoreType {
    /// Local disk under `storage.data_home`.
    File,
    /// Amazon S3 or an S3-compatible store.
    S3,
    /// Alibaba Cloud OSS.
    Oss,
    /// Azure Blob Storage.
    Azblob,
    /// Google Cloud Storage.
    Gcs,
}

impl StoreType {
    /// The name GreptimeDB gives a store whose `name` is empty.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreType::File => "File",
            StoreType::S3 => "S3",
            StoreType::Oss => "Oss",
            StoreType::Azblob => "Azblob",
            StoreType::Gcs => "Gcs",
        }
    }
}

/// One object store as it stands in the config: the `[storage]` table or one
/// `[[storage.providers]]` entry. Only the fields of its `type` are used; cache keys are
/// accepted and ignored.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `type`: `File`, `S3`, `Oss`, `Azblob` or `Gcs` (default `File`, as in GreptimeDB).
    #[serde(rename = "type", default = "default_type")]
    pub kind: StoreType,
    /// `name`: the provider name (tables pick it with `WITH (storage = '<name>')`); empty
    /// means the type name.
    #[serde(default)]
    pub name: Option<String>,
    /// `bucket` (S3, Oss, Gcs).
    #[serde(default)]
    pub bucket: Option<String>,
    /// `container` (Azblob).
    #[serde(default)]
    pub container: Option<String>,
    /// `root`: key prefix of every object GreptimeDB writes, normalised as GreptimeDB does
    /// (doubled and leading slashes dropped, a trailing slash added).
    #[serde(default)]
    pub root: Option<String>,
    /// `endpoint` (optional for S3, required for Oss and Azblob, optional for Gcs).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// `region` (S3 only; GreptimeDB ignores it for the other types).
    #[serde(default)]
    pub region: Option<String>,
    /// `enable_virtual_host_style` (S3): `https://<bucket>.<endpoint>` instead of path style.
    #[serde(default)]
    pub enable_virtual_host_style: bool,
    /// `disable_ec2_metadata` (S3): do not ask the EC2 instance metadata service for
    /// credentials when the keys are empty.
    #[serde(default)]
    pub disable_ec2_metadata: bool,
    /// `access_key_id` (S3, Oss); empty means the provider's default credential chain.
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// `secret_access_key` (S3).
    #[serde(default)]
    pub secret_access_key: Option<String>,
    /// `access_key_secret` (Oss).
    #[serde(default)]
    pub access_key_secret: Option<String>,
    /// `account_name` (Azblob).
    #[serde(default)]
    pub account_name: Option<String>,
    /// `account_key` (Azblob).
    #[serde(default)]
    pub account_key: Option<String>,
    /// `sas_token` (Azblob), used instead of the account key when set.
    #[serde(default)]
    pub sas_token: Option<String>,
    /// `scope` (Gcs), e.g. `https://www.googleapis.com/auth/devstorage.read_write`.
    #[serde(default)]
    pub scope: Option<String>,
    /// `credential_path` (Gcs): service-account JSON file.
    #[serde(default)]
    pub credential_path: Option<String>,
    /// `credential` (Gcs): base64 of the service-account JSON.
    #[serde(default)]
    pub credential: Option<String>,
    /// `http_client` of this store (a provider's own table). When present it is used instead
    /// of the step's `http_client` parameter.
    #[serde(default)]
    pub http_client: Option<HttpClientConfig>,
    /// `storage.data_home` when the whole `[storage]` table is passed: the root of a File
    /// store, used when the step has no `data_home` parameter.
    #[serde(default)]
    pub data_home: Option<String>,
    /// `storage.providers` when the whole `[storage]` table is passed: accepted and ignored
    /// (each provider is a store of its own, probed by its own check).
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub providers: Option<Value>,
    /// Read-cache key, accepted and ignored.
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub enable_read_cache: Option<Value>,
    /// Read-cache key, accepted and ignored.
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub cache_path: Option<Value>,
    /// Read-cache key, accepted and ignored.
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub cache_capacity: Option<Value>,
}

fn default_type() -> StoreType {
    StoreType::File
}

impl StoreConfig {
    /// The store's name as GreptimeDB computes it: `name`, or the type name when empty (File
    /// stores have no name).
    pub fn display_name(&self) -> String {
        match self.name.as_deref().map(str::trim) {
            Some(name) if !name.is_empty() && self.kind != StoreType::File => name.to_string(),
            _ => self.kind.as_str().to_string(),
        }
    }

    /// The secrets of this store (to scrub from any message).
    pub fn secrets(&self) -> Vec<&str> {
        [
            &self.access_key_id,
            &self.secret_access_key,
            &self.access_key_secret,
            &self.account_key,
            &self.sas_token,
            &self.credential,
        ]
        .into_iter()
        .filter_map(|v| v.as_deref())
        .filter(|v| v.len() >= 4)
        .collect()
    }
}

/// `[storage.http_client]`: the reqwest client GreptimeDB hands to OpenDAL for object
/// storage types (ignored for File).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpClientConfig {
    /// `pool_max_idle_per_host` (default 1024).
    #[serde(default)]
    pub pool_max_idle_per_host: Option<u32>,
    /// `connect_timeout` (humantime, default `30s`).
    #[serde(default, deserialize_with = "de_opt_duration")]
    #[schemars(with = "Option<String>")]
    pub connect_timeout: Option<Duration>,
    /// `timeout` (humantime, default `30s`): total time of one request, body included.
    #[serde(default, deserialize_with = "de_opt_duration")]
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Duration>,
    /// `pool_idle_timeout` (humantime, default `90s`).
    #[serde(default, deserialize_with = "de_opt_duration")]
    #[schemars(with = "Option<String>")]
    pub pool_idle_timeout: Option<Duration>,
    /// `skip_ssl_validation` (default false): accept any server certificate. Insecure;
    /// reported as a warning field, never an error.
    #[serde(default)]
    pub skip_ssl_validation: bool,
}

impl HttpClientConfig {
    pub fn pool_max_idle_per_host(&self) -> u32 {
        self.pool_max_idle_per_host.unwrap_or(1024)
    }
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout.unwrap_or(Duration::from_secs(30))
    }
    pub fn timeout(&self) -> Duration {
        self.timeout.unwrap_or(Duration::from_secs(30))
    }
    pub fn pool_idle_timeout(&self) -> Duration {
        self.pool_idle_timeout.unwrap_or(Duration::from_secs(90))
    }
}

/// GreptimeDB's `normalize_dir`: drops empty segments (doubled slashes), keeps a leading `/`
/// only if there was one, adds a trailing `/`; an empty root becomes `/`.
pub fn normalize_dir(v: &str) -> String {
    let has_root = v.starts_with('/');
    let mut out = v
        .split('/')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("/");
    if has_root {
        out.insert(0, '/');
    }
    if !out.ends_with('/') {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn normalize_dir_is_greptimedbs() {
        assert_eq!(normalize_dir(""), "/");
        assert_eq!(normalize_dir("/"), "/");
        assert_eq!(normalize_dir("/test"), "/test/");
        assert_eq!(normalize_dir("a//b"), "a/b/");
        assert_eq!(normalize_dir("//a/b/"), "/a/b/");
    }

    #[test]
    fn store_accepts_config_tables_and_rejects_unknown_keys() {
        let s3: StoreConfig = serde_json::from_value(json!({
            "type": "S3", "bucket": "b", "root": "x", "access_key_id": "", "secret_access_key": "",
            "cache_capacity": "5GiB", "enable_read_cache": true,
            "http_client": {"timeout": "3s", "skip_ssl_validation": true}
        }))
        .unwrap();
        assert_eq!(s3.kind, StoreType::S3);
        assert_eq!(s3.display_name(), "S3");
        assert_eq!(
            s3.http_client.unwrap().timeout(),
            Duration::from_secs(3),
            "a provider's own http_client table"
        );
        let file: StoreConfig = serde_json::from_value(json!({})).unwrap();
        assert_eq!(file.kind, StoreType::File);
        assert!(serde_json::from_value::<StoreConfig>(json!({"type": "s3"})).is_err());
        assert!(
            serde_json::from_value::<StoreConfig>(json!({"type": "S3", "bukcet": "b"})).is_err()
        );
        let named: StoreConfig =
            serde_json::from_value(json!({"type": "Gcs", "name": "Archive"})).unwrap();
        assert_eq!(named.display_name(), "Archive");
    }
}
