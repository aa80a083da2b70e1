//! The playbook format (version 1), as serde types. `schemas/playbook.schema.json` is generated
//! from these types; doc comments become the schema descriptions editors show.

use std::fmt;
use std::time::Duration;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::config::{units, Component};

/// The playbook format version this build understands.
pub const FORMAT_VERSION: u32 = 1;

/// Per-attempt timeout of a check without `timeout`.
pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause between attempts of a `retry` without `delay`.
pub const DEFAULT_RETRY_DELAY: Duration = Duration::from_secs(1);

/// A playbook: variables extracted from the component config, and checks that use them.
///
/// Every string in `title`, `message`, `hint`, `doc` and `step.with` is a minijinja template;
/// `when`, `for_each`, `assert`, outcome conditions and captures are minijinja expressions.
/// Templates see `config` (the effective component config), `component`, `run_id`, `vars`,
/// `checks` (captures of finished checks: `checks.<id>.<name>`, a list for fanned-out checks)
/// and `item` inside a `for_each`. Conditions and messages evaluated after the step also see
/// every field of the step output at top level (and as `output`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Playbook {
    /// Format version; must be 1.
    pub version: u32,
    /// Short name, used in report names and JUnit classnames (`greptime.<component>.<name>`).
    pub name: String,
    /// The GreptimeDB component whose config this playbook reads. Fragments leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<Component>,
    /// What the playbook proves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Fragments whose vars, checks and cleanup are added before this playbook's own. A name
    /// without `/` or `.yaml` is a built-in fragment (`checks/fragments/<name>.yaml`); anything
    /// else is a path relative to this file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// Named values, evaluated in order; later vars may use earlier ones.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub vars: IndexMap<String, VarDef>,
    /// Facts for the report header, e.g. `backend: "{{ config.backend }}"`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub summary: IndexMap<String, String>,
    /// Expressions whose values are secret: masked in every output, like config secrets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
    /// The checks, run concurrently where their dependencies allow.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckDef>,
    /// Checks that always run after all others, even after a failure or Ctrl-C.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cleanup: Vec<CheckDef>,
}

/// A variable: exactly one of `jsonpath`, `expr` or `value`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VarDef {
    /// JSONPath into the effective config, e.g. `$.meta_client.metasrv_addrs`. One match gives
    /// that value; several give a list (or always a list with `all: true`); none gives
    /// `default`, or leaves the var undefined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jsonpath: Option<String>,
    /// A minijinja expression, e.g. `config.storage.type == "File"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expr: Option<String>,
    /// A literal value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// With `jsonpath`: always yield a list of all matches.
    #[serde(default)]
    pub all: bool,
    /// Used when the JSONPath matches nothing or the expression is undefined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// Mask this value in every output.
    #[serde(default)]
    pub secret: bool,
}

/// One check: a step, when and how often to run it, and how to judge its output.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckDef {
    /// Unique id (letters, digits, `_`); other checks refer to it in `depends_on` and `checks.<id>`.
    pub id: String,
    /// Human title (template), unique per instance, e.g. `metasrv {{ item }} reachable`.
    pub title: String,
    /// The step to run.
    pub step: StepDef,
    /// Run only when this expression is true; otherwise the check is reported skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// The config key this check judges (templated), named in the report's summary line of a
    /// failure or warning, e.g. `meta_client.metasrv_addrs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Ids of checks that must pass (or warn) first; otherwise this one is skipped with the reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// Ids of checks that probe this check's inputs (e.g. each endpoint of a cluster): this one
    /// runs after them, and is skipped when every instance of them failed, because their
    /// failures already report the cause (one cause, one report).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<String>,
    /// An expression giving a list: one instance of the check per element, bound to `item`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_each: Option<String>,
    /// Run the `for_each` instances one after another instead of concurrently (e.g. directory
    /// probes that may create nested directories).
    #[serde(default)]
    pub serial: bool,
    /// Per-attempt timeout (humantime, default 10s). A hung server can never hang the run.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_duration",
        serialize_with = "ser_opt_duration"
    )]
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Duration>,
    /// How long the step waits for its dependency's first answer (humantime; default: the
    /// run's `--answer-timeout`, 5s). A dependency that accepts and never answers, or drops the
    /// packets, is judged after it, never after library retries.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_duration",
        serialize_with = "ser_opt_duration"
    )]
    #[schemars(with = "Option<String>")]
    pub answer_timeout: Option<Duration>,
    /// Retry a failing attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
    /// Expressions over the output that must all be true; the first false one fails the check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assert: Vec<String>,
    /// Ordered outcomes; the first whose condition is true decides the status and message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outcomes: Vec<Outcome>,
    /// Message when the check passes (template over the output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// What to change when the check does not pass (template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Documentation link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// Values taken from the output for later checks: `name: expression` or `{expr, secret}`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub capture: IndexMap<String, Capture>,
}

