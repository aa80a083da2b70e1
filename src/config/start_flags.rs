//! A component's start command line (`greptime datanode start -c FILE --node-id 3 …`), read as
//! GreptimeDB's clap does and applied as its `StartCommand::merge_with_cli_options` does:
//! after defaults < environment < file, flags win. Many deployments (the Kubernetes operator
//! among them) set `--node-id`, `--metasrv-addrs`, `--store-addrs`, `--data-home` … on the
//! command line, so a pre-flight that ignores them checks a different config than the one that
//! runs.
//!
//! The tables mirror each component's `StartCommand` in GreptimeDB's `src/cmd/src/<component>.rs`
//! and the global options of `src/cmd/src/options.rs`.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::layers::{self, Merged, Origin};
use super::{secrets_in_connection_string, Component, LintFinding, Severity};
use crate::diag::{did_you_mean, Diagnostic};

/// What a flag's value must be, as clap parses it.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// `Option<String>`.
    Text,
    /// `Option<Vec<String>>` with `value_delimiter = ','` and `num_args = 1..`: one or more
    /// values, each split on `,`; repeated flags append.
    List,
    /// `Option<u64>` / `Option<usize>`.
    Unsigned,
    /// `Option<bool>`: clap's bool parser takes `true` or `false`.
    Bool,
    /// `bool`: a switch without a value.
    Switch,
    /// A value enum: the spellings clap accepts, and the spelling the config file uses.
    Choice(&'static [(&'static str, &'static str)]),
}

/// One flag of a start command.
#[derive(Debug)]
struct Spec {
    long: &'static str,
    aliases: &'static [&'static str],
    short: Option<char>,
    kind: Kind,
}

const fn flag(long: &'static str, kind: Kind) -> Spec {
    Spec {
        long,
        aliases: &[],
        short: None,
        kind,
    }
}

