//! Running a playbook: variables, the dependency graph, bounded concurrency, timeouts,
//! retries, judging outputs, captures, cleanup and cancellation.
//!
//! Each check becomes a shared future that first awaits its dependencies, so independent
//! checks run concurrently and `--jobs` bounds how many step attempts are in flight. Every
//! attempt runs in its own task under `tokio::time::timeout` and the run's cancellation
//! token; its cleanup actions run afterwards, however it ended.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::{join_all, BoxFuture, FutureExt, Shared};
use minijinja::Value as JValue;
use serde_json::{Map, Value};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::mask::Masker;
use super::result::{CheckResult, Counts, Overall, RunReport, Status};
use super::share::{Asker, SharedAttempts};
use crate::config::{units, EffectiveConfig};
use crate::diag::Diagnostic;
use crate::playbook::model::{CheckDef, OutcomeKind};
use crate::playbook::{template, LoadedPlaybook, Located, Templates};
use crate::plugins::{
    millis, registry, CleanupRegistry, CreatedDirs, ErrorKind, StepCx, StepError, StepOutput,
};

/// Default per-attempt timeout when a check sets none.
pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(10);
/// How long each cleanup action may take.
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(15);
const DEFAULT_RETRY_DELAY: Duration = Duration::from_secs(1);

/// Settings of one run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Bounds the step attempts in flight (`--jobs`); runs that share one semaphore (the nodes
    /// of a cluster run) share the bound.
    pub jobs: Arc<Semaphore>,
    /// Where steps draw progress bars (stderr when it is a terminal); `None` draws nothing.
    pub progress: Option<indicatif::MultiProgress>,
    /// The inventory node this run checks, in a cluster run.
    pub node: Option<String>,
    /// Whole-run deadline; reaching it cancels like Ctrl-C.
    pub overall_timeout: Duration,
    /// Steps must not write.
    pub read_only: bool,
    /// Values visible to templates as `options.<name>` (e.g. `include_performance`).
    pub options: Map<String, Value>,
    /// `--var name=value`: playbook vars set from the command line; they replace the
    /// playbook's own definition of the same name.
    pub var_overrides: Map<String, Value>,
    /// Unique id of the run: `<session>` ([`new_run_id`]), or `<session>-<n>` for the runs of
    /// one cluster run, which share the session (see `StepCx::session`).
    pub run_id: String,
    /// Attempts of shareable steps that the runs of one session execute once (a cluster run);
    /// `None` runs every attempt.
    pub shared: Option<Arc<SharedAttempts>>,
}

/// Creates a short unique run id.
pub fn new_run_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

/// Executes playbooks against one effective config.
pub struct Engine {
    templates: Templates,
    pub(super) masker: Arc<Masker>,
}

type CheckFuture<'a> = Shared<BoxFuture<'a, Arc<Vec<CheckResult>>>>;

/// The template context shared by every check of a run.
pub(super) struct Scope {
    config: JValue,
    component: &'static str,
    run_id: String,
    vars: JValue,
    options: JValue,
    captures: Mutex<Map<String, Value>>,
}

impl Scope {
    pub(super) fn new(
        config: &EffectiveConfig,
        opts: &RunOptions,
        vars: &Map<String, Value>,
    ) -> Self {
        Self {
            config: JValue::from_serialize(&config.value),
            component: config.component.as_str(),
            run_id: opts.run_id.clone(),
            vars: JValue::from_serialize(vars),
            options: JValue::from_serialize(&opts.options),
            captures: Mutex::new(Map::new()),
        }
    }

    /// The context for templates; `output` fields are visible at top level after a step ran.
    pub(super) fn context(&self, item: Option<&Value>, output: Option<&Value>) -> JValue {
        let base = minijinja::context! {
            config => self.config.clone(),
            component => self.component,
            run_id => self.run_id.clone(),
            vars => self.vars.clone(),
            options => self.options.clone(),
            checks => JValue::from_serialize(&*self.captures.lock().expect("captures lock")),
            item => item.map_or(JValue::UNDEFINED, JValue::from_serialize),
        };
        match output {
            // the run's names win over output fields of the same name
            Some(out) => minijinja::value::merge_maps([
                base,
                minijinja::context! { output => JValue::from_serialize(out) },
                JValue::from_serialize(out),
            ]),
            None => base,
        }
    }
}

