//! Running a playbook: the [`Engine`] and the report of one run. It resolves the vars, learns
//! the secrets, starts the checks' graph (`graph.rs`), then the cleanup checks, under the
//! run's overall deadline, and assembles the masked [`RunReport`].
//!
//! Each check becomes a shared future that first awaits its dependencies, so independent
//! checks run concurrently and `--jobs` bounds how many step attempts are in flight. Every
//! attempt runs in its own task under its timeout and the run's cancellation token; its
//! cleanup actions run afterwards, however it ended (`attempt.rs`).

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::join_all;
use serde_json::{Map, Value};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::attempt::AttemptCx;
use super::mask::Masker;
use super::options::RunOptions;
use super::reach::Reach;
use super::result::RunReport;
use super::runner::Runner;
use super::scope::{self, Scope};
use crate::config::EffectiveConfig;
use crate::diag::Diagnostic;
use crate::playbook::{LoadedPlaybook, Templates};
use crate::plugins::{millis, CreatedDirs};

/// Executes playbooks against one effective config.
pub struct Engine {
    templates: Templates,
    pub(super) masker: Arc<Masker>,
    /// `--resolve` redirects and in-cluster names (empty but for `kubernetes`).
    reach: Reach,
}

impl Engine {
    pub fn new(masker: Arc<Masker>) -> Self {
        Self {
            templates: Templates::default(),
            masker,
            reach: Reach::default(),
        }
    }

    /// Sets the redirects and in-cluster names every run of this engine applies.
    pub fn set_reach(&mut self, reach: Reach) {
        self.reach = reach;
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
        scope::resolve_vars(&self.templates, &self.masker, playbook, config, opts)
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
                Ok(Some(value)) => self.masker.add_value(&value),
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
            templates: &self.templates,
            masker: &self.masker,
            reach: &self.reach,
            scope: &scope,
            opts,
            attempts: AttemptCx {
                jobs: &opts.jobs,
                config: config.clone(),
                run_id: &opts.run_id,
                read_only: opts.read_only,
                progress: opts.progress.clone(),
                created_dirs: CreatedDirs::default(),
                redirects: self.reach.redirects(),
            },
        };
        // main checks stop on cancel; cleanup checks always run
        let main = runner.graph(&playbook.checks, &cancel, &HashMap::new(), false);
        // every check's future is polled at once (a shared future runs only while awaited):
        // awaited one after the other, independent checks would wait for each other, and a run
        // whose dependencies are all silent would take the sum of their deadlines
        let ran = join_all(
            playbook
                .checks
                .iter()
                .map(|c| main[c.def.id.as_str()].clone()),
        )
        .await;
        let mut checks: Vec<_> = ran.iter().flat_map(|r| r.iter().cloned()).collect();
        let never = CancellationToken::new();
        let cleanup = runner.graph(&playbook.cleanup, &never, &main, true);
        for id in playbook.cleanup.iter().map(|c| c.def.id.as_str()) {
            checks.extend(cleanup[id].clone().await.iter().cloned());
        }
        for dir in runner.attempts.created_dirs.remove_empty() {
            tracing::debug!("removed {}, created by this run", dir.display());
        }
        deadline_guard.abort();

        let mut report = RunReport {
            node: opts.node.clone(),
            config_file: config.file.as_ref().map(|p| p.display().to_string()),
            summary,
            duration_ms: millis(started.elapsed()),
            interrupted: cancel.is_cancelled(),
            checks,
            ..RunReport::new(
                opts.run_id.clone(),
                config.component.as_str().to_string(),
                playbook.name.clone(),
                timestamp,
            )
        };
        report.finalize();
        self.masker.mask_report(&mut report);
        Ok(report)
    }
}
