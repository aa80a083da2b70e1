//! The start command lines as GreptimeDB's clap reads them: one clap `Args` struct per
//! component, field by field as its `StartCommand` (`src/cmd/src/{metasrv,frontend,datanode,
//! flownode,standalone}.rs`: long names, aliases, shorts, types, value delimiters, defaults), the
//! global options of `src/cmd/src/options.rs`, and the `greptime <component> start` nesting of
//! `src/cmd/src/bin/greptime.rs`. clap then decides what GreptimeDB accepts: `--flag=value`,
//! short clusters, aliases, `value_delimiter`, `num_args`, bool values, value enums, repeats.

use clap::{Args, Command, ValueEnum};

use super::super::Component;

/// `GlobalOptions` (`global = true`: before or after the subcommand). `--tokio-console-addr`
/// exists only with the non-default `tokio-console` feature.
#[derive(Debug, Clone, Default, Args)]
pub(super) struct GlobalOptions {
    #[arg(long, value_name = "LOG_DIR", global = true)]
    pub log_dir: Option<String>,
    #[arg(long, value_name = "LOG_LEVEL", global = true)]
    pub log_level: Option<String>,
}

/// `BackendImpl` (`src/meta-srv/src/metasrv.rs`, a `ValueEnum`; the pg and mysql backends are
/// default features of `cmd`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
// the names are clap's spellings (`etcd-store`): the `Store` suffix is part of them
#[allow(clippy::enum_variant_names)]
pub(super) enum Backend {
    EtcdStore,
    MemoryStore,
    PostgresStore,
    MysqlStore,
}

/// `TlsMode` (`src/servers/src/tls.rs`), which clap parses with strum's `FromStr`: the same
/// case-sensitive kebab-case spellings a `ValueEnum` accepts, and these list them in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum TlsMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// The config file's spelling of a value enum: serde's `snake_case` of clap's kebab-case name.
pub(super) fn config_name(value: &impl ValueEnum) -> String {
    value
        .to_possible_value()
        .map(|v| v.get_name().replace('-', "_"))
        .unwrap_or_default()
}

/// `SelectorType::try_from(&str)` (`src/meta-srv/src/selector.rs`). GreptimeDB's clap takes any
/// string for `--selector` and its merge refuses the others before starting; checking here
/// makes that refusal bad input naming the accepted spellings.
const SELECTORS: [&str; 6] = [
    "round_robin",
    "RoundRobin",
    "lease_based",
    "LeaseBased",
    "load_based",
    "LoadBased",
];

/// `metasrv::StartCommand`.
#[derive(Clone, Default, Args)]
pub(super) struct MetasrvStart {
    #[arg(long = "grpc-bind-addr", alias = "rpc-bind-addr", alias = "bind-addr")]
    pub grpc_bind_addr: Option<String>,
    #[arg(
        long = "grpc-server-addr",
        alias = "rpc-server-addr",
        alias = "server-addr"
    )]
    pub grpc_server_addr: Option<String>,
    #[arg(long, alias = "store-addr", value_delimiter = ',', num_args = 1..)]
    pub store_addrs: Option<Vec<String>>,
    #[arg(short, long)]
    pub config_file: Option<String>,
    #[arg(short, long, value_parser = SELECTORS)]
    pub selector: Option<String>,
    #[arg(long)]
    pub enable_region_failover: Option<bool>,
    #[arg(long)]
    pub http_addr: Option<String>,
    #[arg(long)]
    pub http_timeout: Option<u64>,
    #[arg(long, default_value = "GREPTIMEDB_METASRV")]
    pub env_prefix: String,
    #[arg(long)]
    pub data_home: Option<String>,
    #[arg(long, default_value = "")]
    pub store_key_prefix: String,
    #[arg(long)]
    pub max_txn_ops: Option<usize>,
    #[arg(long, value_enum)]
    pub backend: Option<Backend>,
}

/// Like GreptimeDB's own `Debug` (`sanitize_store_addrs`): no `--store-addrs` password in a log.
impl std::fmt::Debug for MetasrvStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let store_addrs = self
            .store_addrs
            .as_ref()
            .map(|addrs| addrs.iter().map(|a| super::shown(a)).collect::<Vec<_>>());
        f.debug_struct("MetasrvStart")
            .field("grpc_bind_addr", &self.grpc_bind_addr)
            .field("grpc_server_addr", &self.grpc_server_addr)
            .field("store_addrs", &store_addrs)
            .field("config_file", &self.config_file)
            .field("selector", &self.selector)
            .field("enable_region_failover", &self.enable_region_failover)
            .field("http_addr", &self.http_addr)
            .field("http_timeout", &self.http_timeout)
            .field("env_prefix", &self.env_prefix)
            .field("data_home", &self.data_home)
            .field("store_key_prefix", &self.store_key_prefix)
            .field("max_txn_ops", &self.max_txn_ops)
            .field("backend", &self.backend)
            .finish()
    }
}

