//! Judging: how one attempt's end becomes a check result (status, message, hint, metrics) and
//! the check's captures, by the check's `assert`, `outcomes`, `message` and `hint`; and the
//! results of checks that did not run (skipped, or broken before their step).

use minijinja::Value as JValue;
use serde_json::{Map, Value};

use super::attempt::AttemptEnd;
use super::result::{CheckResult, Skip, Status};
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
            key: None,
            doc: None,
            step: def.step.kind.clone(),
            cleanup,
            duration_ms: 0.0,
            attempts: 0,
            metrics: Map::new(),
            details: Vec::new(),
            skip: None,
        }
    }

    pub(super) fn skipped(
        &self,
        def: &CheckDef,
        cleanup: bool,
        title: &str,
        reason: String,
        skip: Skip,
    ) -> CheckResult {
        // a title that needs `item` (or a var this config leaves undefined) cannot be rendered
        // before fan-out: the words that can be shown name it then (or the id, when none is)
        let ctx = self.scope.context(None, None);
        let title = self.templates.render(title, &ctx).unwrap_or_else(|_| {
            title_skeleton(title, |expr| self.templates.render(expr, &ctx).ok())
                .unwrap_or_else(|| def.id.clone())
        });
        CheckResult {
            skip: Some(skip),
            ..self.base_result(def, cleanup, &title, Status::Skipped, reason)
        }
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
            // the step's own hint is the specific fix; the playbook's says why it matters
            match (own, extra) {
                (Some(a), Some(b)) if a != b => Some(format!("{b}\n{a}")),
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
        // a warning's hint is its outcome's own: the check's `hint` is written for its failure
        result.hint = match status {
            Status::Pass => None,
            Status::Warn => hint,
            _ => hint.or_else(|| render_hint(&ctx, None)),
        };
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

/// The words of `title` that can be shown without what is missing: each `{{ … }}` expression
/// that `render` can render is kept, the others are dropped with any word left as bare
/// punctuation (`listen address {{ item.key }} = … can be bound` → `listen address can be
/// bound`); `{% … %}` tags are dropped. `None` when no word is left.
fn title_skeleton(title: &str, render: impl Fn(&str) -> Option<String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = title;
    while let Some(start) = rest.find('{') {
        let (open, close, keep) = match rest[start..].get(..2) {
            Some("{{") => ("{{", "}}", true),
            Some("{%") => ("{%", "%}", false),
            _ => {
                out.push_str(&rest[..=start]);
                rest = &rest[start + 1..];
                continue;
            }
        };
        out.push_str(&rest[..start]);
        let end = rest[start + open.len()..].find(close)?;
        let whole = &rest[start..start + open.len() + end + close.len()];
        if keep {
            // a missing value leaves a mark that is dropped below with the punctuation around it
            out.push_str(&render(whole).unwrap_or_else(|| "\u{1}".into()));
        }
        rest = &rest[whole.len() + start..];
    }
    out.push_str(rest);
    let tokens: Vec<&str> = out.split_whitespace().collect();
    let missing = |i: usize| tokens.get(i).is_some_and(|t| t.contains('\u{1}'));
    let words: Vec<&str> = (0..tokens.len())
        .filter(|&i| {
            let bare = !tokens[i].chars().any(char::is_alphanumeric);
            !missing(i) && !(bare && (missing(i + 1) || (i > 0 && missing(i - 1))))
        })
        .map(|i| tokens[i])
        .collect();
    words
        .iter()
        .any(|w| w.chars().any(char::is_alphanumeric))
        .then(|| words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::title_skeleton;

    #[test]
    fn skeletons_keep_the_words_that_do_not_need_what_is_missing() {
        let render = |expr: &str| (expr == "{{ known }}").then(|| "K".to_string());
        let skeleton = |t: &str| title_skeleton(t, render);
        assert_eq!(
            skeleton("listen address {{ item.key }} = {{ item.address }} can be bound").as_deref(),
            Some("listen address can be bound")
        );
        assert_eq!(
            skeleton("metasrv HTTP {{ vars.addr }} is healthy").as_deref(),
            Some("metasrv HTTP is healthy")
        );
        assert_eq!(
            skeleton("{{ known }} store {{ item.name }}/x probe").as_deref(),
            Some("K store probe")
        );
        assert_eq!(
            skeleton("{% if item %}store {{ item.name }}{% endif %} probe").as_deref(),
            Some("store probe")
        );
        assert_eq!(skeleton("{{ item.title }}"), None);
        assert_eq!(skeleton("broken {{ item"), None);
        assert_eq!(skeleton("a { b }").as_deref(), Some("a { b }"));
    }
}