impl Engine {
    pub fn new(masker: Arc<Masker>) -> Self {
        Self {
            templates: Templates::default(),
            masker,
        }
    }

    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    /// Teaches the masker the config's secrets.
    pub(super) fn learn_secrets(&self, config: &EffectiveConfig) {
        for secret in &config.secrets {
            self.masker.add(secret);
        }
    }

    /// Evaluates the playbook's vars in order. Errors are bad input (exit 2).
    pub fn resolve_vars(
        &self,
        playbook: &LoadedPlaybook,
        config: &EffectiveConfig,
        opts: &RunOptions,
    ) -> Result<Map<String, Value>, Diagnostic> {
        let mut vars = Map::new();
        let config_value = JValue::from_serialize(&config.value);
        for var in &playbook.vars {
            let (name, def) = &var.def;
            let value = if let Some(given) = opts.var_overrides.get(name) {
                Some(given.clone())
            } else if let Some(path) = &def.jsonpath {
                let found = template::query(&config.value, path)
                    .map_err(|e| Diagnostic::new("bad JSONPath", e).at(var.span("jsonpath")))?;
                match found.len() {
                    0 => None,
                    1 if !def.all => found.into_iter().next(),
                    _ => Some(Value::Array(found)),
                }
            } else if let Some(expr) = &def.expr {
                let ctx = minijinja::context! {
                    config => config_value.clone(),
                    component => config.component.as_str(),
                    vars => JValue::from_serialize(&vars),
                    options => JValue::from_serialize(&opts.options),
                };
                match self.templates.eval(expr, &ctx) {
                    Ok(v) => v,
                    Err(e) if e.kind() == minijinja::ErrorKind::UndefinedError => {
                        tracing::debug!("variable `{name}` is undefined: {e}");
                        None
                    }
                    Err(e) => {
                        return Err(Diagnostic::new(
                            "cannot evaluate variable",
                            format!("`{name}`: {e}"),
                        )
                        .at(var.span("expr")))
                    }
                }
            } else {
                def.value.clone()
            };
            if let Some(value) = value.or_else(|| def.default.clone()) {
                if def.secret {
                    mask_learn(&self.masker, &value);
                }
                vars.insert(name.clone(), value);
            }
        }
        for (name, value) in &opts.var_overrides {
            vars.entry(name.clone()).or_insert_with(|| value.clone());
        }
        Ok(vars)
    }

    /// Runs a playbook and returns its masked report.
    pub async fn run(
        &self,
        playbook: &LoadedPlaybook,
        config: Arc<EffectiveConfig>,
        opts: &RunOptions,
        cancel: CancellationToken,
    ) -> Result<RunReport, Diagnostic> {
        let vars = self.resolve_vars(playbook, &config, opts)?;
        self.run_with_vars(playbook, config, &vars, opts, cancel)
            .await
    }

