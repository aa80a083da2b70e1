//! GreptimeDB value syntax: humantime durations and binary-unit sizes. (Stub.)

use std::time::Duration;

/// Parses a humantime duration such as `3s`, `500ms` or `24hours`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| format!("invalid duration `{text}`: {e}"))
}

/// Parses a size: a string in binary units (`512MB` = 512 MiB) or a bare integer of bytes.
pub fn parse_size(value: &serde_json::Value) -> Result<u64, String> {
    match value {
        serde_json::Value::Number(n) => n.as_u64().ok_or_else(|| format!("invalid size {n}")),
        other => Err(format!("invalid size {other}")),
    }
}