/// `--tls-mode`, `--tls-cert-path`, `--tls-key-path`, `--tls-watch`: four fields GreptimeDB
/// writes out in frontend's and standalone's `StartCommand`; flattened here, which clap parses
/// the same.
#[derive(Debug, Clone, Default, Args)]
pub(super) struct TlsArgs {
    #[arg(long)]
    pub tls_mode: Option<TlsMode>,
    #[arg(long)]
    pub tls_cert_path: Option<String>,
    #[arg(long)]
    pub tls_key_path: Option<String>,
    #[arg(long)]
    pub tls_watch: bool,
}

/// `frontend::StartCommand`.
#[derive(Debug, Clone, Default, Args)]
pub(super) struct FrontendStart {
    #[arg(long = "grpc-bind-addr", alias = "rpc-bind-addr", alias = "rpc-addr")]
    pub grpc_bind_addr: Option<String>,
    #[arg(
        long = "grpc-server-addr",
        alias = "rpc-server-addr",
        alias = "rpc-hostname"
    )]
    pub grpc_server_addr: Option<String>,
    #[arg(
        long = "internal-grpc-bind-addr",
        alias = "internal-rpc-bind-addr",
        alias = "internal-rpc-addr"
    )]
    pub internal_grpc_bind_addr: Option<String>,
    #[arg(
        long = "internal-grpc-server-addr",
        alias = "internal-rpc-server-addr",
        alias = "internal-rpc-hostname"
    )]
    pub internal_grpc_server_addr: Option<String>,
    #[arg(long)]
    pub http_addr: Option<String>,
    #[arg(long)]
    pub http_timeout: Option<u64>,
    #[arg(long)]
    pub mysql_addr: Option<String>,
    #[arg(long)]
    pub postgres_addr: Option<String>,
    #[arg(short, long)]
    pub config_file: Option<String>,
    /// `Option<bool>` here: `-i true` / `-i false`.
    #[arg(short, long)]
    pub influxdb_enable: Option<bool>,
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    pub metasrv_addrs: Option<Vec<String>>,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[arg(long)]
    pub user_provider: Option<String>,
    #[arg(long)]
    pub disable_dashboard: Option<bool>,
    #[arg(long, default_value = "GREPTIMEDB_FRONTEND")]
    pub env_prefix: String,
}

/// `datanode::StartCommand`.
#[derive(Debug, Clone, Default, Args)]
pub(super) struct DatanodeStart {
    #[arg(long)]
    pub node_id: Option<u64>,
    #[arg(long = "grpc-bind-addr", alias = "rpc-bind-addr", alias = "rpc-addr")]
    pub grpc_bind_addr: Option<String>,
    #[arg(
        long = "grpc-server-addr",
        alias = "rpc-server-addr",
        alias = "rpc-hostname"
    )]
    pub grpc_server_addr: Option<String>,
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    pub metasrv_addrs: Option<Vec<String>>,
    #[arg(short, long)]
    pub config_file: Option<String>,
    #[arg(long)]
    pub data_home: Option<String>,
    #[arg(long)]
    pub wal_dir: Option<String>,
    #[arg(long)]
    pub http_addr: Option<String>,
    #[arg(long)]
    pub http_timeout: Option<u64>,
    #[arg(long, default_value = "GREPTIMEDB_DATANODE")]
    pub env_prefix: String,
}

/// `flownode::StartCommand`.
#[derive(Debug, Clone, Default, Args)]
pub(super) struct FlownodeStart {
    #[arg(long)]
    pub node_id: Option<u64>,
    #[arg(long = "grpc-bind-addr", alias = "rpc-bind-addr", alias = "rpc-addr")]
    pub grpc_bind_addr: Option<String>,
    #[arg(
        long = "grpc-server-addr",
        alias = "rpc-server-addr",
        alias = "rpc-hostname"
    )]
    pub grpc_server_addr: Option<String>,
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    pub metasrv_addrs: Option<Vec<String>>,
    #[arg(short, long)]
    pub config_file: Option<String>,
    #[arg(long, default_value = "GREPTIMEDB_FLOWNODE")]
    pub env_prefix: String,
    #[arg(long)]
    pub http_addr: Option<String>,
    #[arg(long)]
    pub http_timeout: Option<u64>,
}

/// `standalone::StartCommand`.
#[derive(Debug, Clone, Default, Args)]
pub(super) struct StandaloneStart {
    #[arg(long)]
    pub http_addr: Option<String>,
    #[arg(long = "grpc-bind-addr", alias = "rpc-bind-addr", alias = "rpc-addr")]
    pub grpc_bind_addr: Option<String>,
    #[arg(long)]
    pub mysql_addr: Option<String>,
    #[arg(long)]
    pub postgres_addr: Option<String>,
    /// A switch here, unlike frontend's `Option<bool>`: only `-i` turns it on.
    #[arg(short, long)]
    pub influxdb_enable: bool,
    #[arg(short, long)]
    pub config_file: Option<String>,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[arg(long)]
    pub user_provider: Option<String>,
    #[arg(long, default_value = "GREPTIMEDB_STANDALONE")]
    pub env_prefix: String,
    #[arg(long)]
    pub data_home: Option<String>,
}

