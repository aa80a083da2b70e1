//! Secrets (and ConfigMaps) the operator and the kubelet read: from the input streams and from
//! `--secret NAME=FILE`. The operator reads a Secret's keys itself and pastes the values into
//! the generated config (`pkg/util/k8s/k8s.go` `GetSecretsData`); a missing Secret or key stops
//! its reconcile, and here it stops the render with the field that names it.

mod objects;

use std::cell::RefCell;

use crate::diag::Diagnostic;

pub use objects::{ConfigMapData, SecretData};

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
        if use_.name.is_empty() {
            return Err(Diagnostic::new(
                "no Secret named",
                format!(
                    "`{}` is empty; the operator reads keys {} from the Secret it names for {} \
                     and stops when it cannot",
                    use_.field,
                    keys_list(use_.keys),
                    use_.purpose
                ),
            )
            .with_hint(format!("set `{}` to the Secret's name", use_.field)));
        }
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

    #[test]
    fn a_mounted_secret_volume_reads_one_key_per_file() {
        // the kubelet's layout: keys are links into `..data`, which points at a dated folder
        let dir = tempfile::tempdir().unwrap();
        let dated = dir.path().join("..2026_12_07_00_00_00.1");
        std::fs::create_dir(&dated).unwrap();
        std::fs::write(dated.join("password"), "p@ss:word").unwrap();
        std::os::unix::fs::symlink(&dated, dir.path().join("..data")).unwrap();
        std::os::unix::fs::symlink(
            dir.path().join("..data/password"),
            dir.path().join("password"),
        )
        .unwrap();
        let secret = super::SecretData::from_file("pg", dir.path()).unwrap();
        let keys: Vec<&String> = secret.data.keys().collect();
        assert_eq!(keys, ["password"]);
        assert_eq!(secret.data["password"], b"p@ss:word");
    }
}
