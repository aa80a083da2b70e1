//! The start flags' tests: what each component's `StartCommand` (`src/cmd/src/*.rs`) accepts
//! and refuses, and how `merge_with_cli_options` applies it over file, environment and defaults.

use std::io::Write;
use std::path::PathBuf;

use serde_json::{json, Map};

use super::{annotate, apply, parse, StartFlags};
use crate::config::layers::{self, Merged, Origin};
use crate::config::{load, Component, EffectiveConfig, LintFinding, LoadOptions, Severity};
use crate::diag::Diagnostic;

fn args(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

fn flags(component: Component, line: &str) -> StartFlags {
    parse(component, &args(line)).unwrap()
}

fn bad(component: Component, line: &str) -> Diagnostic {
    parse(component, &args(line)).unwrap_err()
}

/// Loads `toml` (if any) with environment `env` and start line `line`.
fn load_with(
    component: Component,
    toml: Option<&str>,
    env: &[(&str, &str)],
    line: &str,
) -> EffectiveConfig {
    let file = toml.map(|text| {
        let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        file
    });
    load(&LoadOptions {
        component,
        file: file.as_ref().map(|f| f.path().to_owned()),
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        env_prefix: None,
        overrides: Vec::new(),
        start_flags: flags(component, line),
    })
    .unwrap()
}

// src/cmd/src/datanode.rs merge_with_cli_options: cli > file > env > defaults
#[test]
fn datanode_flags_beat_file_beat_env() {
    let config = load_with(
        Component::Datanode,
        Some("node_id = 1\n[meta_client]\nmetasrv_addrs = [\"file:3002\"]\ntimeout = \"5s\"\n[http]\naddr = \"file:4000\"\n"),
        &[
            ("GREPTIMEDB_DATANODE__HTTP__ADDR", "env:4000"),
            ("GREPTIMEDB_DATANODE__GRPC__BIND_ADDR", "env:3001"),
        ],
        "--node-id 3 --metasrv-addrs m0:3002,m1:3002 --data-home /data --http-addr cli:4000 --http-timeout 30 --rpc-addr cli:3001 --rpc-hostname dn-0:3001",
    );
    let v = &config.value;
    assert_eq!(v["node_id"], 3);
    assert_eq!(
        v["meta_client"]["metasrv_addrs"],
        json!(["m0:3002", "m1:3002"])
    );
    // the flag replaces only the addresses of a present [meta_client]
    assert_eq!(v["meta_client"]["timeout"], "5s");
    assert_eq!(v["storage"]["data_home"], "/data");
    // sanitize() derives the raft-engine dir from data_home after the flags
    assert_eq!(v["wal"]["dir"], "/data/wal");
    assert_eq!(v["http"]["addr"], "cli:4000");
    assert_eq!(v["http"]["timeout"], "30s");
    assert_eq!(v["http"]["disable_dashboard"], true);
    assert_eq!(v["grpc"]["bind_addr"], "cli:3001");
    assert_eq!(v["grpc"]["server_addr"], "dn-0:3001");
    // the file hid the environment's http.addr (the flag then replaced both)
    let codes: Vec<_> = config
        .findings
        .iter()
        .map(|f| (f.code.as_str(), f.key.as_str()))
        .collect();
    assert_eq!(codes, [("env_shadowed", "http.addr")]);
}

// src/cmd/src/datanode.rs: `meta_client.get_or_insert_with(MetaClientOptions::default)` and
// `ensure!(node_id.is_some())` after the flags (test_try_from_cmd)
#[test]
fn datanode_flags_supply_required_node_id_and_meta_client() {
    let bare = load_with(Component::Datanode, None, &[], "");
    let missing: Vec<_> = bare
        .findings
        .iter()
        .filter(|f| f.code == "missing_required")
        .map(|f| f.key.as_str())
        .collect();
    assert!(missing.contains(&"node_id"), "{missing:?}");
    let config = load_with(
        Component::Datanode,
        None,
        &[],
        "--node-id 7 --metasrv-addrs meta:3002",
    );
    assert_eq!(
        config.value["meta_client"]["metasrv_addrs"],
        json!(["meta:3002"])
    );
    assert_eq!(config.value["meta_client"]["timeout"], "3s");
    assert!(config.findings.is_empty(), "{:#?}", config.findings);
}

// src/cmd/src/datanode.rs: `--wal-dir` only for a raft-engine WAL
#[test]
fn datanode_wal_dir_only_for_raft_engine() {
    let raft = load_with(Component::Datanode, None, &[], "--node-id 1 --wal-dir /wal");
    assert_eq!(raft.value["wal"]["dir"], "/wal");
    let kafka = load_with(
        Component::Datanode,
        Some("node_id = 1\n[wal]\nprovider = \"kafka\"\n"),
        &[],
        "--wal-dir /wal",
    );
    assert!(kafka.value["wal"].get("dir").is_none());
    assert!(kafka.findings.iter().any(|f| f.code == "flag_ignored"));
}

// src/cmd/src/metasrv.rs: `--grpc-bind-addr` (aliases rpc-bind-addr, bind-addr) sets the
// deprecated `bind_addr` and `grpc.bind_addr`; test_parse_grpc_cli_aliases
#[test]
fn metasrv_flags_and_aliases() {
    for alias in ["--grpc-bind-addr", "--rpc-bind-addr", "--bind-addr"] {
        let config = load_with(
            Component::Metasrv,
            Some("bind_addr = \"file:3002\"\n"),
            &[],
            &format!("{alias} cli:3002 --server-addr adv:3002"),
        );
        assert_eq!(config.value["bind_addr"], "cli:3002", "{alias}");
        assert_eq!(config.value["grpc"]["bind_addr"], "cli:3002", "{alias}");
        assert_eq!(config.value["grpc"]["server_addr"], "adv:3002");
    }
    let config = load_with(
        Component::Metasrv,
        Some("store_addrs = [\"file:2379\"]\nstore_key_prefix = \"file/\"\n[logging]\ndir = \"\"\n"),
        &[("GREPTIMEDB_METASRV__STORE_ADDRS", "env:2379")],
        "--store-addr a:2379,b:2379 c:2379 --backend postgres-store -s LoadBased --enable-region-failover true --http-timeout 5 --data-home /meta --store-key-prefix= --max-txn-ops 64",
    );
    let v = &config.value;
    assert_eq!(v["store_addrs"], json!(["a:2379", "b:2379", "c:2379"]));
    assert_eq!(v["backend"], "postgres_store");
    assert_eq!(v["selector"], "LoadBased");
    assert_eq!(v["enable_region_failover"], true);
    assert_eq!(v["http"]["timeout"], "5s");
    assert_eq!(v["data_home"], "/meta");
    // an empty --store-key-prefix leaves the file's
    assert_eq!(v["store_key_prefix"], "file/");
    assert_eq!(v["max_txn_ops"], 64);
    // an empty logging.dir becomes <data_home>/logs after --data-home
    assert_eq!(v["logging"]["dir"], "/meta/logs");
}

// src/cmd/src/frontend.rs merge_with_cli_options
#[test]
fn frontend_flags() {
    let config = load_with(
        Component::Frontend,
        Some("[mysql]\nenable = false\n[grpc.tls]\nmode = \"disable\"\n"),
        &[],
        "--metasrv-addrs m:3002 --mysql-addr 0.0.0.0:4002 --internal-grpc-bind-addr 0.0.0.0:4010 -i false --disable-dashboard true --user-provider static_user_provider:cmd:u=pw --grpc-bind-addr 0.0.0.0:4001 --tls-mode require --tls-cert-path /c --tls-key-path /k --tls-watch",
    );
    let v = &config.value;
    assert_eq!(v["meta_client"]["metasrv_addrs"], json!(["m:3002"]));
    assert_eq!(v["mysql"]["enable"], true);
    assert_eq!(v["mysql"]["addr"], "0.0.0.0:4002");
    assert_eq!(v["mysql"]["tls"]["mode"], "require");
    assert_eq!(v["grpc"]["tls"]["watch"], true);
    // postgres has no flag: its TLS stays
    assert_eq!(v["postgres"]["tls"]["mode"], "disable");
    // `GrpcOptions::default()` with the flag's bind address
    assert_eq!(v["internal_grpc"]["bind_addr"], "0.0.0.0:4010");
    assert_eq!(v["internal_grpc"]["server_addr"], "");
    assert_eq!(v["influxdb"]["enable"], false);
    assert_eq!(v["http"]["disable_dashboard"], true);
    assert!(config.secrets.contains(&"pw".to_string()));
    assert!(config.findings.is_empty(), "{:#?}", config.findings);
}

// src/servers/src/tls.rs merge_tls_option: invalid flag TLS (verify-* without a CA path,
// or no server flag) leaves the file's TLS
#[test]
fn tls_flags_that_greptimedb_drops_warn() {
    let config = load_with(
        Component::Frontend,
        Some("[meta_client]\nmetasrv_addrs = [\"m:3002\"]\n"),
        &[],
        "--mysql-addr 0.0.0.0:4002 --tls-mode verify-ca --tls-cert-path /c --tls-key-path /k",
    );
    assert_eq!(config.value["mysql"]["tls"]["mode"], "disable");
    let ignored: Vec<_> = config
        .findings
        .iter()
        .filter(|f| f.code == "flag_ignored")
        .collect();
    assert_eq!(ignored.len(), 1, "{:#?}", config.findings);
}

// src/cmd/src/flownode.rs merge_with_cli_options
#[test]
fn flownode_flags() {
    let config = load_with(
        Component::Flownode,
        None,
        &[("GREPTIMEDB_FLOWNODE__NODE_ID", "1")],
        "--node-id 14 --metasrv-addrs a:3002 b:3002 --rpc-addr 0.0.0.0:6800 --http-timeout 2",
    );
    assert_eq!(config.value["node_id"], 14);
    assert_eq!(
        config.value["meta_client"]["metasrv_addrs"],
        json!(["a:3002", "b:3002"])
    );
    assert_eq!(config.value["grpc"]["bind_addr"], "0.0.0.0:6800");
    assert_eq!(config.value["http"]["timeout"], "2s");
    assert!(config.findings.is_empty(), "{:#?}", config.findings);
    // test_user_provider_cli_option_is_removed
    assert_eq!(
        bad(Component::Flownode, "--node-id 14 --user-provider x").title,
        "unknown start flag"
    );
}

// src/cmd/src/standalone.rs merge_with_cli_options: `-i` is a switch; the datanode's
// reserved gRPC address is refused
#[test]
fn standalone_flags() {
    let config = load_with(
        Component::Standalone,
        Some("[influxdb]\nenable = false\n[logging]\ndir = \"\"\n"),
        &[],
        "-i --data-home /sa --postgres-addr 0.0.0.0:4003",
    );
    let v = &config.value;
    assert_eq!(v["influxdb"]["enable"], true);
    assert_eq!(v["storage"]["data_home"], "/sa");
    assert_eq!(v["logging"]["dir"], "/sa/logs");
    assert_eq!(v["postgres"]["addr"], "0.0.0.0:4003");
    assert_eq!(
        bad(Component::Standalone, "-i true").title,
        "unexpected start argument"
    );
    let clash = load_with(
        Component::Standalone,
        None,
        &[],
        "--grpc-bind-addr 127.0.0.1:3001",
    );
    let finding = clash
        .findings
        .iter()
        .find(|f| f.key == "grpc.bind_addr")
        .unwrap();
    assert_eq!(finding.severity, Severity::Error);
}

// src/cmd/src/options.rs GlobalOptions (`global = true`) and src/cmd/src/bin/greptime.rs
#[test]
fn whole_start_line_with_global_options() {
    let line = flags(
        Component::Datanode,
        "/usr/bin/greptime --log-level info datanode start -c /etc/dn.toml --env-prefix DN --node-id 3 --log-dir /logs",
    );
    assert_eq!(line.config_file(), Some("/etc/dn.toml"));
    assert_eq!(line.env_prefix(), Some("DN"));
    let mut config = Merged::new(layers::defaults(Component::Datanode));
    apply(Component::Datanode, &line, &mut config);
    assert_eq!(config.get("logging.level").unwrap(), "info");
    assert_eq!(config.get("logging.dir").unwrap(), "/logs");
    assert_eq!(config.get("node_id").unwrap(), 3);
    // the tool's own -c must agree with the start line's
    assert!(line.choose_file(Some("/other.toml".into())).is_err());
    assert_eq!(
        line.choose_file(None).unwrap(),
        Some(PathBuf::from("/etc/dn.toml"))
    );
    assert_eq!(
        line.choose_file(Some("/etc/dn.toml".into())).unwrap(),
        Some(PathBuf::from("/etc/dn.toml"))
    );
    assert!(line.choose_env_prefix(Some("X".into())).is_err());
    assert_eq!(line.choose_env_prefix(None).unwrap().as_deref(), Some("DN"));
    let inline = flags(Component::Datanode, "-c=/a.toml --node-id=4");
    assert_eq!(inline.config_file(), Some("/a.toml"));
}

// what GreptimeDB's clap refuses (src/cmd/src/*.rs StartCommand field types)
#[test]
fn refused_start_lines() {
    let d = bad(Component::Datanode, "--node-idd 3");
    assert_eq!(d.title, "unknown start flag");
    assert!(d.hint.unwrap().contains("--node-id"));
    let d = bad(Component::Datanode, "--node-id abc");
    assert!(d.message.contains("--node-id abc"), "{}", d.message);
    let d = bad(Component::Metasrv, "--backend foo");
    assert!(d.hint.unwrap().contains("`etcd-store`"));
    // serde's spelling is not clap's
    assert!(parse(Component::Metasrv, &args("--backend etcd_store")).is_err());
    assert!(parse(Component::Metasrv, &args("--selector random")).is_err());
    assert!(parse(Component::Metasrv, &args("--enable-region-failover yes")).is_err());
    assert!(parse(Component::Frontend, &args("--tls-mode verify_ca")).is_err());
    assert_eq!(
        bad(Component::Datanode, "--node-id 1 --node-id 2").title,
        "repeated start flag"
    );
    assert_eq!(
        bad(Component::Datanode, "--node-id").title,
        "bad start flag"
    );
    assert_eq!(
        bad(Component::Datanode, "greptime metasrv start").title,
        "wrong component"
    );
    assert_eq!(
        bad(Component::Datanode, "greptime datanode objbench").title,
        "not a start command"
    );
    assert_eq!(
        bad(Component::Datanode, "--help").title,
        "not a start command"
    );
    // datanode has no --store-addrs; metasrv has no --node-id
    assert_eq!(
        bad(Component::Datanode, "--store-addrs x").title,
        "unknown start flag"
    );
    assert_eq!(
        bad(Component::Metasrv, "--node-id 1").title,
        "unknown start flag"
    );
}

// a password in --store-addrs is a secret for the masker, and never echoed in errors
#[test]
fn store_addrs_passwords_are_secrets() {
    let config = load_with(
        Component::Metasrv,
        None,
        &[],
        "--backend postgres-store --store-addrs postgresql://meta:fl4g-pw@db:5432/meta",
    );
    assert!(
        config.secrets.contains(&"fl4g-pw".to_string()),
        "{:?}",
        config.secrets
    );
    let d = bad(
        Component::Metasrv,
        "--backend postgresql://meta:fl4g-pw@db:5432/meta",
    );
    assert!(!format!("{d:?}").contains("fl4g-pw"), "{d:?}");
}

// findings about a key a flag set say so
#[test]
fn findings_name_the_flag() {
    let config = load_with(
        Component::Datanode,
        Some("node_id = 1\n[meta_client]\nmetasrv_addrs = [\"m:3002\"]\n"),
        &[],
        "--http-addr 127.0.0.1:4000 --log-level info",
    );
    assert!(config.findings.is_empty(), "{:#?}", config.findings);
    let mut merged = Merged::new(Map::new());
    merged.set(
        "node_id",
        json!("x"),
        Some(Origin::Flag {
            arg: "--node-id".into(),
        }),
    );
    let mut findings = vec![LintFinding {
        severity: Severity::Error,
        code: "invalid_value".into(),
        key: "node_id".into(),
        message: "bad".into(),
        hint: None,
        location: None,
    }];
    annotate(&mut findings, &merged);
    assert_eq!(findings[0].message, "bad (from start flag --node-id)");
}

// the clap definitions are well formed (clap's own debug asserts: ids, shorts, aliases unique)
#[test]
fn start_commands_are_valid_clap_commands() {
    for component in super::commands::COMPONENTS
        .into_iter()
        .chain([Component::Cluster])
    {
        super::commands::start_line(component).debug_assert();
    }
    super::commands::line_shape().debug_assert();
}

// where clap (= GreptimeDB) reads a line differently from the former hand-written parser
#[test]
fn clap_semantics_decide() {
    // a short cluster: `-ic FILE` is `-i` then `-c FILE` (was refused as a switch with a value)
    let cluster = flags(Component::Standalone, "-ic /sa.toml");
    assert_eq!(cluster.config_file(), Some("/sa.toml"));
    let mut config = Merged::new(layers::defaults(Component::Standalone));
    apply(Component::Standalone, &cluster, &mut config);
    assert_eq!(config.get("influxdb.enable").unwrap(), true);
    // `-1` is an (unknown) flag to clap, not a missing value
    let d = bad(Component::Datanode, "--node-id -1");
    assert_eq!(d.title, "unknown start flag", "{d:?}");
    assert!(d.message.contains("-1"), "{d:?}");
    // a global option between the component and `start`, and after the flags
    let line = flags(
        Component::Datanode,
        "greptime datanode --log-dir /logs start --node-id 3 --log-level warn",
    );
    let mut config = Merged::new(layers::defaults(Component::Datanode));
    apply(Component::Datanode, &line, &mut config);
    assert_eq!(config.get("logging.dir").unwrap(), "/logs");
    assert_eq!(config.get("logging.level").unwrap(), "warn");
    // a global option once before and once after the subcommand: clap keeps the subcommand's
    // (was refused as a repeated flag); twice in one place is still refused
    let twice = flags(
        Component::Datanode,
        "greptime --log-level info datanode start --log-level warn",
    );
    let mut config = Merged::new(layers::defaults(Component::Datanode));
    apply(Component::Datanode, &twice, &mut config);
    assert_eq!(config.get("logging.level").unwrap(), "warn");
    assert_eq!(
        bad(Component::Datanode, "--log-level info --log-level warn").title,
        "repeated start flag"
    );
}

// the written spelling (alias, short) is what findings and origins name
#[test]
fn origins_name_the_flag_as_written() {
    let line = flags(Component::Datanode, "--rpc-addr 0.0.0.0:3001 --node-id=3");
    let mut config = Merged::new(layers::defaults(Component::Datanode));
    apply(Component::Datanode, &line, &mut config);
    let arg = |key| match config.origin(key) {
        Some(Origin::Flag { arg }) => arg.clone(),
        other => panic!("{key}: {other:?}"),
    };
    assert_eq!(arg("grpc.bind_addr"), "--rpc-addr");
    assert_eq!(arg("node_id"), "--node-id");
    // the default --env-prefix is not a given one
    assert_eq!(line.env_prefix(), None);
    assert!(!line.is_empty());
    assert!(flags(Component::Datanode, "").is_empty());
}

// clap's error kinds, as bad input naming the flag as written and what it takes
#[test]
fn clap_errors_become_diagnostics() {
    let d = bad(Component::Frontend, "-c");
    assert_eq!(d.title, "bad start flag");
    assert!(d.message.starts_with("-c needs a value"), "{d:?}");
    let d = bad(Component::Frontend, "-i maybe");
    assert!(d.message.contains("-i maybe"), "{d:?}");
    assert!(d.hint.unwrap().contains("`true` or `false`"));
    let d = bad(Component::Frontend, "--tls-watch=true");
    assert!(d.message.contains("--tls-watch is a switch"), "{d:?}");
    let d = bad(Component::Frontend, "--tls-mode verify_ca");
    assert!(d.hint.unwrap().contains("did you mean `verify-ca`?"));
    let d = bad(Component::Metasrv, "--enable-region-failover=");
    assert_eq!(d.title, "bad start flag value", "{d:?}");
    let d = bad(Component::Metasrv, "-s random");
    assert!(d.hint.unwrap().contains("`LoadBased`"));
    let d = bad(Component::Datanode, "--http-timeout 1s");
    assert!(d.hint.unwrap().contains("non-negative integer"));
    for line in ["--version", "greptime datanode start -V", "greptime --help"] {
        assert_eq!(
            bad(Component::Datanode, line).title,
            "not a start command",
            "{line}"
        );
    }
    let d = bad(Component::Datanode, "greptime datanod start");
    assert_eq!(d.title, "wrong component");
    assert_eq!(
        bad(Component::Datanode, "greptime --log-level info").title,
        "incomplete start command"
    );
    assert_eq!(
        bad(Component::Datanode, "greptime datanode").title,
        "not a start command"
    );
    // a cluster playbook takes the flags every start command shares
    let cluster = flags(Component::Cluster, "-c /c.toml --env-prefix X");
    assert_eq!(cluster.config_file(), Some("/c.toml"));
    assert_eq!(cluster.env_prefix(), Some("X"));
    assert_eq!(
        bad(Component::Cluster, "--node-id 1").title,
        "unknown start flag"
    );
}

// no password reaches an error or a debug print, whatever clap's error context holds
#[test]
fn no_password_in_errors() {
    let url = "postgresql://meta:fl4g-pw@db:5432/meta";
    for (component, line) in [
        (Component::Datanode, format!("--store-addrs={url}")),
        (Component::Datanode, format!("--node-id 1 {url}")),
        (Component::Metasrv, format!("--max-txn-ops {url}")),
        (
            Component::Metasrv,
            format!("--store-addrs {url} --store-addrs {url} -s {url}"),
        ),
        (Component::Datanode, format!("greptime {url} start")),
        (Component::Datanode, format!("greptime datanode {url}")),
    ] {
        let d = bad(component, &line);
        assert!(!format!("{d:?}").contains("fl4g-pw"), "{line}: {d:?}");
    }
    let parsed = flags(Component::Metasrv, &format!("--store-addrs {url}"));
    assert!(!format!("{parsed:?}").contains("fl4g-pw"), "{parsed:?}");
}

// The operator starts every metasrv with `--rpc-bind-addr`, which writes the deprecated
// `bind_addr` too: that is GreptimeDB's doing, not the config's, so no warning; a deprecated key
// the file itself sets still warns.
#[test]
fn deprecated_keys_a_flag_wrote_are_not_reported() {
    let flagged = load_with(
        Component::Metasrv,
        None,
        &[],
        "--rpc-bind-addr 0.0.0.0:3002 --rpc-server-addr 10.0.0.7:3002",
    );
    assert_eq!(flagged.value["bind_addr"], "0.0.0.0:3002");
    assert!(
        !flagged.findings.iter().any(|f| f.code == "deprecated"),
        "{:?}",
        flagged.findings
    );
    let from_file = load_with(
        Component::Metasrv,
        Some("bind_addr = \"0.0.0.0:3002\"\n"),
        &[],
        "",
    );
    assert!(from_file
        .findings
        .iter()
        .any(|f| f.code == "deprecated" && f.key == "bind_addr"));
}
