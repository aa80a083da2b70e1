//! The flags applied to the merged defaults < environment < file config, component by component
//! in the order of GreptimeDB's `StartCommand::merge_with_cli_options`
//! (`src/cmd/src/{metasrv,frontend,datanode,flownode,standalone}.rs`), with the findings that
//! merge implies: a flag it drops without a word, a start it refuses.

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::super::layers::{self, Merged, Origin};
use super::super::{Component, LintFinding, Severity};
use super::commands::{
    config_name, DatanodeStart, FlownodeStart, FrontendStart, MetasrvStart, StandaloneStart,
    StartCommand, TlsArgs, TlsMode,
};
use super::StartFlags;

/// Applies the flags to the merged file/env/defaults config in `merge_with_cli_options` order,
/// and returns the findings GreptimeDB's merge implies (a flag it ignores, a start it refuses)
/// and the tree of the values the flags set (for the masker).
pub(crate) fn apply(
    component: Component,
    flags: &StartFlags,
    config: &mut Merged,
) -> (Vec<LintFinding>, Map<String, Value>) {
    let mut merge = Merge {
        flags,
        config,
        set: Merged::new(Map::new()),
        findings: Vec::new(),
        tls_applied: false,
    };
    // no flags is a bare start, which still runs the merge (the fixed settings below)
    let command = flags
        .command
        .clone()
        .filter(|c| c.component() == component)
        .unwrap_or_else(|| StartCommand::bare(component));
    match &command {
        StartCommand::Metasrv(cmd) => merge.metasrv(cmd),
        StartCommand::Datanode(cmd) => merge.datanode(cmd),
        StartCommand::Frontend(cmd) => merge.frontend(cmd),
        StartCommand::Flownode(cmd) => merge.flownode(cmd),
        StartCommand::Standalone(cmd) => merge.standalone(cmd),
        StartCommand::Cluster(_) => {}
    }
    (merge.findings, merge.set.value)
}

/// Adds `(from start flag --x)` to findings about a key a flag set, as lint does for the
/// environment and `--set`. A deprecated key a flag set is dropped: metasrv's own
/// `--rpc-bind-addr` writes the deprecated `bind_addr` too, and no config change avoids that.
pub(crate) fn annotate(findings: &mut Vec<LintFinding>, config: &Merged) {
    findings.retain(|f| {
        f.code != "deprecated" || !matches!(config.origin(&f.key), Some(Origin::Flag { .. }))
    });
    for finding in findings {
        if let Some(Origin::Flag { arg }) = config.origin(&finding.key) {
            finding.message = format!("{} (from start flag {arg})", finding.message);
        }
    }
}

struct Merge<'a> {
    flags: &'a StartFlags,
    config: &'a mut Merged,
    /// What the flags set, for the masker.
    set: Merged,
    findings: Vec<LintFinding>,
    /// Some server took the `--tls-*` flags.
    tls_applied: bool,
}