    /// [`Engine::run`] with the playbook's vars already resolved by [`Engine::resolve_vars`]
    /// (a cluster run resolves every run's vars before the first one starts).
    pub async fn run_with_vars(
        &self,
        playbook: &LoadedPlaybook,
        config: Arc<EffectiveConfig>,
        vars: &Map<String, Value>,
        opts: &RunOptions,
        cancel: CancellationToken,
    ) -> Result<RunReport, Diagnostic> {
        let started = Instant::now();
        let timestamp = time::OffsetDateTime::now_utc();
        self.learn_secrets(&config);
        let scope = Scope::new(&config, opts, vars);
        for secret in &playbook.secrets {
            match self.templates.eval(&secret.def, &scope.context(None, None)) {
                Ok(Some(value)) => mask_learn(&self.masker, &value),
                Ok(None) => {}
                Err(e) => {
                    return Err(Diagnostic::new("cannot evaluate secret", e.to_string())
                        .at(secret.span("")))
                }
            }
        }
        let summary = playbook
            .summary
            .iter()
            .map(|(k, t)| {
                let v = self
                    .templates
                    .render(t, &scope.context(None, None))
                    .unwrap_or_else(|_| "(unset)".into());
                (k.clone(), Value::String(v))
            })
            .collect();

        let deadline_guard = {
            let cancel = cancel.clone();
            let limit = opts.overall_timeout;
            tokio::spawn(async move {
                tokio::time::sleep(limit).await;
                tracing::warn!("overall --timeout of {limit:?} reached; stopping");
                cancel.cancel();
            })
        };
        let runner = Runner {
            engine: self,
            scope: &scope,
            config: config.clone(),
            opts,
            created_dirs: CreatedDirs::default(),
        };
        // main checks stop on cancel; cleanup checks always run
        let main = runner.graph(&playbook.checks, &cancel, &HashMap::new(), false);
        let mut checks = Vec::new();
        for id in playbook.checks.iter().map(|c| c.def.id.as_str()) {
            checks.extend(main[id].clone().await.iter().cloned());
        }
        let never = CancellationToken::new();
        let cleanup = runner.graph(&playbook.cleanup, &never, &main, true);
        for id in playbook.cleanup.iter().map(|c| c.def.id.as_str()) {
            checks.extend(cleanup[id].clone().await.iter().cloned());
        }
        for dir in runner.created_dirs.remove_empty() {
            tracing::debug!("removed {}, created by this run", dir.display());
        }
        deadline_guard.abort();

        let mut report = RunReport {
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            greptimedb_version: crate::config::GREPTIMEDB_VERSION.to_string(),
            run_id: opts.run_id.clone(),
            component: config.component.as_str().to_string(),
            node: opts.node.clone(),
            playbook: playbook.name.clone(),
            config_file: config.file.as_ref().map(|p| p.display().to_string()),
            summary,
            timestamp: timestamp
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            hostname: hostname::get()
                .map(|h| h.to_string_lossy().into_owned())
                .unwrap_or_else(|_| "localhost".into()),
            overall: Overall::Pass,
            counts: Counts::default(),
            duration_ms: millis(started.elapsed()),
            interrupted: cancel.is_cancelled(),
            checks,
        };
        report.finalize();
        self.masker.mask_report(&mut report);
        Ok(report)
    }
}

/// `title` with every `{{ … }}` expression shown as `…` and `{% … %}` tags dropped, e.g.
/// `listen address … = … can be bound`; `None` when no word of text is left.
fn title_skeleton(title: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = title;
    while let Some(start) = rest.find('{') {
        let (open, close, shown) = match rest[start..].get(..2) {
            Some("{{") => ("{{", "}}", "…"),
            Some("{%") => ("{%", "%}", ""),
            _ => {
                out.push_str(&rest[..=start]);
                rest = &rest[start + 1..];
                continue;
            }
        };
        out.push_str(&rest[..start]);
        match rest[start + open.len()..].find(close) {
            Some(end) => {
                out.push_str(shown);
                rest = &rest[start + open.len() + end + close.len()..];
            }
            None => return None,
        }
    }
    out.push_str(rest);
    let out = out.split_whitespace().collect::<Vec<_>>().join(" ");
    out.chars().any(char::is_alphanumeric).then_some(out)
}

fn mask_learn(masker: &Masker, value: &Value) {
    match value {
        Value::String(s) => masker.add(s),
        Value::Array(items) => items.iter().for_each(|v| mask_learn(masker, v)),
        Value::Object(map) => map.values().for_each(|v| mask_learn(masker, v)),
        other => masker.add(&other.to_string()),
    }
}

/// One run's scheduler state.
struct Runner<'a> {
    engine: &'a Engine,
    scope: &'a Scope,
    config: Arc<EffectiveConfig>,
    opts: &'a RunOptions,
    /// Directories the run's steps created, removed when the run ends if empty.
    created_dirs: CreatedDirs,
}

/// How one attempt ended, before judging.
#[derive(Debug, Clone)]
pub(super) enum AttemptEnd {
    Output(StepOutput),
    Failed(StepError),
    TimedOut(Duration),
    Interrupted,
    Crashed(String),
}

