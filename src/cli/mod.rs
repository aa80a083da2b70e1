//! The command line: clap types and dispatch. One file per group of subcommands; the
//! exit-code table lives in [`exit`].

mod cluster;
mod cluster_plan;
pub mod exit;
mod generate;
mod inspect;
mod kubernetes;
mod live;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::Component;
use crate::diag::Diagnostic;
use crate::engine::dep_logs::DependencyLogs;
use crate::engine::mask::{Masker, MaskingStderr};

/// Everything `main` learns from the process: the only place the environment is read.
pub struct RunContext {
    pub args: Vec<std::ffi::OsString>,
    pub env: Vec<(String, String)>,
    /// Stdout is a terminal and NO_COLOR is unset.
    pub color: bool,
    /// Stderr is a terminal: long steps may draw progress bars there.
    pub progress: bool,
}

/// Pre-flight self-test for GreptimeDB: reads a component's TOML the way GreptimeDB reads it
/// and proves every dependency is reachable, authorised and correctly shaped.
#[derive(Debug, Parser)]
#[command(name = "greptime-self-test", version = VERSION, after_help = exit::HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log level for diagnostics on stderr (overrides RUST_LOG).
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level: Option<String>,
}

/// `--version`: the tool version and the playbook format version it reads.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (playbook format 1)");

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the built-in metasrv playbook.
    Metasrv(RunArgs),
    /// Run the built-in frontend playbook.
    Frontend(RunArgs),
    /// Run the built-in datanode playbook.
    Datanode(RunArgs),
    /// Run the built-in flownode playbook.
    Flownode(RunArgs),
    /// Run the built-in standalone playbook.
    Standalone(RunArgs),
    /// Run one or more playbook files (built-in or your own).
    Run {
        /// Playbook files; `checks/<component>.yaml` also finds the embedded built-ins.
        #[arg(required = true, value_name = "PLAYBOOK")]
        playbooks: Vec<PathBuf>,
        /// Component the config belongs to, when the playbook does not say.
        #[arg(long, value_enum)]
        component: Option<Component>,
        #[command(flatten)]
        args: RunArgs,
    },
    /// List the built-in playbooks and the step types.
    List,
    /// Show a step type's parameters, output fields and an example.
    Explain {
        /// Step type, e.g. net.tcp_connect.
        step_type: String,
    },
    /// Check playbooks without running them: schema, step types, parameters, templates,
    /// expressions, JSONPath, ids and dependencies.
    Validate {
        #[arg(required = true, value_name = "PLAYBOOK")]
        playbooks: Vec<PathBuf>,
    },
    /// Run every node of a cluster inventory (each node's playbooks, then the cross-node
    /// checks) with one bound on concurrency and one combined report.
    Cluster {
        /// The inventory: nodes with their component, TOML, environment and host label
        /// (`schemas/inventory.schema.json`).
        #[arg(short = 'f', long = "file", value_name = "INVENTORY")]
        inventory: PathBuf,
        /// Set a playbook variable for every node (a node's own `vars` win), as `--var` does
        /// for one component.
        #[arg(long = "var", value_name = "NAME=VALUE")]
        vars: Vec<String>,
        #[command(flatten)]
        exec: ExecArgs,
    },
    /// Check a GreptimeDBCluster resource: render every pod's config and command line as
    /// greptimedb-operator v0.6.0 does, then run every pod's checks and the cross-node checks
    /// as one cluster run, with the resource's own findings first.
    Kubernetes(kubernetes::KubernetesArgs),
    /// Show the resolved plan (vars, checks, rendered parameters), secrets masked; runs nothing.
    Render {
        /// A playbook file, or a component name for its built-in playbook.
        playbook: String,
        #[command(flatten)]
        config: ConfigArgs,
        /// Component the config belongs to, when the playbook does not say.
        #[arg(long, value_enum)]
        component: Option<Component>,
    },
    /// Print the JSON Schema of the playbook format or of the JSON report.
    Schema {
        #[arg(value_enum)]
        which: SchemaKind,
    },
    /// Print the completion script of a shell.
    ///
    /// E.g. `greptime-self-test completions bash > /etc/bash_completion.d/greptime-self-test`.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    ///
    /// E.g. `greptime-self-test man > /usr/local/share/man/man1/greptime-self-test.1`.
    Man,
}

