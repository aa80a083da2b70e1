//! serde_yaml's errors as diagnostics: an unknown field names its path in the resource and the
//! field it probably meant; a wrong type names the path and the expected type.

use regex::Regex;
use std::sync::LazyLock;

use crate::diag::{did_you_mean, Diagnostic, SourceFile};

/// A document that is not YAML.
pub fn yaml_syntax(name: &str, text: &str, e: &serde_yaml::Error) -> Diagnostic {
    let source = super::documents::quoting_source(name, text);
    let span = e
        .location()
        .map(|l| source.span_at(l.line(), l.column(), 1));
    Diagnostic::new(
        "cannot read the input as YAML",
        strip_location(&e.to_string()),
    )
    .at(span)
}

/// `spec.frontend: unknown field `replica`, expected one of …` → the field's path and a
/// suggestion.
pub fn field_error(e: &serde_yaml::Error, source: &SourceFile, origin: &str) -> Diagnostic {
    static SHAPE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(?:(?P<path>[^\s:]+): )?(?P<msg>.*)$").expect("valid regex")
    });
    static UNKNOWN: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^unknown (?P<what>field|variant) `(?P<name>[^`]*)`, (?P<rest>.*)$")
            .expect("valid regex")
    });
    let span = e
        .location()
        .map(|l| source.span_at(l.line(), l.column(), 1));
    let text = strip_location(&e.to_string());
    let caps = SHAPE.captures(&text).expect("matches any text");
    let path = caps.name("path").map_or("", |m| m.as_str());
    let msg = caps.name("msg").map_or("", |m| m.as_str());
    let Some(unknown) = UNKNOWN.captures(msg) else {
        let at = if path.is_empty() {
            String::new()
        } else {
            format!("`{path}`: ")
        };
        return Diagnostic::new("invalid GreptimeDBCluster", format!("{origin}: {at}{msg}"))
            .at(span)
            .with_hint(
                "the field's type is the operator's (greptime.io/v1alpha1); see docs/kubernetes.md",
            );
    };
    let name = &unknown["name"];
    let expected = expected_names(&unknown["rest"]);
    let suggestion = did_you_mean(name, expected.iter().map(String::as_str));
    if &unknown["what"] == "variant" {
        let hint = match suggestion {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("write one of {}", quoted(&expected)),
        };
        return Diagnostic::new(
            "invalid value in GreptimeDBCluster",
            format!("{origin}: `{path}` cannot be `{name}`"),
        )
        .at(span)
        .with_hint(hint);
    }
    let full = if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    };
    let hint = match suggestion {
        Some(s) => format!("did you mean `{s}`?"),
        None if expected.is_empty() => "remove it".to_string(),
        None => format!(
            "the fields here are {}; see \"What is rendered\" in docs/kubernetes.md",
            quoted(&expected)
        ),
    };
    Diagnostic::new(
        "unknown field in GreptimeDBCluster",
        format!(
            "{origin}: `{full}` is not a field of greptime.io/v1alpha1 (operator {}); the API \
             server would drop it and the operator would never see it",
            super::rendered::OPERATOR_VERSION
        ),
    )
    .at(span)
    .with_hint(hint)
}

/// The backticked names after `expected`: "expected one of `a`, `b`" or "expected `a`".
fn expected_names(rest: &str) -> Vec<String> {
    rest.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// serde_yaml appends ` at line L column C`; the span carries that.
fn strip_location(text: &str) -> String {
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_lists_are_read_from_serde_messages() {
        assert_eq!(
            expected_names("expected one of `replicas`, `config`"),
            ["replicas", "config"]
        );
        assert_eq!(expected_names("expected `name`"), ["name"]);
        assert!(expected_names("there are no fields").is_empty());
    }
}