const fn aliased(long: &'static str, aliases: &'static [&'static str], kind: Kind) -> Spec {
    Spec {
        long,
        aliases,
        short: None,
        kind,
    }
}

const fn short(long: &'static str, short: char, kind: Kind) -> Spec {
    Spec {
        long,
        aliases: &[],
        short: Some(short),
        kind,
    }
}

/// `BackendImpl` (value_enum; pg and mysql backends are default features of `cmd`).
const BACKENDS: &[(&str, &str)] = &[
    ("etcd-store", "etcd_store"),
    ("memory-store", "memory_store"),
    ("postgres-store", "postgres_store"),
    ("mysql-store", "mysql_store"),
];

/// `SelectorType::try_from(&str)`, which metasrv's merge calls on `--selector`.
const SELECTORS: &[(&str, &str)] = &[
    ("round_robin", "round_robin"),
    ("RoundRobin", "RoundRobin"),
    ("lease_based", "lease_based"),
    ("LeaseBased", "LeaseBased"),
    ("load_based", "load_based"),
    ("LoadBased", "LoadBased"),
];

/// `TlsMode`'s `FromStr` (strum) spellings, and serde's in the file.
const TLS_MODES: &[(&str, &str)] = &[
    ("disable", "disable"),
    ("prefer", "prefer"),
    ("require", "require"),
    ("verify-ca", "verify_ca"),
    ("verify-full", "verify_full"),
];

/// `GlobalOptions` (`global = true`: before or after the subcommand). `--tokio-console-addr`
/// exists only with the non-default `tokio-console` feature.
const GLOBAL: &[Spec] = &[flag("log-dir", Kind::Text), flag("log-level", Kind::Text)];

/// In every `StartCommand`.
const COMMON: &[Spec] = &[
    short("config-file", 'c', Kind::Text),
    flag("env-prefix", Kind::Text),
];

const METASRV: &[Spec] = &[
    aliased(
        "grpc-bind-addr",
        &["rpc-bind-addr", "bind-addr"],
        Kind::Text,
    ),
    aliased(
        "grpc-server-addr",
        &["rpc-server-addr", "server-addr"],
        Kind::Text,
    ),
    aliased("store-addrs", &["store-addr"], Kind::List),
    short("selector", 's', Kind::Choice(SELECTORS)),
    flag("enable-region-failover", Kind::Bool),
    flag("http-addr", Kind::Text),
    flag("http-timeout", Kind::Unsigned),
    flag("data-home", Kind::Text),
    flag("store-key-prefix", Kind::Text),
    flag("max-txn-ops", Kind::Unsigned),
    flag("backend", Kind::Choice(BACKENDS)),
];

const DATANODE: &[Spec] = &[
    flag("node-id", Kind::Unsigned),
    aliased("grpc-bind-addr", &["rpc-bind-addr", "rpc-addr"], Kind::Text),
    aliased(
        "grpc-server-addr",
        &["rpc-server-addr", "rpc-hostname"],
        Kind::Text,
    ),
    flag("metasrv-addrs", Kind::List),
    flag("data-home", Kind::Text),
    flag("wal-dir", Kind::Text),
    flag("http-addr", Kind::Text),
    flag("http-timeout", Kind::Unsigned),
];

const FRONTEND: &[Spec] = &[
    aliased("grpc-bind-addr", &["rpc-bind-addr", "rpc-addr"], Kind::Text),
    aliased(
        "grpc-server-addr",
        &["rpc-server-addr", "rpc-hostname"],
        Kind::Text,
    ),
    aliased(
        "internal-grpc-bind-addr",
        &["internal-rpc-bind-addr", "internal-rpc-addr"],
        Kind::Text,
    ),
    aliased(
        "internal-grpc-server-addr",
        &["internal-rpc-server-addr", "internal-rpc-hostname"],
        Kind::Text,
    ),
    flag("http-addr", Kind::Text),
    flag("http-timeout", Kind::Unsigned),
    flag("mysql-addr", Kind::Text),
    flag("postgres-addr", Kind::Text),
    short("influxdb-enable", 'i', Kind::Bool),
    flag("metasrv-addrs", Kind::List),
    flag("tls-mode", Kind::Choice(TLS_MODES)),
    flag("tls-cert-path", Kind::Text),
    flag("tls-key-path", Kind::Text),
    flag("tls-watch", Kind::Switch),
    flag("user-provider", Kind::Text),
    flag("disable-dashboard", Kind::Bool),
];

const FLOWNODE: &[Spec] = &[
    flag("node-id", Kind::Unsigned),
    aliased("grpc-bind-addr", &["rpc-bind-addr", "rpc-addr"], Kind::Text),
    aliased(
        "grpc-server-addr",
        &["rpc-server-addr", "rpc-hostname"],
        Kind::Text,
    ),
    flag("metasrv-addrs", Kind::List),
    flag("http-addr", Kind::Text),
    flag("http-timeout", Kind::Unsigned),
];

const STANDALONE: &[Spec] = &[
    flag("http-addr", Kind::Text),
    aliased("grpc-bind-addr", &["rpc-bind-addr", "rpc-addr"], Kind::Text),
    flag("mysql-addr", Kind::Text),
    flag("postgres-addr", Kind::Text),
    // a switch here, unlike frontend's `Option<bool>`
    short("influxdb-enable", 'i', Kind::Switch),
    flag("tls-mode", Kind::Choice(TLS_MODES)),
    flag("tls-cert-path", Kind::Text),
    flag("tls-key-path", Kind::Text),
    flag("tls-watch", Kind::Switch),
    flag("user-provider", Kind::Text),
    flag("data-home", Kind::Text),
];

fn component_specs(component: Component) -> &'static [Spec] {
    match component {
        Component::Metasrv => METASRV,
        Component::Frontend => FRONTEND,
        Component::Datanode => DATANODE,
        Component::Flownode => FLOWNODE,
        Component::Standalone => STANDALONE,
        Component::Cluster => &[],
    }
}

fn specs(component: Component) -> impl Iterator<Item = &'static Spec> + Clone {
    component_specs(component)
        .iter()
        .chain(COMMON)
        .chain(GLOBAL)
}

/// A parsed flag value.
#[derive(Debug, Clone, PartialEq)]
enum FlagValue {
    Text(String),
    List(Vec<String>),
    Unsigned(u64),
    Bool(bool),
}

/// One flag as given: its long name, how it was written, and its value.
#[derive(Debug, Clone)]
struct Given {
    long: &'static str,
    written: String,
    value: FlagValue,
}

/// A component's start arguments, parsed.
#[derive(Debug, Clone, Default)]
pub struct StartFlags {
    given: Vec<Given>,
}

impl StartFlags {
    /// No flags: what GreptimeDB does with a bare `greptime <component> start`.
    pub fn is_empty(&self) -> bool {
        self.given.is_empty()
    }

