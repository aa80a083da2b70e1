//! The operator's `pkg/dbconfig`: each role's generated keys, merged into the user's `config`
//! one dotted key at a time. Under `ConfigMergeStrategyInjectedDataFirst` (what `SetDefaults`
//! always writes) a key the user's TOML already has is skipped, so the user wins key by key;
//! under anything else the generated value replaces it.
//!
//! The tree operations follow go-toml v1's `Tree.Has` / `Tree.Set`: a dotted path walks tables
//! and the last element of an array of tables; `Set` creates missing tables.

mod common;
mod roles;

use toml::{Table, Value};

use super::defaults::INJECTED_DATA_FIRST;
use super::resource::{ClusterSpec, DatanodeSpec, FlownodeSpec, FrontendSpec, MetaSpec};
use super::secrets::SecretStore;
use crate::diag::Diagnostic;

pub use roles::generated;

/// One role's spec, as the operator passes it to `FromCluster`.
#[derive(Debug, Clone, Copy)]
pub enum Role<'a> {
    Meta(&'a MetaSpec),
    Frontend(&'a FrontendSpec),
    Datanode(&'a DatanodeSpec),
    Flownode(&'a FlownodeSpec),
}

impl<'a> Role<'a> {
    /// The operator's role kind, as in resource names and the `ROLE` variable.
    pub fn kind(self) -> &'static str {
        match self {
            Role::Meta(_) => "meta",
            Role::Frontend(_) => "frontend",
            Role::Datanode(_) => "datanode",
            Role::Flownode(_) => "flownode",
        }
    }

    /// The role's `config` string.
    pub fn user_config(self) -> Option<&'a str> {
        match self {
            Role::Meta(s) => s.config.as_deref(),
            Role::Frontend(s) => s.config.as_deref(),
            Role::Datanode(s) => s.config.as_deref(),
            Role::Flownode(s) => s.config.as_deref(),
        }
    }
}

/// A generated key: its dotted path (`storage.bucket`) and value. Absent (nil) keys are not
/// listed; an empty string or zero is, and is written.
pub type Generated = Vec<(&'static str, Value)>;

/// The ConfigMap's `config.toml` for one role, with what went into it.
#[derive(Debug, Clone)]
pub struct RoleConfig {
    /// The user's `config`, parsed.
    pub user: Table,
    pub generated: Generated,
    /// The file: `user` with `generated` merged in.
    pub merged: Table,
}

/// `FromCluster`: the role's generated keys merged into its `config` under the resource's
/// merge strategy.
pub fn from_cluster(
    spec: &ClusterSpec,
    role: Role,
    secrets: &SecretStore,
) -> Result<RoleConfig, Diagnostic> {
    let generated = generated(spec, role, secrets)?;
    let user = parse_user_config(role.user_config().unwrap_or_default()).map_err(|e| {
        Diagnostic::new(
            "invalid component config",
            format!("the {} `config` is not TOML: {e}", role.kind()),
        )
    })?;
    let injected_first = spec.config_merge_strategy.as_deref() == Some(INJECTED_DATA_FIRST);
    let merged = merge(&user, &generated, injected_first);
    Ok(RoleConfig {
        user,
        generated,
        merged,
    })
}

/// A component's `config` string as a TOML table (empty for an empty string).
pub fn parse_user_config(text: &str) -> Result<Table, String> {
    text.parse::<Table>().map_err(|e| {
        let message = e.message().to_string();
        match e.span() {
            Some(span) => {
                let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                format!("line {line} of the TOML: {message}")
            }
            None => message,
        }
    })
}

/// `mergeConfig`: each generated key set on a copy of `input`, skipping those `input` has when
/// `injected_first`.
pub fn merge(input: &Table, generated: &[(&str, Value)], injected_first: bool) -> Table {
    let mut tree = input.clone();
    for (key, value) in generated {
        if injected_first && has(&tree, key) {
            continue;
        }
        set(&mut tree, key, value.clone());
    }
    tree
}

/// go-toml's `Tree.Has`: whether the dotted `path` names a value.
pub fn has(tree: &Table, path: &str) -> bool {
    get(tree, path).is_some()
}

/// go-toml's `Tree.GetPath`.
pub fn get<'a>(tree: &'a Table, path: &str) -> Option<&'a Value> {
    let keys: Vec<&str> = path.split('.').collect();
    let (last, intermediate) = keys.split_last()?;
    let mut table = tree;
    for key in intermediate {
        table = match table.get(*key)? {
            Value::Table(t) => t,
            Value::Array(items) => match items.last()? {
                Value::Table(t) => t,
                _ => return None,
            },
            _ => return None,
        };
    }
    table.get(*last)
}

/// go-toml's `Tree.Set`: creates missing tables; walks into the last element of an array of
/// tables; a scalar in the way is stepped over (the walk stays at the current table, as
/// go-toml does).
pub fn set(tree: &mut Table, path: &str, value: Value) {
    let keys: Vec<&str> = path.split('.').collect();
    let Some((last, intermediate)) = keys.split_last() else {
        return;
    };
    let mut table = tree;
    for key in intermediate {
        let next = table
            .entry(key.to_string())
            .or_insert_with(|| Value::Table(Table::new()));
        let descend = match next {
            Value::Table(_) => true,
            Value::Array(items) => {
                if items.is_empty() {
                    items.push(Value::Table(Table::new()));
                }
                matches!(items.last(), Some(Value::Table(_)))
            }
            _ => false,
        };
        if !descend {
            continue;
        }
        table = match table.get_mut(*key) {
            Some(Value::Table(t)) => t,
            Some(Value::Array(items)) => match items.last_mut() {
                Some(Value::Table(t)) => t,
                _ => unreachable!("checked above"),
            },
            _ => unreachable!("inserted above"),
        };
    }
    table.insert(last.to_string(), value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Table {
        text.parse().unwrap()
    }

    #[test]
    fn injected_first_keeps_the_users_leaf_and_adds_the_rest() {
        let input = table("[storage]\ntype = \"File\"\n");
        let generated = vec![
            ("storage.type", Value::from("S3")),
            ("storage.bucket", Value::from("b")),
        ];
        let merged = merge(&input, &generated, true);
        assert_eq!(merged["storage"]["type"].as_str(), Some("File"));
        assert_eq!(merged["storage"]["bucket"].as_str(), Some("b"));
        let merged = merge(&input, &generated, false);
        assert_eq!(merged["storage"]["type"].as_str(), Some("S3"));
    }

    #[test]
    fn paths_walk_the_last_table_of_an_array_of_tables() {
        let mut tree = table("[[region_engine]]\n[region_engine.mito]\nx = 1\n[[region_engine]]\n");
        assert!(!has(&tree, "region_engine.mito"));
        set(&mut tree, "region_engine.file.y", Value::from(2));
        assert!(has(&tree, "region_engine.file.y"));
        assert_eq!(tree["region_engine"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn a_scalar_in_the_way_is_stepped_over_as_go_toml_does() {
        let mut tree = table("wal = \"x\"\n");
        assert!(!has(&tree, "wal.provider"));
        set(&mut tree, "wal.provider", Value::from("kafka"));
        assert_eq!(tree["wal"].as_str(), Some("x"));
        assert_eq!(tree["provider"].as_str(), Some("kafka"));
    }
}
