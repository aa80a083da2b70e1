//! Pod templates (`spec.base`, `spec.<role>.template`): the main container's image, command,
//! args and environment shape what runs; everything else is accepted and not interpreted.

use indexmap::IndexMap;
use serde::Deserialize;
use serde_yaml::Value;

/// The operator's `PodTemplateSpec` (annotations, labels, `main` and the `SlimPodSpec` fields
/// inline).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodTemplate {
    pub annotations: Option<IndexMap<String, String>>,
    pub labels: Option<IndexMap<String, String>>,
    pub main: Option<MainContainer>,
    pub node_selector: Option<Value>,
    pub init_containers: Option<Value>,
    pub restart_policy: Option<Value>,
    pub termination_grace_period_seconds: Option<Value>,
    pub active_deadline_seconds: Option<Value>,
    pub dns_policy: Option<Value>,
    pub service_account_name: Option<Value>,
    pub host_network: Option<Value>,
    pub image_pull_secrets: Option<Value>,
    pub affinity: Option<Value>,
    pub tolerations: Option<Value>,
    pub scheduler_name: Option<Value>,
    pub additional_containers: Option<Value>,
    pub volumes: Option<Value>,
    pub security_context: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MainContainer {
    pub image: Option<String>,
    pub resources: Option<Value>,
    /// Replaces the image's entrypoint (`greptime`).
    pub command: Option<Vec<String>>,
    /// Replaces every argument the operator generates.
    pub args: Option<Vec<String>>,
    /// Appended to the generated arguments (ignored when `args` is set).
    pub extra_args: Option<Vec<String>>,
    pub working_dir: Option<Value>,
    pub env: Option<Vec<EnvVar>>,
    pub env_from: Option<Vec<EnvFromSource>>,
    pub liveness_probe: Option<Value>,
    pub readiness_probe: Option<Value>,
    pub startup_probe: Option<Value>,
    pub lifecycle: Option<Value>,
    pub image_pull_policy: Option<Value>,
    pub volume_mounts: Option<Value>,
    pub security_context: Option<Value>,
}

/// A container's `env` entry (core/v1 `EnvVar`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EnvVar {
    pub name: String,
    pub value: Option<String>,
    pub value_from: Option<EnvVarSource>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EnvVarSource {
    pub field_ref: Option<FieldRef>,
    pub resource_field_ref: Option<Value>,
    pub config_map_key_ref: Option<KeyRef>,
    pub secret_key_ref: Option<KeyRef>,
    pub file_key_ref: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FieldRef {
    pub api_version: Option<String>,
    pub field_path: String,
}

/// `secretKeyRef` / `configMapKeyRef`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KeyRef {
    pub name: Option<String>,
    pub key: String,
    pub optional: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EnvFromSource {
    pub prefix: Option<String>,
    pub config_map_ref: Option<NameRef>,
    pub secret_ref: Option<NameRef>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NameRef {
    pub name: Option<String>,
    pub optional: Option<bool>,
}
