//! The inputs of an effective config (code defaults, environment, file, `--set`), each read into
//! a JSON tree that remembers where every value came from, and the config-rs style merge that
//! lays them over each other.
//!
//! Paths are dotted keys with array indexes, e.g. `storage.providers[1].name`.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use serde_json::{Map, Number, Value};
use toml_edit::Item;

use super::Component;
use crate::diag::{Diagnostic, SourceFile, SourceSpan};

/// Where a user-supplied value came from. Defaults and derived values have no origin.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Origin {
    Env {
        var: String,
    },
    /// Byte ranges of the key and of the value (a table's header for tables) in the file.
    File {
        key: Option<Range<usize>>,
        value: Option<Range<usize>>,
    },
    Override {
        arg: String,
    },
    /// A flag of the component's start command line, as written (`--node-id`).
    Flag {
        arg: String,
    },
}

/// One input: a tree and the origin of every path in it.
#[derive(Debug, Default)]
pub(crate) struct Layer {
    pub value: Map<String, Value>,
    pub origins: BTreeMap<String, Origin>,
}

/// GreptimeDB's code defaults for `component` (`defaults/<component>.toml`).
pub(crate) fn defaults(component: Component) -> Map<String, Value> {
    let text = match component {
        Component::Metasrv => include_str!("defaults/metasrv.toml"),
        Component::Frontend => include_str!("defaults/frontend.toml"),
        Component::Datanode => include_str!("defaults/datanode.toml"),
        Component::Flownode => include_str!("defaults/flownode.toml"),
        Component::Standalone => include_str!("defaults/standalone.toml"),
        // no TOML of its own: `load` refuses it before asking for defaults
        Component::Cluster => "",
    };
    parse_toml(Path::new("defaults.toml"), text)
        .expect("embedded defaults parse")
        .value
}

/// A table of `defaults/tables.toml`: what serde fills in when a table is present in the input
/// or a tag variant is chosen (`#[serde(default)]` on the table's type), e.g. `meta_client`.
pub(crate) fn default_table(name: &str) -> Option<Map<String, Value>> {
    static TABLES: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(|| {
        parse_toml(
            Path::new("tables.toml"),
            include_str!("defaults/tables.toml"),
        )
        .expect("embedded defaults parse")
        .value
    });
    match TABLES.get(name) {
        Some(Value::Object(table)) => Some(table.clone()),
        _ => None,
    }
}

/// Reads and parses the config file.
pub(crate) fn read_file(path: &Path) -> Result<(SourceFile, Layer), Diagnostic> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostic::new("cannot read config", format!("{}: {e}", path.display()))
            .with_hint("check the path given for the config file and that this user can read it")
    })?;
    read_text(path, text)
}

/// Parses config text already in memory; `name` stands for its file in diagnostics.
pub(crate) fn read_text(name: &Path, text: String) -> Result<(SourceFile, Layer), Diagnostic> {
    let file = SourceFile::new(name.to_owned(), text, super::redact_toml_source);
    let layer = parse_toml(name, &file.text).map_err(|d| file.quote_diagnostic(d))?;
    Ok((file, layer))
}

/// Parses TOML text into a layer with file origins. Syntax errors name file, line and column.
pub(crate) fn parse_toml(path: &Path, text: &str) -> Result<Layer, Diagnostic> {
    let document = toml_edit::Document::parse(text).map_err(|e| {
        let span = e
            .span()
            .map(|range| SourceSpan::from_byte_range(path, text, range));
        Diagnostic::new("malformed TOML", e.message().trim_end()).at(span)
    })?;
    let mut layer = Layer::default();
    if let Value::Object(map) = to_json(document.as_item(), "", None, &mut layer.origins) {
        layer.value = map;
    }
    Ok(layer)
}

