//! Static validation of a loaded playbook: everything that can be known before running,
//! each problem reported with `file:line:col`.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::load::{LoadedPlaybook, Located};
use super::model::{CheckDef, VarDef};
use super::template::{check_jsonpath, sole_expression, Templates};
use crate::diag::{did_you_mean, Diagnostic};
use crate::plugins::registry;

/// Returns every problem found; an empty list means the playbook is valid. Templates are
/// compiled in the same environment the engine renders them in ([`Templates::default`]).
pub fn validate(playbook: &LoadedPlaybook) -> Vec<Diagnostic> {
    let templates = Templates::default();
    let mut v = Validator {
        templates: &templates,
        problems: Vec::new(),
    };
    for var in &playbook.vars {
        v.var(var);
    }
    for (key, template) in &playbook.summary {
        v.template(
            &Located {
                def: (),
                file: playbook.root.clone(),
                path: "summary".into(),
            },
            key,
            template,
        );
    }
    for secret in &playbook.secrets {
        v.expression(secret, "", &secret.def);
    }
    let all: Vec<&Located<CheckDef>> = playbook.checks.iter().chain(&playbook.cleanup).collect();
    v.ids(&all);
    for check in &all {
        v.check(check);
    }
    v.cycles(&all);
    v.problems
}

struct Validator<'a> {
    templates: &'a Templates,
    problems: Vec<Diagnostic>,
}

