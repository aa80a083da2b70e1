//! The serde types of GreptimeDB's option fields, and the check of one value against one type
//! with GreptimeDB's own words for a mismatch. The value is judged as serde sees it on the
//! flatten path of `GreptimeOptions<T>`: by its own type, without config-rs's conversions (a
//! string is no integer, an integer is no duration), except in tables config-rs reads itself.

use serde::de::{Error as _, Unexpected};
use serde_json::Value;

use super::units::parse_size;

/// serde's error type, used only for its messages ("invalid type: …, expected …").
type SerdeError = serde::de::value::Error;

/// What a leaf key holds, as its serde type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Type {
    String,
    Bool,
    Int(Int),
    Float(Float),
    /// `#[serde(with = "humantime_serde")]`: a string such as `"3s"`.
    Duration,
    /// `ReadableSize`: a string such as `"512MB"` or a non-negative integer.
    Size,
    /// `MemoryLimit`: a string, `"unlimited"`, `"50%"` or a size.
    MemoryLimit,
    /// mito's `MemoryThreshold`: `"auto"`, `"unlimited"` or a size.
    MemoryThreshold,
    /// `OnExhaustedPolicy`: `"wait"`, `"wait(<duration>)"`, `"fail"` or `"skip"`.
    ExhaustedPolicy,
    Enum(EnumSpec),
    List(Box<Type>),
    /// A table with free keys (`HashMap<String, T>`).
    Map(Box<Type>),
    Any,
}

/// An integer field and its width.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Int {
    U8,
    U16,
    U32,
    U64,
    Usize,
    I8,
    I16,
    I32,
    I64,
    NonZeroUsize,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Float {
    F32,
    F64,
}

/// A unit-variant enum and its exact spellings.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EnumSpec {
    /// Leaked once when the catalog is built: serde's `unknown_variant` wants `'static` names.
    pub variants: &'static [&'static str],
    /// Read as a `String` first (`try_from = "String"`, `empty_string_as_default`).
    pub from_string: bool,
    /// `""` is accepted and read as the default (`empty_string_as_default`).
    pub empty_is_default: bool,
}

/// Why a value does not fit its type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Mismatch {
    /// Where below the key the bad value is: `""`, `"[1]"` or `".name"`.
    pub at: String,
    /// GreptimeDB's message (serde's words where serde reports it).
    pub message: String,
    /// A correction, e.g. `did you mean `S3`?`.
    pub suggestion: Option<String>,
}

impl Mismatch {
    fn new(message: impl ToString) -> Self {
        Self {
            at: String::new(),
            message: message.to_string(),
            suggestion: None,
        }
    }
}

impl Type {
    /// Reads a type of the catalog notation (`"u64"`, `"list:string"`, `"enum:a|b"`, …).
    pub fn parse(text: &str) -> Result<Type, String> {
        if let Some(inner) = text.strip_prefix("list:") {
            return Ok(Type::List(Box::new(Type::parse(inner)?)));
        }
        if let Some(inner) = text.strip_prefix("map:") {
            return Ok(Type::Map(Box::new(Type::parse(inner)?)));
        }
        for (prefix, from_string) in [("enum:", false), ("enum_str:", true)] {
            if let Some(list) = text.strip_prefix(prefix) {
                let empty_is_default = list.ends_with('|');
                let variants: Vec<&'static str> = list
                    .split('|')
                    .filter(|v| !v.is_empty())
                    .map(|v| &*Box::leak(v.to_owned().into_boxed_str()))
                    .collect();
                if variants.is_empty() || (empty_is_default && !from_string) {
                    return Err(format!("bad enum type `{text}`"));
                }
                return Ok(Type::Enum(EnumSpec {
                    variants: Vec::leak(variants),
                    from_string,
                    empty_is_default,
                }));
            }
        }
        Ok(match text {
            "string" => Type::String,
            "bool" => Type::Bool,
            "u8" => Type::Int(Int::U8),
            "u16" => Type::Int(Int::U16),
            "u32" => Type::Int(Int::U32),
            "u64" => Type::Int(Int::U64),
            "usize" => Type::Int(Int::Usize),
            "i8" => Type::Int(Int::I8),
            "i16" => Type::Int(Int::I16),
            "i32" => Type::Int(Int::I32),
            "i64" => Type::Int(Int::I64),
            "nonzero_usize" => Type::Int(Int::NonZeroUsize),
            "f32" => Type::Float(Float::F32),
            "f64" => Type::Float(Float::F64),
            "duration" => Type::Duration,
            "size" => Type::Size,
            "memory_limit" => Type::MemoryLimit,
            "memory_threshold" => Type::MemoryThreshold,
            "exhausted_policy" => Type::ExhaustedPolicy,
            "any" => Type::Any,
            other => return Err(format!("unknown type `{other}`")),
        })
    }

