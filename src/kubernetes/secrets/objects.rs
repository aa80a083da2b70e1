//! Secret and ConfigMap manifests, and `--secret NAME=FILE` files, read into their keys and
//! values.

use std::path::Path;

use base64::Engine as _;
use indexmap::IndexMap;
use serde_yaml::{Mapping, Value};

use crate::diag::Diagnostic;

/// One Secret: its keys with their decoded bytes (`data` base64, `stringData` over it, as the
/// API server merges them).
#[derive(Debug, Clone)]
pub struct SecretData {
    pub name: String,
    /// `None`: the manifest names no namespace (it lands in the cluster's).
    pub namespace: Option<String>,
    pub data: IndexMap<String, Vec<u8>>,
    /// Where it came from, for messages.
    pub origin: String,
}

impl SecretData {
    /// A `kind: Secret` manifest. `name` overrides `metadata.name` (for `--secret NAME=FILE`).
    pub fn from_manifest(
        map: &Mapping,
        origin: &str,
        name: Option<&str>,
    ) -> Result<Self, Diagnostic> {
        let meta = map.get("metadata");
        let field = |k: &str| meta.and_then(|m| m.get(k)).and_then(Value::as_str);
        let name = name.or(field("name")).unwrap_or_default().to_string();
        let mut data = IndexMap::new();
        if let Some(entries) = map.get("data").and_then(Value::as_mapping) {
            for (key, value) in entries {
                let key = key_text(key);
                let text = scalar(value).ok_or_else(|| bad_value(&name, &key, origin))?;
                let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect();
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(cleaned.as_bytes())
                    .map_err(|e| {
                        Diagnostic::new(
                            "invalid Secret data",
                            format!("{origin}: key `{key}` of Secret `{name}` is not base64 ({e})"),
                        )
                        .with_hint("`data` values are base64; put plain text under `stringData`")
                    })?;
                data.insert(key, bytes);
            }
        }
        if let Some(entries) = map.get("stringData").and_then(Value::as_mapping) {
            for (key, value) in entries {
                let key = key_text(key);
                let text = scalar(value).ok_or_else(|| bad_value(&name, &key, origin))?;
                data.insert(key, text.into_bytes());
            }
        }
        Ok(Self {
            name,
            namespace: field("namespace").map(str::to_string),
            data,
            origin: origin.to_string(),
        })
    }

    /// `--secret NAME=FILE`: a whole Secret manifest, or a YAML mapping of keys to plain values
    /// (as `stringData`), or a directory with one file per key (a mounted Secret volume, as
    /// the `--emit-job` Job passes them).
    pub fn from_file(name: &str, path: &Path) -> Result<Self, Diagnostic> {
        let origin = format!("--secret {name}={}", path.display());
        if path.is_dir() {
            return Self::from_dir(name, path, origin);
        }
        let text = std::fs::read_to_string(path).map_err(|e| {
            Diagnostic::new("cannot read secret file", format!("{origin}: {e}")).with_hint(
                "FILE is a YAML mapping of the Secret's keys to their values, or a Secret manifest",
            )
        })?;
        let value: Value = serde_yaml::from_str(&text).map_err(|e| {
            Diagnostic::new(
                "cannot read secret file",
                format!("{origin}: not YAML: {e}"),
            )
            .with_hint(
                "FILE is a YAML mapping of the Secret's keys to their values, or a Secret manifest",
            )
        })?;
        let Some(map) = value.as_mapping() else {
            return Err(Diagnostic::new(
                "cannot read secret file",
                format!("{origin}: not a mapping of keys to values"),
            )
            .with_hint("write e.g. `access-key-id: AKIA…` one key per line"));
        };
        let is_manifest = map.get("kind").and_then(Value::as_str) == Some("Secret")
            && map.contains_key("apiVersion");
        if is_manifest {
            let secret = Self::from_manifest(map, &origin, None)?;
            if !secret.name.is_empty() && secret.name != name {
                return Err(Diagnostic::new(
                    "secret name mismatch",
                    format!("{origin} holds Secret `{}`, not `{name}`", secret.name),
                )
                .with_hint(format!(
                    "write `--secret {}={}`",
                    secret.name,
                    path.display()
                )));
            }
            return Ok(Self {
                name: name.to_string(),
                namespace: None,
                ..secret
            });
        }
        let mut data = IndexMap::new();
        for (key, value) in map {
            let key = key_text(key);
            let text = match value {
                Value::String(s) => s.clone(),
                _ => {
                    return Err(Diagnostic::new(
                        "invalid secret file",
                        format!("{origin}: the value of `{key}` is not a string"),
                    )
                    .with_hint(format!(
                        "quote it (`{key}: \"…\"`): unquoted, 123 or true is a number or a \
                         boolean in YAML, not text"
                    )))
                }
            };
            data.insert(key, text.into_bytes());
        }
        Ok(Self {
            name: name.to_string(),
            namespace: None,
            data,
            origin,
        })
    }
}

impl SecretData {
    /// A Secret volume: each key is a file; the kubelet's own `..data` entries start with a dot.
    fn from_dir(name: &str, path: &Path, origin: String) -> Result<Self, Diagnostic> {
        let unreadable = |e: std::io::Error| {
            Diagnostic::new("cannot read secret directory", format!("{origin}: {e}"))
                .with_hint("the directory holds one file per key of the Secret")
        };
        let mut keys = Vec::new();
        for entry in std::fs::read_dir(path).map_err(unreadable)? {
            let entry = entry.map_err(unreadable)?;
            let key = entry.file_name().to_string_lossy().into_owned();
            if !key.starts_with('.') && entry.path().is_file() {
                keys.push((key, entry.path()));
            }
        }
        keys.sort();
        let mut data = IndexMap::new();
        for (key, file) in keys {
            data.insert(key, std::fs::read(&file).map_err(unreadable)?);
        }
        Ok(Self {
            name: name.to_string(),
            namespace: None,
            data,
            origin,
        })
    }
}

fn key_text(key: &Value) -> String {
    scalar(key).unwrap_or_default()
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

fn bad_value(name: &str, key: &str, origin: &str) -> Diagnostic {
    Diagnostic::new(
        "invalid Secret data",
        format!("{origin}: key `{key}` of Secret `{name}` is not a string"),
    )
}

/// A ConfigMap's `data` (for `envFrom` / `configMapKeyRef`).
#[derive(Debug, Clone)]
pub struct ConfigMapData {
    pub name: String,
    pub namespace: Option<String>,
    pub data: IndexMap<String, String>,
}

impl ConfigMapData {
    pub fn from_manifest(map: &Mapping) -> Self {
        let meta = map.get("metadata");
        let field = |k: &str| meta.and_then(|m| m.get(k)).and_then(Value::as_str);
        let data = map
            .get("data")
            .and_then(Value::as_mapping)
            .map(|entries| {
                entries
                    .iter()
                    .filter_map(|(k, v)| Some((key_text(k), scalar(v)?)))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            name: field("name").unwrap_or_default().to_string(),
            namespace: field("namespace").map(str::to_string),
            data,
        }
    }
}
