//! `<component>` and `run`: load config and playbooks, run them, write the reports.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::live::LiveView;
use super::{exit, ConfigArgs, ExecArgs, Failure, OutputFormat, RunArgs, RunContext};
use crate::config::{self, Component, EffectiveConfig, LoadOptions};
use crate::diag::Diagnostic;
use crate::engine::mask::Masker;
use crate::engine::options::{new_run_id, CheckObserver, RunOptions, TemplateOptions};
use crate::engine::result::RunReport;
use crate::engine::run::Engine;
use crate::playbook::{self, LoadedPlaybook};
use crate::report::{JsonReporter, JunitReporter, Reporter, TextReporter};

/// Parses `--var NAME=VALUE` flags; the value is YAML when it parses as YAML, else a string.
pub fn var_overrides(flags: &[String]) -> Result<Map<String, Value>, Failure> {
    flags
        .iter()
        .map(|flag| {
            let (name, raw) = flag.split_once('=').ok_or_else(|| {
                Failure::bad_input(
                    Diagnostic::new("malformed --var", format!("`{flag}` has no `=`")).with_hint(
                        "write --var NAME=VALUE, e.g. --var metasrv_http_addr=10.0.0.11:4000",
                    ),
                )
            })?;
            let value = serde_yaml::from_str::<Value>(raw)
                .ok()
                .filter(|v| !v.is_null() || raw.trim() == "null")
                .unwrap_or_else(|| Value::String(raw.to_string()));
            Ok((name.trim().to_string(), value))
        })
        .collect()
}

/// Runs the built-in playbook of a component.
pub async fn builtin(
    component: Component,
    args: RunArgs,
    ctx: &RunContext,
    masker: Arc<Masker>,
) -> Result<ExitCode, Failure> {
    let playbook = playbook::load_builtin(component)?;
    execute(vec![playbook], Some(component), args, ctx, masker).await
}

/// Runs playbook files.
pub async fn files(
    paths: &[PathBuf],
    component: Option<Component>,
    args: RunArgs,
    ctx: &RunContext,
    masker: Arc<Masker>,
) -> Result<ExitCode, Failure> {
    let playbooks = paths
        .iter()
        .map(|p| playbook::load_file(p))
        .collect::<Result<Vec<_>, _>>()?;
    execute(playbooks, component, args, ctx, masker).await
}

/// Validates a loaded playbook; every problem becomes one diagnostic of the failure.
pub fn ensure_valid(playbook: &LoadedPlaybook) -> Result<(), Failure> {
    let problems = playbook::validate(playbook);
    if problems.is_empty() {
        return Ok(());
    }
    Err(Failure {
        code: exit::BAD_INPUT,
        diagnostics: problems,
    })
}

/// Loads the effective config for a component, as GreptimeDB would.
pub fn load_config(
    component: Component,
    args: &ConfigArgs,
    ctx: &RunContext,
) -> Result<EffectiveConfig, Failure> {
    let start_flags = config::start_flags::parse(component, &args.start_args)?;
    let opts = LoadOptions {
        component,
        file: start_flags.choose_file(args.config.clone())?,
        env: ctx.env.clone(),
        env_prefix: start_flags.choose_env_prefix(args.env_prefix.clone())?,
        overrides: args.overrides.clone(),
        start_flags,
    };
    config::load(&opts).map_err(Failure::from)
}

/// The component a playbook applies to: `--component`, else the playbook's own.
pub fn component_of(
    playbook: &LoadedPlaybook,
    flag: Option<Component>,
) -> Result<Component, Failure> {
    flag.or(playbook.component).ok_or_else(|| {
        Failure::bad_input(
            Diagnostic::new(
                "unknown component",
                format!("playbook `{}` names no component", playbook.name),
            )
            .with_hint(
                "add `component: datanode` (or another) to the playbook, or pass --component",
            ),
        )
    })
}

async fn execute(
    playbooks: Vec<LoadedPlaybook>,
    component: Option<Component>,
    args: RunArgs,
    ctx: &RunContext,
    masker: Arc<Masker>,
) -> Result<ExitCode, Failure> {
    let invocation = Invocation::new(&args.exec, ctx, masker)?;
    let vars = var_overrides(&args.config.vars)?;
    let mut planned = Vec::new();
    for playbook in playbooks {
        ensure_valid(&playbook)?;
        let component = component_of(&playbook, component)?;
        let config = load_config(component, &args.config, ctx)?;
        planned.push((playbook, Arc::new(config)));
    }
    let mut reports = Vec::new();
    for (playbook, config) in &planned {
        let opts = invocation.options(vars.clone(), None, true);
        reports.push(
            invocation
                .engine
                .run(playbook, config.clone(), &opts, invocation.cancel.clone())
                .await?,
        );
    }
    invocation.finish(&reports, false, &args.exec, ctx)
}

/// One invocation of the tool (a `run`, a component command or a `cluster` run): what all its
/// playbook runs share — the engine, the `--jobs` bound, progress bars, the deadline and
/// Ctrl-C handling. [`Invocation::finish`] writes the reports and picks the exit code.
pub struct Invocation {
    pub engine: Engine,
    pub cancel: CancellationToken,
    masker: Arc<Masker>,
    overall_timeout: Duration,
    answer_timeout: Option<Duration>,
    options: TemplateOptions,
    jobs: Arc<Semaphore>,
    progress: Option<indicatif::MultiProgress>,
    /// Each check's line while the run goes on, when stderr is a terminal and the report is text.
    live: Option<Arc<LiveView>>,
    interrupt: tokio::task::JoinHandle<()>,
}

