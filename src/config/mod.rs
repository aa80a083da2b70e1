//! The config layer: a component TOML becomes an [`EffectiveConfig`], read the way GreptimeDB
//! reads it, and linted for the mistakes GreptimeDB ignores or fails on late.
//!
//! Precedence, lowest first: GreptimeDB's code defaults (`defaults/*.toml`), environment
//! variables, the file, the component's start flags ([`StartFlags`]), `--set` overrides. After
//! merging, the steps GreptimeDB takes after
//! loading are applied: deprecated keys are copied to their replacements, a present
//! `[meta_client]` is completed from its defaults, and the raft-engine `wal.dir` is derived
//! from `storage.data_home`. The known keys live in `catalog.toml`.

mod catalog;
mod layers;
mod lint;
mod secrets;
pub mod start_flags;
pub mod units;

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use self::catalog::{ComponentCatalog, Kind, Node};
use self::layers::Merged;
use crate::diag::Diagnostic;

pub use self::secrets::{
    is_secret_key, redact_toml_source, redact_yaml_source, secrets_in_connection_string,
};
pub use self::start_flags::StartFlags;

/// The GreptimeDB release whose option structs, defaults and start-up rules this config layer
/// follows (its source at commit 7fd0a7bb). Every report names it, so that an operator on
/// another release knows what the verdicts were judged against.
pub const GREPTIMEDB_VERSION: &str = "1.3.0";

/// What a playbook reads: one GreptimeDB component's config, or [`Component::Cluster`], the
/// combined effective configs of a cluster inventory.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Component {
    Metasrv,
    Frontend,
    Datanode,
    Flownode,
    Standalone,
    /// The whole cluster: `config.nodes` lists every node of the inventory (`name`,
    /// `component`, `host`, `config`). Read by cross-node playbooks only; there is no
    /// `cluster` TOML, so `--component cluster` is not offered.
    #[value(skip)]
    Cluster,
}

impl Component {
    /// The five components that read a TOML file of their own.
    pub const ALL: [Component; 5] = [
        Component::Metasrv,
        Component::Frontend,
        Component::Datanode,
        Component::Flownode,
        Component::Standalone,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Component::Metasrv => "metasrv",
            Component::Frontend => "frontend",
            Component::Datanode => "datanode",
            Component::Flownode => "flownode",
            Component::Standalone => "standalone",
            Component::Cluster => "cluster",
        }
    }

    /// GreptimeDB's default environment prefix, e.g. `GREPTIMEDB_DATANODE`.
    pub fn env_prefix(self) -> String {
        format!("GREPTIMEDB_{}", self.as_str().to_uppercase())
    }
}

/// How to build the effective config.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub component: Component,
    pub file: Option<PathBuf>,
    /// The process environment (only variables with the prefix are used).
    pub env: Vec<(String, String)>,
    /// `--env-prefix`; defaults to [`Component::env_prefix`].
    pub env_prefix: Option<String>,
    /// `--set key.path=value` overrides, applied last.
    pub overrides: Vec<String>,
    /// The component's start flags (`--node-id 3 …`), applied over the file as GreptimeDB's
    /// `merge_with_cli_options` does. Their `-c` and `--env-prefix` are not read here: the
    /// caller picks `file` and `env_prefix` ([`StartFlags::choose_file`]).
    pub start_flags: StartFlags,
}

/// Severity of a lint finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Warning,
    Error,
}

/// One config problem GreptimeDB would ignore or fail on late.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct LintFinding {
    pub severity: Severity,
    /// `unknown_key`, `invalid_enum`, `missing_required`, `duplicate_provider`, `invalid_value`,
    /// `env_shadowed`, `deprecated`.
    pub code: String,
    /// Dotted key path, e.g. `storage.type` or `storage.providers[0].name`.
    pub key: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// `file:line:col` when the key comes from the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// The config as the component would see it, plus what we found wrong with it.
#[derive(Debug, Clone)]
pub struct EffectiveConfig {
    pub component: Component,
    pub file: Option<PathBuf>,
    /// defaults < environment < file < `--set`, as a JSON tree.
    pub value: serde_json::Value,
    pub findings: Vec<LintFinding>,
    /// Secret values found anywhere in the inputs (defaults, environment, file, `--set`), for
    /// the engine's masker: see [`is_secret_key`] and [`secrets_in_connection_string`].
    pub secrets: Vec<String>,
}