    /// How the type is written in a fix, e.g. "a duration such as \"3s\"".
    pub fn example(&self) -> String {
        match self {
            Type::String => "a quoted string".into(),
            Type::Bool => "true or false (unquoted)".into(),
            Type::Int(int) => format!("an unquoted whole number that fits {}", int.name()),
            Type::Float(_) => "an unquoted number".into(),
            Type::Duration => "a quoted duration such as \"3s\", \"500ms\" or \"10m\"".into(),
            Type::Size => "a size such as \"512MB\" (binary units) or a byte count".into(),
            Type::MemoryLimit => {
                "a quoted \"unlimited\", percentage such as \"50%\" or size such as \"2GB\"".into()
            }
            Type::MemoryThreshold => "\"auto\", \"unlimited\" or a size such as \"64MB\"".into(),
            Type::ExhaustedPolicy => "\"wait\", \"wait(30s)\" or \"fail\"".into(),
            Type::Enum(spec) => format!("one of {}", quoted(spec.variants)),
            Type::List(inner) => format!("an array of {}", inner.example()),
            Type::Map(inner) => format!("a table of {}", inner.example()),
            Type::Any => "anything".into(),
        }
    }

    /// Checks `value` against this type as serde reads it.
    pub fn check(&self, value: &Value) -> Result<(), Mismatch> {
        match self {
            Type::Any => Ok(()),
            Type::String => deserialize::<String>(value),
            Type::Bool => deserialize::<bool>(value),
            Type::Int(int) => int.check(value),
            Type::Float(Float::F32) => deserialize::<f32>(value),
            Type::Float(Float::F64) => deserialize::<f64>(value),
            Type::Duration => check_duration(value),
            Type::Size => parse_size(value).map(drop).map_err(Mismatch::new),
            Type::MemoryLimit => check_memory_limit(value),
            Type::MemoryThreshold => check_memory_threshold(value),
            Type::ExhaustedPolicy => check_exhausted_policy(value),
            Type::Enum(spec) => spec.check(value),
            Type::List(inner) => match value {
                Value::Array(items) => items.iter().enumerate().try_for_each(|(i, item)| {
                    inner.check(item).map_err(|m| Mismatch {
                        at: format!("[{i}]{}", m.at),
                        ..m
                    })
                }),
                other => Err(invalid_type(other, "a sequence")),
            },
            Type::Map(inner) => match value {
                Value::Object(map) => map.iter().try_for_each(|(key, item)| {
                    inner.check(item).map_err(|m| Mismatch {
                        at: format!(".{key}{}", m.at),
                        ..m
                    })
                }),
                other => Err(invalid_type(other, "a map")),
            },
        }
    }
}

impl Int {
    fn name(self) -> &'static str {
        match self {
            Int::U8 => "u8",
            Int::U16 => "u16",
            Int::U32 => "u32",
            Int::U64 => "u64",
            Int::Usize => "usize",
            Int::I8 => "i8",
            Int::I16 => "i16",
            Int::I32 => "i32",
            Int::I64 => "i64",
            Int::NonZeroUsize => "a nonzero usize",
        }
    }

    fn check(self, value: &Value) -> Result<(), Mismatch> {
        match self {
            Int::U8 => deserialize::<u8>(value),
            Int::U16 => deserialize::<u16>(value),
            Int::U32 => deserialize::<u32>(value),
            Int::U64 => deserialize::<u64>(value),
            Int::Usize => deserialize::<usize>(value),
            Int::I8 => deserialize::<i8>(value),
            Int::I16 => deserialize::<i16>(value),
            Int::I32 => deserialize::<i32>(value),
            Int::I64 => deserialize::<i64>(value),
            Int::NonZeroUsize => deserialize::<std::num::NonZeroUsize>(value),
        }
    }
}

impl EnumSpec {
    fn check(&self, value: &Value) -> Result<(), Mismatch> {
        let Value::String(text) = value else {
            // A derived enum asks for a string (unit variant) or a map (other variants).
            let expected = if self.from_string {
                "a string"
            } else {
                "string or map"
            };
            return Err(invalid_type(value, expected));
        };
        if self.variants.contains(&text.as_str()) || (self.empty_is_default && text.is_empty()) {
            return Ok(());
        }
        let mut mismatch = Mismatch::new(SerdeError::unknown_variant(text, self.variants));
        mismatch.suggestion = suggest(text, self.variants).map(|s| format!("did you mean `{s}`?"));
        Err(mismatch)
    }
}

