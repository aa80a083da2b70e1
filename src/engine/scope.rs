//! What templates see during a run: the playbook's vars, resolved once before the first check,
//! and the [`Scope`] (config, vars, options and the captures of finished checks) every check
//! renders against.

use std::sync::Mutex;

use minijinja::Value as JValue;
use serde_json::{Map, Value};

use super::mask::Masker;
use super::options::RunOptions;
use crate::config::EffectiveConfig;
use crate::diag::Diagnostic;
use crate::playbook::{template, LoadedPlaybook, Templates};

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

    /// Makes a finished check's captures visible to later checks as `checks.<id>`.
    pub(super) fn capture(&self, id: String, value: Value) {
        self.captures
            .lock()
            .expect("captures lock")
            .insert(id, value);
    }
}

/// Evaluates the playbook's vars in order, teaching `masker` the secret ones. Errors are bad
/// input (exit 2).
pub(super) fn resolve_vars(
    templates: &Templates,
    masker: &Masker,
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
            match templates.eval(expr, &ctx) {
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
                masker.add_value(&value);
            }
            vars.insert(name.clone(), value);
        }
    }
    for (name, value) in &opts.var_overrides {
        vars.entry(name.clone()).or_insert_with(|| value.clone());
    }
    Ok(vars)
}
