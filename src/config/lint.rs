//! Lints the effective config against the component's catalog: the mistakes GreptimeDB
//! silently ignores (unknown keys, environment variables the file shadows, deprecated keys) and
//! the ones it fails on only at startup or later (wrong enum spellings, bad durations and sizes,
//! missing required keys, duplicate object-store names).

use std::ops::Range;

use serde_json::{Map, Value};

use super::catalog::{catalog, Kind, Node, TableSpec};
use super::layers::{child_path, element_path, Merged, Origin, Replaced, SourceFile};
use super::units::{parse_duration, parse_size};
use super::{Component, LintFinding, Severity};
use crate::diag::did_you_mean;

/// Strings config-rs accepts for a bool (compared lowercased).
const CONFIG_RS_BOOL_WORDS: [&str; 8] = ["true", "false", "on", "off", "yes", "no", "1", "0"];

/// Lints `config`, the merged tree of `component`; `file` turns file origins into locations.
pub(crate) fn lint(
    component: Component,
    config: &Merged,
    file: Option<&SourceFile>,
) -> Vec<LintFinding> {
    let mut linter = Linter {
        component,
        config,
        file,
        findings: Vec::new(),
    };
    let spec = &catalog(component).root;
    linter.table("", &config.value, spec);
    linter.deprecated_keys();
    linter.duplicate_object_stores();
    linter.findings
}

/// Warns about each environment variable that a file value replaced: GreptimeDB ignores it.
pub(crate) fn shadowed_env_vars(
    replaced: &[Replaced],
    file: Option<&SourceFile>,
) -> Vec<LintFinding> {
    replaced
        .iter()
        .filter_map(|r| match &r.origin {
            Origin::Env { var } => Some(LintFinding {
                severity: Severity::Warning,
                code: "env_shadowed".into(),
                key: r.path.clone(),
                message: format!(
                    "environment variable {var} is ignored: the file sets `{}`, and GreptimeDB lets the file win over the environment",
                    r.by
                ),
                hint: Some(format!("remove `{}` from the file so that {var} applies", r.by)),
                location: r.by_origin.as_ref().and_then(|o| locate(o, Place::Key, file)),
            }),
            _ => None,
        })
        .collect()
}

/// Which part of a file entry a finding points at.
#[derive(Clone, Copy)]
enum Place {
    Key,
    Value,
}

fn locate(origin: &Origin, place: Place, file: Option<&SourceFile>) -> Option<String> {
    let Origin::File { key, value } = origin else {
        return None;
    };
    let range: Range<usize> = match place {
        Place::Key => key.clone().or_else(|| value.clone()),
        Place::Value => value.clone().or_else(|| key.clone()),
    }?;
    file.map(|f| f.location(range))
}

struct Linter<'a> {
    component: Component,
    config: &'a Merged,
    file: Option<&'a SourceFile>,
    findings: Vec<LintFinding>,
}

