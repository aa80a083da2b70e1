//! Templating and expressions (minijinja) plus JSONPath extraction (jsonpath-rust).
//!
//! Undefined values are errors (strict mode), so a typo'd config key in a playbook fails loudly
//! instead of rendering an empty string. Extra filters make GreptimeDB value syntax comparable
//! as numbers: `"3s" | duration_ms`, `"512MB" | bytes`, `"host:4000" | port`.

use jsonpath_rust::JsonPath;
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior, Value as JValue};
use serde_json::Value;

use crate::config::units;
use crate::notation::endpoint;

/// The template environment shared by every playbook.
pub struct Templates {
    env: Environment<'static>,
}

impl Default for Templates {
    fn default() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.add_filter("duration_ms", |v: String| -> Result<f64, Error> {
            units::parse_duration(&v)
                .map(|d| d.as_secs_f64() * 1000.0)
                .map_err(|e| Error::new(ErrorKind::InvalidOperation, e))
        });
        env.add_filter("seconds", |v: String| -> Result<f64, Error> {
            units::parse_duration(&v)
                .map(|d| d.as_secs_f64())
                .map_err(|e| Error::new(ErrorKind::InvalidOperation, e))
        });
        env.add_filter("bytes", |v: JValue| -> Result<u64, Error> {
            let json = serde_json::to_value(&v)
                .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))?;
            units::parse_size(&json).map_err(|e| Error::new(ErrorKind::InvalidOperation, e))
        });
        env.add_filter("host", |v: String| endpoint::host_of(&v));
        env.add_filter("port", |v: String| -> Result<u16, Error> {
            endpoint::port_of(&v)
                .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, format!("no port in `{v}`")))
        });
        env.add_filter("endpoint", |v: String| -> Result<String, Error> {
            endpoint::endpoint_of(&v)
                .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, format!("no host in `{v}`")))
        });
        Self { env }
    }
}

impl Templates {
    /// Checks template syntax; the error names the line inside the template.
    pub fn check_template(&self, source: &str) -> Result<(), Error> {
        self.env.template_from_str(source).map(drop)
    }

    /// Checks expression syntax.
    pub fn check_expression(&self, source: &str) -> Result<(), Error> {
        self.env.compile_expression(source).map(drop)
    }

    /// Renders a template string to a string.
    pub fn render(&self, source: &str, ctx: &JValue) -> Result<String, Error> {
        self.env.render_str(source, ctx)
    }

    /// Evaluates an expression to a JSON value (undefined becomes `None`).
    pub fn eval(&self, expr: &str, ctx: &JValue) -> Result<Option<Value>, Error> {
        let value = self.env.compile_expression(expr)?.eval(ctx)?;
        if value.is_undefined() {
            return Ok(None);
        }
        serde_json::to_value(&value)
            .map(Some)
            .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))
    }

    /// Evaluates a condition with Jinja truthiness.
    pub fn truthy(&self, expr: &str, ctx: &JValue) -> Result<bool, Error> {
        Ok(self.env.compile_expression(expr)?.eval(ctx)?.is_true())
    }

    /// Renders a parameter tree: strings are templates; a string that is one `{{ expr }}`
    /// keeps the type of the expression's value.
    pub fn render_value(&self, value: &Value, ctx: &JValue) -> Result<Value, Error> {
        Ok(match value {
            Value::String(s) => match sole_expression(s) {
                Some(expr) => self.eval(expr, ctx)?.unwrap_or(Value::Null),
                None => Value::String(self.render(s, ctx)?),
            },
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.render_value(v, ctx))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), self.render_value(v, ctx)?)))
                    .collect::<Result<_, Error>>()?,
            ),
            other => other.clone(),
        })
    }
}

/// `"{{ expr }}"` → `Some("expr")` when the whole string is one expression.
/// [`SOLE_EXPRESSION_PATTERN`] says the same to a JSON Schema validator.
pub fn sole_expression(s: &str) -> Option<&str> {
    let inner = s.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}") && !inner.contains("{%")).then(|| inner.trim())
}

/// The strings [`sole_expression`] accepts, as a regular expression without look-around (the
/// playbook schema's `TemplateExpression`; ECMA-262, Python and Rust read it alike): `{{`, then
/// text free of `{{`, `}}` and `{%`, then `}}`, with whitespace around. The text is plain
/// characters and runs of alternating braces (`}`, `{}`, `}{`…); a run ending in `{` is
/// followed by neither `%` nor another brace.
pub const SOLE_EXPRESSION_PATTERN: &str = concat!(
    r"^\s*\{\{",
    r"[^{}]*(?:(?:\{?(?:\}\{)*\}[^{}]|\}?(?:\{\})*\{[^{}%])[^{}]*)*",
    r"(?:\{?(?:\}\{)*\}|\}?(?:\{\})*\{)?",
    r"\}\}\s*$"
);

