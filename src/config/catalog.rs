//! The keys each component reads, their serde types and the serde quirks the loader and the
//! linter follow (tagged enums, aliases, skipped keys, deprecated keys, required keys, env list
//! keys). Loaded once from `catalog.toml`, whose header documents the notation.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use super::types::Type;
use super::Component;

const CATALOG_TOML: &str = include_str!("catalog.toml");

/// What one component reads.
#[derive(Debug)]
pub(crate) struct ComponentCatalog {
    pub root: TableSpec,
    /// Dotted keys whose environment value GreptimeDB splits on `,`.
    pub env_list_keys: Vec<String>,
}

/// The keys of one table and how serde reads them.
#[derive(Debug, Clone, Default)]
pub(crate) struct TableSpec {
    pub fields: BTreeMap<String, Node>,
    /// Keys GreptimeDB cannot start without.
    pub required: Vec<String>,
    /// An externally tagged enum element: exactly one key, the variant (`[[region_engine]]`).
    pub one_of: bool,
    /// The tag key of an internally tagged enum (`storage.type`, `wal.provider`).
    pub tag: Option<String>,
    /// Per variant of the tag, the keys it adds.
    pub variants: BTreeMap<String, TableSpec>,
    /// Variants that load but stop the component at start-up, and why.
    pub fails_at_startup: BTreeMap<String, String>,
    /// serde aliases: alias → key.
    pub aliases: BTreeMap<String, String>,
    /// Keys GreptimeDB does not read, and why.
    pub ignored: BTreeMap<String, String>,
    pub deprecated: Vec<Deprecated>,
    /// Tables of `defaults/tables.toml` serde fills missing keys from when this table is present.
    pub defaults: Vec<String>,
    /// `Option` tables that are `None` (null) in GreptimeDB's serialized defaults: an empty table
    /// in the file leaves them `None` (config-rs merges its nothing into the null).
    pub none_by_default: Vec<String>,
    /// Read by config-rs itself, with its string/number conversions.
    pub lenient: bool,
}

/// A deprecated key GreptimeDB still reads, and what it does with it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Deprecated {
    /// Path relative to the table that declares it.
    pub old: String,
    pub new: String,
    pub copy: CopyWhen,
}

/// When GreptimeDB copies a deprecated key to its replacement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum CopyWhen {
    /// Whenever it is set (an `Option` that is `Some`).
    IfSet,
    /// When it is set to something other than `""`.
    IfNonEmpty,
    /// When it is non-empty and the replacement is empty.
    IfTargetEmpty,
    /// Never: it is read but no longer used.
    Never,
}

/// What a key holds.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Leaf(Type),
    Table(TableSpec),
    /// An array of tables, such as `[[storage.providers]]`.
    TableList(TableSpec),
}

impl TableSpec {
    /// The node at a dotted path of tables below this table, if the catalog knows it.
    #[cfg(test)]
    pub fn lookup(&self, dotted: &str) -> Option<&Node> {
        let (first, rest) = match dotted.split_once('.') {
            Some((first, rest)) => (first, Some(rest)),
            None => (dotted, None),
        };
        let node = self.fields.get(first)?;
        match (node, rest) {
            (_, None) => Some(node),
            (Node::Table(spec), Some(rest)) => spec.lookup(rest),
            _ => None,
        }
    }

    /// This table with the keys of tag variant `variant` added.
    pub fn with_variant(&self, variant: &str) -> TableSpec {
        let mut spec = self.clone();
        if let Some(extra) = self.variants.get(variant) {
            spec.absorb(extra.clone());
        }
        spec
    }

