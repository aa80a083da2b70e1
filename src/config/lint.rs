//! Lints the effective config against the component's catalog, judging what the user supplied
//! (environment, file, `--set`) the way GreptimeDB's serde does: wrong types, unknown enum
//! variants, missing required keys and duplicate object-store names are errors (GreptimeDB
//! refuses to start); keys GreptimeDB ignores (unknown, skipped, of another tag variant),
//! environment variables the file shadows and deprecated keys are warnings. Alongside the
//! findings it returns the [`Plan`] that turns the merged tree into what GreptimeDB uses.

use std::ops::Range;

use serde_json::{Map, Value};

use super::catalog::{catalog, CopyWhen, Deprecated, Node, TableSpec};
use super::layers::{child_path, element_path, Merged, Origin, Replaced};
use super::secrets::{is_connection_string_key, is_secret_key};
use super::types::{invalid_type, quoted, Mismatch, Type};
use super::{Component, LintFinding, Severity};
use crate::diag::did_you_mean;
use crate::diag::SourceFile;

/// What the loader does after linting, as GreptimeDB does after deserializing.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// User paths GreptimeDB does not read: they leave the effective config.
    pub ignored: Vec<String>,
    /// serde aliases: (alias path, key path).
    pub renames: Vec<(String, String)>,
    /// Deprecated keys to copy: (path of the table that declares them, rule).
    pub copies: Vec<(String, Deprecated)>,
    /// Present tables serde completes from `defaults/tables.toml`: (path, table names).
    pub completions: Vec<(String, Vec<String>)>,
}

/// Lints `config`, the merged tree of `component`; `file` turns file origins into locations.
pub(crate) fn lint(
    component: Component,
    config: &Merged,
    file: Option<&SourceFile>,
) -> (Vec<LintFinding>, Plan) {
    let mut linter = Linter {
        component,
        config,
        file,
        findings: Vec::new(),
        plan: Plan::default(),
    };
    let spec = &catalog(component).root;
    linter.table("", &config.value, spec);
    linter.duplicate_object_stores();
    // In file order; what has no place in the file (environment, missing keys) last.
    linter
        .findings
        .sort_by_key(|f| f.location.as_deref().map_or((1, 0, 0), line_col));
    (linter.findings, linter.plan)
}