impl<'a> Runner<'a> {
    /// Builds one shared future per check; each awaits its dependencies first. `earlier`
    /// holds futures of checks from an earlier graph (cleanup checks may depend on them).
    fn graph(
        &'a self,
        checks: &'a [Located<CheckDef>],
        cancel: &CancellationToken,
        earlier: &HashMap<&'a str, CheckFuture<'a>>,
        cleanup: bool,
    ) -> HashMap<&'a str, CheckFuture<'a>> {
        let mut built: HashMap<&'a str, CheckFuture<'a>> = earlier.clone();
        let mut pending: Vec<&'a Located<CheckDef>> = checks.iter().collect();
        // validation rejected cycles and unknown ids, so this terminates
        while !pending.is_empty() {
            let before = pending.len();
            pending.retain(|&check| {
                let deps: Option<Vec<(&'a str, CheckFuture<'a>)>> = check
                    .def
                    .depends_on
                    .iter()
                    .map(|d| built.get(d.as_str()).map(|f| (d.as_str(), f.clone())))
                    .collect();
                let Some(deps) = deps else { return true };
                let cancel = cancel.clone();
                let fut = async move {
                    let mut blocked = None;
                    for (id, dep) in deps {
                        let results = dep.await;
                        if let Some(bad) = results.iter().find(|r| !r.status.satisfies_dependency())
                        {
                            blocked.get_or_insert(format!(
                                "dependency `{id}` did not pass ({})",
                                bad.status.as_str()
                            ));
                        }
                    }
                    Arc::new(
                        self.check(check, blocked.filter(|_| !cleanup), &cancel, cleanup)
                            .await,
                    )
                }
                .boxed()
                .shared();
                built.insert(check.def.id.as_str(), fut);
                false
            });
            assert!(
                pending.len() < before,
                "dependency graph must be acyclic and closed"
            );
        }
        for id in earlier.keys() {
            built.remove(id);
        }
        built
    }

    /// Runs every instance of one check (after its dependencies).
    async fn check(
        &self,
        check: &Located<CheckDef>,
        blocked: Option<String>,
        cancel: &CancellationToken,
        cleanup: bool,
    ) -> Vec<CheckResult> {
        let def = &check.def;
        let skipped = |reason: String| vec![self.skipped(def, cleanup, &def.title, reason)];
        if cancel.is_cancelled() {
            return skipped("run interrupted before this check started".into());
        }
        // the condition first: a check that does not apply says so, rather than naming a
        // dependency that did not apply either
        let ctx = self.scope.context(None, None);
        if let Some(when) = &def.when {
            match self.engine.templates.truthy(when, &ctx) {
                Ok(true) => {}
                Ok(false) => return skipped(format!("condition not met: {when}")),
                // it may read captures of a dependency that did not run
                Err(_) if blocked.is_some() => {}
                Err(e) => {
                    return vec![self.broken(
                        def,
                        cleanup,
                        &def.id,
                        format!("cannot evaluate `when`: {e}"),
                    )]
                }
            }
        }
        if let Some(reason) = blocked {
            return skipped(reason);
        }
        let items: Vec<Option<Value>> = match &def.for_each {
            None => vec![None],
            Some(expr) => match self.engine.templates.eval(expr, &ctx) {
                Ok(Some(Value::Array(items))) => items.into_iter().map(Some).collect(),
                Ok(Some(Value::Null)) => Vec::new(),
                Ok(Some(other)) => vec![Some(other)],
                Ok(None) => return vec![self.broken(def, cleanup, &def.id, format!("`for_each: {expr}` is undefined (a variable it uses could not be evaluated from this config)"))],
                Err(e) => return vec![self.broken(def, cleanup, &def.id, format!("cannot evaluate `for_each`: {e}"))],
            },
        };
        if items.is_empty() {
            return skipped(format!(
                "nothing to check: `{}` is empty",
                def.for_each.as_deref().unwrap_or_default()
            ));
        }
        let fanned = def.for_each.is_some();
        let instances = items.iter().enumerate().map(|(i, item)| {
            let instance = if fanned {
                format!("{}[{i}]", def.id)
            } else {
                def.id.clone()
            };
            self.instance(def, instance, item.as_ref(), cancel, cleanup)
        });
        let results = if def.serial {
            let mut results = Vec::new();
            for instance in instances {
                results.push(instance.await);
            }
            results
        } else {
            join_all(instances).await
        };
        let (results, captures): (Vec<CheckResult>, Vec<Map<String, Value>>) =
            results.into_iter().unzip();
        if !def.capture.is_empty() {
            let value = if fanned {
                Value::Array(captures.into_iter().map(Value::Object).collect())
            } else {
                Value::Object(captures.into_iter().next().unwrap_or_default())
            };
            self.scope
                .captures
                .lock()
                .expect("captures lock")
                .insert(def.id.clone(), value);
        }
        results
    }

