//! metasrv's `[backend_tls]` table, as the `etcd.*` and `sql.*` steps take it. One type for
//! both families: the table is the same; how each store applies it is the family client's job
//! (`etcd/client.rs`, `sql/client.rs`), which follow metasrv store by store.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

/// `backend_tls.mode`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TlsMode {
    /// etcd: plaintext. PostgreSQL: metasrv fails at start-up (GreptimeDB #7734). MySQL: the
    /// URL's `ssl-mode` is kept.
    Disable,
    /// metasrv's default. etcd: TLS only when every endpoint starts with `https`. PostgreSQL:
    /// TLS as the URL's `sslmode` says, certificate not verified. MySQL: `ssl-mode=PREFERRED`.
    #[default]
    Prefer,
    /// etcd: TLS, certificate and host name verified. PostgreSQL: as `prefer`. MySQL:
    /// `ssl-mode=REQUIRED`.
    Require,
    /// The server certificate must chain to `ca_cert_path` or a system root (etcd also checks
    /// the host name, as rustls always does).
    VerifyCa,
    /// As `verify_ca`, and the certificate must name the host connected to.
    VerifyFull,
}

impl TlsMode {
    /// The name as written in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Disable => "disable",
            TlsMode::Prefer => "prefer",
            TlsMode::Require => "require",
            TlsMode::VerifyCa => "verify_ca",
            TlsMode::VerifyFull => "verify_full",
        }
    }

    /// `verify_ca` or `verify_full`.
    pub fn verifies(self) -> bool {
        matches!(self, TlsMode::VerifyCa | TlsMode::VerifyFull)
    }
}

/// metasrv's `[backend_tls]` table. Empty (or null) paths mean "not set", as in metasrv.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackendTls {
    /// `backend_tls.mode`: `disable`, `prefer` (default), `require`, `verify_ca` or
    /// `verify_full`; what each means depends on the store (see the step documentation).
    #[serde(default)]
    pub mode: TlsMode,
    /// `backend_tls.ca_cert_path`: PEM file of the CA that signed the server certificate,
    /// trusted in addition to the system roots.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub ca_cert_path: String,
    /// `backend_tls.cert_path`: PEM client certificate; used only together with `key_path`.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub cert_path: String,
    /// `backend_tls.key_path`: PEM private key of the client certificate; used only together
    /// with `cert_path`.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub key_path: String,
    /// `backend_tls.watch`: accepted so the whole table can be passed; metasrv does not use it
    /// for metadata stores.
    #[serde(default)]
    pub watch: bool,
}

impl BackendTls {
    /// `ca_cert_path`, when set.
    pub fn ca(&self) -> Option<&str> {
        set(&self.ca_cert_path)
    }

    /// The client certificate and key, when both are set (metasrv ignores one alone).
    pub fn client_identity(&self) -> Option<(&str, &str)> {
        set(&self.cert_path).zip(set(&self.key_path))
    }

    /// Exactly one of `cert_path` and `key_path` is set.
    pub fn half_identity(&self) -> bool {
        set(&self.cert_path).is_some() != set(&self.key_path).is_some()
    }
}

fn set(value: &str) -> Option<&str> {
    Some(value.trim()).filter(|v| !v.is_empty())
}

fn null_as_empty<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whole_config_table_parses_and_empty_paths_are_unset() {
        let tls: BackendTls = serde_json::from_value(serde_json::json!({
            "mode": "verify_ca", "ca_cert_path": "/ca.pem", "cert_path": "",
            "key_path": null, "watch": false
        }))
        .unwrap();
        assert_eq!(tls.mode, TlsMode::VerifyCa);
        assert_eq!(tls.ca(), Some("/ca.pem"));
        assert_eq!(tls.client_identity(), None);
        assert!(!tls.half_identity());
        assert!(
            serde_json::from_value::<BackendTls>(serde_json::json!({"mode": "verify-ca"})).is_err()
        );
        assert!(serde_json::from_value::<BackendTls>(serde_json::json!({"sslmode": "x"})).is_err());
    }

    #[test]
    fn identity_needs_both_files() {
        let tls = BackendTls {
            cert_path: "/c.pem".into(),
            ..BackendTls::default()
        };
        assert!(tls.half_identity());
        assert_eq!(tls.client_identity(), None);
    }
}
