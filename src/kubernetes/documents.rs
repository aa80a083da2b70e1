//! The input streams: YAML documents (`---`-separated, `kind: List` expanded) from which the
//! one `GreptimeDBCluster` is picked, with the Secrets and ConfigMaps beside it. Other kinds
//! (Services, the chart's ServiceAccounts …) are skipped without a word.

use std::path::PathBuf;

use serde::Deserialize;
use serde_yaml::{Mapping, Value};

use super::errors;
use super::resource::GreptimeDbCluster;
use super::secrets::{ConfigMapData, SecretData};
use crate::diag::{Diagnostic, SourceFile};

/// The API group and version the renderer reads.
pub const API_VERSION: &str = "greptime.io/v1alpha1";
pub const KIND: &str = "GreptimeDBCluster";

/// What the streams hold.
#[derive(Debug)]
pub struct Documents {
    pub cluster: GreptimeDbCluster,
    /// Where the cluster came from, for messages: `cluster.yaml (document 2)`.
    pub cluster_origin: String,
    pub secrets: Vec<SecretData>,
    pub config_maps: Vec<ConfigMapData>,
}

/// One document of one stream.
struct Doc {
    stream: usize,
    /// 0-based among the stream's documents.
    index: usize,
    /// Inside a `kind: List`, the item's index.
    item: Option<usize>,
    value: Value,
}

impl Doc {
    fn origin(&self, streams: &[(String, String)]) -> String {
        let name = &streams[self.stream].0;
        match self.item {
            Some(item) => format!("{name} (document {}, item {item})", self.index + 1),
            None => format!("{name} (document {})", self.index + 1),
        }
    }
}

/// Reads every stream, finds the one cluster and collects Secrets and ConfigMaps.
pub fn read(streams: &[(String, String)]) -> Result<Documents, Diagnostic> {
    let mut docs = Vec::new();
    for (stream, (name, text)) in streams.iter().enumerate() {
        for (index, de) in serde_yaml::Deserializer::from_str(text).enumerate() {
            let value = Value::deserialize(de).map_err(|e| {
                errors::yaml_syntax(name, text, &e).with_hint(
                    "the input must be Kubernetes manifests in YAML, e.g. `helm template` or \
                     `kubectl get greptimedbcluster NAME -o yaml` output",
                )
            })?;
            expand(stream, index, value, &mut docs);
        }
    }

    let mut secrets = Vec::new();
    let mut config_maps = Vec::new();
    let mut clusters = Vec::new();
    for doc in &docs {
        let Some(map) = doc.value.as_mapping() else {
            continue;
        };
        match str_field(map, "kind") {
            Some(KIND) => clusters.push(doc),
            Some("Secret") => {
                secrets.push(SecretData::from_manifest(map, &doc.origin(streams), None)?)
            }
            Some("ConfigMap") => config_maps.push(ConfigMapData::from_manifest(map)),
            _ => {}
        }
    }

    let standalone = docs
        .iter()
        .any(|d| d.value.get("kind").and_then(Value::as_str) == Some("GreptimeDBStandalone"));
    let doc = match clusters.as_slice() {
        [] if standalone => {
            return Err(Diagnostic::new(
                "no GreptimeDBCluster in the input",
                "the input holds a GreptimeDBStandalone, which is not rendered",
            )
            .with_hint(
                "check a standalone with `greptime-self-test standalone -c FILE` on its config",
            ));
        }
        [] => {
            return Err(Diagnostic::new(
                "no GreptimeDBCluster in the input",
                format!(
                    "{} held no document of kind {KIND}",
                    streams
                        .iter()
                        .map(|(n, _)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .with_hint(
                "give the cluster resource: `helm template RELEASE greptime/greptimedb-cluster \
                 -f values.yaml | greptime-self-test kubernetes -f -`, or \
                 `kubectl get greptimedbcluster NAME -o yaml`",
            ));
        }
        [one] => *one,
        several => {
            let list = several
                .iter()
                .map(|d| {
                    let name = d
                        .value
                        .get("metadata")
                        .and_then(|m| m.get("name"))
                        .and_then(Value::as_str)
                        .unwrap_or("<no name>");
                    format!("`{name}` in {}", d.origin(streams))
                })
                .collect::<Vec<_>>()
                .join(", ");
            return Err(Diagnostic::new(
                "more than one GreptimeDBCluster in the input",
                format!("found {}: {list}", several.len()),
            )
            .with_hint("check one cluster per run: give only that cluster's manifests"));
        }
    };

    let cluster = typed_cluster(streams, doc)?;
    Ok(Documents {
        cluster,
        cluster_origin: doc.origin(streams),
        secrets,
        config_maps,
    })
}

/// A `kind: List` (what `kubectl get a,b -o yaml` prints) contributes its items.
fn expand(stream: usize, index: usize, value: Value, docs: &mut Vec<Doc>) {
    let items = match &value {
        Value::Mapping(map) if str_field(map, "kind") == Some("List") => map
            .get("items")
            .and_then(Value::as_sequence)
            .cloned()
            .unwrap_or_default(),
        _ => {
            docs.push(Doc {
                stream,
                index,
                item: None,
                value,
            });
            return;
        }
    };
    for (item, value) in items.into_iter().enumerate() {
        docs.push(Doc {
            stream,
            index,
            item: Some(item),
            value,
        });
    }
}

fn str_field<'a>(map: &'a Mapping, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}

/// Deserializes the cluster document as typed: from its text, so that an unknown field or a
/// wrong type carries its line and the field path (a `List` item has no text of its own and
/// is read from its value).
fn typed_cluster(streams: &[(String, String)], doc: &Doc) -> Result<GreptimeDbCluster, Diagnostic> {
    let api_version = doc.value.get("apiVersion").and_then(Value::as_str);
    if api_version != Some(API_VERSION) {
        return Err(Diagnostic::new(
            "unsupported GreptimeDBCluster version",
            format!(
                "{} is `{}`; the renderer follows the operator's {API_VERSION} (operator {})",
                doc.origin(streams),
                api_version.unwrap_or("<no apiVersion>"),
                super::rendered::OPERATOR_VERSION
            ),
        )
        .with_hint(format!("write `apiVersion: {API_VERSION}`")));
    }
    let (name, text) = &streams[doc.stream];
    let source = quoting_source(name, text);
    let result = match doc.item {
        None => {
            let de = serde_yaml::Deserializer::from_str(text)
                .nth(doc.index)
                .expect("the document was read before");
            GreptimeDbCluster::deserialize(de)
        }
        Some(_) => serde_yaml::from_value(doc.value.clone()),
    };
    result.map_err(|e| errors::field_error(&e, &source, &doc.origin(streams)))
}

/// The stream's text for quoting in messages, with Secret values hidden.
pub fn quoting_source(name: &str, text: &str) -> SourceFile {
    SourceFile::new(PathBuf::from(name), text.to_string(), |t| {
        super::secrets::redact_stream(t)
    })
}