/// Converts a TOML item to JSON, recording the file origin of it and everything below it.
fn to_json(
    item: &Item,
    path: &str,
    key: Option<Range<usize>>,
    origins: &mut BTreeMap<String, Origin>,
) -> Value {
    if !path.is_empty() {
        let value = item.span();
        origins.insert(path.to_owned(), Origin::File { key, value });
    }
    if let Some(table) = item.as_table_like() {
        let map = table
            .iter()
            .map(|(name, child)| {
                let key_span = table.key(name).and_then(toml_edit::Key::span);
                let json = to_json(child, &child_path(path, name), key_span, origins);
                (name.to_owned(), json)
            })
            .collect();
        return Value::Object(map);
    }
    match item {
        Item::ArrayOfTables(tables) => Value::Array(
            tables
                .iter()
                .enumerate()
                .map(|(i, table)| {
                    let element = Item::Table(table.clone());
                    to_json(&element, &element_path(path, i), table.span(), origins)
                })
                .collect(),
        ),
        Item::Value(toml_edit::Value::Array(values)) => Value::Array(
            values
                .iter()
                .enumerate()
                .map(|(i, value)| {
                    let element = Item::Value(value.clone());
                    to_json(&element, &element_path(path, i), value.span(), origins)
                })
                .collect(),
        ),
        other => other.as_value().map_or(Value::Null, scalar_to_json),
    }
}

fn scalar_to_json(value: &toml_edit::Value) -> Value {
    match value {
        toml_edit::Value::String(s) => Value::String(s.value().clone()),
        toml_edit::Value::Integer(i) => Value::from(*i.value()),
        toml_edit::Value::Float(f) => Number::from_f64(*f.value())
            .map_or_else(|| Value::String(f.value().to_string()), Value::Number),
        toml_edit::Value::Boolean(b) => Value::Bool(*b.value()),
        toml_edit::Value::Datetime(d) => Value::String(d.value().to_string()),
        toml_edit::Value::Array(_) | toml_edit::Value::InlineTable(_) => Value::Null,
    }
}

/// Reads `<prefix>__SECTION__KEY` variables as GreptimeDB's config-rs `Environment` source does:
/// prefix matched case-insensitively, key lowercased with `__` as the separator, values tried
/// as bool, integer and float before string, and split on `,` only for `list_keys`.
pub(crate) fn env_layer(env: &[(String, String)], prefix: &str, list_keys: &[String]) -> Layer {
    let pattern = format!("{prefix}__").to_lowercase();
    let mut vars: Vec<(String, &String, &String)> = env
        .iter()
        .filter_map(|(name, value)| {
            let key = name
                .to_lowercase()
                .strip_prefix(&pattern)?
                .replace("__", ".");
            (!key.is_empty()).then_some((key, name, value))
        })
        .collect();
    vars.sort();
    let mut layer = Layer::default();
    for (key, name, value) in vars {
        let parsed = parse_env_value(value, list_keys.contains(&key));
        set_path(&mut layer.value, &key, parsed);
        layer.origins.insert(key, Origin::Env { var: name.clone() });
    }
    layer
}

/// config-rs `try_parsing`: bool, then i64, then f64, then a `,` list for list keys, else the
/// string itself (an empty value stays `""`).
fn parse_env_value(text: &str, is_list_key: bool) -> Value {
    if let Ok(flag) = text.to_lowercase().parse::<bool>() {
        return Value::Bool(flag);
    }
    if let Ok(int) = text.parse::<i64>() {
        return Value::from(int);
    }
    if let Some(float) = text.parse::<f64>().ok().and_then(Number::from_f64) {
        return Value::Number(float);
    }
    if is_list_key {
        return Value::Array(
            text.split(',')
                .map(|s| Value::String(s.to_owned()))
                .collect(),
        );
    }
    Value::String(text.to_owned())
}

/// Reads `--set key.path=value` arguments. A value is read as a TOML value when it parses as
/// one (`42`, `true`, `["a:1", "b:2"]`), otherwise as a string.
pub(crate) fn override_layer(args: &[String]) -> Result<Layer, Diagnostic> {
    let mut layer = Layer::default();
    for arg in args {
        let (key, raw) = arg
            .split_once('=')
            .map(|(key, raw)| (key.trim(), raw))
            .filter(|(key, _)| !key.is_empty() && key.split('.').all(|s| !s.is_empty()))
            .ok_or_else(|| {
                Diagnostic::new("malformed --set", format!("`{arg}` is not `key.path=value`"))
                    .with_hint("write e.g. --set storage.type=S3 or --set 'meta_client.metasrv_addrs=[\"meta:3002\"]'")
            })?;
        set_path(&mut layer.value, key, parse_override_value(raw));
        layer
            .origins
            .insert(key.to_owned(), Origin::Override { arg: arg.clone() });
    }
    Ok(layer)
}