/// The closest spelling: same letters in another case or with `-` for `_`, else a near miss.
pub(crate) fn suggest(text: &str, variants: &[&'static str]) -> Option<&'static str> {
    let normalize = |s: &str| s.to_lowercase().replace('-', "_");
    variants
        .iter()
        .copied()
        .find(|v| normalize(v) == normalize(text))
        .or_else(|| crate::diag::did_you_mean(text, variants.iter().copied()))
}

fn deserialize<T: serde::de::DeserializeOwned>(value: &Value) -> Result<(), Mismatch> {
    serde_json::from_value::<T>(value.clone())
        .map(drop)
        .map_err(Mismatch::new)
}

/// humantime_serde: a string, parsed by humantime.
fn check_duration(value: &Value) -> Result<(), Mismatch> {
    let Value::String(text) = value else {
        return Err(invalid_type(value, "a duration"));
    };
    humantime::parse_duration(text).map(drop).map_err(|e| {
        let mut mismatch = Mismatch::new(SerdeError::invalid_value(
            Unexpected::Str(text),
            &"a duration",
        ));
        mismatch.suggestion = Some(format!("{e}"));
        mismatch
    })
}

/// `MemoryLimit::from_str` (src/common/base/src/memory_limit.rs).
fn check_memory_limit(value: &Value) -> Result<(), Mismatch> {
    let Value::String(text) = value else {
        return Err(invalid_type(value, "a string"));
    };
    let text = text.trim();
    if text.eq_ignore_ascii_case("unlimited") {
        return Ok(());
    }
    match text.strip_suffix('%') {
        Some(percent) => match percent.trim().parse::<u8>() {
            Ok(p) if p <= 100 => Ok(()),
            Ok(p) => Err(Mismatch::new(format!(
                "percentage must be between 0 and 100, got {p}"
            ))),
            Err(e) => Err(Mismatch::new(format!(
                "invalid percentage value '{percent}': {e}"
            ))),
        },
        None => parse_size(&Value::String(text.to_owned()))
            .map(drop)
            .map_err(Mismatch::new),
    }
}

/// `MemoryThreshold`: the unit variants `auto` and `unlimited`, else an untagged size.
fn check_memory_threshold(value: &Value) -> Result<(), Mismatch> {
    match value {
        Value::String(text) if text == "auto" || text == "unlimited" => Ok(()),
        Value::String(_) | Value::Number(_) if parse_size(value).is_ok() => Ok(()),
        _ => Err(Mismatch::new(
            "data did not match any variant of enum MemoryThreshold (expected `auto`, `unlimited` or a size)",
        )),
    }
}

/// `OnExhaustedPolicy`'s deserializer (src/common/memory-manager/src/policy.rs).
fn check_exhausted_policy(value: &Value) -> Result<(), Mismatch> {
    let Value::String(raw) = value else {
        return Err(invalid_type(value, "a string"));
    };
    let lower = raw.to_ascii_lowercase();
    if matches!(lower.as_str(), "skip" | "fail" | "wait") {
        return Ok(());
    }
    if lower.starts_with("wait(") && lower.ends_with(')') {
        return humantime::parse_duration(&raw[5..raw.len() - 1])
            .map(drop)
            .map_err(Mismatch::new);
    }
    Err(Mismatch::new(format!(
        "invalid memory policy: {raw}, expected wait, wait(<duration>), fail"
    )))
}

/// serde's `invalid type: <what the value is>, expected <what>`.
pub(crate) fn invalid_type(value: &Value, expected: &str) -> Mismatch {
    Mismatch::new(SerdeError::invalid_type(unexpected(value), &expected))
}

/// A value as serde names it in errors.
fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => Unexpected::Unsigned(u),
            (_, Some(i), _) => Unexpected::Signed(i),
            (_, _, f) => Unexpected::Float(f.unwrap_or_default()),
        },
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

/// `` `a`, `b` `` for messages and fixes.
pub(crate) fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn message(ty: &str, value: Value) -> String {
        Type::parse(ty).unwrap().check(&value).unwrap_err().message
    }

    fn ok(ty: &str, value: Value) -> bool {
        Type::parse(ty).unwrap().check(&value).is_ok()
    }

    /// The messages GreptimeDB 1.0 printed for these values (greptimedb.md §10).
    #[test]
    fn messages_are_serdes_own() {
        assert_eq!(
            message("usize", json!(-5)),
            "invalid value: integer `-5`, expected usize"
        );
        assert_eq!(
            message("u64", json!("1")),
            "invalid type: string \"1\", expected u64"
        );
        assert_eq!(
            message("bool", json!("true")),
            "invalid type: string \"true\", expected a boolean"
        );
        assert_eq!(
            message("duration", json!(3)),
            "invalid type: integer `3`, expected a duration"
        );
        assert_eq!(
            message("string", json!(1)),
            "invalid type: integer `1`, expected a string"
        );
        assert_eq!(
            message("list:string", json!({"a": 1})),
            "invalid type: map, expected a sequence"
        );
        assert_eq!(
            message("enum_str:json|text|", json!("jsonn")),
            "unknown variant `jsonn`, expected `json` or `text`"
        );
    }

    #[test]
    fn integers_are_range_checked_and_never_floats() {
        assert_eq!(
            message("u8", json!(300)),
            "invalid value: integer `300`, expected u8"
        );
        assert_eq!(
            message("i16", json!(40000)),
            "invalid value: integer `40000`, expected i16"
        );
        assert_eq!(
            message("usize", json!(8.0)),
            "invalid type: floating point `8.0`, expected usize"
        );
        assert!(message("nonzero_usize", json!(0)).contains("nonzero"));
        assert!(ok("i32", json!(-1)) && ok("u64", json!(u64::MAX)) && ok("f32", json!(8)));
    }

    #[test]
    fn lists_name_the_bad_element() {
        let mismatch = Type::parse("list:string")
            .unwrap()
            .check(&json!(["a:1", 2]))
            .unwrap_err();
        assert_eq!(mismatch.at, "[1]");
        assert_eq!(
            mismatch.message,
            "invalid type: integer `2`, expected a string"
        );
    }

    #[test]
    fn enums_are_exact_with_suggestions() {
        let storage = Type::parse("enum:File|S3|Oss|Azblob|Gcs").unwrap();
        let mismatch = storage.check(&json!("s3")).unwrap_err();
        assert_eq!(
            mismatch.message,
            "unknown variant `s3`, expected one of `File`, `S3`, `Oss`, `Azblob`, `Gcs`"
        );
        assert_eq!(mismatch.suggestion.as_deref(), Some("did you mean `S3`?"));
        let tls = Type::parse("enum:disable|prefer|require|verify_ca|verify_full").unwrap();
        assert_eq!(
            tls.check(&json!("verify-ca"))
                .unwrap_err()
                .suggestion
                .as_deref(),
            Some("did you mean `verify_ca`?")
        );
        assert!(ok("enum_str:json|text|", json!("")));
        assert!(!ok("enum:grpc|http", json!("")));
        assert_eq!(
            message("enum:grpc|http", json!(1)),
            "invalid type: integer `1`, expected string or map"
        );
    }

    #[test]
    fn greptimedb_value_syntaxes() {
        assert!(ok("duration", json!("24hours")) && !ok("duration", json!("3")));
        assert_eq!(
            message("duration", json!("3x")),
            "invalid value: string \"3x\", expected a duration"
        );
        assert!(ok("size", json!("512MB")) && ok("size", json!(1024)));
        assert!(!ok("size", json!("64mb")) && !ok("size", json!(1.5)) && !ok("size", json!(-1)));
        for good in ["unlimited", "UNLIMITED", "50%", "2GB", "0"] {
            assert!(ok("memory_limit", json!(good)), "{good}");
        }
        assert!(!ok("memory_limit", json!("101%")) && !ok("memory_limit", json!(0)));
        for good in [
            json!("auto"),
            json!("unlimited"),
            json!("64MB"),
            json!(1024),
        ] {
            assert!(ok("memory_threshold", good.clone()), "{good}");
        }
        assert!(!ok("memory_threshold", json!("Auto")));
        for good in ["wait", "Fail", "skip", "wait(30s)"] {
            assert!(ok("exhausted_policy", json!(good)), "{good}");
        }
        assert_eq!(
            message("exhausted_policy", json!("retry")),
            "invalid memory policy: retry, expected wait, wait(<duration>), fail"
        );
        assert!(ok("map:string", json!({"k": "v"})) && !ok("map:string", json!({"k": 1})));
    }

    #[test]
    fn notation_errors_are_reported() {
        assert!(Type::parse("u128").is_err());
        assert!(Type::parse("enum:").is_err());
        assert!(Type::parse("enum:a|").is_err(), "only enum_str reads \"\"");
    }
}
