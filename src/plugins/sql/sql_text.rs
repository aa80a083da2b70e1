//! The SQL text the `sql.*` steps send: names quoted as metasrv quotes them, metasrv's own
//! statements on its metadata table (so probes run exactly what it runs), and the names of
//! this run's probe objects.

use super::{Backend, StepError};

/// `"schema"."table"` or `"table"`, as metasrv writes it.
pub(crate) fn pg_ident(schema: Option<&str>, table: &str) -> String {
    match schema {
        Some(schema) if !schema.is_empty() => format!("\"{schema}\".\"{table}\""),
        _ => format!("\"{table}\""),
    }
}

/// Rejects names metasrv cannot quote (it does not escape quotes) or the server refuses.
pub(crate) fn check_name(backend: Backend, key: &str, name: &str) -> Result<(), StepError> {
    if name.is_empty() {
        return Err(StepError::misconfigured(format!("{key} is empty"))
            .with_hint(format!("set {key} (default greptime_metakv)")));
    }
    let (quote, max) = match backend {
        Backend::PostgresStore => ('"', 63),
        Backend::MysqlStore => ('`', 64),
    };
    if name.contains(quote) || name.contains('\0') {
        return Err(StepError::misconfigured(format!(
            "{key} `{name}` contains {quote}, which metasrv puts into its SQL unescaped"
        ))
        .with_hint(format!("use a plain name for {key}")));
    }
    if backend == Backend::MysqlStore && name.chars().count() > max {
        return Err(StepError::misconfigured(format!(
            "{key} `{name}` is longer than MySQL's {max}-character limit for table names"
        ))
        .with_hint(format!("shorten {key}")));
    }
    Ok(())
}

/// A name for this run's probe objects: `greptime_self_test_<run id>`, restricted to
/// `[a-z0-9_]` and to what MySQL and PostgreSQL accept.
pub(crate) fn probe_name(run_id: &str, suffix: &str) -> String {
    let id: String = run_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let mut name = format!("greptime_self_test_{id}{suffix}");
    name.truncate(63);
    name
}

/// The probe key of this run in a metadata table.
pub(crate) fn probe_key(run_id: &str) -> String {
    format!("__greptime_self_test/{run_id}")
}

/// `table` quoted as metasrv quotes it, in `schema` (PostgreSQL only) when there is one.
pub(crate) fn quoted(backend: Backend, schema: Option<&str>, table: &str) -> String {
    match backend {
        Backend::PostgresStore => pg_ident(schema, table),
        Backend::MysqlStore => format!("`{table}`"),
    }
}

/// The columns of metasrv's CREATE TABLE for its metadata table.
pub(crate) fn kv_columns(backend: Backend) -> &'static str {
    match backend {
        Backend::PostgresStore => "(k bytea PRIMARY KEY, v bytea)",
        Backend::MysqlStore => "(k VARBINARY(3072) PRIMARY KEY, v MEDIUMBLOB)",
    }
}

/// metasrv's upsert on the quoted `table`. PostgreSQL binds key, key, value and returns the
/// previous row, as metasrv's does; MySQL binds key, value.
pub(crate) fn upsert(backend: Backend, table: &str) -> String {
    match backend {
        Backend::PostgresStore => format!(
            "WITH prev AS (SELECT k,v FROM {table} WHERE k IN ($1)), update AS (INSERT INTO \
             {table} (k, v) VALUES ($2,$3) ON CONFLICT (k) DO UPDATE SET v = excluded.v) \
             SELECT k, v FROM prev;"
        ),
        Backend::MysqlStore => format!(
            "INSERT INTO {table} (k, v) VALUES (?, ?) ON DUPLICATE KEY UPDATE v = VALUES(v);"
        ),
    }
}

/// metasrv's point SELECT on the quoted `table`; binds the key.
pub(crate) fn point_select(backend: Backend, table: &str) -> String {
    match backend {
        Backend::PostgresStore => format!("SELECT k, v FROM {table} WHERE k = $1"),
        Backend::MysqlStore => format!("SELECT k, v FROM {table} WHERE k = ?"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_names_are_safe_identifiers() {
        assert_eq!(
            probe_name("20261125-ab.CD", ""),
            "greptime_self_test_20261125_ab_cd"
        );
        assert!(probe_name(&"x".repeat(100), "_lat").len() <= 63);
    }

    #[test]
    fn names_metasrv_cannot_quote_are_misconfigured() {
        assert!(check_name(Backend::PostgresStore, "meta_table_name", "a\"b").is_err());
        assert!(check_name(Backend::MysqlStore, "meta_table_name", "a`b").is_err());
        assert!(check_name(Backend::MysqlStore, "meta_table_name", &"t".repeat(65)).is_err());
        assert!(check_name(Backend::MysqlStore, "meta_table_name", "greptime_metakv").is_ok());
        assert_eq!(pg_ident(Some("s"), "t"), "\"s\".\"t\"");
        assert_eq!(pg_ident(Some(""), "t"), "\"t\"");
    }
}