    fn base_result(
        &self,
        def: &CheckDef,
        cleanup: bool,
        title: &str,
        status: Status,
        message: String,
    ) -> CheckResult {
        CheckResult {
            id: def.id.clone(),
            instance: def.id.clone(),
            title: title.to_string(),
            status,
            message,
            hint: None,
            doc: None,
            step: def.step.kind.clone(),
            cleanup,
            duration_ms: 0.0,
            attempts: 0,
            metrics: Map::new(),
            details: Vec::new(),
        }
    }

    fn skipped(&self, def: &CheckDef, cleanup: bool, title: &str, reason: String) -> CheckResult {
        // a title that needs `item` cannot be rendered before fan-out: its text with `…` for
        // each expression names it then (or the id, when nothing but expressions is left)
        let title = self
            .engine
            .templates
            .render(title, &self.scope.context(None, None))
            .unwrap_or_else(|_| title_skeleton(title).unwrap_or_else(|| def.id.clone()));
        self.base_result(def, cleanup, &title, Status::Skipped, reason)
    }

    fn broken(&self, def: &CheckDef, cleanup: bool, title: &str, message: String) -> CheckResult {
        self.base_result(def, cleanup, title, Status::Error, message)
    }

    /// Runs one instance with retries; returns its result and captures.
    async fn instance(
        &self,
        def: &CheckDef,
        instance: String,
        item: Option<&Value>,
        cancel: &CancellationToken,
        cleanup: bool,
    ) -> (CheckResult, Map<String, Value>) {
        let started = Instant::now();
        let ctx = self.scope.context(item, None);
        let title = self
            .engine
            .templates
            .render(&def.title, &ctx)
            .unwrap_or_else(|e| format!("{} ({e})", def.id));
        let mut result = self.base_result(def, cleanup, &title, Status::Error, String::new());
        result.instance = instance;
        result.doc = def
            .doc
            .as_ref()
            .and_then(|d| self.engine.templates.render(d, &ctx).ok());
        let timeout = def
            .timeout
            .as_deref()
            .and_then(|t| units::parse_duration(t).ok())
            .unwrap_or(DEFAULT_CHECK_TIMEOUT);
        let (attempts, delay) = match &def.retry {
            Some(r) => (
                r.attempts.max(1),
                r.delay
                    .as_deref()
                    .and_then(|d| units::parse_duration(d).ok())
                    .unwrap_or(DEFAULT_RETRY_DELAY),
            ),
            None => (1, DEFAULT_RETRY_DELAY),
        };
        let step = registry::get(&def.step.kind).expect("validated step type");
        let mut captures = Map::new();
        for attempt in 1..=attempts {
            result.attempts = attempt;
            let params = match self
                .engine
                .templates
                .render_value(&Value::Object(def.step.with.clone()), &ctx)
            {
                Ok(p) => p,
                Err(e) => {
                    result.status = Status::Error;
                    result.message = format!("cannot render parameters: {e}");
                    break;
                }
            };
            let (end, cleanup_notes) = match &self.opts.shared {
                Some(shared) if step.shareable() => {
                    let key = SharedAttempts::key(
                        step.name(),
                        attempt,
                        timeout,
                        self.opts.read_only,
                        &params,
                    );
                    let asker = Asker {
                        run_id: &self.opts.run_id,
                        label: &self.label(),
                    };
                    let own = self.attempt(step, params, timeout, cancel);
                    shared.attempt(key, asker, own).await
                }
                _ => self.attempt(step, params, timeout, cancel).await,
            };
            result.details = cleanup_notes;
            captures = self.judge(def, end, item, &mut result);
            let retry = matches!(result.status, Status::Fail | Status::Error)
                && attempt < attempts
                && !cancel.is_cancelled();
            if !retry {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = cancel.cancelled() => break,
            }
        }
        if result
            .details
            .iter()
            .any(|d| d.starts_with("cleanup failed"))
            && result.status == Status::Pass
        {
            result.status = Status::Warn;
            result.message = format!("{} (but cleanup failed; see details)", result.message);
        }
        result.duration_ms = millis(started.elapsed());
        (result, captures)
    }

