//! The config layer: a component TOML becomes an [`EffectiveConfig`], read the way GreptimeDB
//! reads it. (Stub: being implemented.)

pub mod units;

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diag::Diagnostic;

/// A GreptimeDB component.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Component {
    Metasrv,
    Frontend,
    Datanode,
    Flownode,
    Standalone,
}

impl Component {
    pub const ALL: [Component; 5] = [
        Component::Metasrv,
        Component::Frontend,
        Component::Datanode,
        Component::Flownode,
        Component::Standalone,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Component::Metasrv => "metasrv",
            Component::Frontend => "frontend",
            Component::Datanode => "datanode",
            Component::Flownode => "flownode",
            Component::Standalone => "standalone",
        }
    }

    /// GreptimeDB's default environment prefix, e.g. `GREPTIMEDB_DATANODE`.
    pub fn env_prefix(self) -> String {
        format!("GREPTIMEDB_{}", self.as_str().to_uppercase())
    }
}

/// How to build the effective config.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub component: Component,
    pub file: Option<PathBuf>,
    /// The process environment (only variables with the prefix are used).
    pub env: Vec<(String, String)>,
    /// `--env-prefix`; defaults to [`Component::env_prefix`].
    pub env_prefix: Option<String>,
    /// `--set key.path=value` overrides, applied last.
    pub overrides: Vec<String>,
}

/// Severity of a lint finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Warning,
    Error,
}

/// One config problem GreptimeDB would ignore or fail on late.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct LintFinding {
    pub severity: Severity,
    /// `unknown_key`, `invalid_enum`, `missing_required`, `duplicate_provider`, `invalid_value`, `env_shadowed`.
    pub code: String,
    /// Dotted key path, e.g. `storage.type`.
    pub key: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// `file:line:col` when the key comes from the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// The config as the component would see it, plus what we found wrong with it.
#[derive(Debug, Clone)]
pub struct EffectiveConfig {
    pub component: Component,
    pub file: Option<PathBuf>,
    /// defaults < environment < file < `--set`, as a JSON tree.
    pub value: serde_json::Value,
    pub findings: Vec<LintFinding>,
    /// Secret values found anywhere in the inputs, for the engine's masker.
    pub secrets: Vec<String>,
}

/// Builds the effective config. Malformed TOML is a [`Diagnostic`] naming file, line and column.
pub fn load(opts: &LoadOptions) -> Result<EffectiveConfig, Diagnostic> {
    let value = match &opts.file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Diagnostic::new("cannot read config", format!("{}: {e}", path.display()))
            })?;
            let table: toml::Table = toml::from_str(&text)
                .map_err(|e| Diagnostic::new("malformed TOML", e.to_string()))?;
            serde_json::to_value(table).expect("toml is json")
        }
        None => serde_json::json!({}),
    };
    Ok(EffectiveConfig {
        component: opts.component,
        file: opts.file.clone(),
        value,
        findings: Vec::new(),
        secrets: Vec::new(),
    })
}