/// `(0, line, col)` of a `file:line:col` location.
fn line_col(location: &str) -> (u8, usize, usize) {
    let mut parts = location.rsplitn(3, ':');
    let col = parts.next().and_then(|c| c.parse().ok()).unwrap_or(0);
    let line = parts.next().and_then(|l| l.parse().ok()).unwrap_or(0);
    (0, line, col)
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
    plan: Plan,
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

    fn error(&mut self, code: &str, path: &str, message: String, hint: Option<String>) {
        self.push(Severity::Error, code, path, message, hint, Place::Value);
    }

    fn table(&mut self, path: &str, map: &Map<String, Value>, spec: &TableSpec) {
        let resolved;
        let (spec, variant_known) = match &spec.tag {
            Some(tag) => match self.variant(path, map, spec, tag) {
                Some(variant) => {
                    resolved = spec.with_variant(&variant);
                    (&resolved, true)
                }
                None => (spec, false),
            },
            None => (spec, true),
        };
        let mut absent: Vec<&str> = Vec::new();
        for key in &spec.none_by_default {
            let child = child_path(path, key);
            if matches!(map.get(key), Some(Value::Object(t)) if t.is_empty())
                && self.config.is_user(&child)
            {
                self.plan.ignored.push(child);
                absent.push(key);
            }
        }
        for (key, value) in map {
            let child = child_path(path, key);
            if self.config.is_flag(&child) {
                // typed by its flag; a table a flag created (`--metasrv-addrs` creates
                // `[meta_client]`) is still completed from its defaults, as serde would
                if let Some(Node::Table(table)) = spec.fields.get(key) {
                    if !table.defaults.is_empty() {
                        self.plan.completions.push((child, table.defaults.clone()));
                    }
                }
                continue;
            }
            if !self.config.is_user(&child)
                || spec.tag.as_deref() == Some(key)
                || absent.contains(&key.as_str())
            {
                continue;
            }
            match spec.fields.get(key) {
                Some(node) => self.node(&child, value, node, spec.lenient),
                None if spec.one_of => self.unknown_variant(&child, key, spec),
                None => self.unread_key(path, key, value, map, spec, variant_known),
            }
        }
        for required in &spec.required {
            let present = map.contains_key(required) && !absent.contains(&required.as_str());
            if !present && spec.tag.as_ref() != Some(required) {
                self.missing(path, required, spec);
            }
        }
        if spec.one_of && map.len() != 1 && self.config.is_user(path) {
            let engines = quoted(&spec.fields.keys().map(String::as_str).collect::<Vec<_>>());
            self.error(
                "invalid_value",
                path,
                format!("`{path}`: invalid value: map, expected map with a single key (one of {engines}), found {} keys", map.len()),
                Some(format!("give each `[[{}]]` element exactly one engine table", path.split('[').next().unwrap_or(path))),
            );
        }
        for rule in &spec.deprecated {
            let old = child_path(path, &rule.old);
            let blank =
                matches!(self.config.get(&old), Some(Value::String(s)) if s.trim().is_empty());
            let copied_only_if_set =
                matches!(rule.copy, CopyWhen::IfNonEmpty | CopyWhen::IfTargetEmpty);
            if self.config.is_user(&old) && !(blank && copied_only_if_set) {
                self.deprecated(path, &old, rule);
            }
        }
        if !spec.defaults.is_empty() && self.config.is_user(path) {
            self.plan
                .completions
                .push((path.to_owned(), spec.defaults.clone()));
        }
    }

    /// The tag variant of a tagged table, after checking the tag as serde does.
    fn variant(
        &mut self,
        path: &str,
        map: &Map<String, Value>,
        spec: &TableSpec,
        tag: &str,
    ) -> Option<String> {
        let tag_path = child_path(path, tag);
        let Some(value) = map.get(tag) else {
            if self.config.is_user(path) {
                self.missing(path, tag, spec);
            }
            return None;
        };
        if let Some(Node::Leaf(ty)) = spec.fields.get(tag) {
            if let Err(mismatch) = ty.check(value) {
                self.mismatch(&tag_path, value, ty, mismatch);
                return None;
            }
        }
        let variant = value.as_str()?.to_owned();
        if let Some(why) = spec.fails_at_startup.get(&variant) {
            if self.config.is_user(&tag_path) {
                self.error(
                    "invalid_value",
                    &tag_path,
                    format!(
                        "`{tag_path} = \"{variant}\"` loads, but {} does not start with it: {why}",
                        self.component.as_str()
                    ),
                    Some(format!(
                        "choose one of {}",
                        quoted(
                            &spec
                                .variants
                                .keys()
                                .filter(|v| !spec.fails_at_startup.contains_key(*v))
                                .map(String::as_str)
                                .collect::<Vec<_>>()
                        )
                    )),
                );
            }
        }
        Some(variant)
    }

    fn node(&mut self, path: &str, value: &Value, node: &Node, lenient: bool) {
        match (node, value) {
            (Node::Leaf(ty), value) => self.leaf(path, value, ty, lenient),
            (Node::Table(spec), Value::Object(map)) => self.table(path, map, spec),
            (Node::TableList(spec), Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let element = element_path(path, i);
                    match item {
                        Value::Object(map) => self.table(&element, map, spec),
                        other => {
                            let mismatch = invalid_type(other, "a table");
                            self.error(
                                "invalid_type",
                                &element,
                                format!("`{element}`: {}", mismatch.message),
                                None,
                            );
                        }
                    }
                }
            }
            (Node::TableList(_), other) => {
                let mismatch = invalid_type(other, "a sequence");
                let hint = match self.config.origin(path) {
                    Some(Origin::Env { var }) => format!(
                        "GreptimeDB cannot set `[[{path}]]` from the environment: {var} makes `{path}` a table, not an array of tables; move the setting into the file, under a `[[{path}]]` element"
                    ),
                    _ => format!("write `{path}` as an array of tables, `[[{path}]]`"),
                };
                self.error(
                    "invalid_type",
                    path,
                    format!("`{path}`: {}", mismatch.message),
                    Some(hint),
                );
            }
            (Node::Table(_), other) => {
                let mismatch = invalid_type(other, "a table");
                self.error(
                    "invalid_type",
                    path,
                    format!("`{path}`: {}", mismatch.message),
                    Some(format!("write `{path}` as a table, `[{path}]`")),
                );
            }
        }
    }

    fn leaf(&mut self, path: &str, value: &Value, ty: &Type, lenient: bool) {
        let result = if lenient {
            lenient_check(ty, value)
        } else {
            ty.check(value)
        };
        if let Err(mismatch) = result {
            self.mismatch(path, value, ty, mismatch);
        }
    }

    /// Reports a value that does not fit its type, with the fix that fits where it came from.
    fn mismatch(&mut self, path: &str, value: &Value, ty: &Type, mismatch: Mismatch) {
        let at = format!("{path}{}", mismatch.at);
        let code = match ty {
            Type::Enum(_) => "invalid_enum",
            _ => "invalid_type",
        };
        let key = path.rsplit('.').next().unwrap_or(path);
        let from_env = matches!(self.config.origin(path), Some(Origin::Env { .. }));
        let hint = match (ty, value) {
            (Type::List(_), Value::String(_)) if from_env => format!(
                "{} does not split environment values on commas for `{path}`; set it in the file as `{key} = [\"...\"]`",
                self.component.as_str()
            ),
            (Type::String | Type::Enum(_), Value::Number(_) | Value::Bool(_)) if from_env => format!(
                "config-rs reads an environment value as a bool, an integer or a float before a string, so `{path}` cannot be a string from the environment: set it in the file, quoted: `{key} = \"{}\"`",
                scalar_text(value)
            ),
            _ => match &mismatch.suggestion {
                Some(suggestion) => suggestion.clone(),
                None => format!("write `{key}` as {}", ty.example()),
            },
        };
        let message = format!("`{at}`: {}", mismatch.message);
        let (message, hint) = if is_secret_key(path) || is_connection_string_key(path) {
            (redact(&message, value), redact(&hint, value))
        } else {
            (message, hint)
        };
        let origin_path = if self.config.origin(&at).is_some() {
            at.clone()
        } else {
            path.to_owned()
        };
        self.push(
            Severity::Error,
            code,
            &origin_path,
            message,
            Some(hint),
            Place::Value,
        );
    }

    /// An element of an externally tagged enum list names no variant (`[[region_engine]]`).
    fn unknown_variant(&mut self, path: &str, key: &str, spec: &TableSpec) {
        let variants: Vec<&str> = spec.fields.keys().map(String::as_str).collect();
        let hint =
            did_you_mean(key, variants.iter().copied()).map(|s| format!("did you mean `{s}`?"));
        self.error(
            "invalid_enum",
            path,
            format!(
                "`{path}`: unknown variant `{key}`, expected {}",
                one_of(&variants)
            ),
            hint,
        );
    }

    /// A user key the table's type does not read: an alias, or something GreptimeDB ignores.
    fn unread_key(
        &mut self,
        path: &str,
        key: &str,
        value: &Value,
        map: &Map<String, Value>,
        spec: &TableSpec,
        variant_known: bool,
    ) {
        let child = child_path(path, key);
        if let Some(canonical) = spec.aliases.get(key) {
            let canonical_path = child_path(path, canonical);
            if map.contains_key(canonical) && self.config.is_user(&canonical_path) {
                self.error(
                    "duplicate_key",
                    &child,
                    format!("`{child}`: duplicate field `{canonical}` (`{key}` is an alias of `{canonical}`, and both are set)"),
                    Some(format!("keep only `{canonical}`")),
                );
                self.plan.ignored.push(child.clone());
            } else {
                self.plan.renames.push((child.clone(), canonical_path));
            }
            if let Some(node) = spec.fields.get(canonical) {
                self.node(&child, value, node, spec.lenient);
            }
            return;
        }
        if !variant_known {
            return;
        }
        self.plan.ignored.push(child.clone());
        if let Some(why) = spec.ignored.get(key) {
            let hint = did_you_mean(key, spec.fields.keys().map(String::as_str))
                .map(|s| format!("did you mean `{}`?", child_path(path, s)));
            self.push(
                Severity::Warning,
                "ignored_key",
                &child,
                format!("GreptimeDB ignores `{child}`: {why}"),
                hint,
                Place::Key,
            );
            return;
        }
        let tag = spec.tag.as_deref().unwrap_or_default();
        if let Some(variant) = map.get(tag).and_then(Value::as_str) {
            let readers = spec.variants_reading(key, variant);
            if !readers.is_empty() {
                let tag_path = child_path(path, tag);
                let verb = if readers.len() == 1 { "reads" } else { "read" };
                self.push(
                    Severity::Warning,
                    "ignored_key",
                    &child,
                    format!(
                        "GreptimeDB ignores `{child}` with `{tag_path} = \"{variant}\"`: only {} {verb} it",
                        quoted(&readers)
                    ),
                    Some(format!("remove it, or set `{tag_path}` to the type that uses it")),
                    Place::Key,
                );
                return;
            }
        }
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

    fn missing(&mut self, parent: &str, key: &str, spec: &TableSpec) {
        let path = child_path(parent, key);
        let (message, hint) = if parent.is_empty() {
            let how = match spec.fields.get(key) {
                Some(Node::Table(_)) => format!(
                    "add a `[{key}]` table with its keys to the file (an empty table counts as none: config-rs keeps GreptimeDB's default, which has no `{key}`)"
                ),
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
                format!("`{parent}`: missing field `{key}`"),
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

    fn deprecated(&mut self, table: &str, old: &str, rule: &Deprecated) {
        let new = child_path(table, &rule.new);
        let what = match rule.copy {
            CopyWhen::IfSet => format!("GreptimeDB copies it to `{new}`"),
            CopyWhen::IfNonEmpty => format!("GreptimeDB copies a non-empty value to `{new}`"),
            CopyWhen::IfTargetEmpty => {
                format!("GreptimeDB copies a non-empty value to `{new}` when that is empty")
            }
            CopyWhen::Never => {
                format!("GreptimeDB reads it but no longer uses it (`{new}` took its place)")
            }
        };
        self.push(
            Severity::Warning,
            "deprecated",
            old,
            format!("`{old}` is deprecated; {what}"),
            Some(format!("use `{new}` instead")),
            Place::Key,
        );
        self.plan.copies.push((table.to_owned(), rule.clone()));
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
                    self.error("duplicate_provider", &at, message, hint);
                }
                None => seen.push((lowered, path)),
            }
        }
    }
}