/// Builds the effective config. Unreadable files, malformed TOML (with file, line and column)
/// and malformed `--set` arguments are [`Diagnostic`]s; everything else is a [`LintFinding`].
pub fn load(opts: &LoadOptions) -> Result<EffectiveConfig, Diagnostic> {
    let component = opts.component;
    if component == Component::Cluster {
        return Err(Diagnostic::new(
            "no cluster config file",
            "a cluster playbook reads the combined configs of an inventory, not one TOML file",
        )
        .with_hint("run it with `greptime-self-test cluster -f cluster.yaml`"));
    }
    let catalog = catalog::catalog(component);
    let prefix = opts
        .env_prefix
        .clone()
        .unwrap_or_else(|| component.env_prefix());
    let (source, file) = opts
        .file
        .as_deref()
        .map(layers::read_file)
        .transpose()?
        .unzip();
    let env = layers::env_layer(&opts.env, &prefix, &catalog.env_list_keys);
    let overrides = layers::override_layer(&opts.overrides)?;
    let defaults = layers::defaults(component);

    let mut inputs = vec![&defaults, &env.value, &overrides.value];
    inputs.extend(file.as_ref().map(|f| &f.value));
    let mut secrets = secrets::collect(&inputs);

    let mut config = Merged::new(defaults);
    config.merge(env);
    let shadowed = file.map(|f| config.merge(f)).unwrap_or_default();
    copy_deprecated_keys(&mut config, catalog);
    let (flag_findings, flag_values) =
        start_flags::apply(component, &opts.start_flags, &mut config);
    for secret in secrets::collect(&[&flag_values]) {
        if !secrets.contains(&secret) {
            secrets.push(secret);
        }
    }
    config.merge(overrides);
    complete_present_tables(&mut config, catalog);
    derive_wal_dir(&mut config, catalog);

    let mut findings = lint::lint(component, &config, source.as_ref());
    start_flags::annotate(&mut findings, &config);
    findings.extend(lint::shadowed_env_vars(&shadowed, source.as_ref()));
    findings.extend(flag_findings);
    Ok(EffectiveConfig {
        component,
        file: opts.file.clone(),
        value: Value::Object(config.value),
        findings,
        secrets,
    })
}

/// GreptimeDB copies a non-empty deprecated key (metasrv `bind_addr`, …) to its replacement.
fn copy_deprecated_keys(config: &mut Merged, catalog: &ComponentCatalog) {
    for (old, new) in &catalog.deprecated {
        let Some(value) = config.value.get(old).filter(|v| !is_blank(v)).cloned() else {
            continue;
        };
        let value = match (catalog.root.lookup(new), value) {
            (Some(Node::Leaf(Kind::Strings)), Value::String(s)) => {
                Value::Array(vec![Value::String(s)])
            }
            (_, value) => value,
        };
        let origin = config.origin(old).cloned();
        config.set(new, value, origin);
    }
}

fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// Fills the keys a present optional table (`[meta_client]`) leaves out from its defaults.
fn complete_present_tables(config: &mut Merged, catalog: &ComponentCatalog) {
    for key in catalog.root.fields.keys() {
        if let (Some(Value::Object(table)), Some(defaults)) = (
            config.value.get_mut(key),
            layers::defaults_when_present(key),
        ) {
            fill_missing(table, defaults);
        }
    }
}

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

