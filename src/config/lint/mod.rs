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
mod tests;