impl Merge<'_> {
    /// How the flag with clap id `id` was written (its long name if not found).
    fn written(&self, id: &str) -> String {
        self.flags
            .written(id)
            .map_or_else(|| format!("--{}", id.replace('_', "-")), str::to_string)
    }

    fn put(&mut self, key: &str, value: Value, id: &str) {
        let origin = Origin::Flag {
            arg: self.written(id),
        };
        self.set.set(key, value.clone(), None);
        self.config.set(key, value, Some(origin));
    }

    /// `if let Some(v) = &self.<id> { <key> = v }`.
    fn copy<T: Serialize>(&mut self, id: &str, value: Option<T>, key: &str) {
        if let Some(value) = value {
            self.put(key, json!(value), id);
        }
    }

    /// `--http-timeout` is seconds: `Duration::from_secs`.
    fn seconds(&mut self, id: &str, value: Option<u64>, key: &str) {
        if let Some(n) = value {
            self.put(key, json!(format!("{n}s")), id);
        }
    }

    /// `--log-dir`, `--log-level` (GlobalOptions, every component).
    fn logging(&mut self) {
        let global = &self.flags.global;
        let (dir, level) = (global.log_dir.clone(), global.log_level.clone());
        self.copy("log_dir", dir, "logging.dir");
        self.copy("log_level", level, "logging.level");
    }

    fn string(&self, key: &str) -> String {
        self.config
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    }

    /// `--http-addr`, `--http-timeout`.
    fn http(&mut self, addr: &Option<String>, timeout: Option<u64>) {
        self.copy("http_addr", addr.as_ref(), "http.addr");
        self.seconds("http_timeout", timeout, "http.timeout");
    }

    /// `--metasrv-addrs`: `meta_client.get_or_insert_with(default)`; the rest of a created
    /// `[meta_client]` is filled from its defaults after the merge, like a present table.
    fn metasrv_addrs(&mut self, addrs: &Option<Vec<String>>) {
        self.copy("metasrv_addrs", addrs.as_ref(), "meta_client.metasrv_addrs");
    }

    /// `--grpc-bind-addr`, `--grpc-server-addr` of datanode and flownode.
    fn grpc(&mut self, bind: &Option<String>, server: &Option<String>) {
        self.copy("grpc_bind_addr", bind.as_ref(), "grpc.bind_addr");
        self.copy("grpc_server_addr", server.as_ref(), "grpc.server_addr");
    }

    fn metasrv(&mut self, cmd: &MetasrvStart) {
        self.logging();
        // the flag sets the deprecated key too; without it a non-empty deprecated key was
        // already copied to `grpc.*` by the loader
        for (id, value, old, new) in [
            (
                "grpc_bind_addr",
                &cmd.grpc_bind_addr,
                "bind_addr",
                "grpc.bind_addr",
            ),
            (
                "grpc_server_addr",
                &cmd.grpc_server_addr,
                "server_addr",
                "grpc.server_addr",
            ),
        ] {
            self.copy(id, value.as_ref(), old);
            self.copy(id, value.as_ref(), new);
        }
        self.copy("store_addrs", cmd.store_addrs.as_ref(), "store_addrs");
        self.copy("selector", cmd.selector.as_ref(), "selector");
        self.copy(
            "enable_region_failover",
            cmd.enable_region_failover,
            "enable_region_failover",
        );
        self.http(&cmd.http_addr, cmd.http_timeout);
        self.copy("data_home", cmd.data_home.as_ref(), "data_home");
        // `default_value = ""`: only a non-empty prefix replaces the file's
        let prefix = Some(&cmd.store_key_prefix).filter(|p| !p.is_empty());
        self.copy("store_key_prefix", prefix, "store_key_prefix");
        self.copy("max_txn_ops", cmd.max_txn_ops, "max_txn_ops");
        self.copy("backend", cmd.backend.as_ref().map(config_name), "backend");
        self.config.set("http.disable_dashboard", json!(true), None);
    }

    fn datanode(&mut self, cmd: &DatanodeStart) {
        self.logging();
        self.grpc(&cmd.grpc_bind_addr, &cmd.grpc_server_addr);
        self.copy("node_id", cmd.node_id, "node_id");
        self.metasrv_addrs(&cmd.metasrv_addrs);
        self.copy("data_home", cmd.data_home.as_ref(), "storage.data_home");
        self.wal_dir(&cmd.wal_dir);
        self.http(&cmd.http_addr, cmd.http_timeout);
        self.config.set("http.disable_dashboard", json!(true), None);
    }

    /// `--wal-dir` only changes a raft-engine WAL.
    fn wal_dir(&mut self, dir: &Option<String>) {
        if dir.is_none() {
            return;
        }
        let provider = self.string("wal.provider");
        if provider == "raft_engine" {
            self.copy("wal_dir", dir.as_ref(), "wal.dir");
        } else {
            self.ignored(
                "wal.provider",
                format!("{} is ignored: `wal.provider` is `{provider}`, and GreptimeDB applies it to a raft-engine WAL only", self.written("wal_dir")),
                "remove the flag, or use the raft_engine WAL provider",
            );
        }
    }

    /// GreptimeDB drops the flag without a word; say so.
    fn ignored(&mut self, key: &str, message: String, hint: &str) {
        self.findings.push(LintFinding {
            severity: Severity::Warning,
            code: "flag_ignored".into(),
            key: key.into(),
            message,
            hint: Some(hint.into()),
            location: None,
        });
    }

    fn frontend(&mut self, cmd: &FrontendStart) {
        self.logging();
        self.http(&cmd.http_addr, cmd.http_timeout);
        self.copy(
            "disable_dashboard",
            cmd.disable_dashboard,
            "http.disable_dashboard",
        );
        self.server_with_tls(
            "grpc_bind_addr",
            &cmd.grpc_bind_addr,
            "grpc",
            false,
            &cmd.tls,
        );
        self.copy(
            "grpc_server_addr",
            cmd.grpc_server_addr.as_ref(),
            "grpc.server_addr",
        );
        for (id, value, field) in [
            (
                "internal_grpc_bind_addr",
                &cmd.internal_grpc_bind_addr,
                "bind_addr",
            ),
            (
                "internal_grpc_server_addr",
                &cmd.internal_grpc_server_addr,
                "server_addr",
            ),
        ] {
            if value.is_some() && self.config.get("internal_grpc").is_none() {
                // `GrpcOptions::default()`, which is also frontend's `[grpc]` default
                let grpc = layers::defaults(Component::Frontend)
                    .get("grpc")
                    .cloned()
                    .unwrap_or_else(|| json!({}));
                self.config.set("internal_grpc", grpc, None);
            }
            self.copy(id, value.as_ref(), &format!("internal_grpc.{field}"));
        }
        self.server_with_tls("mysql_addr", &cmd.mysql_addr, "mysql", true, &cmd.tls);
        self.server_with_tls(
            "postgres_addr",
            &cmd.postgres_addr,
            "postgres",
            true,
            &cmd.tls,
        );
        self.copy("influxdb_enable", cmd.influxdb_enable, "influxdb.enable");
        self.metasrv_addrs(&cmd.metasrv_addrs);
        self.copy("user_provider", cmd.user_provider.as_ref(), "user_provider");
        self.tls_unused();
    }

    fn flownode(&mut self, cmd: &FlownodeStart) {
        self.logging();
        self.grpc(&cmd.grpc_bind_addr, &cmd.grpc_server_addr);
        self.copy("node_id", cmd.node_id, "node_id");
        self.metasrv_addrs(&cmd.metasrv_addrs);
        self.http(&cmd.http_addr, cmd.http_timeout);
    }

    fn standalone(&mut self, cmd: &StandaloneStart) {
        self.logging();
        self.copy("http_addr", cmd.http_addr.as_ref(), "http.addr");
        self.copy("data_home", cmd.data_home.as_ref(), "storage.data_home");
        // the datanode inside standalone keeps its default gRPC address
        if let Some(addr) = cmd
            .grpc_bind_addr
            .as_deref()
            .filter(|a| *a == "127.0.0.1:3001")
        {
            self.findings.push(LintFinding {
                severity: Severity::Error,
                code: "invalid_value".into(),
                key: "grpc.bind_addr".into(),
                message: format!(
                    "{} {addr} conflicts with the address reserved for standalone's datanode gRPC (127.0.0.1:3001): GreptimeDB refuses to start",
                    self.written("grpc_bind_addr")
                ),
                hint: Some("pick another address, e.g. 127.0.0.1:4001".into()),
                location: None,
            });
        }
        self.server_with_tls(
            "grpc_bind_addr",
            &cmd.grpc_bind_addr,
            "grpc",
            false,
            &cmd.tls,
        );
        self.server_with_tls("mysql_addr", &cmd.mysql_addr, "mysql", true, &cmd.tls);
        self.server_with_tls(
            "postgres_addr",
            &cmd.postgres_addr,
            "postgres",
            true,
            &cmd.tls,
        );
        // a switch: only `-i` turns it on
        self.copy(
            "influxdb_enable",
            cmd.influxdb_enable.then_some(true),
            "influxdb.enable",
        );
        self.copy("user_provider", cmd.user_provider.as_ref(), "user_provider");
        self.tls_unused();
    }

    /// `--<server>-addr`: sets `<server>.addr` (`bind_addr` for gRPC), turns MySQL/PostgreSQL
    /// on, and replaces `<server>.tls` with the `--tls-*` flags when those make a valid
    /// TLS option (`merge_tls_option`: mode not `disable`, cert and key paths given, and a CA
    /// path for `verify-*`, which no flag sets).
    fn server_with_tls(
        &mut self,
        id: &str,
        addr: &Option<String>,
        server: &str,
        enable: bool,
        tls: &TlsArgs,
    ) {
        if addr.is_none() {
            return;
        }
        let addr_key = if server == "grpc" {
            "grpc.bind_addr".to_string()
        } else {
            format!("{server}.addr")
        };
        if enable {
            self.put(&format!("{server}.enable"), json!(true), id);
        }
        self.copy(id, addr.as_ref(), &addr_key);
        if let Some(value) = flag_tls(tls) {
            self.put(&format!("{server}.tls"), value, "tls_mode");
            self.tls_applied = true;
        }
    }

    /// `--tls-*` flags that no server took: GreptimeDB ignores them.
    fn tls_unused(&mut self) {
        let ids = ["tls_mode", "tls_cert_path", "tls_key_path", "tls_watch"];
        let Some(written) = ids.iter().find_map(|id| self.flags.written(id)) else {
            return;
        };
        if !self.tls_applied {
            self.ignored(
                "tls",
                format!(
                    "{written} is ignored: GreptimeDB applies the --tls-* flags only with --grpc-bind-addr, --mysql-addr or --postgres-addr, and only when --tls-mode is prefer or require and --tls-cert-path and --tls-key-path are given"
                ),
                "complete the TLS flags, or set `[grpc.tls]`, `[mysql.tls]`, `[postgres.tls]` in the file",
            );
        }
    }
}

/// `TlsOption::new(--tls-mode, --tls-cert-path, --tls-key-path, --tls-watch)` when
/// `merge_tls_option` would take it.
fn flag_tls(tls: &TlsArgs) -> Option<Value> {
    let mode = tls.tls_mode?;
    let cert = tls.tls_cert_path.clone().unwrap_or_default();
    let key = tls.tls_key_path.clone().unwrap_or_default();
    // `ca_cert_path` has no flag: `verify_*` never validates from flags alone
    let valid = !matches!(
        mode,
        TlsMode::Disable | TlsMode::VerifyCa | TlsMode::VerifyFull
    ) && !cert.is_empty()
        && !key.is_empty();
    valid.then(|| {
        json!({
            "mode": config_name(&mode),
            "cert_path": cert,
            "key_path": key,
            "ca_cert_path": "",
            "watch": tls.tls_watch,
        })
    })
}