impl Invocation {
    /// Starts watching Ctrl-C; `--timeout` errors are bad input.
    pub fn new(exec: &ExecArgs, ctx: &RunContext, masker: Arc<Masker>) -> Result<Self, Failure> {
        let overall_timeout = config::units::parse_duration(&exec.timeout).map_err(|e| {
            Failure::bad_input(
                Diagnostic::new("bad --timeout", e).with_hint("use a duration like 90s or 5m"),
            )
        })?;
        let answer_timeout = exec
            .answer_timeout
            .as_deref()
            .map(|text| {
                config::units::parse_duration(text)
                    .ok()
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| {
                        Failure::bad_input(
                            Diagnostic::new(
                                "bad --answer-timeout",
                                format!("`{text}` is not a duration above zero"),
                            )
                            .with_hint("use a duration like 5s or 1500ms"),
                        )
                    })
            })
            .transpose()?;
        let options = TemplateOptions {
            include_performance: exec.include_performance,
            read_only: exec.read_only,
            local_host: false,
        };
        let cancel = CancellationToken::new();
        let progress = ctx.progress.then(indicatif::MultiProgress::new);
        let live = progress
            .as_ref()
            .filter(|_| exec.output == OutputFormat::Text)
            .map(|multi| Arc::new(LiveView::new(multi.clone(), exec.color.paint(ctx.color))));
        Ok(Self {
            engine: Engine::new(masker.clone()),
            masker,
            interrupt: tokio::spawn(watch_ctrl_c(cancel.clone())),
            cancel,
            overall_timeout,
            answer_timeout,
            options,
            jobs: Arc::new(Semaphore::new(exec.jobs.max(1))),
            progress,
            live,
        })
    }

    /// Options of one playbook run: a fresh run id, the shared bound and progress bars.
    /// `local_host` says the checked component runs on this machine, so its listen ports and
    /// local directories are this machine's (`options.local_host` in playbooks).
    pub fn options(
        &self,
        var_overrides: Map<String, Value>,
        node: Option<String>,
        local_host: bool,
    ) -> RunOptions {
        let options = TemplateOptions {
            local_host,
            ..self.options
        };
        RunOptions {
            jobs: self.jobs.clone(),
            progress: self.progress.clone(),
            node,
            overall_timeout: self.overall_timeout,
            answer_timeout: self.answer_timeout,
            read_only: self.options.read_only,
            options: options.to_map(),
            var_overrides,
            run_id: new_run_id(),
            shared: None,
            observer: self.live.clone().map(|live| live as Arc<dyn CheckObserver>),
        }
    }

    /// Writes the reports (stdout and files) and returns the exit code they call for;
    /// `combined` writes the combined form even for one report.
    pub fn finish(
        self,
        reports: &[RunReport],
        combined: bool,
        exec: &ExecArgs,
        ctx: &RunContext,
    ) -> Result<ExitCode, Failure> {
        self.interrupt.abort();
        if let Some(live) = &self.live {
            live.clear();
        }
        write_reports(reports, combined, exec, ctx).map_err(|e| Failure {
            code: exit::INTERNAL,
            diagnostics: vec![Diagnostic::new(
                "cannot write report",
                self.masker.mask(&e.to_string()),
            )],
        })?;
        Ok(exit::for_reports(reports, exec.strict))
    }
}

/// First Ctrl-C: stop starting work and let cleanup run. Second: leave at once.
async fn watch_ctrl_c(cancel: CancellationToken) {
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    eprintln!("interrupted: stopping new checks and cleaning up (Ctrl-C again to quit at once)");
    cancel.cancel();
    if tokio::signal::ctrl_c().await.is_ok() {
        eprintln!("interrupted twice: exiting without cleanup");
        std::process::exit(130);
    }
}

fn write_reports(
    reports: &[RunReport],
    combined: bool,
    args: &ExecArgs,
    ctx: &RunContext,
) -> std::io::Result<()> {
    let junit = JunitReporter {
        gitlab: args.junit_gitlab,
    };
    let stdout_reporter: Box<dyn Reporter> = match args.output {
        OutputFormat::Text => Box::new(TextReporter {
            verbose: args.verbose,
            color: args.color.paint(ctx.color),
        }),
        OutputFormat::Json => Box::new(JsonReporter),
        OutputFormat::Junit => Box::new(junit),
    };
    let mut stdout = std::io::stdout().lock();
    emit(stdout_reporter.as_ref(), reports, combined, &mut stdout)?;
    stdout.flush()?;
    if let Some(path) = &args.json_file {
        write_file(path, &JsonReporter, reports, combined)?;
    }
    if let Some(path) = &args.junit_file {
        write_file(path, &junit, reports, combined)?;
    }
    Ok(())
}

fn write_file(
    path: &Path,
    reporter: &dyn Reporter,
    reports: &[RunReport],
    combined: bool,
) -> std::io::Result<()> {
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(path)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?,
    );
    emit(reporter, reports, combined, &mut file)?;
    file.flush()
}

/// One playbook gives one report document; several, or a `combined` run (a cluster run,
/// whatever its size), give the reporter's combined form (a JSON array, one JUnit
/// `<testsuites>` with a suite each, text with a cluster summary).
fn emit(
    reporter: &dyn Reporter,
    reports: &[RunReport],
    combined: bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match reports {
        [one] if !combined => reporter.write(one, out),
        many => reporter.write_many(many, out),
    }
}