    fn get(&self, long: &str) -> Option<&Given> {
        self.given.iter().find(|g| g.long == long)
    }

    fn text(&self, long: &str) -> Option<(&str, &Given)> {
        self.get(long).and_then(|g| match &g.value {
            FlagValue::Text(s) => Some((s.as_str(), g)),
            _ => None,
        })
    }

    /// `-c/--config-file`.
    pub fn config_file(&self) -> Option<&str> {
        self.text("config-file").map(|(s, _)| s)
    }

    /// `--env-prefix`.
    pub fn env_prefix(&self) -> Option<&str> {
        self.text("env-prefix").map(|(s, _)| s)
    }

    /// The config file to read: the tool's own `-c`, else the start line's `-c`. Both, naming
    /// different files, is bad input: the check would read another file than the one that runs.
    pub fn choose_file(&self, tool: Option<PathBuf>) -> Result<Option<PathBuf>, Diagnostic> {
        match (tool, self.config_file()) {
            (Some(tool), Some(flag)) if !same_file(&tool, Path::new(flag)) => Err(Diagnostic::new(
                "two config files",
                format!(
                    "-c {} and the start line's -c {flag} name different files",
                    tool.display()
                ),
            )
            .with_hint("give the config file once: either the tool's -c or the start line's -c")),
            (Some(tool), _) => Ok(Some(tool)),
            (None, flag) => Ok(flag.map(PathBuf::from)),
        }
    }

