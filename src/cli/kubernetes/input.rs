//! What `kubernetes` reads: the `-f` streams (`-` is stdin, read once) and the `--secret
//! NAME=PATH` flags, checked enough to say which flag is wrong before the renderer runs; and,
//! from the streams, what `--emit-job` and the name look-up need besides the rendering: the
//! `GreptimeDBCluster` document itself and every namespace the streams mention.

use std::collections::BTreeSet;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::Deserialize as _;
use serde_yaml::Value;

use crate::cli::Failure;
use crate::diag::Diagnostic;
use crate::kubernetes::Input;

/// The renderer's input plus what the streams say besides.
pub struct Given {
    pub input: Input,
    /// Namespaces named by any document (`metadata.namespace`): with the resource's own, a
    /// two-label name `<service>.<namespace>` of one of them is an in-cluster name.
    pub namespaces: BTreeSet<String>,
}

impl Given {
    /// The inputs as a report names them: `cluster.yaml`, `<stdin>`, joined by `, `.
    pub fn shown_name(&self) -> String {
        self.input
            .documents
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The `GreptimeDBCluster` document, as written (the renderer has checked there is one).
    pub fn cluster_document(&self) -> Option<Value> {
        self.documents()
            .find(|doc| doc.get("kind").and_then(Value::as_str) == Some("GreptimeDBCluster"))
    }

    fn documents(&self) -> impl Iterator<Item = Value> + '_ {
        self.input.documents.iter().flat_map(|(_, text)| {
            serde_yaml::Deserializer::from_str(text)
                .filter_map(|doc| serde_yaml::Value::deserialize(doc).ok())
                .filter(|doc| !doc.is_null())
                .collect::<Vec<_>>()
        })
    }
}

/// Reads every `-f` stream and checks every `--secret` flag.
pub fn read(files: &[String], secret_flags: &[String]) -> Result<Given, Failure> {
    if files.iter().filter(|f| f.as_str() == "-").count() > 1 {
        return Err(
            Diagnostic::new("stdin given twice", "`-f -` appears more than once")
                .with_hint("stdin can be read once: give `-f -` once")
                .into(),
        );
    }
    let mut documents = Vec::new();
    for file in files {
        documents.push(if file == "-" {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).map_err(|e| {
                Diagnostic::new("cannot read stdin", e.to_string()).with_hint(
                    "pipe the YAML in, e.g. `helm template … | greptime-self-test kubernetes -f -`",
                )
            })?;
            ("<stdin>".to_string(), text)
        } else {
            let text = std::fs::read_to_string(file).map_err(|e| {
                Diagnostic::new("cannot read resource", format!("{file}: {e}")).with_hint(
                    "give the YAML holding the GreptimeDBCluster with -f FILE (or -f - for stdin)",
                )
            })?;
            (file.clone(), text)
        });
    }
    let secret_files = secret_flags
        .iter()
        .map(|flag| secret_flag(flag))
        .collect::<Result<Vec<_>, _>>()?;
    let mut given = Given {
        input: Input {
            documents,
            secret_files,
        },
        namespaces: BTreeSet::new(),
    };
    given.namespaces = given
        .documents()
        .filter_map(|doc| {
            doc.get("metadata")?
                .get("namespace")?
                .as_str()
                .map(str::to_string)
        })
        .collect();
    Ok(given)
}

/// `NAME=PATH`, PATH existing (a file or a directory).
fn secret_flag(flag: &str) -> Result<(String, PathBuf), Diagnostic> {
    let hint = "write --secret NAME=PATH: NAME as the resource names the Secret, PATH a YAML \
                mapping of its keys, a Secret manifest, or a directory with one file per key";
    let (name, path) = flag
        .split_once('=')
        .filter(|(name, path)| !name.trim().is_empty() && !path.is_empty())
        .ok_or_else(|| {
            Diagnostic::new("malformed --secret", format!("`{flag}` is not NAME=PATH"))
                .with_hint(hint)
        })?;
    if !Path::new(path).exists() {
        return Err(Diagnostic::new(
            "cannot read Secret",
            format!("--secret {name}: {path} does not exist"),
        )
        .with_hint(hint));
    }
    Ok((name.trim().to_string(), PathBuf::from(path)))
}

/// The names of the Secrets the resource's spec refers to for what the operator reads into
/// configs (object store, metadata store and Kafka credentials): every `secretName`,
/// `credentialsSecretName`, `existingSecretName` and `secretRef[.name]`, except under a `tls`
/// key (the frontend's certificate is mounted into its pod, not read into a config).
pub fn referenced_secrets(cluster: &Value) -> Vec<String> {
    let mut names = Vec::new();
    if let Some(spec) = cluster.get("spec") {
        collect_secret_names(spec, &mut names);
    }
    names
}

fn collect_secret_names(value: &Value, names: &mut Vec<String>) {
    match value {
        Value::Mapping(map) => {
            for (key, child) in map {
                let key = key.as_str().unwrap_or_default();
                let named = match (key, child) {
                    ("tls", _) => continue,
                    ("secretName" | "credentialsSecretName" | "existingSecretName", _) => {
                        child.as_str()
                    }
                    ("secretRef", Value::String(name)) => Some(name.as_str()),
                    ("secretRef", _) => child.get("name").and_then(Value::as_str),
                    _ => None,
                };
                match named {
                    Some(name) if !name.is_empty() => {
                        if !names.iter().any(|n| n == name) {
                            names.push(name.to_string());
                        }
                    }
                    Some(_) => {}
                    None => collect_secret_names(child, names),
                }
            }
        }
        Value::Sequence(items) => items.iter().for_each(|v| collect_secret_names(v, names)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_from_every_credential_field_but_tls() {
        let cluster: Value = serde_yaml::from_str(
            "spec:\n  objectStorage:\n    s3: {bucket: b, secretName: s3-credentials}\n  \
             meta:\n    backendStorage:\n      postgresql: {host: pg, credentialsSecretName: pg-credentials}\n  \
             wal:\n    kafka:\n      sasl: {type: PLAIN, secretRef: {name: kafka-sasl, usernameKey: u}}\n  \
             frontend:\n    tls: {secretName: frontend-tls}\n  \
             datanodeGroups:\n    - objectStorage: {s3: {secretName: s3-credentials}}\n",
        )
        .unwrap();
        assert_eq!(
            referenced_secrets(&cluster),
            ["s3-credentials", "pg-credentials", "kafka-sasl"]
        );
    }

    #[test]
    fn secret_flags_are_name_equals_an_existing_path() {
        let dir = tempfile::tempdir().unwrap();
        let flag = format!("s3-credentials={}", dir.path().display());
        assert_eq!(secret_flag(&flag).unwrap().0, "s3-credentials");
        assert_eq!(
            secret_flag("s3-credentials").unwrap_err().title,
            "malformed --secret"
        );
        assert_eq!(secret_flag("=x").unwrap_err().title, "malformed --secret");
        let missing = secret_flag("s3=/nonexistent/s3.yaml").unwrap_err();
        assert!(
            missing.message.contains("/nonexistent/s3.yaml"),
            "{}",
            missing.message
        );
    }
}