    /// How detail lines name this run: its node, or the cross-node checks.
    fn label(&self) -> String {
        match &self.opts.node {
            Some(node) => format!("node `{node}`"),
            None => "the cross-node checks".into(),
        }
    }

    /// Runs one attempt in its own task, then its cleanup actions.
    async fn attempt(
        &self,
        step: &'static dyn crate::plugins::DynStep,
        params: Value,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> (AttemptEnd, Vec<String>) {
        let _permit = self.opts.jobs.acquire().await.expect("semaphore open");
        tracing::debug!(step = step.name(), %params, "running step");
        let undo = CleanupRegistry::default();
        let cx = StepCx::new(
            self.config.clone(),
            self.opts.run_id.clone(),
            Instant::now() + timeout,
            self.opts.read_only,
            undo.clone(),
        )
        .with_progress(self.opts.progress.clone())
        .with_created_dirs(self.created_dirs.clone());
        let mut task = tokio::spawn(async move { step.run_dyn(params, &cx).await });
        let end = tokio::select! {
            joined = tokio::time::timeout(timeout, &mut task) => match joined {
                Ok(Ok(Ok(output))) => AttemptEnd::Output(output),
                Ok(Ok(Err(e))) => AttemptEnd::Failed(e),
                Ok(Err(join)) => AttemptEnd::Crashed(join.to_string()),
                Err(_) => AttemptEnd::TimedOut(timeout),
            },
            _ = cancel.cancelled() => AttemptEnd::Interrupted,
        };
        if matches!(end, AttemptEnd::TimedOut(_) | AttemptEnd::Interrupted) {
            // the step must be gone before its cleanup starts: an aborted task can still be in
            // the middle of a poll on another worker thread, about to send one more request
            task.abort();
            let _ = tokio::time::timeout(CLEANUP_TIMEOUT, &mut task).await;
        }
        let mut notes = Vec::new();
        for action in undo.drain() {
            match tokio::time::timeout(CLEANUP_TIMEOUT, action.action).await {
                Ok(Ok(())) => notes.push(format!("cleaned up {}", action.label)),
                Ok(Err(e)) => notes.push(format!("cleanup failed for {}: {e}", action.label)),
                Err(_) => notes.push(format!("cleanup failed for {}: timed out", action.label)),
            }
        }
        (end, notes)
    }

    /// Turns an attempt's end into status, message, hint and metrics; returns captures.
    fn judge(
        &self,
        def: &CheckDef,
        end: AttemptEnd,
        item: Option<&Value>,
        result: &mut CheckResult,
    ) -> Map<String, Value> {
        let templates = &self.engine.templates;
        let render_hint = |ctx: &JValue, extra: Option<&str>| {
            let own = def
                .hint
                .as_ref()
                .and_then(|h| templates.render(h, ctx).ok());
            match (own, extra) {
                (Some(a), Some(b)) if a != b => Some(format!("{a} ({b})")),
                (Some(a), _) => Some(a),
                (None, b) => b.map(str::to_string),
            }
        };
        let plain_ctx = self.scope.context(item, None);
        let output = match end {
            AttemptEnd::Output(output) => output,
            AttemptEnd::Failed(e) => {
                result.status = if e.kind.is_verdict() {
                    Status::Fail
                } else {
                    Status::Error
                };
                result.message = e.message;
                result.hint = render_hint(&plain_ctx, e.hint.as_deref());
                result
                    .metrics
                    .insert("error_kind".into(), e.kind.as_str().into());
                return Map::new();
            }
            AttemptEnd::TimedOut(t) => {
                result.status = Status::Fail;
                result.message = format!("no answer within {}", crate::plugins::human(t));
                result.hint = render_hint(&plain_ctx, Some("the server accepted the connection or request but did not answer; check its health, or raise the check's `timeout`"));
                result
                    .metrics
                    .insert("error_kind".into(), ErrorKind::Timeout.as_str().into());
                return Map::new();
            }
            AttemptEnd::Interrupted => {
                result.status = Status::Error;
                result.message = "interrupted".into();
                result
                    .metrics
                    .insert("error_kind".into(), "Interrupted".into());
                return Map::new();
            }
            AttemptEnd::Crashed(e) => {
                result.status = Status::Error;
                result.message = format!("step crashed: {e}");
                result
                    .metrics
                    .insert("error_kind".into(), "Internal".into());
                return Map::new();
            }
        };
        result.metrics = scalar_fields(&output.value);
        result.details.splice(0..0, output.details);
        let ctx = self.scope.context(item, Some(&output.value));
        let mut verdict = (Status::Pass, None, None);
        for expr in &def.assert {
            match templates.truthy(expr, &ctx) {
                Ok(true) => {}
                Ok(false) => {
                    verdict = (
                        Status::Fail,
                        Some(format!("assertion failed: {expr}")),
                        None,
                    );
                    break;
                }
                Err(e) => {
                    verdict = (
                        Status::Error,
                        Some(format!("cannot evaluate assertion `{expr}`: {e}")),
                        None,
                    );
                    break;
                }
            }
        }
        if verdict.0 == Status::Pass {
            for outcome in &def.outcomes {
                let Some((kind, cond)) = outcome.condition() else {
                    continue;
                };
                match templates.truthy(cond, &ctx) {
                    Ok(false) => continue,
                    Ok(true) => {
                        let status = match kind {
                            OutcomeKind::Fail => Status::Fail,
                            OutcomeKind::Warn => Status::Warn,
                            OutcomeKind::Pass => Status::Pass,
                        };
                        let message = templates
                            .render(&outcome.message, &ctx)
                            .unwrap_or_else(|e| format!("{} ({e})", outcome.message));
                        let hint = outcome
                            .hint
                            .as_ref()
                            .and_then(|h| templates.render(h, &ctx).ok());
                        verdict = (status, Some(message), hint);
                    }
                    Err(e) => {
                        verdict = (
                            Status::Error,
                            Some(format!("cannot evaluate outcome `{cond}`: {e}")),
                            None,
                        )
                    }
                }
                break;
            }
        }
        let (status, message, hint) = verdict;
        result.status = status;
        result.message = message.unwrap_or_else(|| match &def.message {
            Some(m) => templates
                .render(m, &ctx)
                .unwrap_or_else(|e| format!("{m} ({e})")),
            None => "ok".into(),
        });
        if status != Status::Pass {
            result.hint = hint.or_else(|| render_hint(&ctx, None));
        }
        let mut captures = Map::new();
        for (name, capture) in &def.capture {
            match templates.eval(capture.expr(), &ctx) {
                Ok(Some(value)) => {
                    if capture.is_secret() {
                        mask_learn(&self.engine.masker, &value);
                    }
                    captures.insert(name.clone(), value);
                }
                Ok(None) => {}
                Err(e) => result.details.push(format!("capture `{name}` failed: {e}")),
            }
        }
        captures
    }
}

/// Top-level numbers, booleans and short strings of an output: the check's metrics.
fn scalar_fields(value: &Value) -> Map<String, Value> {
    value
        .as_object()
        .map(|map| {
            map.iter()
                .filter(|(_, v)| match v {
                    Value::Number(_) | Value::Bool(_) => true,
                    Value::String(s) => s.len() <= 120,
                    _ => false,
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::title_skeleton;

    #[test]
    fn skeletons_keep_the_text_of_titles_that_need_item() {
        let skeleton = |t: &str| title_skeleton(t);
        assert_eq!(
            skeleton("listen address {{ item.key }} = {{ item.address }} can be bound").as_deref(),
            Some("listen address … = … can be bound")
        );
        assert_eq!(
            skeleton("{% if item %}store {{ item.name }}{% endif %} probe").as_deref(),
            Some("store … probe")
        );
        assert_eq!(skeleton("{{ item.title }}"), None);
        assert_eq!(skeleton("broken {{ item"), None);
        assert_eq!(skeleton("a { b }").as_deref(), Some("a { b }"));
    }
}
