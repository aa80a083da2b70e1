//! The `GreptimeDBCluster` resource (`greptime.io/v1alpha1`) as the operator's Go types declare
//! it: the fields that shape a config file or a command line are typed; the pod-template fields
//! that do not (affinity, resources, probes …) are accepted and kept opaque. Every struct denies
//! unknown fields: a misspelt field is dropped silently by the API server (pruning), so the
//! operator would never see it; here it is an error naming the field.
//!
//! Everything is optional as in Go (`omitempty`); `null` counts as absent, which is how the
//! Helm chart's templates render an unset value.

// The types declare every field the renderer accepts; the pod-template fields (and a few
// others) are accepted so that a real resource loads, and are never read.
#![allow(dead_code)]

mod pod;
mod storage;

use indexmap::IndexMap;
use serde::Deserialize;
use serde_yaml::Value;

pub use pod::{EnvFromSource, EnvVar, KeyRef, MainContainer, PodTemplate};
pub use storage::{
    BackendStorage, FileStorage, KafkaWal, ObjectStorage, RetainPolicy, SqlStorage, WalProvider,
};

/// The whole document.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GreptimeDbCluster {
    pub api_version: String,
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: ClusterSpec,
    /// Written by the operator; read by nobody here.
    #[serde(default)]
    pub status: Option<Value>,
}

/// `metadata`: only the name and namespace matter; the rest (labels, uid, managedFields …)
/// is whatever the API server or Helm put there, so it is not checked.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ObjectMeta {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterSpec {
    pub base: Option<PodTemplate>,
    pub frontend: Option<FrontendSpec>,
    pub meta: Option<MetaSpec>,
    pub datanode: Option<DatanodeSpec>,
    pub datanode_groups: Option<Vec<DatanodeSpec>>,
    pub flownode: Option<FlownodeSpec>,
    pub frontend_groups: Option<Vec<FrontendSpec>>,
    /// Service ports only (the frontend Service's `port`); the containers listen on the
    /// component's own ports.
    pub http_port: Option<i32>,
    pub rpc_port: Option<i32>,
    pub mysql_port: Option<i32>,
    #[serde(rename = "postgreSQLPort")]
    pub postgresql_port: Option<i32>,
    pub prometheus_monitor: Option<Value>,
    /// Overwritten by the operator from the base image tag.
    pub version: Option<String>,
    pub initializer: Option<InitializerSpec>,
    pub object_storage: Option<ObjectStorage>,
    pub wal: Option<WalProvider>,
    pub logging: Option<LoggingSpec>,
    pub monitoring: Option<MonitoringSpec>,
    pub ingress: Option<Value>,
    pub tracing: Option<TracingSpec>,
    pub config_merge_strategy: Option<String>,
    #[serde(rename = "enableIPv6")]
    pub enable_ipv6: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InitializerSpec {
    pub image: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MonitoringSpec {
    pub enabled: Option<bool>,
    pub ttl: Option<String>,
    /// The monitoring standalone instance: a separate `GreptimeDBStandalone`, not rendered.
    pub standalone: Option<Value>,
    pub logs_collection: Option<Value>,
    pub vector: Option<Value>,
}

impl MonitoringSpec {
    pub fn is_enabled(this: Option<&Self>) -> bool {
        this.and_then(|m| m.enabled).unwrap_or(false)
    }
}

/// `spec.meta`. The `ComponentSpec` fields are spelt out in each role (no `flatten`: serde
/// cannot deny unknown fields through it).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MetaSpec {
    pub replicas: Option<i32>,
    pub config: Option<String>,
    pub template: Option<PodTemplate>,
    pub logging: Option<LoggingSpec>,
    pub tracing: Option<TracingSpec>,
    pub rpc_port: Option<i32>,
    pub http_port: Option<i32>,
    pub backend_storage: Option<BackendStorage>,
    pub enable_region_failover: Option<bool>,
    pub rolling_update: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FrontendSpec {
    pub replicas: Option<i32>,
    pub config: Option<String>,
    pub template: Option<PodTemplate>,
    pub logging: Option<LoggingSpec>,
    pub tracing: Option<TracingSpec>,
    /// Required in `frontendGroups`; names the Deployment `<cluster>-frontend-<name>`.
    pub name: Option<String>,
    pub rpc_port: Option<i32>,
    pub http_port: Option<i32>,
    pub mysql_port: Option<i32>,
    #[serde(rename = "postgreSQLPort")]
    pub postgresql_port: Option<i32>,
    pub internal_port: Option<i32>,
    pub service: Option<Value>,
    pub tls: Option<TlsSpec>,
    pub rolling_update: Option<Value>,
    pub slow_query: Option<SlowQuery>,
    pub enable_object_storage: Option<bool>,
    pub audit_log: Option<AuditLogSpec>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DatanodeSpec {
    pub replicas: Option<i32>,
    pub config: Option<String>,
    pub template: Option<PodTemplate>,
    pub logging: Option<LoggingSpec>,
    pub tracing: Option<TracingSpec>,
    /// Required in `datanodeGroups`; names the StatefulSet `<cluster>-datanode-<name>`.
    pub name: Option<String>,
    pub rpc_port: Option<i32>,
    pub http_port: Option<i32>,
    pub storage: Option<DatanodeStorage>,
    pub rolling_update: Option<Value>,
    #[serde(rename = "startNodeID")]
    pub start_node_id: Option<i32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FlownodeSpec {
    pub replicas: Option<i32>,
    pub config: Option<String>,
    pub template: Option<PodTemplate>,
    pub logging: Option<LoggingSpec>,
    pub tracing: Option<TracingSpec>,
    pub rpc_port: Option<i32>,
    pub http_port: Option<i32>,
    pub rolling_update: Option<Value>,
    #[serde(rename = "startNodeID")]
    pub start_node_id: Option<i32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DatanodeStorage {
    pub data_home: Option<String>,
    pub fs: Option<FileStorage>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TlsSpec {
    pub secret_name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Info,
    Error,
    Warn,
    Debug,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Info => "info",
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Debug => "debug",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Text,
}

impl LogFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Json => "json",
            LogFormat::Text => "text",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LoggingSpec {
    pub level: Option<LogLevel>,
    pub filters: Option<Vec<String>>,
    pub logs_dir: Option<String>,
    pub persistent_with_data: Option<bool>,
    pub only_log_to_stdout: Option<bool>,
    pub format: Option<LogFormat>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TracingSpec {
    pub enabled: Option<bool>,
    pub endpoint: Option<String>,
    /// A string in the resource ("0.5"); parsed as a float when written.
    pub sample_ratio: Option<String>,
    pub headers: Option<IndexMap<String, String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlowQueryRecordType {
    SystemTable,
    Log,
}

impl SlowQueryRecordType {
    pub fn as_str(self) -> &'static str {
        match self {
            SlowQueryRecordType::SystemTable => "system_table",
            SlowQueryRecordType::Log => "log",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SlowQuery {
    pub enabled: Option<bool>,
    pub record_type: Option<SlowQueryRecordType>,
    pub threshold: Option<String>,
    pub sample_ratio: Option<String>,
    pub ttl: Option<String>,
}

/// GreptimeDB Enterprise only; rendered as the operator renders it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AuditLogSpec {
    pub enabled: Option<bool>,
    pub dir: Option<String>,
    pub sources: Option<String>,
    pub classes: Option<String>,
    pub commands: Option<String>,
    pub object_types: Option<String>,
    pub max_log_files: Option<i32>,
}