impl Linter<'_> {
    fn push(
        &mut self,
        severity: Severity,
        code: &str,
        path: &str,
        message: String,
        hint: Option<String>,
        place: Place,
    ) {
        let origin = self.config.origin(path);
        let source = match origin {
            Some(Origin::Env { var }) => format!(" (from environment variable {var})"),
            Some(Origin::Override { arg }) => format!(" (from --set {arg})"),
            _ => String::new(),
        };
        self.findings.push(LintFinding {
            severity,
            code: code.into(),
            key: path.into(),
            message: format!("{message}{source}"),
            hint,
            location: origin.and_then(|o| locate(o, place, self.file)),
        });
    }

    fn table(&mut self, path: &str, map: &Map<String, Value>, spec: &TableSpec) {
        self.fields(path, map, spec);
        for required in spec.required.iter().filter(|key| !map.contains_key(*key)) {
            self.missing(path, required, spec);
        }
        if spec.exactly_one && map.len() != 1 {
            let names: Vec<&str> = spec.fields.keys().map(String::as_str).collect();
            self.push(
                Severity::Error,
                "invalid_value",
                path,
                format!(
                    "`{path}` must hold exactly one of {}, not {}",
                    names.join(", "),
                    map.len()
                ),
                None,
                Place::Key,
            );
        }
    }

    fn fields(&mut self, path: &str, map: &Map<String, Value>, spec: &TableSpec) {
        for (key, value) in map {
            let child = child_path(path, key);
            match spec.fields.get(key) {
                Some(node) => self.node(&child, value, node),
                None => {
                    let hint = did_you_mean(key, spec.fields.keys().map(String::as_str))
                        .map(|s| format!("did you mean `{}`?", child_path(path, s)));
                    self.push(
                        Severity::Warning,
                        "unknown_key",
                        &child,
                        format!(
                            "`{child}` is not a {} option; GreptimeDB ignores it",
                            self.component.as_str()
                        ),
                        hint,
                        Place::Key,
                    );
                }
            }
        }
    }

    fn node(&mut self, path: &str, value: &Value, node: &Node) {
        match (node, value) {
            (Node::Leaf(kind), value) => self.leaf(path, value, kind),
            (Node::Table(spec), Value::Object(map)) => self.table(path, map, spec),
            (Node::TableList(spec), Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let element = element_path(path, i);
                    match item {
                        Value::Object(map) => self.table(&element, map, spec),
                        other => self.invalid(
                            &element,
                            format!("expected a table, found {}", describe(other)),
                            None,
                        ),
                    }
                }
            }
            // GreptimeDB reads `region_engine` given as a table (as the environment builds it)
            // as per-engine overrides.
            (Node::TableList(spec), Value::Object(map)) if spec.exactly_one => {
                self.fields(path, map, spec)
            }
            (Node::TableList(_), other) => self.invalid(
                path,
                format!("expected an array of tables, found {}", describe(other)),
                None,
            ),
            (Node::Table(_), other) => self.invalid(
                path,
                format!("expected a table, found {}", describe(other)),
                None,
            ),
        }
    }

    fn leaf(&mut self, path: &str, value: &Value, kind: &Kind) {
        let problem = match kind {
            Kind::Any => None,
            Kind::String => {
                (!is_scalar(value)).then(|| format!("expected a string, found {}", describe(value)))
            }
            Kind::Bool => {
                let ok = match value {
                    Value::Bool(_) | Value::Number(_) => true,
                    Value::String(s) => CONFIG_RS_BOOL_WORDS.contains(&s.to_lowercase().as_str()),
                    _ => false,
                };
                (!ok).then(|| format!("expected true or false, found {}", describe(value)))
            }
            Kind::Integer | Kind::Float => {
                let ok = match value {
                    Value::Bool(_) | Value::Number(_) => true,
                    Value::String(s) => s.trim().parse::<f64>().is_ok(),
                    _ => false,
                };
                (!ok).then(|| format!("expected a number, found {}", describe(value)))
            }
            Kind::Duration => match scalar_text(value) {
                Some(text) => parse_duration(&text).err(),
                None => Some(format!("expected a duration, found {}", describe(value))),
            },
            Kind::Size => parse_size(value).err(),
            Kind::Strings => match value {
                Value::Array(items) if items.iter().all(is_scalar) => None,
                other => Some(format!(
                    "expected an array of strings, found {}",
                    describe(other)
                )),
            },
            Kind::Enum(allowed) => return self.enumeration(path, value, allowed),
        };
        if let Some(problem) = problem {
            let hint = self.value_hint(path, value, kind);
            self.invalid(path, format!("`{path}`: {problem}"), hint);
        }
    }

    fn value_hint(&self, path: &str, value: &Value, kind: &Kind) -> Option<String> {
        match kind {
            Kind::Duration => Some("write a duration such as \"3s\", \"500ms\" or \"10m\"".into()),
            Kind::Size => Some("write a size such as \"512MB\" (binary units) or a byte count".into()),
            Kind::Strings if value.is_string() && matches!(self.config.origin(path), Some(Origin::Env { .. })) => {
                Some(format!(
                    "{} does not split environment values on commas for `{path}`; set it in the file",
                    self.component.as_str()
                ))
            }
            Kind::Strings => Some(format!("write `{path} = [\"...\"]`")),
            _ => None,
        }
    }

    fn invalid(&mut self, path: &str, message: String, hint: Option<String>) {
        self.push(
            Severity::Error,
            "invalid_value",
            path,
            message,
            hint,
            Place::Value,
        );
    }

    fn enumeration(&mut self, path: &str, value: &Value, allowed: &[String]) {
        let text = scalar_text(value).unwrap_or_default();
        if allowed.contains(&text) {
            return;
        }
        let normalize = |s: &str| s.to_lowercase().replace('-', "_");
        let suggestion = allowed
            .iter()
            .find(|a| normalize(a) == normalize(&text))
            .map(String::as_str)
            .or_else(|| did_you_mean(&text, allowed.iter().map(String::as_str)));
        self.push(
            Severity::Error,
            "invalid_enum",
            path,
            format!(
                "`{path}` is {}, expected one of {} (case-sensitive)",
                describe(value),
                allowed.join(", ")
            ),
            suggestion.map(|s| format!("did you mean `{s}`?")),
            Place::Value,
        );
    }

    fn missing(&mut self, parent: &str, key: &str, spec: &TableSpec) {
        let path = child_path(parent, key);
        let (message, hint) = if parent.is_empty() {
            let how = match spec.fields.get(key) {
                Some(Node::Table(_)) => format!("add a `[{key}]` table to the file"),
                _ => format!(
                    "set `{key}` in the file or the environment variable {}__{}",
                    self.component.env_prefix(),
                    key.to_uppercase()
                ),
            };
            (
                format!(
                    "`{key}` is required by {} but is not set; GreptimeDB fails at startup",
                    self.component.as_str()
                ),
                how,
            )
        } else {
            (
                format!("`{path}` is missing"),
                format!("add `{key}` to `{parent}`"),
            )
        };
        // Point at the table that lacks the key, if it is in the file.
        let origin = self.config.origin(parent).filter(|_| !parent.is_empty());
        self.findings.push(LintFinding {
            severity: Severity::Error,
            code: "missing_required".into(),
            key: path,
            message,
            hint: Some(hint),
            location: origin.and_then(|o| locate(o, Place::Key, self.file)),
        });
    }

    fn deprecated_keys(&mut self) {
        for (old, new) in &catalog(self.component).deprecated {
            if self.config.origins.contains_key(old.as_str()) {
                self.push(
                    Severity::Warning,
                    "deprecated",
                    old,
                    format!(
                        "`{old}` is deprecated; GreptimeDB copies a non-empty value to `{new}`"
                    ),
                    Some(format!("use `{new}` instead")),
                    Place::Key,
                );
            }
        }
    }

    /// GreptimeDB names each object store (`name`, or the type when unnamed or `File`) and
    /// panics when two names are equal ignoring case.
    fn duplicate_object_stores(&mut self) {
        let Some(Value::Object(storage)) = self.config.value.get("storage") else {
            return;
        };
        let mut stores = vec![("storage".to_owned(), storage)];
        if let Some(Value::Array(providers)) = storage.get("providers") {
            stores.extend(
                providers.iter().enumerate().filter_map(|(i, p)| {
                    Some((element_path("storage.providers", i), p.as_object()?))
                }),
            );
        }
        let mut seen: Vec<(String, String)> = Vec::new();
        for (path, store) in stores {
            let Some(name) = store_name(store) else {
                continue;
            };
            let lowered = name.to_lowercase();
            match seen.iter().find(|(other, _)| *other == lowered) {
                Some((_, first)) => {
                    let at = if store.contains_key("name") {
                        child_path(&path, "name")
                    } else {
                        path.clone()
                    };
                    let message = format!(
                        "object store name `{name}` is used by both `{first}` and `{path}` (names are compared ignoring case); GreptimeDB panics at startup"
                    );
                    let hint = Some(format!("give `{path}` a distinct `name`"));
                    self.push(
                        Severity::Error,
                        "duplicate_provider",
                        &at,
                        message,
                        hint,
                        Place::Value,
                    );
                }
                None => seen.push((lowered, path)),
            }
        }
    }
}