    /// The environment prefix: the tool's `--env-prefix`, else the start line's; both and
    /// different is bad input.
    pub fn choose_env_prefix(&self, tool: Option<String>) -> Result<Option<String>, Diagnostic> {
        match (tool, self.env_prefix()) {
            (Some(tool), Some(flag)) if tool != flag => Err(Diagnostic::new(
                "two environment prefixes",
                format!("--env-prefix {tool} and the start line's --env-prefix {flag} differ"),
            )
            .with_hint("give the environment prefix once")),
            (Some(tool), _) => Ok(Some(tool)),
            (None, flag) => Ok(flag.map(str::to_string)),
        }
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b
        || matches!(
            (a.canonicalize(), b.canonicalize()),
            (Ok(a), Ok(b)) if a == b
        )
}

/// Reads a component's start arguments: the flags alone (`--node-id 3 …`), or a whole command
/// line (`greptime [--log-level info] datanode start -c FILE --node-id 3`). Whatever GreptimeDB's
/// clap refuses (an unknown flag, a value that does not parse, a single-value flag given twice)
/// is bad input naming the flag.
pub fn parse(component: Component, args: &[String]) -> Result<StartFlags, Diagnostic> {
    let (globals, rest) = split_command(component, args)?;
    let mut flags = StartFlags::default();
    read_flags(component, GLOBAL.iter(), globals, &mut flags)?;
    read_flags(component, specs(component), rest, &mut flags)?;
    Ok(flags)
}

/// Splits off a leading `greptime [GLOBAL FLAGS] <component> start`: returns the global flags
/// written before the subcommand and the start command's own arguments.
fn split_command(
    component: Component,
    args: &[String],
) -> Result<(&[String], &[String]), Diagnostic> {
    let Some(first) = args.first() else {
        return Ok((&[], args));
    };
    if first.starts_with('-') {
        return Ok((&[], args));
    }
    let mut i = usize::from(
        Path::new(first)
            .file_name()
            .is_some_and(|n| n == "greptime"),
    );
    let globals_start = i;
    while let Some(token) = args.get(i).filter(|t| t.starts_with('-')) {
        let takes_value = !token.contains('=')
            && GLOBAL
                .iter()
                .any(|s| token.strip_prefix("--") == Some(s.long));
        i += if takes_value { 2 } else { 1 };
    }
    let globals = &args[globals_start..i.min(args.len())];
    let usage = format!("greptime {} start [FLAGS]", component.as_str());
    let Some(sub) = args.get(i) else {
        return Err(Diagnostic::new(
            "incomplete start command",
            format!("`{}` names no component", args.join(" ")),
        )
        .with_hint(format!("write `{usage}`, or only the flags")));
    };
    if sub != component.as_str() {
        let known = ["metasrv", "frontend", "datanode", "flownode", "standalone"];
        let hint = if known.contains(&sub.as_str()) {
            format!(
                "this is a {sub} command line: run `greptime-self-test {sub}` with it, or pass the {} start line",
                component.as_str()
            )
        } else {
            format!("write `{usage}`, or only the flags")
        };
        return Err(Diagnostic::new(
            "wrong component",
            format!(
                "the start line is for `{sub}`, but this checks a {}",
                component.as_str()
            ),
        )
        .with_hint(hint));
    }
    match args.get(i + 1).map(String::as_str) {
        Some("start") => Ok((globals, &args[i + 2..])),
        other => Err(Diagnostic::new(
            "not a start command",
            format!(
                "`greptime {}` is followed by {}, not `start`",
                component.as_str(),
                other.map_or("nothing".to_string(), |o| format!("`{o}`"))
            ),
        )
        .with_hint(format!("write `{usage}`"))),
    }
}

fn looks_like_flag(token: &str) -> bool {
    token.starts_with('-') && token.len() > 1
}

fn read_flags<'a>(
    component: Component,
    specs: impl Iterator<Item = &'a Spec> + Clone,
    args: &[String],
    flags: &mut StartFlags,
) -> Result<(), Diagnostic> {
    let mut i = 0;
    while i < args.len() {
        let token = &args[i];
        i += 1;
        if matches!(token.as_str(), "-h" | "--help" | "-V" | "--version") {
            return Err(Diagnostic::new(
                "not a start command",
                format!("with `{token}` GreptimeDB prints and exits without starting"),
            )
            .with_hint(format!("remove `{token}` from the start arguments")));
        }
        let (spec, written, inline) = if let Some(long) = token.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (long, None),
            };
            let spec = specs
                .clone()
                .find(|s| s.long == name || s.aliases.contains(&name))
                .ok_or_else(|| {
                    unknown_flag(component, &format!("--{name}"), name, specs.clone())
                })?;
            (spec, format!("--{name}"), inline)
        } else if looks_like_flag(token) {
            let mut chars = token[1..].chars();
            let letter = chars.next().unwrap_or_default();
            let rest = chars.as_str();
            let spec = specs
                .clone()
                .find(|s| s.short == Some(letter))
                .ok_or_else(|| unknown_flag(component, &format!("-{letter}"), "", specs.clone()))?;
            let inline = (!rest.is_empty()).then(|| rest.trim_start_matches('=').to_string());
            (spec, format!("-{letter}"), inline)
        } else {
            return Err(Diagnostic::new(
                "unexpected start argument",
                format!(
                    "`{}`: `greptime {} start` takes no positional argument",
                    shown(token),
                    component.as_str()
                ),
            )
            .with_hint("every value follows its flag, e.g. --node-id 3"));
        };
        let value = match spec.kind {
            Kind::Switch => {
                if inline.is_some() {
                    return Err(Diagnostic::new(
                        "bad start flag",
                        format!("{written} is a switch and takes no value"),
                    )
                    .with_hint(format!("write {written} alone")));
                }
                FlagValue::Bool(true)
            }
            Kind::List => {
                let mut values = Vec::new();
                if let Some(inline) = inline {
                    values.push(inline);
                } else {
                    while let Some(next) = args.get(i).filter(|t| !looks_like_flag(t)) {
                        values.push(next.clone());
                        i += 1;
                    }
                }
                if values.is_empty() {
                    return Err(missing_value(&written));
                }
                let split = values.iter().flat_map(|v| v.split(',')).map(str::to_string);
                match flags.given.iter_mut().find(|g| g.long == spec.long) {
                    Some(Given {
                        value: FlagValue::List(existing),
                        ..
                    }) => {
                        existing.extend(split);
                        continue;
                    }
                    _ => FlagValue::List(split.collect()),
                }
            }
            kind => {
                let raw = match inline {
                    Some(raw) => raw,
                    None => match args.get(i).filter(|t| !looks_like_flag(t)) {
                        Some(next) => {
                            i += 1;
                            next.clone()
                        }
                        None => return Err(missing_value(&written)),
                    },
                };
                typed(kind, &written, raw)?
            }
        };
        if flags.get(spec.long).is_some() {
            return Err(Diagnostic::new(
                "repeated start flag",
                format!("--{} is given more than once", spec.long),
            )
            .with_hint("GreptimeDB's clap refuses a repeated single-value flag: keep one"));
        }
        flags.given.push(Given {
            long: spec.long,
            written,
            value,
        });
    }
    Ok(())
}

