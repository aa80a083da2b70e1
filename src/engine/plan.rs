//! `render`: the resolved plan of a playbook, without running anything.
//!
//! Values that only exist at run time (captures of earlier checks, step outputs) cannot be
//! resolved here; such fields are shown as `deferred: <reason>`.

use serde_json::{json, Map, Value};

use super::options::RunOptions;
use super::run::Engine;
use super::scope::Scope;
use crate::config::EffectiveConfig;
use crate::diag::Diagnostic;
use crate::playbook::model::CheckDef;
use crate::playbook::{LoadedPlaybook, Located};

impl Engine {
    /// Resolves vars, conditions, fan-out, titles and parameters of every check.
    pub fn plan(
        &self,
        playbook: &LoadedPlaybook,
        config: &EffectiveConfig,
        opts: &RunOptions,
    ) -> Result<Value, Diagnostic> {
        self.learn_secrets(config);
        let vars = self.resolve_vars(playbook, config, opts)?;
        let scope = Scope::new(config, opts, &vars);
        let checks = |list: &[Located<CheckDef>]| -> Vec<Value> {
            list.iter()
                .map(|c| self.plan_check(&c.def, &scope))
                .collect()
        };
        let mut plan = json!({
            "playbook": playbook.name,
            "component": config.component.as_str(),
            "config_file": config.file.as_ref().map(|p| p.display().to_string()),
            "run_id": opts.run_id,
            "config_findings": config.findings.len(),
            "vars": vars,
            "checks": checks(&playbook.checks),
            "cleanup": checks(&playbook.cleanup),
        });
        self.masker.mask_value(&mut plan);
        Ok(plan)
    }

    fn plan_check(&self, def: &CheckDef, scope: &Scope) -> Value {
        let t = self.templates();
        let ctx = scope.context(None, None);
        let deferred = |e: minijinja::Error| Value::String(format!("deferred: {e}"));
        let mut entry = Map::new();
        entry.insert("id".into(), def.id.clone().into());
        entry.insert("step".into(), def.step.kind.clone().into());
        if !def.depends_on.is_empty() {
            entry.insert("depends_on".into(), json!(def.depends_on));
        }
        if let Some(when) = &def.when {
            let v = t
                .truthy(when, &ctx)
                .map(Value::Bool)
                .unwrap_or_else(deferred);
            entry.insert("when".into(), json!({ "expr": when, "value": v }));
        }
        let items = match &def.for_each {
            None => Ok(vec![Value::Null]),
            Some(expr) => match t.eval(expr, &ctx) {
                Ok(Some(Value::Array(items))) => Ok(items),
                Ok(None | Some(Value::Null)) => Ok(Vec::new()),
                Ok(Some(other)) => Ok(vec![other]),
                Err(e) => Err(deferred(e)),
            },
        };
        let instances: Vec<Value> = match items {
            Ok(items) => items
                .iter()
                .map(|item| {
                    let item = (!item.is_null()).then_some(item);
                    let ctx = scope.context(item, None);
                    let title = t
                        .render(&def.title, &ctx)
                        .map(Value::String)
                        .unwrap_or_else(deferred);
                    let with = t
                        .render_value(&Value::Object(def.step.with.clone()), &ctx)
                        .unwrap_or_else(deferred);
                    json!({ "title": title, "item": item, "with": with })
                })
                .collect(),
            Err(reason) => vec![json!({ "for_each": reason })],
        };
        entry.insert("instances".into(), Value::Array(instances));
        Value::Object(entry)
    }
}
