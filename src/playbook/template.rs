//! Templating and expressions (minijinja) plus JSONPath extraction (jsonpath-rust).
//!
//! Undefined values are errors (strict mode), so a typo'd config key in a playbook fails loudly
//! instead of rendering an empty string. Extra filters make GreptimeDB value syntax comparable
//! as numbers: `"3s" | duration_ms`, `"512MB" | bytes`, `"host:4000" | port`.

use jsonpath_rust::JsonPath;
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior, Value as JValue};
use serde_json::Value;

use crate::config::units;

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
        env.add_filter("host", |v: String| split_host_port(&v).0);
        env.add_filter("port", |v: String| -> Result<u16, Error> {
            split_host_port(&v)
                .1
                .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, format!("no port in `{v}`")))
        });
        env.add_filter("endpoint", |v: String| -> Result<String, Error> {
            endpoint(&v)
                .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, format!("no host in `{v}`")))
        });
        Self { env }
    }
}

/// `host:port` of an address written as `host:port`, a URL (`https://h`, `postgres://u:p@h/db`)
/// or a libpq keyword string (`host=h port=5433 …`); ports default by scheme.
fn endpoint(addr: &str) -> Option<String> {
    let addr = addr.trim();
    if addr.contains('=') && !addr.contains("://") {
        let field = |key: &str| {
            addr.split_whitespace()
                .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
                .map(|v| v.trim_matches('\''))
        };
        let host = field("host").or_else(|| field("hostaddr"))?;
        return Some(format!("{host}:{}", field("port").unwrap_or("5432")));
    }
    let (scheme, rest) = addr.split_once("://").unwrap_or(("", addr));
    let authority = rest.split(['/', '?']).next()?;
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if authority.is_empty() {
        return None;
    }
    if let (_, Some(_)) = split_host_port(authority) {
        return Some(authority.to_string());
    }
    let port = match scheme {
        "https" => 443,
        "postgres" | "postgresql" => 5432,
        "mysql" => 3306,
        _ => 80,
    };
    Some(format!("{authority}:{port}"))
}

/// Splits `host:port` (also `[v6]:port` and `scheme://host:port/path`).
fn split_host_port(addr: &str) -> (String, Option<u16>) {
    let addr = addr.split_once("://").map_or(addr, |(_, rest)| rest);
    let addr = addr.split('/').next().unwrap_or(addr);
    match addr.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => (
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port.parse().ok(),
        ),
        _ => (addr.to_string(), None),
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
pub fn sole_expression(s: &str) -> Option<&str> {
    let inner = s.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}") && !inner.contains("{%")).then(|| inner.trim())
}

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

    #[test]
    fn endpoint_from_every_address_form() {
        assert_eq!(endpoint("10.0.0.1:2379").as_deref(), Some("10.0.0.1:2379"));
        assert_eq!(
            endpoint("https://s3.amazonaws.com").as_deref(),
            Some("s3.amazonaws.com:443")
        );
        assert_eq!(
            endpoint("http://127.0.0.1:9000/bucket").as_deref(),
            Some("127.0.0.1:9000")
        );
        assert_eq!(
            endpoint("postgresql://u:p@db:5433/meta?x=1").as_deref(),
            Some("db:5433")
        );
        assert_eq!(endpoint("mysql://u:p@db/meta").as_deref(), Some("db:3306"));
        assert_eq!(
            endpoint("host=db port=6432 user=u password=p").as_deref(),
            Some("db:6432")
        );
        assert_eq!(endpoint("host=db user=u").as_deref(), Some("db:5432"));
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