fn typed(kind: Kind, written: &str, raw: String) -> Result<FlagValue, Diagnostic> {
    let invalid = |accepted: String| {
        Diagnostic::new(
            "bad start flag value",
            format!("{written} {}: GreptimeDB refuses this value", shown(&raw)),
        )
        .with_hint(format!("{written} takes {accepted}"))
    };
    match kind {
        Kind::Unsigned => raw
            .parse::<u64>()
            .map(FlagValue::Unsigned)
            .map_err(|_| invalid("a non-negative integer, e.g. 3".into())),
        Kind::Bool => match raw.as_str() {
            "true" => Ok(FlagValue::Bool(true)),
            "false" => Ok(FlagValue::Bool(false)),
            _ => Err(invalid("`true` or `false`".into())),
        },
        Kind::Choice(choices) => choices
            .iter()
            .find(|(spelling, _)| *spelling == raw)
            .map(|(_, stored)| FlagValue::Text((*stored).to_string()))
            .ok_or_else(|| {
                let names: Vec<String> = choices.iter().map(|(s, _)| format!("`{s}`")).collect();
                let mut d = invalid(format!("one of {}", names.join(", ")));
                if let Some(close) = did_you_mean(&raw, choices.iter().map(|(s, _)| *s)) {
                    d.hint = d.hint.map(|h| format!("{h}; did you mean `{close}`?"));
                }
                d
            }),
        Kind::Text | Kind::List | Kind::Switch => Ok(FlagValue::Text(raw)),
    }
}

/// A value as it may appear in an error: any password inside masked.
fn shown(value: &str) -> String {
    secrets_in_connection_string(value)
        .iter()
        .fold(value.to_string(), |text, secret| {
            text.replace(secret.as_str(), "******")
        })
}

fn missing_value(written: &str) -> Diagnostic {
    Diagnostic::new(
        "bad start flag",
        format!("{written} needs a value, but none follows it"),
    )
    .with_hint(format!("write {written} VALUE"))
}

