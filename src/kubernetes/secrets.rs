//! Secrets (and ConfigMaps) the operator and the kubelet read: from the input streams and from
//! `--secret NAME=FILE`. The operator reads a Secret's keys itself and pastes the values into
//! the generated config (`pkg/util/k8s/k8s.go` `GetSecretsData`); a missing Secret or key stops
//! its reconcile, and here it stops the render with the field that names it.

use std::cell::RefCell;
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
    /// (as `stringData`).
    pub fn from_file(name: &str, path: &Path) -> Result<Self, Diagnostic> {
        let origin = format!("--secret {name}={}", path.display());
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

/// The Secrets the cluster's namespace holds, and every value read from them (for masking).
#[derive(Debug)]
pub struct SecretStore {
    namespace: String,
    /// `--secret` files first: they win over a stream's Secret of the same name.
    secrets: Vec<SecretData>,
    config_maps: Vec<ConfigMapData>,
    read: RefCell<Vec<String>>,
    log: RefCell<Vec<SecretRead>>,
}

/// One key read because a resource field names its Secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRead {
    pub secret: String,
    pub key: String,
    pub field: String,
    pub value: String,
}

/// Which Secret keys a resource field makes the operator read.
pub struct SecretUse<'a> {
    pub name: &'a str,
    pub keys: &'a [&'a str],
    /// The resource field naming the Secret, e.g. `spec.objectStorage.s3.secretName`.
    pub field: &'a str,
    /// What the values become, e.g. "the datanode's storage.access_key_id and …".
    pub purpose: &'a str,
    /// Keys whose values are not secret (user names): not masked, as a user name such as
    /// `greptime` would hide every mention of the product.
    pub public: &'a [&'a str],
}

impl SecretStore {
    pub fn new(
        namespace: &str,
        mut files: Vec<SecretData>,
        streams: Vec<SecretData>,
        config_maps: Vec<ConfigMapData>,
    ) -> Self {
        // A later manifest of the same name replaces an earlier one, as `kubectl apply` does.
        files.extend(streams.into_iter().rev());
        Self {
            namespace: namespace.to_string(),
            secrets: files,
            config_maps,
            read: RefCell::new(Vec::new()),
            log: RefCell::new(Vec::new()),
        }
    }

    fn visible(&self, ns: Option<&str>) -> bool {
        ns.is_none_or(|ns| ns == self.namespace)
    }

    /// The Secret `name` in the cluster's namespace.
    pub fn secret(&self, name: &str) -> Option<&SecretData> {
        self.secrets
            .iter()
            .find(|s| s.name == name && self.visible(s.namespace.as_deref()))
    }

    pub fn config_map(&self, name: &str) -> Option<&ConfigMapData> {
        self.config_maps
            .iter()
            .find(|c| c.name == name && self.visible(c.namespace.as_deref()))
    }

    /// The operator's `Check`: the Secret exists with `keys`; nothing is read.
    pub fn check(&self, use_: &SecretUse) -> Result<(), Diagnostic> {
        self.values(use_).map(|_| ())
    }

    /// The values of `keys`, in order, as the operator reads them; each becomes a secret to
    /// mask.
    pub fn read(&self, use_: &SecretUse) -> Result<Vec<Vec<u8>>, Diagnostic> {
        let values = self.values(use_)?;
        for (value, key) in values.iter().zip(use_.keys) {
            let value = String::from_utf8_lossy(value).into_owned();
            if !use_.public.contains(key) {
                self.remember(&value);
            }
            let read = SecretRead {
                secret: use_.name.to_string(),
                key: key.to_string(),
                field: use_.field.to_string(),
                value,
            };
            let mut log = self.log.borrow_mut();
            if !log.contains(&read) {
                log.push(read);
            }
        }
        Ok(values)
    }