/// GreptimeDB's `ObjectStoreConfig::config_name`; `None` when the type is unusable.
fn store_name(store: &Map<String, Value>) -> Option<String> {
    let store_type = store.get("type")?.as_str()?;
    let name = store
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim();
    Some(
        if store_type == "File" || name.is_empty() {
            store_type
        } else {
            name
        }
        .to_owned(),
    )
}

fn is_scalar(value: &Value) -> bool {
    !matches!(value, Value::Array(_) | Value::Object(_) | Value::Null)
}

/// A scalar as config-rs turns it into a string.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(_) | Value::Number(_) => Some(value.to_string()),
        _ => None,
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "a table".into(),
        Value::Null => "nothing".into(),
        scalar => format!("`{}`", scalar_text(scalar).unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;

    use super::*;
    use crate::config::layers::{defaults, parse_toml};

    /// Lints `text` as the file of `component` over the code defaults.
    fn lint_file(component: Component, text: &str) -> Vec<LintFinding> {
        let file = SourceFile {
            path: "c.toml".into(),
            text: text.to_owned(),
        };
        let mut merged = Merged::new(defaults(component));
        merged.merge(parse_toml(&file.path, text).unwrap());
        lint(component, &merged, Some(&file))
    }

    fn codes(findings: &[LintFinding]) -> Vec<(&str, &str)> {
        findings
            .iter()
            .map(|f| (f.code.as_str(), f.key.as_str()))
            .collect()
    }

    const DATANODE_BASE: &str = "node_id = 1\n[meta_client]\nmetasrv_addrs = [\"m:3002\"]\n";

    #[test]
    fn defaults_alone_lint_clean_except_required_keys() {
        for component in Component::ALL {
            let merged = Merged::new(defaults(component));
            let findings = lint(component, &merged, None);
            assert!(
                findings.iter().all(|f| f.code == "missing_required"),
                "{component:?}: {findings:#?}"
            );
        }
    }

    #[test]
    fn unknown_key_with_suggestion_and_location() {
        let text = format!("{DATANODE_BASE}[storage]\ntype = \"S3\"\nbuckett = \"b\"\n");
        let findings = lint_file(Component::Datanode, &text);
        assert_eq!(codes(&findings), [("unknown_key", "storage.buckett")]);
        let finding = &findings[0];
        assert_eq!(finding.severity, Severity::Warning);
        assert_eq!(
            finding.hint.as_deref(),
            Some("did you mean `storage.bucket`?")
        );
        assert_eq!(finding.location.as_deref(), Some("c.toml:6:1"));
    }

    #[test]
    fn storage_type_is_case_sensitive() {
        let text = format!("{DATANODE_BASE}[storage]\ntype = \"s3\"\n");
        let findings = lint_file(Component::Datanode, &text);
        assert_eq!(codes(&findings), [("invalid_enum", "storage.type")]);
        assert_eq!(findings[0].severity, Severity::Error);
        assert_eq!(findings[0].hint.as_deref(), Some("did you mean `S3`?"));
        assert_eq!(findings[0].location.as_deref(), Some("c.toml:5:8"));
    }

    #[test]
    fn tls_mode_hyphen_spelling_is_rejected() {
        let findings = lint_file(Component::Metasrv, "[backend_tls]\nmode = \"verify-ca\"\n");
        assert_eq!(codes(&findings), [("invalid_enum", "backend_tls.mode")]);
        assert_eq!(
            findings[0].hint.as_deref(),
            Some("did you mean `verify_ca`?")
        );
        let findings = lint_file(
            Component::Frontend,
            "[meta_client]\n[mysql.tls]\nmode = \"verify-full\"\n",
        );
        assert_eq!(codes(&findings), [("invalid_enum", "mysql.tls.mode")]);
    }

    #[test]
    fn other_enums() {
        let findings = lint_file(
            Component::Metasrv,
            "backend = \"postgres\"\nselector = \"LeaseBased\"\n[wal]\nprovider = \"noop\"\n[wal.sasl]\ntype = \"scram-sha-256\"\n",
        );
        assert_eq!(
            codes(&findings),
            [
                ("invalid_enum", "backend"),
                ("invalid_enum", "wal.provider"),
                ("invalid_enum", "wal.sasl.type")
            ]
        );
        assert_eq!(
            findings[0].hint.as_deref(),
            Some("did you mean `postgres_store`?")
        );
        assert_eq!(
            findings[2].hint.as_deref(),
            Some("did you mean `SCRAM-SHA-256`?")
        );
        let datanode = lint_file(
            Component::Datanode,
            &format!("{DATANODE_BASE}[wal]\nprovider = \"noop\"\n"),
        );
        assert!(datanode.is_empty(), "{datanode:#?}");
    }

    #[test]
    fn bad_durations_sizes_and_types() {
        let text = format!(
            "{DATANODE_BASE}[http]\ntimeout = 30\nbody_limit = \"64mb\"\n[grpc]\nbind_addr = [\"x\"]\n[wal]\nsync_write = \"maybe\"\nbroker_endpoints = \"k:9092\"\n"
        );
        let findings = lint_file(Component::Datanode, &text);
        assert_eq!(
            codes(&findings),
            [
                ("invalid_value", "http.timeout"),
                ("invalid_value", "http.body_limit"),
                ("invalid_value", "grpc.bind_addr"),
                ("invalid_value", "wal.sync_write"),
                ("invalid_value", "wal.broker_endpoints"),
            ]
        );
        assert!(findings.iter().all(|f| f.severity == Severity::Error));
        assert_eq!(findings[0].location.as_deref(), Some("c.toml:5:11"));
    }

    #[test]
    fn missing_node_id_and_meta_client() {
        let findings = lint_file(Component::Datanode, "");
        assert_eq!(
            codes(&findings),
            [
                ("missing_required", "node_id"),
                ("missing_required", "meta_client")
            ]
        );
        assert!(findings[0]
            .hint
            .as_deref()
            .unwrap()
            .contains("GREPTIMEDB_DATANODE__NODE_ID"));
        assert!(findings[1]
            .hint
            .as_deref()
            .unwrap()
            .contains("[meta_client]"));
        let flownode = lint_file(Component::Flownode, "[meta_client]\n");
        assert_eq!(codes(&flownode), [("missing_required", "node_id")]);
        let frontend = lint_file(Component::Frontend, "");
        assert_eq!(codes(&frontend), [("missing_required", "meta_client")]);
        assert!(lint_file(Component::Metasrv, "").is_empty());
        assert!(lint_file(Component::Standalone, "").is_empty());
    }

    #[test]
    fn duplicate_provider_names_ignore_case() {
        let text = format!(
            "{DATANODE_BASE}[storage]\ntype = \"S3\"\nbucket = \"a\"\n[[storage.providers]]\nname = \"s3\"\ntype = \"S3\"\n[[storage.providers]]\ntype = \"Gcs\"\n[[storage.providers]]\nname = \"GCS\"\ntype = \"Oss\"\n"
        );
        let findings = lint_file(Component::Datanode, &text);
        assert_eq!(
            codes(&findings),
            [
                ("duplicate_provider", "storage.providers[0].name"),
                ("duplicate_provider", "storage.providers[2].name")
            ]
        );
        assert!(
            findings[0].message.contains("`storage`"),
            "{}",
            findings[0].message
        );
        assert_eq!(findings[0].location.as_deref(), Some("c.toml:8:8"));
    }

    #[test]
    fn file_store_is_named_file_and_providers_need_a_type() {
        let text = format!(
            "{DATANODE_BASE}[[storage.providers]]\nname = \"file\"\ntype = \"S3\"\n[[storage.providers]]\nname = \"x\"\n"
        );
        let findings = lint_file(Component::Datanode, &text);
        assert_eq!(
            codes(&findings),
            [
                ("missing_required", "storage.providers[1].type"),
                ("duplicate_provider", "storage.providers[0].name")
            ]
        );
    }

    #[test]
    fn region_engine_elements_name_exactly_one_engine() {
        let text = format!("{DATANODE_BASE}[[region_engine]]\n[[region_engine]]\n[region_engine.mito]\n[region_engine.file]\n");
        let findings = lint_file(Component::Datanode, &text);
        assert_eq!(
            codes(&findings),
            [
                ("invalid_value", "region_engine[0]"),
                ("invalid_value", "region_engine[1]")
            ]
        );
        let mut merged = Merged::new(defaults(Component::Datanode));
        merged.set("node_id", json!(1), None);
        merged.set("meta_client", json!({}), None);
        merged.set(
            "region_engine",
            json!({"mito": {"num_workers": 4}, "file": {}}),
            None,
        );
        assert!(lint(Component::Datanode, &merged, None).is_empty());
    }

    #[test]
    fn deprecated_keys_warn_only_when_set() {
        let findings = lint_file(Component::Metasrv, "bind_addr = \"0.0.0.0:3002\"\n");
        assert_eq!(codes(&findings), [("deprecated", "bind_addr")]);
        assert_eq!(findings[0].severity, Severity::Warning);
        assert_eq!(
            findings[0].hint.as_deref(),
            Some("use `grpc.bind_addr` instead")
        );
    }

    #[test]
    fn scalars_convert_like_config_rs() {
        let text = "node_id = \"1\"\nrequire_lease_before_startup = \"yes\"\ninit_regions_parallelism = 8.0\n[meta_client]\n[storage]\nbucket = 123\n[http]\ntimeout = 0\nbody_limit = 1024\n";
        let findings = lint_file(Component::Datanode, text);
        assert!(findings.is_empty(), "{findings:#?}");
    }

    #[test]
    fn env_shadowing_is_located_at_the_file_key() {
        let file = SourceFile {
            path: "c.toml".into(),
            text: "[storage]\ntype = \"File\"\n".into(),
        };
        let mut merged = Merged::new(defaults(Component::Datanode));
        merged.merge(super::super::layers::env_layer(
            &[("GREPTIMEDB_DATANODE__STORAGE__TYPE".into(), "S3".into())],
            "GREPTIMEDB_DATANODE",
            &[],
        ));
        let replaced = merged.merge(parse_toml(Path::new("c.toml"), &file.text).unwrap());
        let findings = shadowed_env_vars(&replaced, Some(&file));
        assert_eq!(codes(&findings), [("env_shadowed", "storage.type")]);
        assert!(findings[0]
            .message
            .contains("GREPTIMEDB_DATANODE__STORAGE__TYPE"));
        assert_eq!(findings[0].location.as_deref(), Some("c.toml:2:1"));
    }
}
