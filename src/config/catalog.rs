//! The keys each component reads, what they hold, and the component quirks the loader and the
//! linter need (required keys, env list keys, deprecated keys). Loaded once from `catalog.toml`,
//! whose header documents the notation.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use super::Component;

const CATALOG_TOML: &str = include_str!("catalog.toml");

/// What one component reads.
#[derive(Debug)]
pub(crate) struct ComponentCatalog {
    pub root: TableSpec,
    /// Dotted keys whose environment value GreptimeDB splits on `,`.
    pub env_list_keys: Vec<String>,
    /// Deprecated top-level keys and the dotted key GreptimeDB copies each one to.
    pub deprecated: Vec<(String, String)>,
}

/// The keys of one table.
#[derive(Debug, Clone, Default)]
pub(crate) struct TableSpec {
    pub fields: BTreeMap<String, Node>,
    /// Keys GreptimeDB cannot start without.
    pub required: Vec<String>,
    /// The table must hold exactly one of its keys (`[[region_engine]]` elements).
    pub exactly_one: bool,
}

/// What a key holds.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Leaf(Kind),
    Table(TableSpec),
    /// An array of tables, such as `[[storage.providers]]`.
    TableList(TableSpec),
}

/// The value shape of a leaf key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    String,
    Bool,
    Integer,
    Float,
    Duration,
    Size,
    Strings,
    Any,
    /// One of these spellings, compared case-sensitively.
    Enum(Vec<String>),
}

impl TableSpec {
    /// The node at a dotted path below this table, if the catalog knows it.
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

fn build_component(spec: &toml::Table, sections: &toml::Table) -> ComponentCatalog {
    let mut table = spec.clone();
    let env_list_keys = table
        .remove("@env_list_keys")
        .map(|keys| string_list(&keys))
        .unwrap_or_default();
    let deprecated = table
        .remove("@deprecated")
        .and_then(|v| v.as_table().cloned())
        .unwrap_or_default()
        .into_iter()
        .map(|(old, new)| (old, new.as_str().expect("@deprecated target").to_owned()))
        .collect();
    ComponentCatalog {
        root: build_table(&table, sections),
        env_list_keys,
        deprecated,
    }
}

fn build_table(spec: &toml::Table, sections: &toml::Table) -> TableSpec {
    let mut table = TableSpec::default();
    if let Some(includes) = spec.get("@include") {
        for name in string_list(includes) {
            table.fields.extend(section(&name, sections).fields);
        }
    }
    for (key, value) in spec {
        match key.as_str() {
            "@include" => {}
            "@required" => table.required = string_list(value),
            "@one_of" => table.exactly_one = value.as_bool().expect("@one_of is a bool"),
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
    if let Some(values) = text.strip_prefix("enum:") {
        return Node::Leaf(Kind::Enum(values.split('|').map(str::to_owned).collect()));
    }
    Node::Leaf(match text {
        "string" => Kind::String,
        "bool" => Kind::Bool,
        "integer" => Kind::Integer,
        "float" => Kind::Float,
        "duration" => Kind::Duration,
        "size" => Kind::Size,
        "strings" => Kind::Strings,
        "any" => Kind::Any,
        other => panic!("catalog key {key} has unknown kind {other}"),
    })
}

fn section(name: &str, sections: &toml::Table) -> TableSpec {
    let spec = sections
        .get(name)
        .and_then(toml::Value::as_table)
        .unwrap_or_else(|| panic!("catalog.toml lacks [sections.{name}]"));
    build_table(spec, sections)
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

    #[test]
    fn every_component_has_a_catalog() {
        for component in Component::ALL {
            assert!(!catalog(component).root.fields.is_empty(), "{component:?}");
        }
    }

    #[test]
    fn references_includes_and_directives_resolve() {
        let datanode = catalog(Component::Datanode);
        assert_eq!(datanode.root.required, ["node_id", "meta_client"]);
        assert!(datanode
            .env_list_keys
            .contains(&"meta_client.metasrv_addrs".to_owned()));
        assert!(matches!(
            datanode.root.lookup("storage.type"),
            Some(Node::Leaf(Kind::Enum(values))) if values.contains(&"S3".to_owned())
        ));
        assert!(matches!(
            datanode.root.lookup("storage.http_client.timeout"),
            Some(Node::Leaf(Kind::Duration))
        ));
        let Some(Node::TableList(provider)) = datanode.root.lookup("storage.providers") else {
            panic!("storage.providers is an array of tables");
        };
        assert_eq!(provider.required, ["type"]);
        let Some(Node::TableList(engine)) = datanode.root.lookup("region_engine") else {
            panic!("region_engine is an array of tables");
        };
        assert!(engine.exactly_one);
    }

    #[test]
    fn components_differ_where_greptimedb_does() {
        assert!(catalog(Component::Flownode).env_list_keys.is_empty());
        assert!(catalog(Component::Standalone)
            .root
            .lookup("meta_client")
            .is_none());
        assert!(catalog(Component::Metasrv).root.lookup("query").is_none());
        let provider = |c| match catalog(c).root.lookup("wal.provider") {
            Some(Node::Leaf(Kind::Enum(values))) => values.clone(),
            other => panic!("{other:?}"),
        };
        assert!(provider(Component::Datanode).contains(&"noop".to_owned()));
        assert!(!provider(Component::Standalone).contains(&"noop".to_owned()));
        assert_eq!(
            catalog(Component::Metasrv)
                .deprecated
                .iter()
                .find(|(old, _)| old == "bind_addr"),
            Some(&("bind_addr".to_owned(), "grpc.bind_addr".to_owned()))
        );
    }
}