fn unknown_flag<'a>(
    component: Component,
    written: &str,
    name: &str,
    specs: impl Iterator<Item = &'a Spec>,
) -> Diagnostic {
    let names: Vec<&str> = specs
        .flat_map(|s| std::iter::once(s.long).chain(s.aliases.iter().copied()))
        .collect();
    let hint = match did_you_mean(name, names.iter().copied()) {
        Some(close) => format!("did you mean `--{close}`?"),
        None => format!(
            "`greptime {} start` takes: {}",
            component.as_str(),
            component_specs(component)
                .iter()
                .chain(COMMON)
                .chain(GLOBAL)
                .map(|s| format!("--{}", s.long))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Diagnostic::new(
        "unknown start flag",
        format!(
            "`greptime {} start` has no flag {written}",
            component.as_str()
        ),
    )
    .with_hint(hint)
}

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
    match component {
        Component::Metasrv => merge.metasrv(),
        Component::Datanode => merge.datanode(),
        Component::Frontend => merge.frontend(),
        Component::Flownode => merge.flownode(),
        Component::Standalone => merge.standalone(),
        Component::Cluster => {}
    }
    (merge.findings, merge.set.value)
}

/// Adds `(from start flag --x)` to findings about a key a flag set, as lint does for the
/// environment and `--set`.
pub(crate) fn annotate(findings: &mut [LintFinding], config: &Merged) {
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
    fn put(&mut self, key: &str, value: Value, given: &Given) {
        let origin = Origin::Flag {
            arg: given.written.clone(),
        };
        self.set.set(key, value.clone(), None);
        self.config.set(key, value, Some(origin));
    }

    /// `if let Some(v) = flag { key = v }` for a string, number or bool flag.
    fn copy(&mut self, long: &str, key: &str) {
        if let Some(given) = self.flags.get(long).cloned() {
            let value = match &given.value {
                FlagValue::Text(s) => json!(s),
                FlagValue::List(items) => json!(items),
                FlagValue::Unsigned(n) => json!(n),
                FlagValue::Bool(b) => json!(b),
            };
            self.put(key, value, &given);
        }
    }

    /// `--http-timeout` is seconds: `Duration::from_secs`.
    fn seconds(&mut self, long: &str, key: &str) {
        if let Some(given) = self.flags.get(long).cloned() {
            if let FlagValue::Unsigned(n) = given.value {
                self.put(key, json!(format!("{n}s")), &given);
            }
        }
    }

    /// `--log-dir`, `--log-level` (GlobalOptions, every component).
    fn logging(&mut self) {
        self.copy("log-dir", "logging.dir");
        self.copy("log-level", "logging.level");
    }

    fn string(&self, key: &str) -> String {
        self.config
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    }

    /// `--metasrv-addrs`: `meta_client.get_or_insert_with(default)`; the rest of a created
    /// `[meta_client]` is filled from its defaults after the merge, like a present table.
    fn metasrv_addrs(&mut self) {
        self.copy("metasrv-addrs", "meta_client.metasrv_addrs");
    }

    fn metasrv(&mut self) {
        self.logging();
        // the flag sets the deprecated key too; without it a non-empty deprecated key was
        // already copied to `grpc.*` by the loader
        for (long, old, new) in [
            ("grpc-bind-addr", "bind_addr", "grpc.bind_addr"),
            ("grpc-server-addr", "server_addr", "grpc.server_addr"),
        ] {
            self.copy(long, old);
            self.copy(long, new);
        }
        self.copy("store-addrs", "store_addrs");
        self.copy("selector", "selector");
        self.copy("enable-region-failover", "enable_region_failover");
        self.copy("http-addr", "http.addr");
        self.seconds("http-timeout", "http.timeout");
        self.copy("data-home", "data_home");
        if self
            .flags
            .text("store-key-prefix")
            .is_some_and(|(p, _)| !p.is_empty())
        {
            self.copy("store-key-prefix", "store_key_prefix");
        }
        self.copy("max-txn-ops", "max_txn_ops");
        self.copy("backend", "backend");
        self.config.set("http.disable_dashboard", json!(true), None);
    }

    fn datanode(&mut self) {
        self.logging();
        self.copy("grpc-bind-addr", "grpc.bind_addr");
        self.copy("grpc-server-addr", "grpc.server_addr");
        self.copy("node-id", "node_id");
        self.metasrv_addrs();
        self.copy("data-home", "storage.data_home");
        self.wal_dir();
        self.copy("http-addr", "http.addr");
        self.seconds("http-timeout", "http.timeout");
        self.config.set("http.disable_dashboard", json!(true), None);
    }

    /// `--wal-dir` only changes a raft-engine WAL.
    fn wal_dir(&mut self) {
        let Some(given) = self.flags.get("wal-dir").cloned() else {
            return;
        };
        let provider = self.string("wal.provider");
        if provider == "raft_engine" {
            self.copy("wal-dir", "wal.dir");
        } else {
            self.ignored(
                "wal.provider",
                format!("{} is ignored: `wal.provider` is `{provider}`, and GreptimeDB applies it to a raft-engine WAL only", given.written),
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

    fn frontend(&mut self) {
        self.logging();
        self.copy("http-addr", "http.addr");
        self.seconds("http-timeout", "http.timeout");
        self.copy("disable-dashboard", "http.disable_dashboard");
        self.server_with_tls("grpc-bind-addr", "grpc", false);
        self.copy("grpc-server-addr", "grpc.server_addr");
        for (long, field) in [
            ("internal-grpc-bind-addr", "bind_addr"),
            ("internal-grpc-server-addr", "server_addr"),
        ] {
            if self.flags.get(long).is_some() && self.config.get("internal_grpc").is_none() {
                // `GrpcOptions::default()`, which is also frontend's `[grpc]` default
                let grpc = layers::defaults(Component::Frontend)
                    .get("grpc")
                    .cloned()
                    .unwrap_or_else(|| json!({}));
                self.config.set("internal_grpc", grpc, None);
            }
            self.copy(long, &format!("internal_grpc.{field}"));
        }
        self.server_with_tls("mysql-addr", "mysql", true);
        self.server_with_tls("postgres-addr", "postgres", true);
        self.copy("influxdb-enable", "influxdb.enable");
        self.metasrv_addrs();
        self.copy("user-provider", "user_provider");
        self.tls_unused();
    }

    fn flownode(&mut self) {
        self.logging();
        self.copy("grpc-bind-addr", "grpc.bind_addr");
        self.copy("grpc-server-addr", "grpc.server_addr");
        self.copy("node-id", "node_id");
        self.metasrv_addrs();
        self.copy("http-addr", "http.addr");
        self.seconds("http-timeout", "http.timeout");
    }

    fn standalone(&mut self) {
        self.logging();
        self.copy("http-addr", "http.addr");
        self.copy("data-home", "storage.data_home");
        if let Some((addr, given)) = self.flags.text("grpc-bind-addr") {
            // the datanode inside standalone keeps its default gRPC address
            if addr == "127.0.0.1:3001" {
                self.findings.push(LintFinding {
                    severity: Severity::Error,
                    code: "invalid_value".into(),
                    key: "grpc.bind_addr".into(),
                    message: format!(
                        "{} {addr} conflicts with the address reserved for standalone's datanode gRPC (127.0.0.1:3001): GreptimeDB refuses to start",
                        given.written
                    ),
                    hint: Some("pick another address, e.g. 127.0.0.1:4001".into()),
                    location: None,
                });
            }
        }
        self.server_with_tls("grpc-bind-addr", "grpc", false);
        self.server_with_tls("mysql-addr", "mysql", true);
        self.server_with_tls("postgres-addr", "postgres", true);
        // a switch: only `-i` turns it on
        self.copy("influxdb-enable", "influxdb.enable");
        self.copy("user-provider", "user_provider");
        self.tls_unused();
    }

    /// `--<server>-addr`: sets `<server>.addr` (`bind_addr` for gRPC), turns MySQL/PostgreSQL
    /// on, and replaces `<server>.tls` with the `--tls-*` flags when those make a valid
    /// TLS option (`merge_tls_option`: mode not `disable`, cert and key paths given, and a CA
    /// path for `verify-*`, which no flag sets).
    fn server_with_tls(&mut self, long: &str, server: &str, enable: bool) {
        let Some(given) = self.flags.get(long).cloned() else {
            return;
        };
        let addr_key = if server == "grpc" {
            "grpc.bind_addr".to_string()
        } else {
            format!("{server}.addr")
        };
        if enable {
            self.put(&format!("{server}.enable"), json!(true), &given);
        }
        self.copy(long, &addr_key);
        if let Some((tls, tls_flag)) = self.flag_tls() {
            self.put(&format!("{server}.tls"), tls, &tls_flag);
            self.tls_applied = true;
        }
    }

    /// `TlsOption::new(--tls-mode, --tls-cert-path, --tls-key-path, --tls-watch)` when
    /// `merge_tls_option` would take it, with the flag that carries it.
    fn flag_tls(&self) -> Option<(Value, Given)> {
        let text = |long| self.flags.text(long).map(|(s, _)| s.to_string());
        let (mode, given) = self.flags.text("tls-mode")?;
        let cert = text("tls-cert-path").unwrap_or_default();
        let key = text("tls-key-path").unwrap_or_default();
        // `ca_cert_path` has no flag: `verify_*` never validates from flags alone
        let valid = !matches!(mode, "disable" | "verify_ca" | "verify_full")
            && !cert.is_empty()
            && !key.is_empty();
        valid.then(|| {
            let tls = json!({
                "mode": mode,
                "cert_path": cert,
                "key_path": key,
                "ca_cert_path": "",
                "watch": self.flags.get("tls-watch").is_some(),
            });
            (tls, given.clone())
        })
    }

    /// `--tls-*` flags that no server took: GreptimeDB ignores them.
    fn tls_unused(&mut self) {
        let tls_flags = ["tls-mode", "tls-cert-path", "tls-key-path", "tls-watch"];
        let Some(given) = tls_flags.iter().find_map(|f| self.flags.get(f)).cloned() else {
            return;
        };
        if !self.tls_applied {
            self.ignored(
                "tls",
                format!(
                    "{} is ignored: GreptimeDB applies the --tls-* flags only with --grpc-bind-addr, --mysql-addr or --postgres-addr, and only when --tls-mode is prefer or require and --tls-cert-path and --tls-key-path are given",
                    given.written
                ),
                "complete the TLS flags, or set `[grpc.tls]`, `[mysql.tls]`, `[postgres.tls]` in the file",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use serde_json::json;

    use super::*;
    use crate::config::{load, EffectiveConfig, LoadOptions};

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
}
