//! The dependency graph of a run: one shared future per check that awaits its dependencies,
//! then runs the check (its condition, its `for_each` fan-out, serially or concurrently) and
//! publishes its captures for later checks.

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::{join_all, BoxFuture, FutureExt, Shared};
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use super::result::{CheckResult, Skip, Status};
use super::runner::Runner;
use crate::playbook::model::CheckDef;
use crate::playbook::Located;

type CheckFuture<'a> = Shared<BoxFuture<'a, Arc<Vec<CheckResult>>>>;

impl<'a> Runner<'a> {
    /// Builds one shared future per check; each awaits its dependencies first. `earlier`
    /// holds futures of checks from an earlier graph (cleanup checks may depend on them).
    pub(super) fn graph(
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
                let waits: Option<Vec<(&'a str, bool, CheckFuture<'a>)>> = check
                    .def
                    .depends_on
                    .iter()
                    .map(|d| (d, false))
                    .chain(check.def.inputs.iter().map(|d| (d, true)))
                    .map(|(d, input)| {
                        built
                            .get(d.as_str())
                            .map(|f| (d.as_str(), input, f.clone()))
                    })
                    .collect();
                let Some(waits) = waits else { return true };
                let cancel = cancel.clone();
                let fut = async move {
                    let mut blocked = None;
                    let mut inputs = Vec::new();
                    for (id, input, dep) in waits {
                        let results = dep.await;
                        if input {
                            inputs.push(results);
                        } else if let Some(bad) =
                            results.iter().find(|r| !r.status.satisfies_dependency())
                        {
                            blocked.get_or_insert_with(|| Blocked::by(id, bad));
                        }
                    }
                    if blocked.is_none() {
                        blocked = Blocked::by_inputs(&inputs);
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
        blocked: Option<Blocked>,
        cancel: &CancellationToken,
        cleanup: bool,
    ) -> Vec<CheckResult> {
        let def = &check.def;
        let skipped =
            |reason: String, skip| vec![self.skipped(def, cleanup, &def.title, reason, skip)];
        if cancel.is_cancelled() {
            return skipped(
                "run interrupted before this check started".into(),
                Skip::Interrupted,
            );
        }
        // the condition first: a check that does not apply says so, rather than naming a
        // dependency that did not apply either
        let ctx = self.scope.context(None, None);
        if let Some(when) = &def.when {
            match self.templates.truthy(when, &ctx) {
                Ok(true) => {}
                Ok(false) => {
                    return skipped(format!("condition not met: {when}"), Skip::NotApplicable)
                }
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
        if let Some(blocked) = blocked {
            return skipped(blocked.reason, blocked.skip);
        }
        let items: Vec<Option<Value>> = match &def.for_each {
            None => vec![None],
            Some(expr) => match self.templates.eval(expr, &ctx) {
                Ok(Some(Value::Array(items))) => items.into_iter().map(Some).collect(),
                Ok(Some(Value::Null)) => Vec::new(),
                Ok(Some(other)) => vec![Some(other)],
                Ok(None) => return vec![self.broken(def, cleanup, &def.id, format!("`for_each: {expr}` is undefined (a variable it uses could not be evaluated from this config)"))],
                Err(e) => return vec![self.broken(def, cleanup, &def.id, format!("cannot evaluate `for_each`: {e}"))],
            },
        };
        if items.is_empty() {
            return skipped(
                format!(
                    "nothing to check: `{}` is empty",
                    def.for_each.as_deref().unwrap_or_default()
                ),
                Skip::NothingToCheck,
            );
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
            self.scope.capture(def.id.clone(), value);
        }
        results
    }
}

/// Why a check will not run although its condition holds, found from what it waited for.
struct Blocked {
    reason: String,
    skip: Skip,
}

impl Blocked {
    /// `bad` (an instance of dependency `id`) did not pass: the cause is `bad` itself, or what
    /// `bad` was skipped because of.
    fn by(id: &str, bad: &CheckResult) -> Self {
        let cause = match bad.skip.as_ref().map(Skip::causes) {
            Some([only]) => only.clone(),
            _ => bad.instance.clone(),
        };
        let because = if cause == bad.instance {
            String::new()
        } else {
            format!(", because of `{cause}`")
        };
        let reason = match &bad.skip {
            Some(Skip::InCluster { host, .. }) => format!(
                "dependency `{id}` was not run from this host (`{host}` is an in-cluster name)"
            ),
            _ => format!(
                "dependency `{id}` did not pass ({}{because})",
                bad.status.as_str()
            ),
        };
        Self {
            reason,
            skip: Skip::Blocked { cause },
        }
    }

    /// Every instance of every input failed (or was skipped because of a failure): the cause
    /// is already reported there. Inputs that did not apply or did not run block nothing.
    fn by_inputs(inputs: &[Arc<Vec<CheckResult>>]) -> Option<Self> {
        let all: Vec<&CheckResult> = inputs.iter().flat_map(|r| r.iter()).collect();
        let failed = |r: &&CheckResult| {
            matches!(r.status, Status::Fail | Status::Error)
                || matches!(
                    r.skip,
                    Some(Skip::Blocked { .. } | Skip::AlreadyReported { .. })
                )
        };
        if all.is_empty() || !all.iter().all(failed) {
            return None;
        }
        let causes: Vec<String> = all.iter().map(|r| r.instance.clone()).collect();
        Some(Self {
            reason: format!(
                "every input already failed: see {}",
                causes
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            skip: Skip::AlreadyReported { causes },
        })
    }
}
