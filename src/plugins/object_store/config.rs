//! `object_store.config`: the shape of one store, without any I/O.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{normalize_dir, HttpClientConfig, StoreConfig, StoreType};
use crate::plugins::{Step, StepCx, StepError};

/// Checks one store object as GreptimeDB would need it, without contacting anything: the
/// fields its `type` requires (`bucket` for S3, Oss and Gcs; `container` for Azblob;
/// `endpoint` for Oss and Azblob), whether the credentials are empty (the provider's default
/// credential chain is then used), fields set that the type ignores, and
/// `http_client.skip_ssl_validation`.
pub struct Config;

/// Parameters of `object_store.config`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigParams {
    /// The store: the `[storage]` table or one `[[storage.providers]]` entry.
    pub store: StoreConfig,
    /// `[storage.http_client]`; a provider's own `http_client` table wins over it.
    #[serde(default)]
    pub http_client: Option<HttpClientConfig>,
}

/// Output of `object_store.config`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ConfigOutput {
    /// The store's name as GreptimeDB computes it (`name`, or the type).
    pub store: String,
    /// `File`, `S3`, `Oss`, `Azblob` or `Gcs`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The root as GreptimeDB normalises it.
    pub root: String,
    /// True when no credential is configured: the provider's default chain (environment,
    /// profile files, instance metadata) is used. Always false for File.
    pub default_credentials: bool,
    /// `http_client.skip_ssl_validation` for an object-storage type (insecure; a warning).
    pub skip_ssl_validation: bool,
    /// Things worth knowing that are not failures.
    pub warnings: Vec<String>,
}

impl Step for Config {
    const NAME: &'static str = "object_store.config";
    const SUMMARY: &'static str =
        "Check one storage table or provider has the fields its type needs (no I/O)";
    const EXAMPLE: &'static str = "\
store:
  type: Azblob
  name: archive
  container: greptimedb
  endpoint: https://myaccount.blob.core.windows.net
  account_name: myaccount
  account_key: \"{{ secret }}\"
http_client:
  skip_ssl_validation: false
";
    type Params = ConfigParams;
    type Output = ConfigOutput;

    async fn run(&self, params: Self::Params, _cx: &StepCx) -> Result<Self::Output, StepError> {
        check(&params.store, params.http_client.as_ref())
    }

    fn details(output: &Self::Output) -> Vec<String> {
        output
            .warnings
            .iter()
            .map(|w| format!("warning: {w}"))
            .collect()
    }
}

fn set(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|s| !s.trim().is_empty())
}

/// The checks, shared with the tests.
pub fn check(
    store: &StoreConfig,
    http: Option<&HttpClientConfig>,
) -> Result<ConfigOutput, StepError> {
    let kind = store.kind;
    let name = store.display_name();
    let mut required: Vec<&str> = Vec::new();
    match kind {
        StoreType::File => {}
        StoreType::S3 | StoreType::Gcs => required.push("bucket"),
        StoreType::Oss => required.extend(["bucket", "endpoint"]),
        StoreType::Azblob => required.extend(["container", "endpoint"]),
    }
    let value_of = |key: &str| match key {
        "bucket" => &store.bucket,
        "container" => &store.container,
        _ => &store.endpoint,
    };
    let missing: Vec<&str> = required.into_iter().filter(|k| !set(value_of(k))).collect();
    if !missing.is_empty() {
        let keys = missing
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(" and ");
        return Err(StepError::misconfigured(format!(
            "the {} store `{name}` has no {keys}",
            kind.as_str()
        ))
        .with_hint(format!(
            "set {keys} in this storage table or provider entry; GreptimeDB cannot reach the store without it"
        )));
    }

    let mut warnings = Vec::new();
    let ignored: &[(&str, bool)] = match kind {
        StoreType::File => &[
            ("bucket", set(&store.bucket)),
            ("container", set(&store.container)),
            ("endpoint", set(&store.endpoint)),
            ("root", set(&store.root)),
        ],
        StoreType::Oss | StoreType::Azblob | StoreType::Gcs => &[("region", set(&store.region))],
        StoreType::S3 => &[],
    };
    for (key, is_set) in ignored {
        if *is_set {
            warnings.push(format!(
                "`{key}` is set but GreptimeDB ignores it for a {} store",
                kind.as_str()
            ));
        }
    }
    let default_credentials = match kind {
        StoreType::File => false,
        StoreType::S3 => !set(&store.access_key_id) && !set(&store.secret_access_key),
        StoreType::Oss => !set(&store.access_key_id) && !set(&store.access_key_secret),
        StoreType::Azblob => !set(&store.account_key) && !set(&store.sas_token),
        StoreType::Gcs => !set(&store.credential) && !set(&store.credential_path),
    };
    if default_credentials {
        warnings.push(format!(
            "no credentials configured: the {} default credential chain is used",
            kind.as_str()
        ));
    }
    let half_keys = match kind {
        StoreType::S3 => set(&store.access_key_id) != set(&store.secret_access_key),
        StoreType::Oss => set(&store.access_key_id) != set(&store.access_key_secret),
        _ => false,
    };
    if half_keys {
        return Err(StepError::misconfigured(format!(
            "the {} store `{name}` has only one of its two keys",
            kind.as_str()
        ))
        .with_hint(
            "set both `access_key_id` and the secret, or neither (default credential chain)",
        ));
    }
    let http = store.http_client.as_ref().or(http);
    let skip_ssl_validation =
        kind != StoreType::File && http.is_some_and(|h| h.skip_ssl_validation);
    if skip_ssl_validation {
        warnings.push(
            "http_client.skip_ssl_validation = true: the store's certificate is not checked".into(),
        );
    }
    Ok(ConfigOutput {
        store: name,
        kind: kind.as_str().to_string(),
        root: normalize_dir(store.root.as_deref().unwrap_or("")),
        default_credentials,
        skip_ssl_validation,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::ErrorKind;
    use serde_json::json;

    fn store(v: serde_json::Value) -> StoreConfig {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn required_fields_per_type() {
        for (v, key) in [
            (json!({"type": "S3"}), "`bucket`"),
            (json!({"type": "Gcs"}), "`bucket`"),
            (json!({"type": "Oss", "bucket": "b"}), "`endpoint`"),
            (json!({"type": "Azblob"}), "`container` and `endpoint`"),
        ] {
            let err = check(&store(v), None).unwrap_err();
            assert_eq!(err.kind, ErrorKind::Misconfigured);
            assert!(err.message.contains(key), "{}", err.message);
        }
        let ok = check(&store(json!({"type": "File"})), None).unwrap();
        assert!(!ok.default_credentials && ok.warnings.is_empty());
    }

    #[test]
    fn credentials_and_tls_are_reported() {
        let s3 = store(
            json!({"type": "S3", "bucket": "b", "access_key_id": "", "secret_access_key": ""}),
        );
        let http: HttpClientConfig =
            serde_json::from_value(json!({"skip_ssl_validation": true})).unwrap();
        let out = check(&s3, Some(&http)).unwrap();
        assert!(out.default_credentials && out.skip_ssl_validation);
        assert_eq!(out.warnings.len(), 2);
        let half = store(json!({"type": "S3", "bucket": "b", "access_key_id": "AKIA"}));
        assert!(check(&half, None).is_err());
        let az = store(
            json!({"type": "Azblob", "container": "c", "endpoint": "https://e",
                              "sas_token": "sv=x", "region": "r"}),
        );
        let out = check(&az, None).unwrap();
        assert!(!out.default_credentials);
        assert!(out.warnings[0].contains("`region`"));
    }
}