fn parse_override_value(raw: &str) -> Value {
    toml_edit::Document::parse(format!("value = {raw}"))
        .ok()
        .and_then(|document| {
            let item = document.get("value")?;
            Some(to_json(item, "", None, &mut BTreeMap::new()))
        })
        .unwrap_or_else(|| Value::String(raw.to_owned()))
}

/// Sets a dotted path, creating tables on the way and replacing non-tables that are in the way.
fn set_path(root: &mut Map<String, Value>, dotted: &str, value: Value) {
    match dotted.split_once('.') {
        None => {
            root.insert(dotted.to_owned(), value);
        }
        Some((first, rest)) => {
            let slot = root
                .entry(first.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            if let Value::Object(table) = slot {
                set_path(table, rest, value);
            }
        }
    }
}

/// A user value that a later layer replaced.
#[derive(Debug)]
pub(crate) struct Replaced {
    pub path: String,
    pub origin: Origin,
    /// The path the later layer set, and its origin.
    pub by: String,
    pub by_origin: Option<Origin>,
}

/// The effective tree under construction, with the origin of every user-supplied path.
#[derive(Debug)]
pub(crate) struct Merged {
    pub value: Map<String, Value>,
    pub origins: BTreeMap<String, Origin>,
}

impl Merged {
    pub fn new(defaults: Map<String, Value>) -> Self {
        Self {
            value: defaults,
            origins: BTreeMap::new(),
        }
    }

    /// Lays `layer` over the tree as config-rs does: tables merge key by key, anything else
    /// (arrays included) replaces. Returns the user values that were replaced.
    pub fn merge(&mut self, layer: Layer) -> Vec<Replaced> {
        let mut replaced = Vec::new();
        merge_tables(
            &mut self.value,
            layer.value,
            "",
            &layer.origins,
            &mut self.origins,
            &mut replaced,
        );
        replaced
    }

    /// The value at a path such as `storage.providers[1].name`.
    pub fn get(&self, path: &str) -> Option<&Value> {
        let mut segments = segments(path).into_iter();
        let Some(Segment::Key(first)) = segments.next() else {
            return None;
        };
        let mut value = self.value.get(first)?;
        for segment in segments {
            value = match segment {
                Segment::Key(key) => value.get(key)?,
                Segment::Index(i) => value.get(i)?,
            };
        }
        Some(value)
    }

    /// Removes the value at a path (and the origins at and below it), returning it.
    pub fn remove(&mut self, path: &str) -> Option<Value> {
        let (parent, last) = match path.rfind(['.', '[']) {
            Some(at) if path[at..].starts_with('.') => (&path[..at], &path[at + 1..]),
            _ if !path.contains(['.', '[']) => ("", path),
            _ => return None,
        };
        let removed = if parent.is_empty() {
            self.value.shift_remove(last)
        } else {
            match self.get_mut_value(parent)? {
                Value::Object(table) => table.shift_remove(last),
                _ => None,
            }
        };
        take_within(&mut self.origins, path);
        removed
    }

    /// The value at a path, to change it in place.
    pub fn get_mut_value(&mut self, path: &str) -> Option<&mut Value> {
        let mut segments = segments(path).into_iter();
        let Some(Segment::Key(first)) = segments.next() else {
            return None;
        };
        let mut value = self.value.get_mut(first)?;
        for segment in segments {
            value = match segment {
                Segment::Key(key) => value.get_mut(key)?,
                Segment::Index(i) => value.get_mut(i)?,
            };
        }
        Some(value)
    }

    /// Sets a path whose parent exists (array elements included); `origin` replaces the origins
    /// at and below it. Returns whether the parent was there.
    pub fn set_at(&mut self, path: &str, value: Value, origin: Option<Origin>) -> bool {
        let Some(at) = path.rfind('.') else {
            self.set(path, value, origin);
            return true;
        };
        let (parent, key) = (&path[..at], &path[at + 1..]);
        let Some(Value::Object(table)) = self.get_mut_value(parent) else {
            return false;
        };
        table.insert(key.to_owned(), value);
        take_within(&mut self.origins, path);
        if let Some(origin) = origin {
            self.origins.insert(path.to_owned(), origin);
        }
        true
    }

    /// Whether the user (environment, file or `--set`) supplied the value at `path` or any
    /// value below it.
    pub fn is_user(&self, path: &str) -> bool {
        self.origin(path).is_some()
    }

    /// Whether a start flag set `path`: GreptimeDB applies flags after deserializing, so their
    /// values are typed by the flag, and they win over deprecated keys.
    /// A table counts when every value in it came from a flag.
    pub fn is_flag(&self, path: &str) -> bool {
        let mut within = self
            .origins
            .range(path.to_owned()..)
            .take_while(|(p, _)| p.starts_with(path))
            .filter(|(p, _)| is_within(p, path))
            .peekable();
        within.peek().is_some() && within.all(|(_, o)| matches!(o, Origin::Flag { .. }))
    }

    /// Sets a dotted path; `origin` replaces the origins recorded at and below it.
    pub fn set(&mut self, dotted: &str, value: Value, origin: Option<Origin>) {
        set_path(&mut self.value, dotted, value);
        take_within(&mut self.origins, dotted);
        if let Some(origin) = origin {
            self.origins.insert(dotted.to_owned(), origin);
        }
    }

    /// The origin of a path, or of the first user value below it (for tables that only exist
    /// because a variable or `--set` created them).
    pub fn origin(&self, path: &str) -> Option<&Origin> {
        self.origins.get(path).or_else(|| {
            self.origins
                .range(path.to_owned()..)
                .take_while(|(p, _)| p.starts_with(path))
                .find(|(p, _)| is_within(p, path))
                .map(|(_, origin)| origin)
        })
    }
}

fn merge_tables(
    target: &mut Map<String, Value>,
    source: Map<String, Value>,
    parent: &str,
    source_origins: &BTreeMap<String, Origin>,
    origins: &mut BTreeMap<String, Origin>,
    replaced: &mut Vec<Replaced>,
) {
    for (key, value) in source {
        let path = child_path(parent, &key);
        match (target.get_mut(&key), value) {
            (Some(Value::Object(existing)), Value::Object(incoming)) => {
                if let Some(origin) = source_origins.get(&path) {
                    origins.insert(path.clone(), origin.clone());
                }
                merge_tables(existing, incoming, &path, source_origins, origins, replaced);
            }
            (_, value) => {
                let by_origin = source_origins.get(&path);
                replaced.extend(take_within(origins, &path).into_iter().map(|(p, origin)| {
                    Replaced {
                        path: p,
                        origin,
                        by: path.clone(),
                        by_origin: by_origin.cloned(),
                    }
                }));
                origins.extend(
                    source_origins
                        .iter()
                        .filter(|(p, _)| is_within(p, &path))
                        .map(|(p, origin)| (p.clone(), origin.clone())),
                );
                target.insert(key, value);
            }
        }
    }
}

/// Removes and returns the origins at and below `path`.
fn take_within(origins: &mut BTreeMap<String, Origin>, path: &str) -> Vec<(String, Origin)> {
    let doomed: Vec<String> = origins
        .range(path.to_owned()..)
        .take_while(|(p, _)| p.starts_with(path))
        .filter(|(p, _)| is_within(p, path))
        .map(|(p, _)| p.clone())
        .collect();
    doomed
        .into_iter()
        .filter_map(|p| origins.remove_entry(&p))
        .collect()
}

/// Whether `path` is `ancestor` or below it.
fn is_within(path: &str, ancestor: &str) -> bool {
    path.strip_prefix(ancestor)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

/// One step of a path: a table key or an array index.
#[derive(Debug, PartialEq)]
enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

/// `storage.providers[1].name` → `storage`, `providers`, `[1]`, `name`.
fn segments(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
        if !key.is_empty() {
            out.push(Segment::Key(key));
        }
        while let Some(close) = rest.find(']') {
            if let Ok(i) = rest[1..close].parse() {
                out.push(Segment::Index(i));
            }
            rest = &rest[close + 1..];
        }
    }
    out
}

/// The path of `key` in the table at `parent`.
pub(crate) fn child_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// The path of element `index` of the array at `parent`.
pub(crate) fn element_path(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
        vars.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn layer_json(layer: &Layer) -> Value {
        Value::Object(layer.value.clone())
    }

    #[test]
    fn every_component_has_parsing_defaults() {
        for component in Component::ALL {
            assert!(!defaults(component).is_empty(), "{component:?}");
        }
        assert!(default_table("meta_client").is_some());
        assert!(default_table("storage").is_none());
    }

    #[test]
    fn env_values_are_typed_like_config_rs() {
        let layer = env_layer(
            &env(&[
                ("GREPTIMEDB_DATANODE__NODE_ID", "42"),
                ("greptimedb_datanode__STORAGE__TYPE", "S3"),
                ("GREPTIMEDB_DATANODE__WAL__SYNC_WRITE", "TRUE"),
                ("GREPTIMEDB_DATANODE__QUERY__RATIO", "0.5"),
                ("GREPTIMEDB_DATANODE__STORAGE__ROOT", ""),
                ("GREPTIMEDB_DATANODE_NODE_ID", "7"),
                ("GREPTIMEDB_FRONTEND__NODE_ID", "8"),
                ("PATH", "/bin"),
            ]),
            "GREPTIMEDB_DATANODE",
            &[],
        );
        assert_eq!(
            layer_json(&layer),
            json!({"node_id": 42, "storage": {"type": "S3", "root": ""}, "wal": {"sync_write": true},
                   "query": {"ratio": 0.5}})
        );
        assert_eq!(
            layer.origins.get("storage.type"),
            Some(&Origin::Env {
                var: "greptimedb_datanode__STORAGE__TYPE".into()
            })
        );
    }

    #[test]
    fn env_lists_split_only_for_list_keys() {
        let vars = env(&[
            ("P__META_CLIENT__METASRV_ADDRS", "a:3002,b:3002"),
            ("P__WAL__BROKER_ENDPOINTS", "k:9092"),
            ("P__STORE_ADDRS", "host=db password=x,y"),
        ]);
        let keys = vec![
            "meta_client.metasrv_addrs".to_owned(),
            "wal.broker_endpoints".to_owned(),
        ];
        assert_eq!(
            layer_json(&env_layer(&vars, "P", &keys)),
            json!({"meta_client": {"metasrv_addrs": ["a:3002", "b:3002"]},
                   "wal": {"broker_endpoints": ["k:9092"]},
                   "store_addrs": "host=db password=x,y"})
        );
        assert_eq!(
            layer_json(&env_layer(&vars, "P", &[])),
            json!({"meta_client": {"metasrv_addrs": "a:3002,b:3002"},
                   "wal": {"broker_endpoints": "k:9092"},
                   "store_addrs": "host=db password=x,y"})
        );
    }

    #[test]
    fn overrides_parse_toml_values_or_fall_back_to_strings() {
        let layer = override_layer(&[
            "node_id=42".to_owned(),
            "storage.type=S3".to_owned(),
            "meta_client.metasrv_addrs=[\"a:1\", \"b:2\"]".to_owned(),
            "grpc.tls.watch = true".to_owned(),
            "http.addr=0.0.0.0:4000".to_owned(),
        ])
        .unwrap();
        assert_eq!(
            layer_json(&layer),
            json!({"node_id": 42, "storage": {"type": "S3"}, "meta_client": {"metasrv_addrs": ["a:1", "b:2"]},
                   "grpc": {"tls": {"watch": true}}, "http": {"addr": "0.0.0.0:4000"}})
        );
        for bad in ["node_id", "=1", "a..b=1", ".a=1"] {
            let err = override_layer(&[bad.to_owned()]).unwrap_err();
            assert_eq!(err.title, "malformed --set", "{bad}");
            assert!(err.hint.is_some());
        }
    }

    #[test]
    fn file_origins_point_at_keys_values_and_headers() {
        let text = "node_id = 1\n[storage]\ntype = \"S3\"\n[[storage.providers]]\nname = \"a\"\n";
        let file = SourceFile::new("d.toml".into(), text.to_owned(), str::to_owned);
        let layer = parse_toml(&file.name, text).unwrap();
        let at = |path: &str, pick: fn(&Origin) -> Option<Range<usize>>| {
            file.location(pick(&layer.origins[path]).unwrap())
        };
        let key = |o: &Origin| match o {
            Origin::File { key, .. } => key.clone(),
            _ => None,
        };
        let value = |o: &Origin| match o {
            Origin::File { value, .. } => value.clone(),
            _ => None,
        };
        assert_eq!(at("storage.type", key), "d.toml:3:1");
        assert_eq!(at("storage.type", value), "d.toml:3:8");
        assert_eq!(at("storage.providers[0]", key), "d.toml:4:1");
        assert_eq!(at("storage.providers[0].name", value), "d.toml:5:8");
        assert_eq!(layer_json(&layer)["storage"]["providers"][0]["name"], "a");
    }

    #[test]
    fn malformed_toml_names_line_and_column() {
        let err =
            parse_toml(Path::new("datanode.toml"), "a = 1\n[b]\nc = \"x\nd = 1\n").unwrap_err();
        assert_eq!(err.title, "malformed TOML");
        assert!(
            err.to_string()
                .starts_with("datanode.toml:3:7: malformed TOML: "),
            "{err}"
        );
        assert!(err.message.contains("basic string"), "{}", err.message);
        let rendered = err.render(Some("a = 1\n[b]\nc = \"x\nd = 1\n"));
        assert!(rendered.contains("3 | c = \"x"), "{rendered}");
    }

    #[test]
    fn unreadable_file_is_a_diagnostic_with_a_hint() {
        let err = read_file(Path::new("/nonexistent/datanode.toml")).unwrap_err();
        assert_eq!(err.title, "cannot read config");
        assert!(err.message.contains("/nonexistent/datanode.toml"));
        assert!(err.hint.is_some());
    }

    #[test]
    fn merge_deep_merges_tables_and_replaces_the_rest() {
        let mut merged = Merged::new(
            json!({"wal": {"provider": "raft_engine", "dir": "/d"}, "store_addrs": ["a"]})
                .as_object()
                .cloned()
                .unwrap(),
        );
        let env = env_layer(
            &env(&[
                ("P__WAL__DIR", "/env"),
                ("P__WAL__PROVIDER", "kafka"),
                ("P__STORE_ADDRS", "b"),
            ]),
            "P",
            &[],
        );
        assert!(merged.merge(env).is_empty());
        let file = parse_toml(Path::new("f.toml"), "[wal]\ndir = \"/file\"\n").unwrap();
        let replaced = merged.merge(file);
        assert_eq!(replaced.len(), 1);
        assert_eq!(
            (replaced[0].path.as_str(), replaced[0].by.as_str()),
            ("wal.dir", "wal.dir")
        );
        assert_eq!(
            replaced[0].origin,
            Origin::Env {
                var: "P__WAL__DIR".into()
            }
        );
        assert!(matches!(replaced[0].by_origin, Some(Origin::File { .. })));
        assert_eq!(
            Value::Object(merged.value.clone()),
            json!({"wal": {"provider": "kafka", "dir": "/file"}, "store_addrs": "b"})
        );
        assert!(matches!(
            merged.origin("wal.dir"),
            Some(Origin::File { .. })
        ));
        assert!(matches!(
            merged.origin("wal.provider"),
            Some(Origin::Env { .. })
        ));
        assert_eq!(merged.origin("wal_x"), None);
        assert_eq!(merged.get("wal.provider"), Some(&json!("kafka")));
        merged.set("wal.dir", json!("/derived"), None);
        assert_eq!(merged.origin("wal.dir"), None);
    }
}
