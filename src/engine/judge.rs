//! Judging: how one attempt's end becomes a check result (status, message, hint, metrics) and
//! the check's captures, by the check's `assert`, `outcomes`, `message` and `hint`; and the
//! results of checks that did not run (skipped, or broken before their step).

use minijinja::Value as JValue;
use serde_json::{Map, Value};

use super::attempt::AttemptEnd;
use super::result::{CheckResult, Status};
use super::runner::Runner;
use crate::playbook::model::{CheckDef, OutcomeKind};
use crate::plugins::ErrorKind;

impl Runner<'_> {
    /// A result of `def` before any attempt; judging or the caller fills in the rest.
    pub(super) fn base_result(
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

    pub(super) fn skipped(
        &self,
        def: &CheckDef,
        cleanup: bool,
        title: &str,
        reason: String,
    ) -> CheckResult {
        // a title that needs `item` cannot be rendered before fan-out: its text with `…` for
        // each expression names it then (or the id, when nothing but expressions is left)
        let title = self
            .templates
            .render(title, &self.scope.context(None, None))
            .unwrap_or_else(|_| title_skeleton(title).unwrap_or_else(|| def.id.clone()));
        self.base_result(def, cleanup, &title, Status::Skipped, reason)
    }

    pub(super) fn broken(
        &self,
        def: &CheckDef,
        cleanup: bool,
        title: &str,
        message: String,
    ) -> CheckResult {
        self.base_result(def, cleanup, title, Status::Error, message)
    }

    /// Turns an attempt's end into status, message, hint and metrics; returns captures.
    pub(super) fn judge(
        &self,
        def: &CheckDef,
        end: AttemptEnd,
        item: Option<&Value>,
        result: &mut CheckResult,
    ) -> Map<String, Value> {
        let templates = &self.templates;
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
                if let Some(silence) = e.silence {
                    result
                        .metrics
                        .insert("no_answer".into(), silence.as_str().into());
                }
                return Map::new();
            }
            AttemptEnd::TimedOut(t) => {
                result.status = Status::Fail;
                result.message = format!(
                    "no answer within {} (the check's `timeout`)",
                    crate::plugins::human(t)
                );
                result.hint = render_hint(&plain_ctx, Some("the step was still waiting when the check's `timeout` ran out: the dependency answered at first but is slow or stuck part-way (see its health and logs); raise the check's `timeout` if it is only slow"));
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
                    .insert("error_kind".into(), ErrorKind::Interrupted.as_str().into());
                return Map::new();
            }
            AttemptEnd::Crashed(e) => {
                result.status = Status::Error;
                result.message = format!("step crashed: {e}");
                result
                    .metrics
                    .insert("error_kind".into(), ErrorKind::Internal.as_str().into());
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
                        self.masker.add_value(&value);
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