/// config-rs's own conversions (for tables it reads itself): numbers, bools and strings that
/// parse as either are accepted for scalars.
fn lenient_check(ty: &Type, value: &Value) -> Result<(), Mismatch> {
    let convertible = match value {
        Value::Bool(_) | Value::Number(_) => true,
        Value::String(s) => {
            let s = s.trim().to_lowercase();
            s.parse::<f64>().is_ok()
                || ["true", "false", "on", "off", "yes", "no"].contains(&s.as_str())
        }
        _ => false,
    };
    match ty {
        Type::Int(_) | Type::Float(_) | Type::Bool if convertible => Ok(()),
        Type::String if !matches!(value, Value::Array(_) | Value::Object(_)) => Ok(()),
        _ => ty.check(value),
    }
}

/// serde's list of names: `` `a` ``, `` `a` or `b` ``, `` one of `a`, `b`, `c` ``.
fn one_of(names: &[&str]) -> String {
    match names {
        [one] => format!("`{one}`"),
        [a, b] => format!("`{a}` or `{b}`"),
        _ => format!("one of {}", quoted(names)),
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

/// A scalar as it is written in TOML.
fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Hides a secret value (and any of its array elements) in a message.
fn redact(text: &str, value: &Value) -> String {
    let mut out = text.to_owned();
    let mut secrets: Vec<&str> = match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    secrets.retain(|s| !s.is_empty());
    for secret in secrets {
        out = out.replace(secret, "***");
    }
    if matches!(value, Value::Number(_) | Value::Bool(_)) {
        out = out.replace(&value.to_string(), "***");
    }
    out
}

#[cfg(test)]
mod tests {
    //! Each verdict follows GreptimeDB: the option structs of GreptimeDB 1.3.0 (paths in
    //! `catalog.toml`) and what GreptimeDB 1.0 did with these configs (greptimedb.md §10).

    use std::io::Write;

    use serde_json::json;

    use super::*;
    use crate::config::{load, EffectiveConfig, LoadOptions};

    /// Loads `text` as the file `c.toml` of `component`, with `env`.
    fn load_with(component: Component, text: &str, env: &[(&str, &str)]) -> EffectiveConfig {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let mut config = load(&LoadOptions {
            component,
            file: Some(path),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            env_prefix: None,
            overrides: Vec::new(),
            start_flags: Default::default(),
        })
        .unwrap();
        for finding in &mut config.findings {
            // locations name the temporary file; keep `line:col`
            if let Some(location) = &mut finding.location {
                *location = location
                    .rsplit_once("c.toml:")
                    .map_or_else(|| location.clone(), |(_, at)| format!("c.toml:{at}"));
            }
        }
        config
    }

    fn load_text(component: Component, text: &str) -> EffectiveConfig {
        load_with(component, text, &[])
    }

    fn codes(config: &EffectiveConfig) -> Vec<(&str, &str, Severity)> {
        config
            .findings
            .iter()
            .map(|f| (f.code.as_str(), f.key.as_str(), f.severity))
            .collect()
    }

    fn only(config: &EffectiveConfig) -> &LintFinding {
        assert_eq!(config.findings.len(), 1, "{:#?}", config.findings);
        &config.findings[0]
    }

    /// Lints `tree` as if the user had written every value of it.
    fn lint_as_user(component: Component, tree: Map<String, Value>) -> Vec<LintFinding> {
        fn origins(value: &Value, path: &str, out: &mut Vec<String>) {
            match value {
                Value::Object(map) => map
                    .iter()
                    .for_each(|(k, v)| origins(v, &child_path(path, k), out)),
                Value::Array(items) if items.iter().all(Value::is_object) => items
                    .iter()
                    .enumerate()
                    .for_each(|(i, v)| origins(v, &element_path(path, i), out)),
                _ => out.push(path.to_owned()),
            }
        }
        let mut paths = Vec::new();
        origins(&Value::Object(tree.clone()), "", &mut paths);
        let mut merged = Merged::new(Map::new());
        merged.merge(crate::config::layers::Layer {
            value: tree,
            origins: paths
                .into_iter()
                .map(|p| (p.clone(), Origin::Override { arg: p }))
                .collect(),
        });
        lint(component, &merged, None).0
    }

    fn table(name: &str) -> Map<String, Value> {
        crate::config::layers::default_table(name).unwrap()
    }

    /// Every value of `defaults/` is of the type the catalog gives its key, so the defaults and
    /// the catalog cannot drift apart. The object-store keys of `[storage]` are the only keys a
    /// File store does not read (kept for playbooks, see defaults/datanode.toml).
    #[test]
    fn defaults_are_well_typed() {
        for component in Component::ALL {
            let mut tree = crate::config::layers::defaults(component);
            if matches!(
                component,
                Component::Frontend | Component::Datanode | Component::Flownode
            ) {
                tree.insert("node_id".into(), json!(1));
                tree.insert("meta_client".into(), Value::Object(table("meta_client")));
            }
            if component == Component::Frontend {
                tree.insert("node_id".into(), json!("fe"));
                tree.insert("internal_grpc".into(), Value::Object(table("grpc")));
            }
            let keys: Vec<String> = lint_as_user(component, tree)
                .into_iter()
                .map(|f| format!("{} {}", f.code, f.key))
                .collect();
            let expected: &[&str] = match component {
                Component::Datanode | Component::Standalone => &[
                    "ignored_key storage.enable_read_cache",
                    "ignored_key storage.cache_path",
                    "ignored_key storage.cache_capacity",
                    "ignored_key storage.http_client",
                ],
                _ => &[],
            };
            assert_eq!(keys, expected, "{component:?}");
        }
        let kafka = |component, extra: &str| {
            let mut wal = Map::new();
            wal.insert("provider".into(), json!("kafka"));
            for name in ["kafka_connection", "kafka_topic", extra] {
                wal.extend(table(name));
            }
            let mut tree = Map::new();
            tree.insert("wal".into(), Value::Object(wal));
            lint_as_user(component, tree)
        };
        assert!(kafka(Component::Metasrv, "kafka_metasrv").is_empty());
        assert!(kafka(Component::Standalone, "kafka_datanode").is_empty());
        let mut raft = table("raft_engine");
        raft.insert("provider".into(), json!("raft_engine"));
        let mut tree = Map::new();
        tree.insert("wal".into(), Value::Object(raft));
        assert!(lint_as_user(Component::Standalone, tree).is_empty());
    }

    const DATANODE: &str = "node_id = 1\n[meta_client]\nmetasrv_addrs = [\"m:3002\"]\n";
    const FRONTEND: &str = "[meta_client]\nmetasrv_addrs = [\"m:3002\"]\n";

    /// §10: metasrv `max_txn_ops = -5` → `invalid value: integer -5, expected usize`.
    #[test]
    fn negative_for_unsigned_is_refused() {
        let config = load_text(Component::Metasrv, "max_txn_ops = -5\n");
        let finding = only(&config);
        assert_eq!(
            (
                finding.code.as_str(),
                finding.key.as_str(),
                finding.severity
            ),
            ("invalid_type", "max_txn_ops", Severity::Error)
        );
        assert_eq!(
            finding.message,
            "`max_txn_ops`: invalid value: integer `-5`, expected usize"
        );
        assert_eq!(finding.location.as_deref(), Some("c.toml:1:15"));
        assert!(finding.hint.as_deref().unwrap().contains("usize"));
    }

    /// §10: metasrv `store_addrs = [1, 2]` is refused (Vec<String>).
    #[test]
    fn list_elements_are_typed() {
        let config = load_text(Component::Metasrv, "store_addrs = [1, 2]\n");
        assert_eq!(
            codes(&config),
            [("invalid_type", "store_addrs[0]", Severity::Error)]
        );
        let finding = only(&config);
        assert!(finding.message.contains("expected a string"), "{finding:?}");
        assert_eq!(finding.location.as_deref(), Some("c.toml:1:16"));
    }

    /// §10: datanode `node_id = "1"` → `invalid type: string "1", expected u64`; frontend
    /// `[mysql] enable = "true"` → `expected a boolean`; frontend `[meta_client] timeout = 3` →
    /// `expected a duration`. No config-rs conversion on the flatten path.
    #[test]
    fn strings_numbers_and_durations_are_not_converted() {
        let datanode = load_text(
            Component::Datanode,
            "node_id = \"1\"\n[meta_client]\nmetasrv_addrs = [\"m:3002\"]\n",
        );
        let finding = only(&datanode);
        assert_eq!(
            finding.message,
            "`node_id`: invalid type: string \"1\", expected u64"
        );
        assert_eq!(finding.location.as_deref(), Some("c.toml:1:11"));
        let frontend = load_text(
            Component::Frontend,
            &format!("{FRONTEND}timeout = 3\n[mysql]\nenable = \"true\"\n"),
        );
        assert_eq!(
            codes(&frontend),
            [
                ("invalid_type", "meta_client.timeout", Severity::Error),
                ("invalid_type", "mysql.enable", Severity::Error)
            ]
        );
        assert!(frontend.findings[0]
            .message
            .ends_with("invalid type: integer `3`, expected a duration"));
        assert!(frontend.findings[0]
            .hint
            .as_deref()
            .unwrap()
            .contains("\"3s\""));
        assert!(frontend.findings[1]
            .message
            .ends_with("invalid type: string \"true\", expected a boolean"));
    }

    /// §10: `[logging] log_format = "jsonn"` and `[storage] type = "s3"` are unknown variants.
    #[test]
    fn enums_are_exact_with_a_suggestion() {
        let config = load_text(
            Component::Datanode,
            &format!("{DATANODE}[logging]\nlog_format = \"jsonn\"\n[storage]\ntype = \"s3\"\nbucket = \"b\"\n"),
        );
        assert_eq!(
            codes(&config),
            [
                ("invalid_enum", "logging.log_format", Severity::Error),
                ("invalid_enum", "storage.type", Severity::Error)
            ]
        );
        let [log_format, storage] = &config.findings[..] else {
            unreachable!()
        };
        assert_eq!(
            log_format.message,
            "`logging.log_format`: unknown variant `jsonn`, expected `json` or `text`"
        );
        assert_eq!(log_format.hint.as_deref(), Some("did you mean `json`?"));
        assert!(storage
            .message
            .contains("expected one of `File`, `S3`, `Oss`, `Azblob`, `Gcs`"));
        assert_eq!(storage.hint.as_deref(), Some("did you mean `S3`?"));
        assert_eq!(storage.location.as_deref(), Some("c.toml:7:8"));
        // src/servers/src/tls.rs: serde snake_case, the hyphenated CLI spelling is refused
        let tls = load_text(Component::Metasrv, "[backend_tls]\nmode = \"verify-ca\"\n");
        assert_eq!(
            only(&tls).hint.as_deref(),
            Some("did you mean `verify_ca`?")
        );
    }

    /// §10: `GREPTIMEDB_DATANODE__REGION_ENGINE__MITO__NUM_WORKERS=4` without `[[region_engine]]`
    /// → `invalid type: map, expected a sequence`; with one, the file's array wins and the
    /// variable is ignored.
    #[test]
    fn region_engine_from_the_environment() {
        let env = [("GREPTIMEDB_DATANODE__REGION_ENGINE__MITO__NUM_WORKERS", "4")];
        let without = load_with(Component::Datanode, DATANODE, &env);
        let finding = only(&without);
        assert_eq!(
            (
                finding.code.as_str(),
                finding.key.as_str(),
                finding.severity
            ),
            ("invalid_type", "region_engine", Severity::Error)
        );
        assert!(finding
            .message
            .contains("invalid type: map, expected a sequence"));
        assert!(finding
            .message
            .contains("GREPTIMEDB_DATANODE__REGION_ENGINE__MITO__NUM_WORKERS"));
        assert!(finding
            .hint
            .as_deref()
            .unwrap()
            .contains("[[region_engine]]"));
        let with = load_with(
            Component::Datanode,
            &format!("{DATANODE}[[region_engine]]\n[region_engine.mito]\nnum_workers = 2\n"),
            &env,
        );
        assert_eq!(
            codes(&with),
            [(
                "env_shadowed",
                "region_engine.mito.num_workers",
                Severity::Warning
            )]
        );
        assert_eq!(with.value["region_engine"][0]["mito"]["num_workers"], 2);
    }

    /// §10: `GREPTIMEDB_FRONTEND__NODE_ID=1` → `invalid type: integer 1, expected a string`:
    /// config-rs parsed the value as an integer, and the environment cannot force a string.
    #[test]
    fn env_values_are_typed_as_config_rs_parsed_them() {
        let frontend = load_with(
            Component::Frontend,
            FRONTEND,
            &[("GREPTIMEDB_FRONTEND__NODE_ID", "1")],
        );
        let finding = only(&frontend);
        assert_eq!(finding.key, "node_id");
        assert!(finding
            .message
            .starts_with("`node_id`: invalid type: integer `1`, expected a string"));
        assert!(finding.message.contains("GREPTIMEDB_FRONTEND__NODE_ID"));
        assert!(finding.hint.as_deref().unwrap().contains("node_id = \"1\""));
        assert_eq!(finding.location, None);
        // the same value is right for a datanode (u64) and wrong as text for metasrv (usize)
        let datanode = load_with(
            Component::Datanode,
            "[meta_client]\n",
            &[("GREPTIMEDB_DATANODE__NODE_ID", "1")],
        );
        assert!(!datanode.findings.iter().any(|f| f.key == "node_id"));
        let metasrv = load_with(
            Component::Metasrv,
            "",
            &[("GREPTIMEDB_METASRV__MAX_TXN_OPS", "many")],
        );
        assert!(only(&metasrv)
            .message
            .contains("string \"many\", expected usize"));
    }

    /// §10: accepted keys are never unknown: `[mysql] reject_no_database`, metasrv
    /// `[gc] max_concurrent_tables`, datanode `rpc_hostname` (deprecated, copied).
    #[test]
    fn keys_greptimedb_accepts() {
        let frontend = load_text(
            Component::Frontend,
            &format!("{FRONTEND}[mysql]\nreject_no_database = true\n"),
        );
        assert!(frontend.findings.is_empty(), "{:#?}", frontend.findings);
        let metasrv = load_text(
            Component::Metasrv,
            "[gc]\nmax_concurrent_tables = 4\n[wal]\nprovider = \"kafka\"\ntopic_latest_offset_fetch_interval = \"1m\"\nregion_flush_trigger_interval = \"1m\"\nperiodic_checkpoint_persist_interval = \"1h\"\n",
        );
        // topic_latest_offset_fetch_interval is a datanode Kafka key
        // (src/common/wal/src/config/kafka/datanode.rs), not a metasrv one
        assert_eq!(
            codes(&metasrv),
            [(
                "unknown_key",
                "wal.topic_latest_offset_fetch_interval",
                Severity::Warning
            )]
        );
        assert_eq!(metasrv.value["gc"]["max_concurrent_tables"], 4);
        let datanode = load_text(
            Component::Datanode,
            &format!("rpc_hostname = \"10.0.0.1:3001\"\n{DATANODE}"),
        );
        assert_eq!(
            codes(&datanode),
            [("deprecated", "rpc_hostname", Severity::Warning)]
        );
        assert_eq!(datanode.value["grpc"]["server_addr"], "10.0.0.1:3001");
    }

    /// §10: `[meta_client] heartbeat_timeout` is accepted by GreptimeDB because it ignores it;
    /// `http.disable_dashboard` and `query.enable_per_region_metrics` are `#[serde(skip)]`
    /// (src/servers/src/http.rs, src/query/src/options.rs). Reported, and never used.
    #[test]
    fn keys_greptimedb_ignores_warn_and_leave_the_config() {
        let config = load_text(
            Component::Frontend,
            &format!("{FRONTEND}heartbeat_timeout = \"500ms\"\n[http]\ndisable_dashboard = true\n[query]\nenable_per_region_metrics = true\n[tracing]\ntokio_console_addr = \"127.0.0.1\"\n"),
        );
        assert_eq!(
            codes(&config),
            [
                (
                    "ignored_key",
                    "meta_client.heartbeat_timeout",
                    Severity::Warning
                ),
                ("ignored_key", "http.disable_dashboard", Severity::Warning),
                (
                    "ignored_key",
                    "query.enable_per_region_metrics",
                    Severity::Warning
                ),
                (
                    "ignored_key",
                    "tracing.tokio_console_addr",
                    Severity::Warning
                ),
            ]
        );
        assert!(config.findings[0].message.starts_with("GreptimeDB ignores"));
        assert!(config.findings[2]
            .message
            .contains("logging.enable_per_region_metrics"));
        assert!(config.value["meta_client"]
            .get("heartbeat_timeout")
            .is_none());
        assert!(config.value["http"].get("disable_dashboard").is_none());
        assert!(config.value["query"]
            .get("enable_per_region_metrics")
            .is_none());
    }

    /// `store_addr` is no metasrv key (only the CLI flag `--store-addr` is, src/cmd/src/metasrv.rs);
    /// §10: with it, metasrv dials 127.0.0.1:2379.
    #[test]
    fn singular_store_addr_is_ignored_not_copied() {
        let config = load_text(Component::Metasrv, "store_addr = \"etcd:2379\"\n");
        let finding = only(&config);
        assert_eq!(
            (
                finding.code.as_str(),
                finding.key.as_str(),
                finding.severity
            ),
            ("ignored_key", "store_addr", Severity::Warning)
        );
        assert!(finding.message.contains("GreptimeDB ignores `store_addr`"));
        assert!(finding.message.contains("store_addrs"));
        assert!(finding.message.contains("127.0.0.1:2379"));
        assert_eq!(finding.hint.as_deref(), Some("did you mean `store_addrs`?"));
        assert_eq!(config.value["store_addrs"], json!(["127.0.0.1:2379"]));
        assert!(config.value.get("store_addr").is_none());
    }

    /// `#[serde(alias = "max_batch_size")]` on max_batch_bytes
    /// (src/common/wal/src/config/kafka/datanode.rs): read as the key; both set is serde's
    /// `duplicate field`, so neither wins.
    #[test]
    fn aliases_are_read_as_their_key() {
        let kafka = format!("{DATANODE}[wal]\nprovider = \"kafka\"\nmax_batch_size = \"2MB\"\n");
        let config = load_text(Component::Datanode, &kafka);
        assert!(config.findings.is_empty(), "{:#?}", config.findings);
        assert_eq!(config.value["wal"]["max_batch_bytes"], "2MB");
        assert!(config.value["wal"].get("max_batch_size").is_none());
        // the Kafka defaults fill the rest, as serde(default) does
        assert_eq!(config.value["wal"]["consumer_wait_timeout"], "100ms");
        let both = load_text(
            Component::Datanode,
            &format!("{kafka}max_batch_bytes = \"1MB\"\n"),
        );
        let finding = only(&both);
        assert_eq!(
            (finding.code.as_str(), finding.severity),
            ("duplicate_key", Severity::Error)
        );
        assert!(finding
            .message
            .contains("duplicate field `max_batch_bytes`"));
        // a metasrv Kafka WAL has no such key (MetasrvKafkaConfig)
        let metasrv = load_text(
            Component::Metasrv,
            "[wal]\nprovider = \"kafka\"\nmax_batch_size = \"2MB\"\n",
        );
        assert_eq!(
            codes(&metasrv),
            [("unknown_key", "wal.max_batch_size", Severity::Warning)]
        );
    }

    /// ObjectStoreConfig is `#[serde(tag = "type")]` (src/object-store/src/config.rs): each type
    /// reads its own keys, in `[storage]` and in every `[[storage.providers]]` element.
    #[test]
    fn storage_keys_belong_to_their_type() {
        let config = load_text(
            Component::Datanode,
            &format!("{DATANODE}[storage]\ntype = \"S3\"\nbucket = \"b\"\naccount_key = \"k\"\n[[storage.providers]]\ntype = \"Oss\"\nname = \"o\"\nsecret_access_key = \"s\"\n[[storage.providers]]\nname = \"x\"\n"),
        );
        assert_eq!(
            codes(&config),
            [
                ("ignored_key", "storage.account_key", Severity::Warning),
                (
                    "ignored_key",
                    "storage.providers[0].secret_access_key",
                    Severity::Warning
                ),
                (
                    "missing_required",
                    "storage.providers[1].type",
                    Severity::Error
                ),
            ]
        );
        assert!(config.findings[0]
            .message
            .contains("only `Azblob` reads it"));
        assert!(config.findings[1].message.contains("only `S3` reads it"));
        assert!(config.value["storage"].get("account_key").is_none());
    }

    /// Integer widths (u8 index_cache_percent, i16 replication_factor) and no floats for
    /// integers (src/mito2/src/config.rs, src/common/wal/src/config/kafka/common.rs).
    #[test]
    fn integer_ranges_and_floats() {
        let config = load_text(
            Component::Datanode,
            &format!("init_regions_parallelism = 8.0\n{DATANODE}[wal]\nprovider = \"kafka\"\nreplication_factor = 40000\n[[region_engine]]\n[region_engine.mito]\nindex_cache_percent = 300\n"),
        );
        let messages: Vec<&str> = config.findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "`init_regions_parallelism`: invalid type: floating point `8.0`, expected usize",
                "`wal.replication_factor`: invalid value: integer `40000`, expected i16",
                "`region_engine[0].mito.index_cache_percent`: invalid value: integer `300`, expected u8",
            ]
        );
        assert!(config
            .findings
            .iter()
            .all(|f| f.severity == Severity::Error));
    }

    /// StandaloneOptions has no `max_concurrent_queries` and no `[otlp]`
    /// (src/standalone/src/options.rs); its WAL is converted to the metasrv form at start-up,
    /// which has no noop (src/cmd/src/standalone.rs).
    #[test]
    fn standalone_is_not_a_frontend_plus_datanode() {
        let config = load_text(
            Component::Standalone,
            "max_concurrent_queries = 4\n[otlp]\nenable = false\n[wal]\nprovider = \"noop\"\n",
        );
        assert_eq!(
            codes(&config),
            [
                ("ignored_key", "max_concurrent_queries", Severity::Warning),
                ("ignored_key", "otlp", Severity::Warning),
                ("invalid_value", "wal.provider", Severity::Error),
            ]
        );
        assert!(config.findings[2].message.contains("InvalidWalProvider"));
        let datanode = load_text(
            Component::Datanode,
            &format!("{DATANODE}[wal]\nprovider = \"noop\"\n"),
        );
        assert!(datanode.findings.is_empty(), "{:#?}", datanode.findings);
    }

    /// An empty `[meta_client]` merges nothing into the default's null (config-rs 0.13.4
    /// `Expression::set`), so GreptimeDB has no meta client and stops.
    #[test]
    fn an_empty_optional_table_counts_as_none() {
        let config = load_text(Component::Frontend, "[meta_client]\n");
        assert_eq!(
            codes(&config),
            [("missing_required", "meta_client", Severity::Error)]
        );
        assert!(config.findings[0]
            .hint
            .as_deref()
            .unwrap()
            .contains("empty"));
        assert!(config.value.get("meta_client").is_none());
    }

    /// Tables GreptimeDB reads itself, and the nested serde checks: `runtime` goes through
    /// config-rs (lenient); SASL credentials and one engine per element are required.
    #[test]
    fn lenient_runtime_required_credentials_and_engines() {
        let config = load_text(
            Component::Datanode,
            &format!("{DATANODE}[runtime]\nglobal_rt_size = \"4\"\n[wal]\nprovider = \"kafka\"\n[wal.sasl]\ntype = \"PLAIN\"\nusername = \"u\"\n[[region_engine]]\n[region_engine.mito]\n[region_engine.file]\n[[region_engine]]\n[region_engine.mitoo]\n"),
        );
        assert_eq!(
            codes(&config),
            [
                ("missing_required", "wal.sasl.password", Severity::Error),
                ("invalid_value", "region_engine[0]", Severity::Error),
                ("invalid_enum", "region_engine[1].mitoo", Severity::Error),
            ]
        );
        assert!(config.findings[1]
            .message
            .contains("expected map with a single key"));
        assert_eq!(
            config.findings[2].hint.as_deref(),
            Some("did you mean `mito`?")
        );
    }

    /// A type error in a secret names neither the secret nor the value.
    #[test]
    fn secrets_stay_out_of_messages() {
        let config = load_with(
            Component::Datanode,
            &format!("{DATANODE}[storage]\ntype = \"S3\"\n"),
            &[("GREPTIMEDB_DATANODE__STORAGE__SECRET_ACCESS_KEY", "1234567")],
        );
        let finding = only(&config);
        assert_eq!(finding.key, "storage.secret_access_key");
        let text = format!("{} {}", finding.message, finding.hint.as_deref().unwrap());
        assert!(!text.contains("1234567"), "{text}");
    }

    #[test]
    fn duplicate_provider_names_ignore_case() {
        let config = load_text(
            Component::Datanode,
            &format!("{DATANODE}[storage]\ntype = \"S3\"\nbucket = \"a\"\n[[storage.providers]]\nname = \"s3\"\ntype = \"S3\"\n[[storage.providers]]\ntype = \"Gcs\"\n[[storage.providers]]\nname = \"GCS\"\ntype = \"Oss\"\n"),
        );
        assert_eq!(
            codes(&config),
            [
                (
                    "duplicate_provider",
                    "storage.providers[0].name",
                    Severity::Error
                ),
                (
                    "duplicate_provider",
                    "storage.providers[2].name",
                    Severity::Error
                )
            ]
        );
        assert!(config.findings[0].message.contains("`storage`"));
        assert_eq!(config.findings[0].location.as_deref(), Some("c.toml:8:8"));
    }

    #[test]
    fn missing_node_id_and_meta_client() {
        let datanode = load_text(Component::Datanode, "");
        assert_eq!(
            codes(&datanode),
            [
                ("missing_required", "node_id", Severity::Error),
                ("missing_required", "meta_client", Severity::Error)
            ]
        );
        assert!(datanode.findings[0]
            .hint
            .as_deref()
            .unwrap()
            .contains("GREPTIMEDB_DATANODE__NODE_ID"));
        let flownode = load_text(Component::Flownode, FRONTEND);
        assert_eq!(
            codes(&flownode),
            [("missing_required", "node_id", Severity::Error)]
        );
        assert!(load_text(Component::Metasrv, "").findings.is_empty());
        assert!(load_text(Component::Standalone, "").findings.is_empty());
    }

    #[test]
    fn unknown_key_with_suggestion_and_location() {
        let config = load_text(
            Component::Datanode,
            &format!("{DATANODE}[storage]\ntype = \"S3\"\nbuckett = \"b\"\n"),
        );
        let finding = only(&config);
        assert_eq!(
            (
                finding.code.as_str(),
                finding.key.as_str(),
                finding.severity
            ),
            ("unknown_key", "storage.buckett", Severity::Warning)
        );
        assert_eq!(
            finding.hint.as_deref(),
            Some("did you mean `storage.bucket`?")
        );
        assert_eq!(finding.location.as_deref(), Some("c.toml:6:1"));
    }

    #[test]
    fn env_shadowing_is_located_at_the_file_key() {
        let config = load_with(
            Component::Datanode,
            &format!("{DATANODE}[storage]\ntype = \"File\"\n"),
            &[("GREPTIMEDB_DATANODE__STORAGE__TYPE", "S3")],
        );
        let finding = only(&config);
        assert_eq!(finding.code, "env_shadowed");
        assert!(finding
            .message
            .contains("GREPTIMEDB_DATANODE__STORAGE__TYPE"));
        assert_eq!(finding.location.as_deref(), Some("c.toml:5:1"));
    }
}