/// The typed part of a check: the step type and its parameters.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepDef {
    /// Step type, e.g. `net.tcp_connect` (`greptime-self-test list` shows them all).
    #[serde(rename = "type")]
    pub kind: String,
    /// Parameters of the step type (`greptime-self-test explain <type>`); strings are templates.
    /// A string that is a single `{{ expression }}` keeps the expression's type (list, number…).
    #[serde(default)]
    pub with: Map<String, Value>,
}

/// Retry policy of a check.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    /// Total attempts, at least 1.
    pub attempts: u32,
    /// Pause between attempts (humantime, default 1s).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_duration",
        serialize_with = "ser_opt_duration"
    )]
    #[schemars(with = "Option<String>")]
    pub delay: Option<Duration>,
}

/// One ordered outcome: exactly one of `fail`, `warn` or `pass` holds the condition.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    /// Condition that makes the check fail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail: Option<String>,
    /// Condition that makes the check warn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn: Option<String>,
    /// Condition that makes the check pass (stops further outcomes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass: Option<String>,
    /// Message for this outcome (template over the output), e.g. `p99 {{ p99_ms }}ms > 200ms`.
    pub message: String,
    /// Hint for this outcome; defaults to the check's hint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// A capture: an expression, or an expression marked secret.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Capture {
    /// An expression over the output.
    Expr(String),
    /// An expression over the output whose value is masked in every output.
    Detailed {
        expr: String,
        #[serde(default)]
        secret: bool,
    },
}

impl Capture {
    pub fn expr(&self) -> &str {
        match self {
            Capture::Expr(e) | Capture::Detailed { expr: e, .. } => e,
        }
    }
    pub fn is_secret(&self) -> bool {
        matches!(self, Capture::Detailed { secret: true, .. })
    }
}

/// Which status an outcome sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeKind {
    Fail,
    Warn,
    Pass,
}

impl CheckDef {
    /// The checks this one waits for: its `depends_on`, then its `inputs`.
    pub fn order_after(&self) -> impl Iterator<Item = &str> {
        self.depends_on
            .iter()
            .chain(&self.inputs)
            .map(String::as_str)
    }
}

impl Outcome {
    /// The outcome's kind and condition, or `None` when not exactly one is set.
    pub fn condition(&self) -> Option<(OutcomeKind, &str)> {
        match (&self.fail, &self.warn, &self.pass) {
            (Some(c), None, None) => Some((OutcomeKind::Fail, c)),
            (None, Some(c), None) => Some((OutcomeKind::Warn, c)),
            (None, None, Some(c)) => Some((OutcomeKind::Pass, c)),
            _ => None,
        }
    }
}

/// Reads an optional humantime duration (`10s`, `500ms`). It is parsed while the YAML scalar
/// is being read, so a bad one is reported at its own line and column with its path
/// (`checks[0].timeout`); parsed after reading, it would point at the enclosing check.
fn de_opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    struct Text;
    impl<'de> Visitor<'de> for Text {
        type Value = Option<Duration>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a duration such as `10s` or `500ms`")
        }
        fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
            units::parse_duration(text).map(Some).map_err(E::custom)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(self)
        }
    }
    d.deserialize_option(Text)
}

/// Writes a duration back as the humantime text it was read from (`10s`, `1m 30s`).
fn ser_opt_duration<S: Serializer>(value: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(d) => s.serialize_str(&humantime::format_duration(*d).to_string()),
        None => s.serialize_none(),
    }
}