/// Which generated schema to print.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SchemaKind {
    Playbook,
    Report,
    Inventory,
}

/// Where the component config and the playbook's inputs come from.
#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// The component's TOML file (as given to `greptime <component> start -c`).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Environment prefix, like GreptimeDB's `--env-prefix` (default `GREPTIMEDB_<COMPONENT>`).
    #[arg(long, value_name = "PREFIX")]
    pub env_prefix: Option<String>,
    /// Override a config key, applied after file and environment: `--set storage.type=S3`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Set a playbook variable, replacing the playbook's own definition: `--var
    /// metasrv_http_addr=10.0.0.11:4000`. The value is YAML (`true`, `3`, `[a, b]`), else a string.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// The component's own start flags, after `--`, applied over the file as GreptimeDB does
    /// (flags > file > environment > defaults): `-- --node-id 3 --metasrv-addrs m0:3002,m1:3002`.
    /// A whole start line may be pasted: `-- greptime datanode start -c /etc/greptimedb/dn.toml
    /// --node-id 3`; its `-c`/`--config-file` and `--env-prefix` are used when this tool's own
    /// are not given. Unknown flags and values GreptimeDB refuses are bad input (exit 2).
    #[arg(last = true, value_name = "START_ARGS", allow_hyphen_values = true)]
    pub start_args: Vec<String>,
}

/// Options of the commands that run one component's playbooks: where its config comes from,
/// and how to run and report.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub exec: ExecArgs,
}

/// How to run checks and report them: shared by every command that runs checks, `cluster`
/// included (whose configs come from the inventory instead of [`ConfigArgs`]).
#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    /// Show metrics and details under each check.
    #[arg(short, long)]
    pub verbose: bool,
    /// Also run the performance checks (benchmarks).
    #[arg(long)]
    pub include_performance: bool,
    /// Only read: no probe writes anywhere.
    #[arg(long)]
    pub read_only: bool,
    /// Report format on stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Also write the JSON report to this file.
    #[arg(long, value_name = "FILE")]
    pub json_file: Option<PathBuf>,
    /// Also write the JUnit XML report to this file.
    #[arg(long, value_name = "FILE")]
    pub junit_file: Option<PathBuf>,
    /// JUnit with a `<system-out>` per warned testcase, which GitLab shows (valid against
    /// Jenkins' junit-10.xsd only; the default shape is valid against both it and the Ant schema).
    #[arg(long)]
    pub junit_gitlab: bool,
    /// Maximum checks running at once.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub jobs: usize,
    /// Deadline for the whole run; then running checks are stopped and cleanup runs.
    #[arg(long, default_value = "5m", value_name = "DURATION")]
    pub timeout: String,
    /// How long a probe waits for a dependency's first answer before judging it (refused,
    /// black-holed, accepted but silent, TLS stalled); a smaller timeout the component sets for
    /// that dependency (e.g. `meta_client.timeout`) caps it. A check's `answer_timeout` wins.
    /// [default: 5s]
    #[arg(long, value_name = "DURATION")]
    pub answer_timeout: Option<String>,
    /// Exit 4 when nothing failed but something warned.
    #[arg(long)]
    pub strict: bool,
    /// Colour and symbols in the text report: `auto` when stdout is a terminal and `NO_COLOR`
    /// is unset.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

/// When the text report uses colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to paint, given what `auto` would decide.
    pub fn paint(self, auto: bool) -> bool {
        match self {
            ColorChoice::Auto => auto,
            ColorChoice::Always => true,
            ColorChoice::Never => false,
        }
    }
}

/// A stdout report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
    Junit,
}

