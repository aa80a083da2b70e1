//! Finding secret values in config trees, so the engine can mask them in every output.

use serde_json::{Map, Value};

use crate::notation::uri::Url;
use crate::notation::{conninfo, percent_decode};

/// Key names whose values are secrets: GreptimeDB's `SecretString` object-store fields (except
/// `credential_path`, a file path), Azblob `sas_token`, Kafka `sasl.password`, and generic
/// password/token/authorization keys (e.g. an OTLP `Authorization` header).
const SECRET_KEYS: [&str; 10] = [
    "access_key_id",
    "secret_access_key",
    "access_key_secret",
    "account_name",
    "account_key",
    "sas_token",
    "credential",
    "password",
    "token",
    "authorization",
];

/// Keys whose values are metadata-store connection strings, which may be libpq keyword strings
/// as well as URLs.
const CONNECTION_STRING_KEYS: [&str; 3] = ["store_addrs", "store_addr", "connection_string"];

/// Whether the value of `key` (a bare or dotted key, compared case-insensitively on its last
/// segment, e.g. `storage.secret_access_key` or `wal.sasl.password`) is a secret.
pub fn is_secret_key(key: &str) -> bool {
    let leaf = key.rsplit('.').next().unwrap_or(key);
    SECRET_KEYS
        .iter()
        .any(|secret| leaf.eq_ignore_ascii_case(secret))
}

/// Whether the value of `key` (a dotted key, compared on its last segment) is a metadata-store
/// connection string, which may hold a password.
pub(crate) fn is_connection_string_key(key: &str) -> bool {
    let leaf = key.rsplit('.').next().unwrap_or(key);
    let leaf = leaf.split('[').next().unwrap_or(leaf);
    CONNECTION_STRING_KEYS
        .iter()
        .any(|k| leaf.eq_ignore_ascii_case(k))
}

/// The passwords inside a metadata-store address: URL userinfo (`scheme://user:PASS@host`, also
/// percent-decoded), URL query parameters with a secret name (`?password=PASS`), and libpq
/// keyword values (`password=PASS`, `password='p w'`).
///
/// A SQL store's URL (`postgres[ql]://`, `mysql://`) is read with the widest userinfo (up to
/// the last `@` before the query), so a password holding an unencoded `@`, `:` or `/` is found
/// whole; any other URL by the URL standard (up to the last `@` before the path, which may
/// hold an `@`).
pub fn secrets_in_connection_string(text: &str) -> Vec<String> {
    const SQL_SCHEMES: [&str; 3] = ["postgres", "postgresql", "mysql"];
    let text = text.trim();
    let mut found = Vec::new();
    match Url::split(text) {
        Some(mut url) => {
            if SQL_SCHEMES
                .iter()
                .any(|s| url.scheme.eq_ignore_ascii_case(s))
            {
                url = Url::split_widest_userinfo(text).expect("a URL");
            }
            if let Some(password) = url.password() {
                push_with_decoded(&mut found, password);
            }
            for (key, value) in url.query_pairs() {
                if is_secret_key(key) {
                    push_with_decoded(&mut found, value);
                }
            }
        }
        None => {
            for (key, value) in conninfo::keyword_pairs_lenient(text) {
                if is_secret_key(&key) {
                    found.push(value);
                }
            }
        }
    }
    found.retain(|s| !s.is_empty());
    found
}

