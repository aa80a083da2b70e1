//! Where the cluster keeps its data: metasrv's backend (`spec.meta.backendStorage`), object
//! storage (`spec.objectStorage`), the WAL (`spec.wal`) and file storage (PVCs).

use indexmap::IndexMap;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BackendStorage {
    pub etcd: Option<EtcdStorage>,
    pub mysql: Option<MySqlStorage>,
    pub postgresql: Option<SqlStorage>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EtcdStorage {
    pub endpoints: Option<Vec<String>>,
    pub enable_check_etcd_service: Option<bool>,
    pub store_key_prefix: Option<String>,
}

/// `postgresql`; MySQL's shape is the same without `electionLockID`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SqlStorage {
    pub host: Option<String>,
    pub port: Option<i32>,
    pub credentials_secret_name: Option<String>,
    pub database: Option<String>,
    pub table: Option<String>,
    #[serde(rename = "electionLockID")]
    pub election_lock_id: Option<u64>,
}

/// `mysql`: the operator's MySQL type has no `electionLockID`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MySqlStorage {
    pub host: Option<String>,
    pub port: Option<i32>,
    pub credentials_secret_name: Option<String>,
    pub database: Option<String>,
    pub table: Option<String>,
}

impl From<MySqlStorage> for SqlStorage {
    fn from(m: MySqlStorage) -> Self {
        SqlStorage {
            host: m.host,
            port: m.port,
            credentials_secret_name: m.credentials_secret_name,
            database: m.database,
            table: m.table,
            election_lock_id: None,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ObjectStorage {
    pub s3: Option<S3Storage>,
    pub oss: Option<OssStorage>,
    pub gcs: Option<GcsStorage>,
    pub azblob: Option<AzblobStorage>,
    pub cache: Option<CacheStorage>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct S3Storage {
    pub bucket: Option<String>,
    pub region: Option<String>,
    pub secret_name: Option<String>,
    pub root: Option<String>,
    pub endpoint: Option<String>,
    pub enable_virtual_host_style: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OssStorage {
    pub bucket: Option<String>,
    pub region: Option<String>,
    pub secret_name: Option<String>,
    pub root: Option<String>,
    pub endpoint: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GcsStorage {
    pub bucket: Option<String>,
    pub root: Option<String>,
    pub secret_name: Option<String>,
    pub scope: Option<String>,
    pub endpoint: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AzblobStorage {
    pub container: Option<String>,
    pub secret_name: Option<String>,
    pub root: Option<String>,
    pub endpoint: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CacheStorage {
    pub fs: Option<FileStorage>,
    pub cache_capacity: Option<String>,
}

/// A PVC (or an emptyDir) the operator mounts into the datanode.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FileStorage {
    pub name: Option<String>,
    pub use_empty_dir: Option<bool>,
    pub storage_class_name: Option<String>,
    pub storage_size: Option<String>,
    pub mount_path: Option<String>,
    pub storage_retain_policy: Option<RetainPolicy>,
    pub labels: Option<IndexMap<String, String>>,
    pub annotations: Option<IndexMap<String, String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum RetainPolicy {
    Retain,
    Delete,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WalProvider {
    pub raft_engine: Option<RaftEngineWal>,
    pub kafka: Option<KafkaWal>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RaftEngineWal {
    pub fs: Option<FileStorage>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KafkaWal {
    pub broker_endpoints: Option<Vec<String>>,
    pub sasl: Option<KafkaSasl>,
    pub tls: Option<KafkaTls>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum SaslMechanism {
    #[serde(rename = "PLAIN")]
    Plain,
    #[serde(rename = "SCRAM-SHA-256")]
    ScramSha256,
    #[serde(rename = "SCRAM-SHA-512")]
    ScramSha512,
}

impl SaslMechanism {
    pub fn as_str(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KafkaSasl {
    #[serde(rename = "type")]
    pub mechanism: Option<SaslMechanism>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub secret_ref: Option<KafkaSaslSecretRef>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KafkaSaslSecretRef {
    pub name: Option<String>,
    pub username_key: Option<String>,
    pub password_key: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KafkaTls {
    pub server_ca_cert_path: Option<String>,
    pub client_cert_path: Option<String>,
    pub client_key_path: Option<String>,
}