/// Datanode and standalone keep a raft-engine WAL in `{storage.data_home}/wal` unless `wal.dir`
/// is set.
fn derive_wal_dir(config: &mut Merged, catalog: &ComponentCatalog) {
    let raft_engine = config.get("wal.provider").and_then(Value::as_str) == Some("raft_engine");
    if catalog.root.lookup("wal.dir").is_none() || config.get("wal.dir").is_some() || !raft_engine {
        return;
    }
    if let Some(data_home) = config.get("storage.data_home").and_then(Value::as_str) {
        let dir = format!("{}/wal", data_home.trim_end_matches('/'));
        config.set("wal.dir", Value::String(dir), None);
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use serde_json::json;

    use super::*;

    /// GreptimeDB's own example config, from `../shared` beside the project.
    fn example(component: Component) -> PathBuf {
        let name = format!("{}.example.toml", component.as_str());
        [
            env!("CARGO_MANIFEST_DIR"),
            "../shared/reference/greptimedb-config",
            &name,
        ]
        .iter()
        .collect()
    }

    fn options(component: Component, file: Option<PathBuf>) -> LoadOptions {
        LoadOptions {
            component,
            file,
            env: Vec::new(),
            env_prefix: None,
            overrides: Vec::new(),
            start_flags: StartFlags::default(),
        }
    }

    fn temp_toml(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        file
    }

    fn assert_example_is_clean(component: Component) {
        let config = load(&options(component, Some(example(component)))).unwrap();
        assert!(
            config.findings.is_empty(),
            "{component:?}: {:#?}",
            config.findings
        );
    }

    #[test]
    fn metasrv_example_has_no_findings() {
        assert_example_is_clean(Component::Metasrv);
    }

    #[test]
    fn frontend_example_has_no_findings() {
        assert_example_is_clean(Component::Frontend);
    }

    #[test]
    fn datanode_example_has_no_findings() {
        assert_example_is_clean(Component::Datanode);
    }

    #[test]
    fn flownode_example_has_no_findings() {
        assert_example_is_clean(Component::Flownode);
    }

    #[test]
    fn standalone_example_has_no_findings() {
        assert_example_is_clean(Component::Standalone);
    }

    #[test]
    fn examples_keep_their_values_over_code_defaults() {
        let metasrv = load(&options(
            Component::Metasrv,
            Some(example(Component::Metasrv)),
        ))
        .unwrap();
        assert_eq!(metasrv.value["grpc"]["server_addr"], "127.0.0.1:3002");
        assert_eq!(metasrv.value["meta_schema_name"], "greptime_schema");
        let flownode = load(&options(
            Component::Flownode,
            Some(example(Component::Flownode)),
        ))
        .unwrap();
        assert_eq!(flownode.value["grpc"]["bind_addr"], "127.0.0.1:6800");
    }

    #[test]
    fn code_defaults_without_a_file() {
        let metasrv = load(&options(Component::Metasrv, None)).unwrap();
        assert_eq!(metasrv.value["grpc"]["server_addr"], "");
        assert!(metasrv.value.get("meta_schema_name").is_none());
        assert_eq!(metasrv.value["backend_tls"]["mode"], "prefer");
        let flownode = load(&options(Component::Flownode, None)).unwrap();
        assert_eq!(flownode.value["grpc"]["bind_addr"], "127.0.0.1:3004");
        assert!(flownode.value.get("meta_client").is_none());
        let datanode = load(&options(Component::Datanode, None)).unwrap();
        assert_eq!(datanode.value["storage"]["type"], "File");
        assert_eq!(datanode.value["wal"]["dir"], "./greptimedb_data/wal");
    }

    #[test]
    fn file_beats_env_beats_defaults_and_set_beats_all() {
        let file = temp_toml("[http]\naddr = \"file:4000\"\n[grpc]\nbind_addr = \"file:3002\"\n");
        let mut opts = options(Component::Metasrv, Some(file.path().to_owned()));
        opts.env = vec![
            ("GREPTIMEDB_METASRV__HTTP__ADDR".into(), "env:4000".into()),
            ("GREPTIMEDB_METASRV__HTTP__TIMEOUT".into(), "5s".into()),
            (
                "GREPTIMEDB_METASRV__GRPC__BIND_ADDR".into(),
                "env:3002".into(),
            ),
        ];
        opts.overrides = vec!["grpc.bind_addr=set:3002".into()];
        let config = load(&opts).unwrap();
        assert_eq!(config.value["http"]["addr"], "file:4000");
        assert_eq!(config.value["http"]["timeout"], "5s");
        assert_eq!(config.value["http"]["body_limit"], "64MB");
        assert_eq!(config.value["grpc"]["bind_addr"], "set:3002");
        let shadowed: Vec<_> = config
            .findings
            .iter()
            .filter(|f| f.code == "env_shadowed")
            .map(|f| (f.key.as_str(), f.severity, f.location.is_some()))
            .collect();
        assert_eq!(
            shadowed,
            [
                ("http.addr", Severity::Warning, true),
                ("grpc.bind_addr", Severity::Warning, true)
            ]
        );
    }

    #[test]
    fn env_lists_split_per_component() {
        let addrs = |component: Component| {
            let mut opts = options(component, None);
            let var = format!("{}__META_CLIENT__METASRV_ADDRS", component.env_prefix());
            opts.env = vec![(var, "a:3002,b:3002".into())];
            opts.overrides = vec!["node_id=1".into()];
            load(&opts).unwrap()
        };
        let datanode = addrs(Component::Datanode);
        assert_eq!(
            datanode.value["meta_client"]["metasrv_addrs"],
            json!(["a:3002", "b:3002"])
        );
        assert!(datanode.findings.is_empty(), "{:#?}", datanode.findings);
        let flownode = addrs(Component::Flownode);
        assert_eq!(
            flownode.value["meta_client"]["metasrv_addrs"],
            "a:3002,b:3002"
        );
        let finding = &flownode.findings[0];
        assert_eq!(
            (finding.code.as_str(), finding.key.as_str()),
            ("invalid_value", "meta_client.metasrv_addrs")
        );
        assert!(finding
            .message
            .contains("GREPTIMEDB_FLOWNODE__META_CLIENT__METASRV_ADDRS"));
        assert!(finding.hint.as_deref().unwrap().contains("does not split"));
    }

    #[test]
    fn env_prefix_option_and_empty_values() {
        let mut opts = options(Component::Datanode, None);
        opts.env_prefix = Some("MYDN".into());
        opts.env = vec![
            ("MYDN__STORAGE__ROOT".into(), String::new()),
            (
                "GREPTIMEDB_DATANODE__STORAGE__BUCKET".into(),
                "ignored".into(),
            ),
            ("MYDN__STORAGE__BUCKIT".into(), "typo".into()),
        ];
        let config = load(&opts).unwrap();
        assert_eq!(config.value["storage"]["root"], "");
        assert!(config.value["storage"].get("bucket").is_none());
        let typo = config
            .findings
            .iter()
            .find(|f| f.code == "unknown_key")
            .unwrap();
        assert_eq!(typo.key, "storage.buckit");
        assert!(
            typo.message.contains("MYDN__STORAGE__BUCKIT"),
            "{}",
            typo.message
        );
        assert_eq!(typo.location, None);
    }

    #[test]
    fn present_meta_client_is_completed_from_defaults() {
        let file = temp_toml("node_id = 3\n[meta_client]\nmetasrv_addrs = [\"meta:3002\"]\n");
        let config = load(&options(Component::Datanode, Some(file.path().to_owned()))).unwrap();
        assert_eq!(
            config.value["meta_client"]["metasrv_addrs"],
            json!(["meta:3002"])
        );
        assert_eq!(config.value["meta_client"]["timeout"], "3s");
        assert_eq!(config.value["meta_client"]["connect_timeout"], "1s");
        assert!(config.findings.is_empty(), "{:#?}", config.findings);
    }

    #[test]
    fn deprecated_metasrv_keys_are_honoured_with_a_warning() {
        let file = temp_toml("bind_addr = \"0.0.0.0:3002\"\nstore_addr = \"etcd:2379\"\n[grpc]\nbind_addr = \"127.0.0.1:3002\"\n");
        let config = load(&options(Component::Metasrv, Some(file.path().to_owned()))).unwrap();
        assert_eq!(config.value["grpc"]["bind_addr"], "0.0.0.0:3002");
        assert_eq!(config.value["store_addrs"], json!(["etcd:2379"]));
        let deprecated: Vec<_> = config
            .findings
            .iter()
            .map(|f| (f.code.as_str(), f.key.as_str()))
            .collect();
        assert_eq!(
            deprecated,
            [("deprecated", "bind_addr"), ("deprecated", "store_addr")]
        );
    }

    #[test]
    fn wal_dir_follows_storage_data_home_unless_set() {
        let mut opts = options(Component::Standalone, None);
        opts.overrides = vec!["storage.data_home=/var/lib/greptimedb/".into()];
        assert_eq!(
            load(&opts).unwrap().value["wal"]["dir"],
            "/var/lib/greptimedb/wal"
        );
        opts.overrides.push("wal.dir=/wal".into());
        assert_eq!(load(&opts).unwrap().value["wal"]["dir"], "/wal");
        opts.overrides.push("wal.provider=kafka".into());
        opts.overrides.retain(|o| !o.starts_with("wal.dir"));
        assert!(load(&opts).unwrap().value["wal"].get("dir").is_none());
    }

    #[test]
    fn secrets_from_every_input() {
        let file = temp_toml(
            "store_addrs = [\"postgresql://meta:pg-secret@db:5432/meta\"]\nbackend = \"postgres_store\"\n[wal.sasl]\ntype = \"PLAIN\"\nusername = \"u\"\npassword = \"kafka-secret\"\n",
        );
        let mut opts = options(Component::Metasrv, Some(file.path().to_owned()));
        opts.env = vec![(
            "GREPTIMEDB_METASRV__WAL__SASL__PASSWORD".into(),
            "env-secret".into(),
        )];
        opts.overrides = vec![
            "backend_tls.key_path=/k".into(),
            "x.token=set-secret".into(),
        ];
        let config = load(&opts).unwrap();
        for secret in ["pg-secret", "kafka-secret", "env-secret", "set-secret"] {
            assert!(
                config.secrets.contains(&secret.to_owned()),
                "{secret}: {:?}",
                config.secrets
            );
        }
        assert!(!config.secrets.contains(&"u".to_owned()));
    }

    #[test]
    fn malformed_toml_is_a_positioned_diagnostic() {
        let text = "node_id = 1\n[storage]\ntype = \"S3\n";
        let file = temp_toml(text);
        let err = load(&options(Component::Datanode, Some(file.path().to_owned()))).unwrap_err();
        assert_eq!(err.title, "malformed TOML");
        let span = err.span.as_ref().unwrap();
        assert_eq!((span.line, span.col), (3, 11));
        assert!(err.render(Some(text)).contains("3 | type = \"S3"));
    }

    #[test]
    fn malformed_set_and_missing_file_are_diagnostics() {
        let mut opts = options(Component::Datanode, None);
        opts.overrides = vec!["node_id".into()];
        assert_eq!(load(&opts).unwrap_err().title, "malformed --set");
        let missing = options(Component::Datanode, Some("/nonexistent/dn.toml".into()));
        assert_eq!(load(&missing).unwrap_err().title, "cannot read config");
    }
}
