//! GreptimeDB value syntax: humantime durations and `ReadableSize` sizes.

use std::time::Duration;

use serde_json::Value;

/// Parses a humantime duration such as `3s`, `500ms`, `24hours` or `90d`, as `humantime_serde`
/// does for GreptimeDB's `Duration` fields. A bare `0` is accepted; other bare numbers are not.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("invalid duration `{text}`: {e}"))
}

/// Parses a size as GreptimeDB's `ReadableSize` deserializer does: a non-negative integer is a
/// byte count; a string is a number (decimals and exponents allowed) followed by a
/// case-sensitive binary unit, `B`, `K`/`KB`/`KiB`, `M`/`MB`/`MiB`, `G…`, `T…` or `P…`
/// (`"512MB"` = 512 MiB), or no unit for bytes. Floats and other types are rejected. Errors are
/// GreptimeDB's own messages.
pub fn parse_size(value: &Value) -> Result<u64, String> {
    match value {
        Value::Number(n) if n.as_u64().is_some() => Ok(n.as_u64().unwrap_or_default()),
        Value::Number(n) if n.is_i64() => {
            Err(format!("invalid value: integer `{n}`, expected valid size"))
        }
        Value::String(text) => parse_size_text(text),
        other => Err(super::types::invalid_type(other, "valid size").message),
    }
}

/// `ReadableSize::from_str` (`src/common/base/src/readable_size.rs`).
fn parse_size_text(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(format!("{text:?} is not a valid size."));
    }
    if !trimmed.is_ascii() {
        return Err(format!("ASCII string is expected, but got {text:?}"));
    }
    let number_len = trimmed
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+')))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(number_len);
    let multiplier: u64 = match unit.trim() {
        "" | "B" => 1,
        "K" | "KB" | "KiB" => 1 << 10,
        "M" | "MB" | "MiB" => 1 << 20,
        "G" | "GB" | "GiB" => 1 << 30,
        "T" | "TB" | "TiB" => 1 << 40,
        "P" | "PB" | "PiB" => 1 << 50,
        _ => {
            return Err(format!(
                "only B, KB, KiB, MB, MiB, GB, GiB, TB, TiB, PB, and PiB are supported: {text:?}"
            ))
        }
    };
    let count: f64 = number
        .parse()
        .map_err(|_| format!("invalid size string: {text:?}"))?;
    // The same saturating float-to-integer conversion as GreptimeDB.
    Ok((count * multiplier as f64) as u64)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const KIB: u64 = 1 << 10;
    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;
    const PIB: u64 = 1 << 50;

    #[test]
    fn durations_follow_humantime() {
        let cases = [
            ("3s", 3),
            ("500ms", 0),
            ("24hours", 86_400),
            ("90d", 7_776_000),
            ("1h 30m", 5_400),
            ("0", 0),
        ];
        for (text, secs) in cases {
            assert_eq!(parse_duration(text).unwrap().as_secs(), secs, "{text}");
        }
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        for bad in ["3", "", "3 parsecs", "fast"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes_use_binary_units() {
        let cases = [
            (json!("512MB"), 512 * MIB),
            (json!("512MiB"), 512 * MIB),
            (json!("1.5GB"), 3 * GIB / 2),
            (json!("0.5 PiB"), PIB / 2),
            (json!("1500KiB"), 1500 * KIB),
            (json!("64K"), 64 * KIB),
            (json!("1024B"), KIB),
            (json!("23"), 23),
            (json!("1e6B"), 1_000_000),
            (json!(" 5GiB "), 5 * GIB),
            (json!(4096), 4096),
        ];
        for (value, bytes) in cases {
            assert_eq!(parse_size(&value), Ok(bytes), "{value}");
        }
    }

    #[test]
    fn sizes_reject_what_greptimedb_rejects() {
        for bad in [
            "0.5kb",
            "0.5k",
            "1gb",
            "B",
            "gb",
            "1K24B",
            "",
            "5 parsecs",
            "1.2.3MB",
        ] {
            assert!(parse_size(&json!(bad)).is_err(), "{bad}");
        }
        for bad in [json!(-1), json!(1.5), json!(true), json!(["1MB"])] {
            assert!(parse_size(&bad).is_err(), "{bad}");
        }
    }
}