/// No GreptimeDB counterpart (there is no `greptime cluster start`): the two flags every
/// `StartCommand` has, so a cluster playbook's `-c` and `--env-prefix` still name its file.
#[derive(Debug, Clone, Default, Args)]
pub(super) struct CommonStart {
    #[arg(short, long)]
    pub config_file: Option<String>,
    #[arg(long)]
    pub env_prefix: Option<String>,
}

/// One component's parsed start command.
#[derive(Debug, Clone)]
pub(super) enum StartCommand {
    Metasrv(MetasrvStart),
    Frontend(FrontendStart),
    Datanode(DatanodeStart),
    Flownode(FlownodeStart),
    Standalone(StandaloneStart),
    Cluster(CommonStart),
}

impl StartCommand {
    /// A bare `greptime <component> start`: every field at clap's default.
    pub fn bare(component: Component) -> Self {
        match component {
            Component::Metasrv => Self::Metasrv(MetasrvStart::default()),
            Component::Frontend => Self::Frontend(FrontendStart::default()),
            Component::Datanode => Self::Datanode(DatanodeStart::default()),
            Component::Flownode => Self::Flownode(FlownodeStart::default()),
            Component::Standalone => Self::Standalone(StandaloneStart::default()),
            Component::Cluster => Self::Cluster(CommonStart::default()),
        }
    }

    pub fn component(&self) -> Component {
        match self {
            Self::Metasrv(_) => Component::Metasrv,
            Self::Frontend(_) => Component::Frontend,
            Self::Datanode(_) => Component::Datanode,
            Self::Flownode(_) => Component::Flownode,
            Self::Standalone(_) => Component::Standalone,
            Self::Cluster(_) => Component::Cluster,
        }
    }

    pub fn config_file(&self) -> Option<&str> {
        match self {
            Self::Metasrv(c) => c.config_file.as_deref(),
            Self::Frontend(c) => c.config_file.as_deref(),
            Self::Datanode(c) => c.config_file.as_deref(),
            Self::Flownode(c) => c.config_file.as_deref(),
            Self::Standalone(c) => c.config_file.as_deref(),
            Self::Cluster(c) => c.config_file.as_deref(),
        }
    }

    /// The prefix the line names; clap's default when it names none.
    pub fn env_prefix(&self) -> Option<&str> {
        match self {
            Self::Metasrv(c) => Some(&c.env_prefix),
            Self::Frontend(c) => Some(&c.env_prefix),
            Self::Datanode(c) => Some(&c.env_prefix),
            Self::Flownode(c) => Some(&c.env_prefix),
            Self::Standalone(c) => Some(&c.env_prefix),
            Self::Cluster(c) => c.env_prefix.as_deref(),
        }
    }

    /// Reads the `start` subcommand's matches into the component's struct.
    pub fn from_matches(
        component: Component,
        matches: &clap::ArgMatches,
    ) -> Result<Self, clap::Error> {
        use clap::FromArgMatches as _;
        Ok(match component {
            Component::Metasrv => Self::Metasrv(MetasrvStart::from_arg_matches(matches)?),
            Component::Frontend => Self::Frontend(FrontendStart::from_arg_matches(matches)?),
            Component::Datanode => Self::Datanode(DatanodeStart::from_arg_matches(matches)?),
            Component::Flownode => Self::Flownode(FlownodeStart::from_arg_matches(matches)?),
            Component::Standalone => Self::Standalone(StandaloneStart::from_arg_matches(matches)?),
            Component::Cluster => Self::Cluster(CommonStart::from_arg_matches(matches)?),
        })
    }
}

/// `greptime`: the binary's own flags (a version, printed without starting), the global options
/// and `propagate_version`, as `src/cmd/src/bin/greptime.rs` declares them.
fn greptime() -> Command {
    GlobalOptions::augment_args(
        Command::new("greptime")
            .version("GreptimeDB")
            .propagate_version(true),
    )
}

/// `greptime [GLOBAL] <component> start [FLAGS]` with the component's `StartCommand`.
pub(super) fn start_line(component: Component) -> Command {
    let start = Command::new("start");
    let start = match component {
        Component::Metasrv => MetasrvStart::augment_args(start),
        Component::Frontend => FrontendStart::augment_args(start),
        Component::Datanode => DatanodeStart::augment_args(start),
        Component::Flownode => FlownodeStart::augment_args(start),
        Component::Standalone => StandaloneStart::augment_args(start),
        Component::Cluster => CommonStart::augment_args(start),
    };
    greptime().subcommand(
        Command::new(component.as_str())
            .subcommand_required(true)
            .subcommand(start),
    )
}

/// GreptimeDB's components.
pub(super) const COMPONENTS: [Component; 5] = [
    Component::Metasrv,
    Component::Frontend,
    Component::Datanode,
    Component::Flownode,
    Component::Standalone,
];

/// `greptime [GLOBAL] <component> <anything> …`: the shape of a pasted line, read before its
/// flags so a line of another component or another subcommand is named as such.
pub(super) fn line_shape() -> Command {
    COMPONENTS.iter().fold(greptime(), |cmd, c| {
        cmd.subcommand(Command::new(c.as_str()).allow_external_subcommands(true))
    })
}