    /// The variants (other than `except`) that read `key`.
    pub fn variants_reading(&self, key: &str, except: &str) -> Vec<&str> {
        self.variants
            .iter()
            .filter(|(name, spec)| *name != except && spec.fields.contains_key(key))
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// Adds the keys and directives of `other` (an included section, or a variant's keys).
    fn absorb(&mut self, other: TableSpec) {
        self.fields.extend(other.fields);
        self.required.extend(other.required);
        self.one_of |= other.one_of;
        self.tag = self.tag.take().or(other.tag);
        self.variants.extend(other.variants);
        self.fails_at_startup.extend(other.fails_at_startup);
        self.aliases.extend(other.aliases);
        self.ignored.extend(other.ignored);
        self.deprecated.extend(other.deprecated);
        self.defaults.extend(other.defaults);
        self.none_by_default.extend(other.none_by_default);
        self.lenient |= other.lenient;
    }
}

static CATALOGS: LazyLock<HashMap<Component, ComponentCatalog>> = LazyLock::new(|| {
    let document: toml::Table = toml::from_str(CATALOG_TOML).expect("catalog.toml parses");
    let sections = document["sections"].as_table().expect("[sections]");
    let components = document["components"].as_table().expect("[components]");
    Component::ALL
        .into_iter()
        .map(|component| {
            let spec = components[component.as_str()]
                .as_table()
                .unwrap_or_else(|| {
                    panic!("catalog.toml lacks [components.{}]", component.as_str())
                });
            (component, build_component(spec, sections))
        })
        .collect()
});

/// The catalog of `component`.
pub(crate) fn catalog(component: Component) -> &'static ComponentCatalog {
    &CATALOGS[&component]
}

/// The catalog's header line, naming the GreptimeDB version it was derived from.
#[cfg(test)]
pub(crate) fn header() -> &'static str {
    CATALOG_TOML
        .lines()
        .find(|line| line.starts_with("# GreptimeDB "))
        .unwrap_or_default()
}

fn build_component(spec: &toml::Table, sections: &toml::Table) -> ComponentCatalog {
    let mut table = spec.clone();
    let env_list_keys = table
        .remove("@env_list_keys")
        .map(|keys| string_list(&keys))
        .unwrap_or_default();
    ComponentCatalog {
        root: build_table(&table, sections),
        env_list_keys,
    }
}

fn build_table(spec: &toml::Table, sections: &toml::Table) -> TableSpec {
    let mut table = TableSpec::default();
    if let Some(includes) = spec.get("@include") {
        for name in string_list(includes) {
            table.absorb(section(&name, sections));
        }
    }
    for (key, value) in spec {
        match key.as_str() {
            "@include" | "@variants" => {}
            "@required" => table.required.extend(string_list(value)),
            "@one_of" => table.one_of = value.as_bool().expect("@one_of is a bool"),
            "@lenient" => table.lenient = value.as_bool().expect("@lenient is a bool"),
            "@tag" => table.tag = Some(value.as_str().expect("@tag is a key").to_owned()),
            "@defaults" => table
                .defaults
                .push(value.as_str().expect("@defaults names a table").to_owned()),
            "@none_by_default" => table.none_by_default.extend(string_list(value)),
            "@aliases" => table.aliases.extend(string_map(value)),
            "@ignored" => table.ignored.extend(string_map(value)),
            "@fails_at_startup" => table.fails_at_startup.extend(string_map(value)),
            "@deprecated" => table.deprecated.extend(deprecated(value)),
            directive if directive.starts_with('@') => {
                panic!("unknown catalog directive {directive}")
            }
            _ => {
                table
                    .fields
                    .insert(key.clone(), build_node(key, value, sections));
            }
        }
    }
    if let Some(variants) = spec.get("@variants") {
        let variants = variants.as_table().expect("@variants is a table");
        for (variant, includes) in variants {
            let mut extra = TableSpec::default();
            for name in string_list(includes) {
                extra.absorb(section(&name, sections));
            }
            table.variants.insert(variant.clone(), extra);
        }
    }
    table
}

fn build_node(key: &str, value: &toml::Value, sections: &toml::Table) -> Node {
    if let Some(inline) = value.as_table() {
        return Node::Table(build_table(inline, sections));
    }
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("catalog key {key} must be a string or a table"));
    if let Some(name) = text.strip_prefix("[@").and_then(|t| t.strip_suffix(']')) {
        return Node::TableList(section(name, sections));
    }
    if let Some(name) = text.strip_prefix('@') {
        return Node::Table(section(name, sections));
    }
    Node::Leaf(Type::parse(text).unwrap_or_else(|e| panic!("catalog key {key}: {e}")))
}

fn section(name: &str, sections: &toml::Table) -> TableSpec {
    let spec = sections
        .get(name)
        .and_then(toml::Value::as_table)
        .unwrap_or_else(|| panic!("catalog.toml lacks [sections.{name}]"));
    build_table(spec, sections)
}