/// Runs a JSONPath query on the config.
pub fn query(doc: &Value, path: &str) -> Result<Vec<Value>, String> {
    doc.query(path)
        .map(|found| found.into_iter().cloned().collect())
        .map_err(|e| e.to_string())
}

/// Checks JSONPath syntax.
pub fn check_jsonpath(path: &str) -> Result<(), String> {
    jsonpath_rust::parser::parse_json_path(path)
        .map(drop)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_make_units_comparable() {
        let t = Templates::default();
        let ctx = JValue::from_serialize(serde_json::json!({"t": "3s", "addr": "10.0.0.1:3002"}));
        assert_eq!(
            t.eval("t | duration_ms", &ctx).unwrap(),
            Some(3000.0.into())
        );
        assert!(t.truthy("(t | seconds) > 2", &ctx).unwrap());
        assert_eq!(t.render("{{ addr | port }}", &ctx).unwrap(), "3002");
        assert_eq!(t.render("{{ addr | host }}", &ctx).unwrap(), "10.0.0.1");
    }

    /// The filters are `notation::endpoint`'s functions (tested there); these are the cases
    /// that changed when they moved there.
    #[test]
    fn address_filters_read_every_form() {
        let t = Templates::default();
        let ctx = JValue::from_serialize(serde_json::json!({
            "pg": "postgres://u:p@h:5432/db",
            "v6": "[::1]:2379",
            "url6": "http://[::1]:2379",
            "multi": "postgresql://h1:1,h2:2/db",
            "kw": "host = db port=6432 password='a b'",
        }));
        let render = |source: &str| t.render(source, &ctx).unwrap();
        // was `u:p@h`
        assert_eq!(render("{{ pg | host }}"), "h");
        assert_eq!(render("{{ pg | port }}"), "5432");
        assert_eq!(render("{{ v6 | host }}:{{ v6 | port }}"), "::1:2379");
        assert_eq!(
            render("{{ url6 | host }} {{ url6 | endpoint }}"),
            "::1 [::1]:2379"
        );
        // was `h1:1,h2:2`
        assert_eq!(render("{{ multi | endpoint }}"), "h1:1");
        // was an error (`host = db` spaced)
        assert_eq!(render("{{ kw | endpoint }}"), "db:6432");
        assert!(t.render("{{ 'https://s3' | port }}", &ctx).is_err());
        assert!(t.render("{{ 'user=u' | endpoint }}", &ctx).is_err());
    }

    #[test]
    fn sole_expression_keeps_type() {
        let t = Templates::default();
        let ctx = JValue::from_serialize(serde_json::json!({"addrs": ["a:1", "b:2"]}));
        let v = t
            .render_value(
                &serde_json::json!({"x": "{{ addrs }}", "y": "n={{ addrs | length }}"}),
                &ctx,
            )
            .unwrap();
        assert_eq!(v, serde_json::json!({"x": ["a:1", "b:2"], "y": "n=2"}));
    }

    /// The pattern and the function agree on every string of up to 7 characters over the
    /// characters that matter, and on a few longer ones.
    #[test]
    fn sole_expression_pattern_matches_the_function() {
        let re = regex::Regex::new(SOLE_EXPRESSION_PATTERN).unwrap();
        let alphabet = ['{', '}', '%', ' ', 'a', '\n'];
        let mut strings = vec![String::new()];
        let mut frontier = vec![String::new()];
        for _ in 0..7 {
            frontier = frontier
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            strings.extend(frontier.iter().cloned());
        }
        strings.extend(
            [
                "{{ config.store_addrs }}",
                "  {{ vars.a | default({'x': 1}) }}\n",
                "{{ {'a': 1}}}",
                "{{ a }} and {{ b }}",
                "x{{ a }}",
                "{% if a %}{{ a }}{% endif %}",
                "{{ '}}' }}",
            ]
            .map(String::from),
        );
        for s in &strings {
            assert_eq!(
                re.is_match(s),
                sole_expression(s).is_some(),
                "{s:?}: pattern and sole_expression disagree"
            );
        }
    }

    #[test]
    fn undefined_is_an_error() {
        let t = Templates::default();
        let ctx = JValue::from_serialize(serde_json::json!({"config": {}}));
        assert!(t.render("{{ config.nope.deeper }}", &ctx).is_err());
    }

    #[test]
    fn jsonpath_queries_and_syntax() {
        let doc = serde_json::json!({"meta_client": {"metasrv_addrs": ["a:1"]}});
        assert_eq!(
            query(&doc, "$.meta_client.metasrv_addrs").unwrap(),
            vec![serde_json::json!(["a:1"])]
        );
        assert!(check_jsonpath("$.a[").is_err());
    }
}
