//! Secret masking, done once, here. Every report, diagnostic, render and log line passes
//! through the [`Masker`] before anyone sees it; reporters never redact on their own.

use std::io::Write;
use std::sync::{Arc, LazyLock, RwLock};

use regex::Regex;
use serde_json::Value;

use super::result::{CheckResult, RunReport};

/// What a masked secret is replaced with.
pub const MASK: &str = "******";

/// Literal secrets shorter than this are not masked verbatim (masking `ab` everywhere would
/// shred the output); URL userinfo and `password=` patterns still catch them.
const MIN_LITERAL_LEN: usize = 4;

/// Where a URL parser may cut a secret pasted into a URL unescaped.
const URL_DELIMITERS: [char; 5] = ['@', ':', '/', '?', '#'];

static URL_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?P<pre>[A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@]*:)(?P<pw>[^@\s/]+)@").expect("regex")
});
static KEYWORD_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?P<pre>\bpassword\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'|[^\s'",;&]+)"#)
        .expect("regex")
});

/// Knows every secret of a run and removes them from text.
#[derive(Default)]
pub struct Masker {
    secrets: RwLock<Vec<String>>,
}

impl Masker {
    /// Learns a secret value (config secret, declared playbook secret, secret capture).
    /// A secret with URL delimiters in it (`p@ss`, pasted unescaped into a connection URL)
    /// is also learnt piece by piece: a URL parser cuts it there and a message may show one
    /// piece alone (`cannot resolve the host of ss@db:5432`).
    pub fn add(&self, secret: &str) {
        let secret = secret.trim();
        let pieces: Vec<&str> = secret.split(URL_DELIMITERS).collect();
        // a secret that is itself a URL is masked whole (its pieces are `https`, host names…)
        if pieces.len() > 1 && !secret.contains("://") {
            for piece in pieces {
                self.add_literal(piece);
            }
        }
        self.add_literal(secret);
    }

    fn add_literal(&self, secret: &str) {
        if secret.chars().count() < MIN_LITERAL_LEN {
            return;
        }
        let mut secrets = self.secrets.write().expect("masker lock");
        if !secrets.iter().any(|s| s == secret) {
            secrets.push(secret.to_string());
            // longest first, so a secret containing another is masked whole
            secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    /// Learns every leaf of a secret value (a secret var or capture may be a list or a map).
    pub(super) fn add_value(&self, value: &Value) {
        match value {
            Value::String(s) => self.add(s),
            Value::Array(items) => items.iter().for_each(|v| self.add_value(v)),
            Value::Object(map) => map.values().for_each(|v| self.add_value(v)),
            // an unset secret is no secret: masking the word `null` would shred every output
            Value::Null => {}
            other => self.add(&other.to_string()),
        }
    }

    /// Returns `text` with every known secret and every password pattern masked.
    pub fn mask(&self, text: &str) -> String {
        let mut out = URL_PASSWORD
            .replace_all(text, format!("${{pre}}{MASK}@"))
            .into_owned();
        out = KEYWORD_PASSWORD
            .replace_all(&out, format!("${{pre}}{MASK}"))
            .into_owned();
        for secret in self.secrets.read().expect("masker lock").iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), MASK);
            }
        }
        out
    }

    /// Masks every string (and key) inside a JSON value.
    pub fn mask_value(&self, value: &mut Value) {
        match value {
            Value::String(s) => *s = self.mask(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.mask_value(v)),
            Value::Object(map) => {
                let entries = std::mem::take(map);
                for (k, mut v) in entries {
                    self.mask_value(&mut v);
                    map.insert(self.mask(&k), v);
                }
            }
            _ => {}
        }
    }

    /// Masks one check result (for a live view, before the report is masked as a whole).
    pub fn mask_result(&self, result: &mut CheckResult) {
        let mut value = serde_json::to_value(&*result).expect("result serializes");
        self.mask_value(&mut value);
        *result = serde_json::from_value(value).expect("masked result deserializes");
    }

    /// Masks a whole report before it reaches the reporters.
    pub fn mask_report(&self, report: &mut RunReport) {
        let mut value = serde_json::to_value(&*report).expect("report serializes");
        self.mask_value(&mut value);
        *report = serde_json::from_value(value).expect("masked report deserializes");
    }
}

/// A `tracing` writer that masks each log line before it reaches stderr.
#[derive(Clone)]
pub struct MaskingStderr(pub Arc<Masker>);

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for MaskingStderr {
    type Writer = MaskedLine;
    fn make_writer(&'a self) -> MaskedLine {
        MaskedLine {
            masker: self.0.clone(),
            buf: Vec::new(),
        }
    }
}

/// One buffered log event; masked and written to stderr on drop.
pub struct MaskedLine {
    masker: Arc<Masker>,
    buf: Vec<u8>,
}

impl Write for MaskedLine {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for MaskedLine {
    fn drop(&mut self) {
        let text = self.masker.mask(&String::from_utf8_lossy(&self.buf));
        let _ = std::io::stderr().write_all(text.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_literals_urls_and_libpq() {
        let m = Masker::default();
        m.add("s3cr3t-canary");
        assert_eq!(m.mask("key=s3cr3t-canary!"), format!("key={MASK}!"));
        assert_eq!(
            m.mask("postgresql://gt:pa%20ss@db:5432/meta"),
            format!("postgresql://gt:{MASK}@db:5432/meta")
        );
        assert_eq!(
            m.mask("host=db user=gt password='a b' dbname=x"),
            format!("host=db user=gt password={MASK} dbname=x")
        );
        assert_eq!(m.mask("mysql://root@h/db"), "mysql://root@h/db");
    }

    #[test]
    fn an_unset_secret_masks_nothing() {
        let m = Masker::default();
        m.add_value(&serde_json::json!({"password": null, "token": "tok-secret-1"}));
        assert_eq!(m.mask("null tok-secret-1"), format!("null {MASK}"));
    }

    #[test]
    fn pieces_of_a_secret_with_url_delimiters_are_masked_too() {
        let m = Masker::default();
        m.add("gst-p@ss-canary");
        assert_eq!(
            m.mask("cannot resolve the host of ss-canary@db:5432"),
            format!("cannot resolve the host of {MASK}@db:5432")
        );
        assert_eq!(m.mask("user gst-p"), format!("user {MASK}"));
        assert_eq!(m.mask("gst-p@ss-canary"), MASK);
        m.add("a@b");
        assert_eq!(m.mask("a@b a b"), "a@b a b", "short pieces stay");
        m.add("https://tok:secret-url-1@example.com");
        assert_eq!(m.mask("https://example.com"), "https://example.com");
    }

    #[test]
    fn short_values_are_not_masked_verbatim() {
        let m = Masker::default();
        m.add("ab");
        assert_eq!(m.mask("table"), "table");
    }

    #[test]
    fn masks_inside_json_keys_and_values() {
        let m = Masker::default();
        m.add("topsecret");
        let mut v = serde_json::json!({"a": ["x topsecret"], "topsecret": 1});
        m.mask_value(&mut v);
        assert_eq!(v, serde_json::json!({"a": [format!("x {MASK}")], MASK: 1}));
    }
}