impl Validator<'_> {
    fn report<T>(
        &mut self,
        at: &Located<T>,
        field: &str,
        title: &str,
        message: String,
        hint: Option<String>,
    ) {
        let mut d = Diagnostic::new(title, message).at(at.span(field));
        if let Some(hint) = hint {
            d = d.with_hint(hint);
        }
        self.problems.push(d);
    }

    fn var(&mut self, var: &Located<(String, VarDef)>) {
        let (name, def) = &var.def;
        let sources = [
            def.jsonpath.is_some(),
            def.expr.is_some(),
            def.value.is_some(),
        ];
        if sources.iter().filter(|s| **s).count() != 1 {
            self.report(
                var,
                "",
                "invalid variable",
                format!("variable `{name}` needs exactly one of `jsonpath`, `expr` or `value`"),
                None,
            );
        }
        if let Some(path) = &def.jsonpath {
            if let Err(e) = check_jsonpath(path) {
                self.report(
                    var,
                    "jsonpath",
                    "bad JSONPath",
                    format!("`{path}`: {e}"),
                    Some("JSONPath starts with `$`, e.g. `$.meta_client.metasrv_addrs`".into()),
                );
            }
        }
        if let Some(expr) = &def.expr {
            self.expression(var, "expr", expr);
        }
    }

    fn template<T>(&mut self, at: &Located<T>, field: &str, source: &str) {
        let result = match sole_expression(source) {
            Some(expr) => self.templates.check_expression(expr),
            None => self.templates.check_template(source),
        };
        if let Err(e) = result {
            let mut span = at.span(field);
            if let (Some(span), Some(line)) = (span.as_mut(), e.line()) {
                span.line += line.saturating_sub(1);
            }
            let mut d = Diagnostic::new(
                "bad template",
                format!("`{source}`: {}", e.detail().unwrap_or(&e.to_string())),
            );
            d = d
                .at(span)
                .with_hint("templates use minijinja syntax: `{{ config.key }}`");
            self.problems.push(d);
        }
    }

    fn expression<T>(&mut self, at: &Located<T>, field: &str, source: &str) {
        if let Err(e) = self.templates.check_expression(source) {
            self.report(
                at,
                field,
                "bad expression",
                format!("`{source}`: {}", e.detail().unwrap_or(&e.to_string())),
                Some("expressions use minijinja syntax without braces, e.g. `errors == 0`".into()),
            );
        }
    }

    fn ids(&mut self, checks: &[&Located<CheckDef>]) {
        let mut seen: HashMap<&str, &Located<CheckDef>> = HashMap::new();
        for check in checks {
            let id = check.def.id.as_str();
            let well_formed = id
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !well_formed {
                self.report(
                    *check,
                    "id",
                    "invalid check id",
                    format!("`{id}` must be letters, digits and `_`, not starting with a digit"),
                    None,
                );
            }
            if let Some(first) = seen.insert(id, check) {
                let first_at = first
                    .span("id")
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| first.file.name().display().to_string());
                self.report(
                    *check,
                    "id",
                    "duplicate check id",
                    format!("`{id}` is already used at {first_at}"),
                    Some("give every check a unique id".into()),
                );
            }
        }
        let known: HashSet<&str> = seen.keys().copied().collect();
        for check in checks {
            let named = [
                ("depends_on", &check.def.depends_on),
                ("inputs", &check.def.inputs),
            ];
            for (field, ids) in named {
                for (i, dep) in ids.iter().enumerate() {
                    if !known.contains(dep.as_str()) {
                        let hint = did_you_mean(dep, known.iter().copied())
                            .map(|s| format!("did you mean `{s}`?"));
                        self.report(
                            *check,
                            &format!("{field}[{i}]"),
                            "unknown dependency",
                            format!(
                                "check `{}` names `{dep}` in `{field}`, which no check defines",
                                check.def.id
                            ),
                            hint,
                        );
                    }
                }
            }
        }
    }

    fn check(&mut self, check: &Located<CheckDef>) {
        let def = &check.def;
        self.template(check, "title", &def.title);
        for (field, text) in [
            ("message", &def.message),
            ("hint", &def.hint),
            ("doc", &def.doc),
            ("key", &def.key),
        ] {
            if let Some(text) = text {
                self.template(check, field, text);
            }
        }
        for (field, expr) in [("when", &def.when), ("for_each", &def.for_each)] {
            if let Some(expr) = expr {
                self.expression(check, field, expr);
            }
        }
        for (i, expr) in def.assert.iter().enumerate() {
            self.expression(check, &format!("assert[{i}]"), expr);
        }
        for (i, outcome) in def.outcomes.iter().enumerate() {
            let field = format!("outcomes[{i}]");
            match outcome.condition() {
                Some((_, cond)) => self.expression(check, &field, cond),
                None => self.report(
                    check,
                    &field,
                    "invalid outcome",
                    "an outcome needs exactly one of `fail`, `warn` or `pass`".into(),
                    None,
                ),
            }
            self.template(check, &format!("{field}.message"), &outcome.message);
        }
        for (name, capture) in &def.capture {
            self.expression(check, &format!("capture.{name}"), capture.expr());
        }
        if let Some(retry) = &def.retry {
            if retry.attempts == 0 {
                self.report(
                    check,
                    "retry.attempts",
                    "bad retry",
                    "attempts must be at least 1".into(),
                    None,
                );
            }
        }
        self.step(check);
    }

    fn step(&mut self, check: &Located<CheckDef>) {
        let kind = &check.def.step.kind;
        let Some(step) = registry::get(kind) else {
            let hint = did_you_mean(kind, registry::all().map(|s| s.name()))
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| "run `greptime-self-test list` to see the step types".into());
            self.report(
                check,
                "step.type",
                "unknown step type",
                format!("`{kind}` is not a step type"),
                Some(hint),
            );
            return;
        };
        let schema = step.params_schema();
        let properties: Vec<&str> = schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let before = self.problems.len();
        for key in check.def.step.with.keys() {
            if !properties.contains(&key.as_str()) {
                let hint = did_you_mean(key, properties.iter().copied())
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| format!("run `greptime-self-test explain {kind}`"));
                self.problems.push(
                    Diagnostic::new(
                        "unknown parameter",
                        format!("`{kind}` has no parameter `{key}`"),
                    )
                    .at(check.key_span(&format!("step.with.{key}")))
                    .with_hint(hint),
                );
            }
        }
        let required = schema
            .get("required")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for name in required.iter().filter_map(Value::as_str) {
            if !check.def.step.with.contains_key(name) {
                self.problems.push(
                    Diagnostic::new(
                        "missing parameter",
                        format!("`{kind}` needs parameter `{name}`"),
                    )
                    .at(check
                        .key_span("step.with")
                        .or_else(|| check.key_span("step")))
                    .with_hint(format!("run `greptime-self-test explain {kind}`")),
                );
            }
        }
        let names_ok = self.problems.len() == before;
        let mut templated = false;
        visit_strings(
            &Value::Object(check.def.step.with.clone()),
            &mut |path, s| {
                templated |= s.contains("{{") || s.contains("{%");
                self.template(check, &format!("step.with{path}"), s);
            },
        );
        if names_ok && !templated {
            if let Err(e) = step.check_params(&Value::Object(check.def.step.with.clone())) {
                self.report(
                    check,
                    "step.with",
                    "invalid parameters",
                    format!("`{kind}`: {e}"),
                    Some(format!("run `greptime-self-test explain {kind}`")),
                );
            }
        }
    }

    fn cycles(&mut self, checks: &[&Located<CheckDef>]) {
        let deps: HashMap<&str, Vec<&str>> = checks
            .iter()
            .map(|c| (c.def.id.as_str(), c.def.order_after().collect()))
            .collect();
        let mut done: HashSet<&str> = HashSet::new();
        for check in checks {
            let mut path = Vec::new();
            if let Some(cycle) = find_cycle(check.def.id.as_str(), &deps, &mut path, &mut done) {
                self.report(
                    *check,
                    "depends_on",
                    "dependency cycle",
                    format!("checks depend on each other: {}", cycle.join(" → ")),
                    Some("remove one of the `depends_on` or `inputs` entries".into()),
                );
                return;
            }
        }
    }
}

fn find_cycle<'a>(
    id: &'a str,
    deps: &HashMap<&'a str, Vec<&'a str>>,
    path: &mut Vec<&'a str>,
    done: &mut HashSet<&'a str>,
) -> Option<Vec<&'a str>> {
    if let Some(pos) = path.iter().position(|p| *p == id) {
        let mut cycle = path[pos..].to_vec();
        cycle.push(id);
        return Some(cycle);
    }
    if done.contains(id) {
        return None;
    }
    path.push(id);
    for dep in deps.get(id).into_iter().flatten() {
        if let Some(cycle) = find_cycle(dep, deps, path, done) {
            return Some(cycle);
        }
    }
    path.pop();
    done.insert(id);
    None
}

/// Calls `f(path, string)` for every string in a parameter tree (`path` like `.a[0].b`).
fn visit_strings(value: &Value, f: &mut impl FnMut(String, &str)) {
    fn walk(value: &Value, path: String, f: &mut impl FnMut(String, &str)) {
        match value {
            Value::String(s) => f(path, s),
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(v, format!("{path}[{i}]"), f);
                }
            }
            Value::Object(map) => {
                for (k, v) in map {
                    walk(v, format!("{path}.{k}"), f);
                }
            }
            _ => {}
        }
    }
    walk(value, String::new(), f);
}