    fn values(&self, use_: &SecretUse) -> Result<Vec<Vec<u8>>, Diagnostic> {
        let secret = self.secret(use_.name).ok_or_else(|| self.missing(use_))?;
        let mut values = Vec::new();
        for key in use_.keys {
            let value = secret.data.get(*key).ok_or_else(|| {
                let present = secret
                    .data
                    .keys()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>();
                Diagnostic::new(
                    format!("Secret `{}` has no key `{key}`", use_.name),
                    format!(
                        "{} names Secret `{}` ({}); the operator reads keys {} from it for {} \
                         and stops when one is missing; the Secret has {}",
                        use_.field,
                        use_.name,
                        secret.origin,
                        keys_list(use_.keys),
                        use_.purpose,
                        if present.is_empty() {
                            "no keys".to_string()
                        } else {
                            present.join(", ")
                        }
                    ),
                )
                .with_hint(format!(
                    "add `{key}` to the Secret's data or stringData (or to the --secret file)"
                ))
            })?;
            values.push(value.clone());
        }
        Ok(values)
    }

    /// Like [`read`](Self::read), as text.
    pub fn read_text(&self, use_: &SecretUse) -> Result<Vec<String>, Diagnostic> {
        self.read(use_)?
            .into_iter()
            .zip(use_.keys)
            .map(|(bytes, key)| {
                String::from_utf8(bytes).map_err(|_| {
                    Diagnostic::new(
                        "invalid Secret value",
                        format!(
                            "key `{key}` of Secret `{}` ({}) is not UTF-8 text",
                            use_.name, use_.field
                        ),
                    )
                })
            })
            .collect()
    }

    fn missing(&self, use_: &SecretUse) -> Diagnostic {
        let elsewhere = self
            .secrets
            .iter()
            .find(|s| s.name == use_.name)
            .and_then(|s| s.namespace.clone());
        let mut message = format!(
            "{} names Secret `{}` (namespace `{}`), which is not in the input; the operator \
             reads keys {} from it for {}",
            use_.field,
            use_.name,
            self.namespace,
            keys_list(use_.keys),
            use_.purpose
        );
        if let Some(ns) = elsewhere {
            message.push_str(&format!(
                "; a Secret of that name is in namespace `{ns}`, but the operator reads the \
                 cluster's"
            ));
        }
        Diagnostic::new(format!("Secret `{}` not found", use_.name), message).with_hint(format!(
            "add the Secret's manifest to the input, or pass `--secret {}=FILE` with FILE a YAML \
             mapping of {}",
            use_.name,
            keys_list(use_.keys)
        ))
    }

    /// A value read outside [`read`](Self::read) (env `secretKeyRef`, plain SASL passwords).
    pub fn remember(&self, value: &str) {
        let mut read = self.read.borrow_mut();
        if !value.is_empty() && !read.iter().any(|v| v == value) {
            read.push(value.to_string());
        }
    }

    /// Every key read for a resource field, in order.
    pub fn reads(&self) -> Vec<SecretRead> {
        self.log.borrow().clone()
    }

    /// Every value read, without duplicates.
    pub fn values_read(&self) -> Vec<String> {
        self.read.borrow().clone()
    }
}

fn keys_list(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A manifest stream with the values under `data:` / `stringData:` and of secret-named keys
/// hidden, for quoting its lines. Line numbers are kept.
pub fn redact_stream(text: &str) -> String {
    let text = crate::config::redact_yaml_source(text);
    let text = crate::config::redact_toml_source(&text);
    let mut block: Option<usize> = None;
    text.lines()
        .map(|line| {
            let indent = line.len() - line.trim_start().len();
            let trimmed = line.trim();
            if let Some(at) = block {
                if trimmed.is_empty() || indent > at {
                    return match line.split_once(':') {
                        Some((key, value)) if !value.trim().is_empty() => {
                            format!("{key}: \"******\"")
                        }
                        _ => line.to_string(),
                    };
                }
                block = None;
            }
            if trimmed == "data:" || trimmed == "stringData:" {
                block = Some(indent);
            }
            line.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::redact_stream;

    #[test]
    fn quoted_streams_hide_secret_data_and_keep_lines() {
        let text = "kind: Secret\ndata:\n  access-key-id: QUtJQQ==\n  other: eA==\nstringData:\n  k: v\nkind: x\nconfig: |\n  secret_access_key = \"s\"\n";
        let redacted = redact_stream(text);
        assert_eq!(redacted.lines().count(), text.lines().count());
        for hidden in ["QUtJQQ==", "eA==", ": v", "\"s\""] {
            assert!(!redacted.contains(hidden), "{hidden}: {redacted}");
        }
        assert!(redacted.contains("kind: x"));
    }
}
