//! The config layer: a component TOML becomes an [`EffectiveConfig`], read the way GreptimeDB
//! reads it, and linted for the mistakes GreptimeDB ignores or fails on late.
//!
//! Precedence, lowest first: GreptimeDB's code defaults (`defaults/*.toml`), environment
//! variables, the file, the component's start flags ([`StartFlags`]), `--set` overrides. The
//! merged tree is linted against `catalog.toml`, which records the serde type of every key
//! GreptimeDB reads (values set by start flags are typed by their flag and not linted); then
//! the steps GreptimeDB takes
//! after loading are applied (`derive.rs`): aliases and deprecated keys, dropping the keys it
//! ignores, completing present tables from their defaults, and the derived paths (WAL, logs,
//! caches).

mod catalog;
mod derive;
mod layers;
mod lint;
mod secrets;
pub mod start_flags;
mod types;
pub mod units;

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use self::layers::Merged;
use crate::diag::Diagnostic;

/// The GreptimeDB version whose option structs `catalog.toml` and `defaults/` follow.
pub const GREPTIMEDB_VERSION: &str = "1.3.0";
/// The GreptimeDB commit of [`GREPTIMEDB_VERSION`] the catalog was derived from.
pub const GREPTIMEDB_COMMIT: &str = "7fd0a7bb";

pub use self::secrets::{
    is_secret_key, redact_toml_source, redact_yaml_source, secrets_in_connection_string,
};
pub use self::start_flags::StartFlags;

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
    /// Errors (GreptimeDB refuses the config): `invalid_type`, `invalid_enum`, `invalid_value`,
    /// `missing_required`, `duplicate_key`, `duplicate_provider`. Warnings (GreptimeDB ignores
    /// something): `unknown_key`, `ignored_key`, `env_shadowed`, `deprecated`.
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

/// A config file's text already in memory (a ConfigMap rendered from a Kubernetes resource),
/// read as that file would be; `name` stands for the file in diagnostics and reports.
#[derive(Debug, Clone)]
pub struct ConfigText {
    pub name: PathBuf,
    pub text: String,
}

/// Builds the effective config. Unreadable files, malformed TOML (with file, line and column)
/// and malformed `--set` arguments are [`Diagnostic`]s; everything else is a [`LintFinding`].
pub fn load(opts: &LoadOptions) -> Result<EffectiveConfig, Diagnostic> {
    refuse_cluster(opts.component)?;
    let file = opts.file.as_deref().map(layers::read_file).transpose()?;
    load_from(opts, file, opts.file.clone())
}

/// [`load`] with the file's text given instead of read (`opts.file` is not read).
pub fn load_text(opts: &LoadOptions, text: ConfigText) -> Result<EffectiveConfig, Diagnostic> {
    refuse_cluster(opts.component)?;
    let file = layers::read_text(&text.name, text.text)?;
    load_from(opts, Some(file), Some(text.name))
}

fn refuse_cluster(component: Component) -> Result<(), Diagnostic> {
    if component != Component::Cluster {
        return Ok(());
    }
    Err(Diagnostic::new(
        "no cluster config file",
        "a cluster playbook reads the combined configs of an inventory, not one TOML file",
    )
    .with_hint("run it with `greptime-self-test cluster -f cluster.yaml`"))
}