fn deprecated(value: &toml::Value) -> Vec<Deprecated> {
    let table = value.as_table().expect("@deprecated is a table");
    table
        .iter()
        .map(|(old, spec)| {
            let field = |name: &str| {
                spec.get(name)
                    .and_then(toml::Value::as_str)
                    .unwrap_or_else(|| panic!("@deprecated {old} lacks `{name}`"))
            };
            let copy = match field("copy") {
                "if_set" => CopyWhen::IfSet,
                "if_nonempty" => CopyWhen::IfNonEmpty,
                "if_target_empty" => CopyWhen::IfTargetEmpty,
                "never" => CopyWhen::Never,
                other => panic!("@deprecated {old}: unknown copy `{other}`"),
            };
            Deprecated {
                old: old.clone(),
                new: field("use").to_owned(),
                copy,
            }
        })
        .collect()
}

fn string_map(value: &toml::Value) -> BTreeMap<String, String> {
    value
        .as_table()
        .expect("a directive table")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("a string").to_owned()))
        .collect()
}

fn string_list(value: &toml::Value) -> Vec<String> {
    value
        .as_array()
        .expect("a directive list")
        .iter()
        .map(|v| v.as_str().expect("a string in a directive list").to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::types::Int;

    #[test]
    fn every_component_has_a_catalog_and_the_header_names_the_version() {
        for component in Component::ALL {
            assert!(!catalog(component).root.fields.is_empty(), "{component:?}");
        }
        assert_eq!(
            header(),
            format!(
                "# GreptimeDB {}, commit {} (the version line below is read by catalog.rs).",
                crate::config::GREPTIMEDB_VERSION,
                crate::config::GREPTIMEDB_COMMIT
            )
        );
    }

    #[test]
    fn tagged_tables_resolve_their_variants() {
        let datanode = catalog(Component::Datanode);
        let Some(Node::Table(storage)) = datanode.root.lookup("storage") else {
            panic!("storage is a table");
        };
        assert_eq!(storage.tag.as_deref(), Some("type"));
        let s3 = storage.with_variant("S3");
        assert!(s3.fields.contains_key("secret_access_key"));
        assert!(s3.fields.contains_key("data_home") && s3.fields.contains_key("http_client"));
        assert!(!s3.fields.contains_key("account_key"));
        assert_eq!(storage.variants_reading("account_key", "S3"), ["Azblob"]);
        let file = storage.with_variant("File");
        assert!(!file.fields.contains_key("http_client"));
        let Some(Node::TableList(provider)) = datanode.root.lookup("storage.providers") else {
            panic!("storage.providers is an array of tables");
        };
        assert_eq!(provider.tag.as_deref(), Some("type"));
        let Some(Node::Table(wal)) = datanode.root.lookup("wal") else {
            panic!("wal is a table");
        };
        let kafka = wal.with_variant("kafka");
        assert_eq!(kafka.aliases["max_batch_size"], "max_batch_bytes");
        assert!(kafka.defaults.contains(&"kafka_datanode".to_owned()));
    }

    #[test]
    fn components_differ_where_greptimedb_does() {
        assert!(catalog(Component::Flownode).env_list_keys.is_empty());
        let standalone = &catalog(Component::Standalone).root;
        assert!(standalone.lookup("meta_client").is_none());
        assert!(standalone.ignored.contains_key("max_concurrent_queries"));
        assert!(standalone.ignored.contains_key("otlp"));
        let Some(Node::Table(wal)) = standalone.lookup("wal") else {
            panic!("wal is a table");
        };
        assert!(wal.fails_at_startup.contains_key("noop"));
        assert!(catalog(Component::Metasrv).root.lookup("query").is_none());
        assert!(catalog(Component::Metasrv)
            .root
            .ignored
            .contains_key("store_addr"));
        assert!(matches!(
            catalog(Component::Metasrv).root.lookup("max_txn_ops"),
            Some(Node::Leaf(Type::Int(Int::Usize)))
        ));
        assert!(matches!(
            catalog(Component::Frontend).root.lookup("node_id"),
            Some(Node::Leaf(Type::String))
        ));
        let datanode = &catalog(Component::Datanode).root;
        assert_eq!(datanode.required, ["node_id", "meta_client"]);
        assert!(datanode
            .deprecated
            .iter()
            .any(|d| d.old == "rpc_hostname" && d.copy == CopyWhen::IfSet));
        let Some(Node::TableList(engine)) = datanode.lookup("region_engine") else {
            panic!("region_engine is an array of tables");
        };
        assert!(engine.one_of);
    }
}
