//! After loading: the steps GreptimeDB takes between deserializing its options and using them,
//! applied to the merged tree so that playbooks read what the component will use. Aliases move
//! to their key, keys GreptimeDB ignores leave, deprecated keys are copied, present tables are
//! completed from their serde defaults, and derived paths are filled in (WAL, logs, caches).

use serde_json::{Map, Value};

use super::catalog::{CopyWhen, Deprecated};
use super::layers::{child_path, default_table, Merged, Origin};
use super::lint::Plan;
use super::Component;

/// `DEFAULT_DATA_HOME` (src/common/config/src/lib.rs).
const DEFAULT_DATA_HOME: &str = "./greptimedb_data";

/// Applies what [`lint`](super::lint::lint) planned, then GreptimeDB's derived values.
pub(crate) fn apply(component: Component, config: &mut Merged, plan: &Plan, defaults: &Merged) {
    for (alias, key) in &plan.renames {
        let origin = config.origin(alias).cloned();
        if let Some(value) = config.remove(alias) {
            config.set_at(key, value, origin);
        }
    }
    for path in &plan.ignored {
        config.remove(path);
        if let Some(default) = defaults.get(path) {
            config.set_at(path, default.clone(), None);
        }
    }
    for (table, rule) in &plan.copies {
        copy_deprecated(config, table, rule);
    }
    for (path, names) in &plan.completions {
        if let Some(Value::Object(table)) = config.get_mut_value(path) {
            for name in names {
                fill_missing(table, default_table(name).unwrap_or_default());
            }
        }
    }
    derive_paths(component, config);
}

/// Copies a deprecated key as GreptimeDB does, unless a start flag or `--set` gave the
/// replacement (GreptimeDB's flags win over deprecated keys: e.g. `src/cmd/src/datanode.rs`).
fn copy_deprecated(config: &mut Merged, table: &str, rule: &Deprecated) {
    let old = child_path(table, &rule.old);
    let new = child_path(table, &rule.new);
    let Some(value) = config.get(&old).cloned() else {
        return;
    };
    let target_empty = config.get(&new).is_none_or(is_blank);
    let copy = match rule.copy {
        CopyWhen::IfSet => !value.is_null(),
        CopyWhen::IfNonEmpty => !is_blank(&value),
        CopyWhen::IfTargetEmpty => !is_blank(&value) && target_empty,
        CopyWhen::Never => false,
    };
    let given =
        matches!(config.origin(&new), Some(Origin::Override { .. })) || config.is_flag(&new);
    if copy && !given {
        let origin = config.origin(&old).cloned();
        config.set_at(&new, value, origin);
    }
}

fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// Adds the keys of `defaults` that `table` lacks, recursing into tables both have.
fn fill_missing(table: &mut Map<String, Value>, defaults: Map<String, Value>) {
    for (key, default) in defaults {
        match (table.get_mut(&key), default) {
            (None, default) => {
                table.insert(key, default);
            }
            (Some(Value::Object(inner)), Value::Object(inner_defaults)) => {
                fill_missing(inner, inner_defaults)
            }
            _ => {}
        }
    }
}

/// The paths GreptimeDB derives after loading.
fn derive_paths(component: Component, config: &mut Merged) {
    let storage_home = config
        .get("storage.data_home")
        .and_then(Value::as_str)
        .map(str::to_owned);
    // Logs: `{data_home}/logs` when `logging.dir` is empty (src/cmd/src/metasrv.rs,
    // datanode.rs, standalone.rs); frontend and flownode use DEFAULT_DATA_HOME (frontend.rs,
    // flownode.rs).
    let log_home = match component {
        Component::Metasrv => config
            .get("data_home")
            .and_then(Value::as_str)
            .map(str::to_owned),
        Component::Datanode | Component::Standalone => storage_home.clone(),
        Component::Frontend | Component::Flownode => Some(DEFAULT_DATA_HOME.to_owned()),
        Component::Cluster => None,
    };
    if let Some(home) = log_home {
        if config.get("logging.dir").is_none_or(is_blank) {
            config.set("logging.dir", Value::String(join(&home, "logs")), None);
        }
    }
    let Some(data_home) = storage_home else {
        return;
    };
    // Raft-engine WAL: `{normalize_dir(data_home)}wal` unless `wal.dir` is set
    // (src/datanode/src/datanode.rs, build_raft_engine_log_store).
    let raft_engine = config.get("wal.provider").and_then(Value::as_str) == Some("raft_engine");
    if raft_engine && config.get("wal.dir").is_none_or(Value::is_null) {
        let dir = format!("{}wal", normalize_dir(&data_home));
        config.set("wal.dir", Value::String(dir), None);
    }
    let object_storage = matches!(
        config.get("storage.type").and_then(Value::as_str),
        Some("S3" | "Oss" | "Azblob" | "Gcs")
    );
    // The read cache of an object store defaults to data_home (DatanodeOptions::sanitize,
    // StandaloneOptions::sanitize, ObjectStorageCacheConfig::sanitize).
    if object_storage && config.get("storage.cache_path").is_none_or(is_blank) {
        config.set("storage.cache_path", Value::String(data_home.clone()), None);
    }
    derive_mito(config, &data_home, object_storage);
}

/// Mito: an object store forces the write cache on (src/datanode/src/datanode.rs,
/// build_mito_engine); an empty write-cache path is `data_home` and an empty index `aux_path` is
/// `{data_home}/index_intermediate` (MitoConfig::sanitize, IndexConfig::sanitize). The write-cache
/// path is filled in only when the cache is on, so that it is what the datanode will use.
fn derive_mito(config: &mut Merged, data_home: &str, object_storage: bool) {
    let Some(Value::Array(engines)) = config.get_mut_value("region_engine") else {
        return;
    };
    for engine in engines {
        let Some(Value::Object(mito)) = engine.get_mut("mito") else {
            continue;
        };
        if object_storage {
            mito.insert("enable_write_cache".into(), Value::Bool(true));
        }
        let enabled = mito.get("enable_write_cache").and_then(Value::as_bool) == Some(true);
        if enabled && mito.get("write_cache_path").is_none_or(is_blank) {
            mito.insert(
                "write_cache_path".into(),
                Value::String(data_home.to_owned()),
            );
        }
        let index = mito
            .entry("index")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(index) = index {
            if index.get("aux_path").is_none_or(is_blank) {
                let aux = join(data_home, "index_intermediate");
                index.insert("aux_path".into(), Value::String(aux));
            }
        }
    }
}

/// `Path::new(base).join(child)` for a relative `child`.
fn join(base: &str, child: &str) -> String {
    if base.is_empty() {
        child.to_owned()
    } else if base.ends_with('/') {
        format!("{base}{child}")
    } else {
        format!("{base}/{child}")
    }
}

/// `object_store::util::normalize_dir`: no empty segments, a trailing `/`, a leading `/` kept.
fn normalize_dir(dir: &str) -> String {
    let joined = dir
        .split('/')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("/");
    let rooted = if dir.starts_with('/') {
        format!("/{joined}")
    } else {
        joined
    };
    if rooted.ends_with('/') {
        rooted
    } else {
        format!("{rooted}/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_and_normalize_like_greptimedb() {
        assert_eq!(join("./greptimedb_data", "logs"), "./greptimedb_data/logs");
        assert_eq!(join("/var/lib/g/", "logs"), "/var/lib/g/logs");
        assert_eq!(normalize_dir("./greptimedb_data"), "./greptimedb_data/");
        assert_eq!(normalize_dir("/var//lib/g/"), "/var/lib/g/");
        assert_eq!(normalize_dir(""), "/");
    }
}