/// Parses the command line and runs it; returns the process exit code.
pub fn main(ctx: RunContext) -> ExitCode {
    let cli = match Cli::try_parse_from(&ctx.args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::BAD_INPUT
            } else {
                exit::OK
            });
        }
    };
    let masker = Arc::new(Masker::default());
    init_logging(cli.log_level.as_deref(), &ctx.env, masker.clone());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::INTERNAL);
        }
    };
    let result = runtime.block_on(dispatch(cli.command, &ctx, masker.clone()));
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(code) => code,
        Err(failure) => {
            eprint!("{}", masker.mask(&failure.render()));
            ExitCode::from(failure.code)
        }
    }
}

/// Why a command could not produce a result.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    /// Each quotes its line from the (redacted) text its span carries.
    pub diagnostics: Vec<Diagnostic>,
}

impl Failure {
    fn render(&self) -> String {
        self.diagnostics
            .iter()
            .map(Diagnostic::render_quoted)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Bad input.
    pub fn bad_input(d: Diagnostic) -> Self {
        Self {
            code: exit::BAD_INPUT,
            diagnostics: vec![d],
        }
    }
}

impl From<Diagnostic> for Failure {
    fn from(d: Diagnostic) -> Self {
        Self::bad_input(d)
    }
}

async fn dispatch(
    command: Command,
    ctx: &RunContext,
    masker: Arc<Masker>,
) -> Result<ExitCode, Failure> {
    match command {
        Command::Metasrv(args) => run::builtin(Component::Metasrv, args, ctx, masker).await,
        Command::Frontend(args) => run::builtin(Component::Frontend, args, ctx, masker).await,
        Command::Datanode(args) => run::builtin(Component::Datanode, args, ctx, masker).await,
        Command::Flownode(args) => run::builtin(Component::Flownode, args, ctx, masker).await,
        Command::Standalone(args) => run::builtin(Component::Standalone, args, ctx, masker).await,
        Command::Run {
            playbooks,
            component,
            args,
        } => run::files(&playbooks, component, args, ctx, masker).await,
        Command::Cluster {
            inventory,
            vars,
            exec,
        } => cluster::run(&inventory, &vars, exec, ctx, masker).await,
        Command::Kubernetes(args) => kubernetes::run(args, ctx, masker).await,
        Command::List => Ok(inspect::list()),
        Command::Explain { step_type } => inspect::explain(&step_type),
        Command::Validate { playbooks } => inspect::validate(&playbooks),
        Command::Render {
            playbook,
            config,
            component,
        } => inspect::render(&playbook, &config, component, ctx, masker),
        Command::Schema { which } => Ok(inspect::schema(which)),
        Command::Completions { shell } => Ok(generate::completions(shell)),
        Command::Man => Ok(generate::man()),
    }
}

/// Logging: at the default level only this tool's own warnings reach stderr; dependency
/// crates' warnings become detail lines of the check that caused them (`dep_logs`).
/// `--log-level` or `RUST_LOG` print everything they select, dependencies included.
fn init_logging(level: Option<&str>, env: &[(String, String)], masker: Arc<Masker>) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;

    let own_warnings = format!("{}=warn", env!("CARGO_CRATE_NAME"));
    let filter = level
        .map(str::to_string)
        .or_else(|| {
            env.iter()
                .find(|(k, v)| k == "RUST_LOG" && !v.trim().is_empty())
                .map(|(_, v)| v.clone())
        })
        .unwrap_or_else(|| own_warnings.clone());
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&own_warnings));
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(MaskingStderr(masker))
        .with_ansi(false)
        .with_filter(filter);
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(DependencyLogs.with_filter(tracing_subscriber::filter::LevelFilter::WARN))
        .try_init();
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_names_the_playbook_format() {
        let expected = format!(
            "(playbook format {})",
            crate::playbook::model::FORMAT_VERSION
        );
        assert!(super::VERSION.ends_with(&expected));
    }
}