fn load_from(
    opts: &LoadOptions,
    file: Option<(crate::diag::SourceFile, layers::Layer)>,
    name: Option<PathBuf>,
) -> Result<EffectiveConfig, Diagnostic> {
    let component = opts.component;
    let catalog = catalog::catalog(component);
    let prefix = opts
        .env_prefix
        .clone()
        .unwrap_or_else(|| component.env_prefix());
    let (source, file) = file.unzip();
    let env = layers::env_layer(&opts.env, &prefix, &catalog.env_list_keys);
    let overrides = layers::override_layer(&opts.overrides)?;
    let defaults = layers::defaults(component);

    let mut inputs = vec![&defaults, &env.value, &overrides.value];
    inputs.extend(file.as_ref().map(|f| &f.value));
    let mut secrets = secrets::collect(&inputs);

    let mut config = Merged::new(defaults.clone());
    config.merge(env);
    let shadowed = file.map(|f| config.merge(f)).unwrap_or_default();
    let (flag_findings, flag_values) =
        start_flags::apply(component, &opts.start_flags, &mut config);
    for secret in secrets::collect(&[&flag_values]) {
        if !secrets.contains(&secret) {
            secrets.push(secret);
        }
    }
    config.merge(overrides);

    let (mut findings, plan) = lint::lint(component, &config, source.as_ref());
    start_flags::annotate(&mut findings, &config);
    findings.extend(lint::shadowed_env_vars(&shadowed, source.as_ref()));
    findings.extend(flag_findings);
    derive::apply(component, &mut config, &plan, &Merged::new(defaults));
    Ok(EffectiveConfig {
        component,
        file: name,
        value: Value::Object(config.value),
        findings,
        secrets,
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use serde_json::json;

    use super::*;

    /// The project's own full config of `name` (`tests/fixtures/config/<name>.toml`): every key
    /// the component reads, with every storage type and WAL provider among them.
    fn fixture(name: &str) -> PathBuf {
        [
            env!("CARGO_MANIFEST_DIR"),
            "tests/fixtures/config",
            &format!("{name}.toml"),
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

    #[test]
    fn fixtures_lint_clean() {
        for (component, name) in [
            (Component::Metasrv, "metasrv"),
            (Component::Frontend, "frontend"),
            (Component::Datanode, "datanode"),
            (Component::Datanode, "datanode-noop"),
            (Component::Flownode, "flownode"),
            (Component::Standalone, "standalone"),
        ] {
            let config = load(&options(component, Some(fixture(name)))).unwrap();
            assert!(config.findings.is_empty(), "{name}: {:#?}", config.findings);
        }
    }

    #[test]
    fn the_bundled_examples_lint_clean() {
        for component in Component::ALL {
            let file = [
                env!("CARGO_MANIFEST_DIR"),
                "examples",
                &format!("{}.toml", component.as_str()),
            ]
            .iter()
            .collect();
            let config = load(&options(component, Some(file))).unwrap();
            assert!(
                config.findings.is_empty(),
                "{component:?}: {:#?}",
                config.findings
            );
        }
    }

    #[test]
    fn files_keep_their_values_over_code_defaults() {
        let metasrv = load(&options(Component::Metasrv, Some(fixture("metasrv")))).unwrap();
        assert_eq!(metasrv.value["grpc"]["server_addr"], "127.0.0.1:3002");
        assert_eq!(metasrv.value["meta_schema_name"], "greptime_schema");
        let flownode = load(&options(Component::Flownode, Some(fixture("flownode")))).unwrap();
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
        // ClientOptions::default() (src/common/options/src/datanode.rs): 1 s, not the example's 10s
        let frontend = load(&options(Component::Frontend, None)).unwrap();
        assert_eq!(
            frontend.value["datanode"]["client"]["connect_timeout"],
            "1s"
        );
        assert_eq!(metasrv.value["datanode"]["client"]["connect_timeout"], "1s");
        // the default metasrv WAL is the unit variant raft_engine: no Kafka keys
        assert_eq!(metasrv.value["wal"], json!({"provider": "raft_engine"}));
    }

    /// `logging.dir` when empty: `{data_home}/logs` for metasrv (src/cmd/src/metasrv.rs),
    /// `{storage.data_home}/logs` for datanode and standalone (datanode.rs, standalone.rs),
    /// DEFAULT_DATA_HOME/logs for frontend and flownode (frontend.rs, flownode.rs).
    #[test]
    fn logging_dir_is_derived_per_component() {
        let with = |component, set: &[&str]| {
            let mut opts = options(component, None);
            opts.overrides = set.iter().map(|s| s.to_string()).collect();
            load(&opts).unwrap().value["logging"]["dir"].clone()
        };
        assert_eq!(with(Component::Metasrv, &["data_home=/m"]), "/m/logs");
        assert_eq!(
            with(Component::Datanode, &["storage.data_home=/d/"]),
            "/d/logs"
        );
        assert_eq!(
            with(Component::Standalone, &["storage.data_home=/s"]),
            "/s/logs"
        );
        assert_eq!(with(Component::Frontend, &[]), "./greptimedb_data/logs");
        assert_eq!(with(Component::Flownode, &[]), "./greptimedb_data/logs");
        assert_eq!(with(Component::Metasrv, &["logging.dir=/l"]), "/l");
    }

    /// With an object store the datanode forces the mito write cache on
    /// (src/datanode/src/datanode.rs, build_mito_engine); an empty `write_cache_path` is
    /// `data_home` (MitoConfig::sanitize), as are the read cache (DatanodeOptions::sanitize) and
    /// `{data_home}/index_intermediate` for the index (IndexConfig::sanitize).
    #[test]
    fn object_storage_derives_the_cache_paths() {
        let mut opts = options(Component::Datanode, None);
        opts.overrides = vec![
            "node_id=1".into(),
            "storage.data_home=/var/lib/greptimedb".into(),
            "storage.type=S3".into(),
            "storage.bucket=b".into(),
        ];
        let s3 = load(&opts).unwrap();
        let mito = &s3.value["region_engine"][0]["mito"];
        assert_eq!(mito["enable_write_cache"], true);
        assert_eq!(mito["write_cache_path"], "/var/lib/greptimedb");
        assert_eq!(
            mito["index"]["aux_path"],
            "/var/lib/greptimedb/index_intermediate"
        );
        assert_eq!(s3.value["storage"]["cache_path"], "/var/lib/greptimedb");
        opts.overrides
            .retain(|o| !o.starts_with("storage.type") && !o.starts_with("storage.bucket"));
        let file = load(&opts).unwrap();
        let mito = &file.value["region_engine"][0]["mito"];
        assert_eq!(mito["enable_write_cache"], false);
        assert_eq!(mito["write_cache_path"], "");
        assert_eq!(file.value["storage"]["cache_path"], "");
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
            ("invalid_type", "meta_client.metasrv_addrs")
        );
        assert!(finding.message.contains("expected a sequence"));
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
            ("MYDN__STORAGE__TYPE".into(), "S3".into()),
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
        assert_eq!(config.value["storage"]["type"], "S3");
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

    /// src/cmd/src/metasrv.rs: a non-empty deprecated `bind_addr` is copied to grpc.bind_addr,
    /// unless the command line (our `--set`) gives grpc.bind_addr.
    #[test]
    fn deprecated_metasrv_keys_are_honoured_with_a_warning() {
        let file = temp_toml("bind_addr = \"0.0.0.0:3002\"\nserver_addr = \"\"\n[grpc]\nbind_addr = \"127.0.0.1:3002\"\n");
        let mut opts = options(Component::Metasrv, Some(file.path().to_owned()));
        let config = load(&opts).unwrap();
        assert_eq!(config.value["grpc"]["bind_addr"], "0.0.0.0:3002");
        assert_eq!(config.value["grpc"]["server_addr"], "");
        let deprecated: Vec<_> = config
            .findings
            .iter()
            .map(|f| (f.code.as_str(), f.key.as_str()))
            .collect();
        assert_eq!(deprecated, [("deprecated", "bind_addr")]);
        opts.overrides = vec!["grpc.bind_addr=10.0.0.1:3002".into()];
        assert_eq!(
            load(&opts).unwrap().value["grpc"]["bind_addr"],
            "10.0.0.1:3002"
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