/// Masks the values of secret keys in raw TOML text, line by line, for showing source lines
/// of a file that could not be parsed (its secrets are not known yet).
pub fn redact_toml_source(text: &str) -> String {
    text.lines()
        .map(|line| match line.split_once('=') {
            Some((key, _)) if is_secret_key(key.trim().trim_matches('"')) => {
                format!("{key}= \"******\"")
            }
            _ => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A YAML file (a cluster inventory, a playbook) with the values of secret-named keys replaced,
/// for quoting its lines in an error message. An environment-overlay key counts by its last
/// `__` segment (`GREPTIMEDB_DATANODE__STORAGE__SECRET_ACCESS_KEY`).
pub fn redact_yaml_source(text: &str) -> String {
    text.lines()
        .map(|line| match line.split_once(':') {
            Some((key, value)) if !value.trim().is_empty() => {
                let name = key
                    .trim()
                    .trim_start_matches('-')
                    .trim()
                    .trim_matches(['"', '\'']);
                let leaf = name.rsplit("__").next().unwrap_or(name);
                if is_secret_key(leaf) {
                    format!("{key}: \"******\"")
                } else {
                    line.to_string()
                }
            }
            _ => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every secret value in `trees` (the layers of a config), without duplicates.
pub(crate) fn collect(trees: &[&Map<String, Value>]) -> Vec<String> {
    let mut found = Vec::new();
    for (key, value) in trees.iter().flat_map(|tree| tree.iter()) {
        collect_in(value, key, &mut found);
    }
    let mut unique = Vec::with_capacity(found.len());
    for secret in found {
        if !secret.is_empty() && !unique.contains(&secret) {
            unique.push(secret);
        }
    }
    unique
}

fn collect_in(value: &Value, key: &str, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| collect_in(v, k, found)),
        Value::Array(items) => items.iter().for_each(|v| collect_in(v, key, found)),
        Value::String(text) if is_secret_key(key) => found.push(text.clone()),
        Value::Number(n) if is_secret_key(key) => found.push(n.to_string()),
        Value::String(text) if key == "user_provider" => {
            found.extend(secrets_in_user_provider(text))
        }
        // Any URL may carry `user:password@` (an object-store endpoint, an OTLP endpoint).
        Value::String(text) if CONNECTION_STRING_KEYS.contains(&key) || text.contains("://") => {
            found.extend(secrets_in_connection_string(text));
        }
        _ => {}
    }
}

/// Passwords of `static_user_provider:cmd:user=pwd,user2=pwd2`; a `plain:` verifier prefix is
/// also stripped, since the bare password is what may appear elsewhere.
fn secrets_in_user_provider(text: &str) -> Vec<String> {
    let Some(users) = text.strip_prefix("static_user_provider:cmd:") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (_, password) in users.split(',').filter_map(|user| user.split_once('=')) {
        found.push(password.to_owned());
        if let Some(plain) = password.strip_prefix("plain:") {
            found.push(plain.to_owned());
        }
    }
    found
}

fn push_with_decoded(found: &mut Vec<String>, raw: &str) {
    found.push(raw.to_owned());
    if let Some(decoded) = percent_decode(raw).ok().filter(|d| d != raw) {
        found.push(decoded);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn yaml_sources_hide_secret_keys_and_secret_env_overlays() {
        let text = "nodes:\n  - name: dn\n    env:\n      \
                    GREPTIMEDB_DATANODE__STORAGE__SECRET_ACCESS_KEY: \"s3cr3t\"\n      \
                    GREPTIMEDB_DATANODE__STORAGE__BUCKET: b\n    password: 'pw'\n";
        let redacted = redact_yaml_source(text);
        assert!(
            !redacted.contains("s3cr3t") && !redacted.contains("pw'"),
            "{redacted}"
        );
        assert!(redacted.contains("GREPTIMEDB_DATANODE__STORAGE__BUCKET: b"));
        assert!(redacted.contains("  - name: dn"));
        assert_eq!(redacted.lines().count(), text.lines().count());
    }

    #[test]
    fn secret_keys_match_on_the_last_segment() {
        for key in [
            "secret_access_key",
            "storage.access_key_id",
            "wal.sasl.password",
            "Authorization",
            "sas_token",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in ["credential_path", "username", "bucket", "password_file"] {
            assert!(!is_secret_key(key), "{key}");
        }
    }

    #[test]
    fn url_userinfo_and_query_passwords() {
        assert_eq!(
            secrets_in_connection_string(
                "postgresql://greptime:s3cr%40t@db:5432/meta?connect_timeout=10"
            ),
            ["s3cr%40t", "s3cr@t"]
        );
        assert_eq!(
            secrets_in_connection_string("mysql://root:pw@mysql:3306/meta?ssl-mode=VERIFY_CA"),
            ["pw"]
        );
        assert_eq!(
            secrets_in_connection_string("postgresql://db/meta?user=u&password=qp"),
            ["qp"]
        );
        assert!(secrets_in_connection_string("postgresql://user@db/meta").is_empty());
        assert!(secrets_in_connection_string("127.0.0.1:2379").is_empty());
    }

    #[test]
    fn passwords_holding_url_delimiters() {
        for (text, expected) in [
            ("postgresql://gt:p@ss@db:5432/meta", &["p@ss"][..]),
            ("postgresql://gt:pa:ss@db/meta", &["pa:ss"]),
            // was missed: the authority ended at the `/`
            ("postgresql://gt:pa/ss@db/meta?password=q", &["pa/ss", "q"]),
            ("postgresql://gt:pa%40ss@db/meta", &["pa%40ss", "pa@ss"]),
            (
                "mysql://root:a@b:c/d%40e@db:3306/meta",
                &["a@b:c/d%40e", "a@b:c/d@e"],
            ),
            // other URLs' paths may hold an `@`: the URL standard
            ("http://u:pw@minio:9000/b/a@b", &["pw"]),
            (" postgresql://gt:pw%2Fx@db/meta ", &["pw%2Fx", "pw/x"]),
            (r"host=db password='a@b:c/d%40' user=u", &["a@b:c/d%40"]),
            // was missed: `x://y` made the keyword string look like a URL
            ("host=db password=x://y", &["x://y"]),
        ] {
            assert_eq!(secrets_in_connection_string(text), expected, "{text}");
        }
    }

    #[test]
    fn libpq_passwords_plain_and_quoted() {
        assert_eq!(
            secrets_in_connection_string(
                "host=db port=5432 user=postgres password=hunter2 dbname=meta"
            ),
            ["hunter2"]
        );
        assert_eq!(
            secrets_in_connection_string(r"host=db password = 'p w\'x' dbname=meta"),
            ["p w'x"]
        );
        // was `a\`: an unquoted value's escapes are read as libpq reads them
        assert_eq!(
            secrets_in_connection_string(r"host=db password=a\ b user=u"),
            ["a b"]
        );
        // lenient where the driver would refuse: still found
        assert_eq!(
            secrets_in_connection_string("host=db junk password='unterminated"),
            ["unterminated"]
        );
    }

    #[test]
    fn collects_keys_connection_strings_and_user_provider() {
        let tree = json!({
            "store_addrs": ["postgresql://u:pg-pass@db/meta"],
            "storage": {"type": "S3", "secret_access_key": "sk", "access_key_id": "", "bucket": "b",
                        "endpoint": "http://minio:url-pass@minio:9000",
                        "providers": [{"account_key": "ak"}]},
            "wal": {"sasl": {"password": "kafka-pass"}},
            "user_provider": "static_user_provider:cmd:alice=plain:pa,bob=pb",
        });
        let env =
            json!({"storage": {"secret_access_key": "sk"}, "wal": {"sasl": {"password": 1234}}});
        let (tree, env) = (tree.as_object().unwrap(), env.as_object().unwrap());
        assert_eq!(
            collect(&[tree, env]),
            [
                "pg-pass",
                "sk",
                "url-pass",
                "ak",
                "kafka-pass",
                "plain:pa",
                "pa",
                "pb",
                "1234"
            ]
        );
    }
}
