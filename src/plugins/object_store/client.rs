//! Builds the OpenDAL operator as GreptimeDB builds it (`object-store/src/factory.rs`,
//! `config.rs`), without the retry layer GreptimeDB adds (`datanode/src/store.rs`), and turns
//! OpenDAL errors into verdicts.

use std::error::Error as _;
use std::path::Path;

use opendal::layers::HttpClientLayer;
use opendal::raw::HttpClient;
use opendal::services::{Azblob, Fs, Gcs, Oss, S3};
use opendal::{ErrorKind as DalKind, Operator};

use super::{normalize_dir, HttpClientConfig, StoreConfig, StoreType};
use crate::plugins::answer::Silence;
use crate::plugins::{human, StepError};

/// GreptimeDB's atomic-write directory under `data_home` (File stores).
pub const ATOMIC_WRITE_DIR: &str = ".tmp/";

/// Construction options that GreptimeDB does not have.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuildOptions {
    /// Test only: build the Gcs operator anonymously (no token is fetched or sent), with the
    /// VM metadata service and the environment ignored. GreptimeDB has no such switch; it
    /// exists so the probe can run against fake-gcs-server, which has no authentication.
    pub gcs_anonymous: bool,
    /// `--read-only`: a File store's `data_home` and atomic-write directory are not created
    /// (GreptimeDB creates both at start-up).
    pub read_only: bool,
}

/// The built operator and what it was built from.
pub struct Built {
    pub operator: Operator,
    /// The root as GreptimeDB normalises it (File: `data_home`).
    pub root: String,
    /// File stores: the local directory of the root.
    pub local_root: Option<String>,
}

fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.trim().is_empty())
}

fn required<'a>(v: &'a Option<String>, key: &str, kind: StoreType) -> Result<&'a str, StepError> {
    nonempty(v).ok_or_else(|| {
        StepError::misconfigured(format!(
            "`{key}` is empty; a {} store needs it",
            kind.as_str()
        ))
        .with_hint(format!(
            "set `{key}` in the storage table (or provider entry)"
        ))
    })
}

/// GreptimeDB's reqwest client from `[storage.http_client]`.
fn http_client(cfg: &HttpClientConfig) -> Result<HttpClient, StepError> {
    let client = reqwest_opendal::ClientBuilder::new()
        .pool_max_idle_per_host(cfg.pool_max_idle_per_host() as usize)
        .connect_timeout(cfg.connect_timeout())
        .pool_idle_timeout(cfg.pool_idle_timeout())
        .timeout(cfg.timeout())
        .tls_danger_accept_invalid_certs(cfg.skip_ssl_validation)
        .build()
        .map_err(|e| {
            StepError::could_not_run(format!("building the HTTP client: {e}"))
                .with_hint("check the [storage.http_client] values")
        })?;
    Ok(HttpClient::with(client))
}

/// Builds the operator for `store` as GreptimeDB does, except for retries: GreptimeDB wraps
/// every non-File store in OpenDAL's `RetryLayer` (`with_retry_layers` in
/// `object-store/src/util.rs`); this operator deliberately has none, so each operation is one
/// attempt and a silent store is judged by the first-answer deadline (retries are the
/// playbook's `retry:`, visible as attempts). `data_home` is `storage.data_home` (File only).
pub fn build(
    store: &StoreConfig,
    http: &HttpClientConfig,
    data_home: &str,
    options: BuildOptions,
) -> Result<Built, StepError> {
    // OpenDAL's reqwest (its default client too, made by `Operator::new`) ships without a TLS
    // provider: use ring, the one the rest of the binary uses (installing twice is harmless).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let root = normalize_dir(store.root.as_deref().unwrap_or(""));
    let builder_error = |e: opendal::Error| {
        StepError::misconfigured(format!(
            "OpenDAL refuses the {} store: {}",
            store.kind.as_str(),
            scrub(&e.to_string(), store)
        ))
        .with_hint(
            "GreptimeDB would fail the same way at start-up; fix the storage fields named above",
        )
    };
    let operator = match store.kind {
        StoreType::File => {
            let home = normalize_dir(data_home);
            let atomic = format!("{home}{ATOMIC_WRITE_DIR}");
            if options.read_only {
                if !Path::new(&home).is_dir() {
                    return Err(StepError::rejected(format!(
                        "`data_home` {home} is not a directory"
                    ))
                    .with_hint("GreptimeDB creates it at start-up; in a --read-only run it is not created: create it or fix `storage.data_home`"));
                }
                let op = Operator::new(Fs::default().root(&home))
                    .map_err(|e| {
                        StepError::rejected(format!(
                            "OpenDAL cannot use `data_home` {home}: {}",
                            e.message()
                        ))
                    })?
                    .finish();
                return Ok(Built {
                    operator: op,
                    root: home.clone(),
                    local_root: Some(home),
                });
            }
            if let Err(e) = std::fs::create_dir_all(Path::new(&home)) {
                return Err(StepError::rejected(format!(
                    "cannot create `data_home` {home}: {e}"
                ))
                .with_hint("set `storage.data_home` to a directory the datanode's user can create and write"));
            }
            let op = Operator::new(Fs::default().root(&home).atomic_write_dir(&atomic))
                .map_err(|e| {
                    StepError::rejected(format!(
                        "OpenDAL cannot use `data_home` {home}: {}",
                        e.message()
                    ))
                    .with_hint(
                        "set `storage.data_home` to a directory the datanode's user can write",
                    )
                })?
                .finish();
            return Ok(Built {
                operator: op,
                root: home.clone(),
                local_root: Some(home),
            });
        }
        StoreType::S3 => {
            let bucket = required(&store.bucket, "bucket", store.kind)?;
            let mut b = S3::default()
                .root(&root)
                .bucket(bucket)
                .access_key_id(store.access_key_id.as_deref().unwrap_or(""))
                .secret_access_key(store.secret_access_key.as_deref().unwrap_or(""));
            if let Some(endpoint) = &store.endpoint {
                b = b.endpoint(endpoint);
            }
            if let Some(region) = &store.region {
                b = b.region(region);
            }
            if store.enable_virtual_host_style {
                b = b.enable_virtual_host_style();
            }
            if store.disable_ec2_metadata {
                b = b.disable_ec2_metadata();
            }
            Operator::new(b).map_err(builder_error)?.finish()
        }
        StoreType::Oss => {
            let bucket = required(&store.bucket, "bucket", store.kind)?;
            let endpoint = required(&store.endpoint, "endpoint", store.kind)?;
            let b = Oss::default()
                .root(&root)
                .bucket(bucket)
                .endpoint(endpoint)
                .access_key_id(store.access_key_id.as_deref().unwrap_or(""))
                .access_key_secret(store.access_key_secret.as_deref().unwrap_or(""));
            Operator::new(b).map_err(builder_error)?.finish()
        }
        StoreType::Azblob => {
            let container = required(&store.container, "container", store.kind)?;
            let endpoint = required(&store.endpoint, "endpoint", store.kind)?;
            let mut b = Azblob::default()
                .root(&root)
                .container(container)
                .endpoint(endpoint)
                .account_name(store.account_name.as_deref().unwrap_or(""))
                .account_key(store.account_key.as_deref().unwrap_or(""));
            if let Some(token) = &store.sas_token {
                b = b.sas_token(token);
            }
            Operator::new(b).map_err(builder_error)?.finish()
        }
        StoreType::Gcs => {
            let bucket = required(&store.bucket, "bucket", store.kind)?;
            let mut b = Gcs::default()
                .root(&root)
                .bucket(bucket)
                .scope(store.scope.as_deref().unwrap_or(""))
                .credential_path(store.credential_path.as_deref().unwrap_or(""))
                .credential(store.credential.as_deref().unwrap_or(""))
                .endpoint(store.endpoint.as_deref().unwrap_or(""));
            if options.gcs_anonymous {
                b = b
                    .skip_signature()
                    .disable_vm_metadata()
                    .disable_config_load();
            }
            Operator::new(b).map_err(builder_error)?.finish()
        }
    };
    let operator = operator.layer(HttpClientLayer::new(http_client(http)?));
    Ok(Built {
        operator,
        root,
        local_root: None,
    })
}

/// Where a store's requests go, as OpenDAL 0.57 builds the URL from the store's fields: what the
/// first-answer witness watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `scheme://host[:port]` of the requests (virtual-host style: the bucket's host).
    pub url: String,
    /// `host:port`.
    pub addr: String,
    /// Whether the requests are HTTPS.
    pub https: bool,
}

fn env_first(names: &[&str]) -> Option<String> {
    names
        .iter()
        .filter_map(|n| std::env::var(n).ok())
        .find(|v| !v.trim().is_empty())
}

/// The endpoint of `store`'s requests; `None` for File, or when OpenDAL would refuse the fields
/// anyway (no region for AWS, an unparsable URL).
pub fn endpoint(store: &StoreConfig) -> Option<Endpoint> {
    let with_scheme = |e: &str| {
        let e = e.trim_end_matches('/');
        if e.starts_with("http://") || e.starts_with("https://") {
            e.to_string()
        } else {
            format!("https://{e}")
        }
    };
    let bucket = nonempty(&store.bucket).unwrap_or("");
    // (base URL, bucket in the host name)
    let (base, bucket_host) = match store.kind {
        StoreType::File => return None,
        StoreType::S3 => {
            // OpenDAL's S3 builder: the endpoint, else the AWS_ENDPOINT_URL family (GreptimeDB
            // does not disable config loading), else AWS's global endpoint made regional.
            let explicit = nonempty(&store.endpoint)
                .map(str::to_string)
                .or_else(|| env_first(&["AWS_ENDPOINT_URL", "AWS_ENDPOINT", "AWS_S3_ENDPOINT"]));
            let mut base = explicit
                .map(|e| with_scheme(&e))
                .unwrap_or_else(|| "https://s3.amazonaws.com".into())
                .replace(&format!("//{bucket}."), "//");
            if base == "https://s3.amazonaws.com" {
                let region = nonempty(&store.region)
                    .map(str::to_string)
                    .or_else(|| env_first(&["AWS_REGION", "AWS_DEFAULT_REGION"]))?;
                base = format!("https://s3.{region}.amazonaws.com");
            }
            (base, store.enable_virtual_host_style)
        }
        // OSS addresses buckets virtual-host style unless told otherwise; GreptimeDB does not.
        StoreType::Oss => (with_scheme(nonempty(&store.endpoint)?), true),
        StoreType::Azblob => (with_scheme(nonempty(&store.endpoint)?), false),
        StoreType::Gcs => (
            with_scheme(nonempty(&store.endpoint).unwrap_or("https://storage.googleapis.com")),
            false,
        ),
    };
    let url = reqwest_opendal::Url::parse(&base).ok()?;
    let host = url.host_str()?;
    let host = if bucket_host && !bucket.is_empty() {
        format!("{bucket}.{host}")
    } else {
        host.to_string()
    };
    let port = url.port_or_known_default()?;
    let default_port = url.port().is_none();
    Some(Endpoint {
        url: if default_port {
            format!("{}://{host}", url.scheme())
        } else {
            format!("{}://{host}:{port}", url.scheme())
        },
        addr: format!("{host}:{port}"),
        https: url.scheme() == "https",
    })
}

/// Whether reqwest sends requests of `scheme` through a proxy named by the environment
/// (`<scheme>_proxy`, `all_proxy`, either case): a direct witness would then judge another path.
pub fn proxied(scheme_https: bool) -> bool {
    let scheme = if scheme_https { "https" } else { "http" };
    [format!("{scheme}_proxy"), "all_proxy".to_string()]
        .iter()
        .flat_map(|name| [name.clone(), name.to_ascii_uppercase()])
        .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
}

/// How messages name a key of the store's `http_client` table: `storage.http_client.<field>`,
/// or, for a provider entry that has its own table, `http_client.<field>` of that provider.
#[derive(Debug, Clone)]
pub struct HttpKey {
    path: String,
    provider: Option<String>,
}

impl HttpKey {
    /// The key `field` of `store`'s `http_client`. A store with its own `http_client` table,
    /// a `name` and none of `[storage]`'s own keys is taken for a `[[storage.providers]]` entry.
    pub fn of(store: &StoreConfig, field: &str) -> Self {
        let provider = store
            .http_client
            .as_ref()
            .filter(|_| store.data_home.is_none() && store.providers.is_none())
            .and(nonempty(&store.name))
            .map(str::to_string);
        Self {
            path: match provider {
                Some(_) => format!("http_client.{field}"),
                None => format!("storage.http_client.{field}"),
            },
            provider,
        }
    }

    /// As [`AnswerDeadline::capped_by`](crate::plugins::answer::AnswerDeadline::capped_by)
    /// quotes it: `storage.http_client.timeout`.
    pub fn key(&self) -> String {
        match &self.provider {
            Some(name) => format!("{}` of provider `{name}", self.path),
            None => self.path.clone(),
        }
    }

    /// `` `storage.http_client.timeout = 30s` ``.
    pub fn with_value(&self, value: std::time::Duration) -> String {
        let quoted = format!("`{} = {}`", self.path, human(value));
        match &self.provider {
            Some(name) => format!("{quoted} of provider `{name}`"),
            None => quoted,
        }
    }
}

/// The reqwest error under an OpenDAL error, if the failure came from the HTTP client.
pub fn reqwest_error(err: &opendal::Error) -> Option<&reqwest_opendal::Error> {
    let mut source = err.source();
    while let Some(s) = source {
        if let Some(e) = s.downcast_ref::<reqwest_opendal::Error>() {
            return Some(e);
        }
        source = s.source();
    }
    None
}

/// The operation a failure happened in, and the permission GreptimeDB needs for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    List,
    Write,
    Stat,
    Read,
    Delete,
}

impl Op {
    fn permission(self) -> &'static str {
        match self {
            Op::List => "ListBucket (s3:ListBucket; Azure: List; GCS: storage.objects.list)",
            Op::Write => "PutObject (s3:PutObject, with multipart upload; Azure: Write/Create; GCS: storage.objects.create)",
            Op::Stat | Op::Read => "GetObject (s3:GetObject; Azure: Read; GCS: storage.objects.get)",
            Op::Delete => "DeleteObject (s3:DeleteObject; Azure: Delete; GCS: storage.objects.delete)",
        }
    }
    fn verb(self) -> &'static str {
        match self {
            Op::List => "list",
            Op::Write => "write",
            Op::Stat => "stat",
            Op::Read => "read",
            Op::Delete => "delete",
        }
    }
}

/// The error text with its source chain, without URL query strings (SAS tokens) or any of
/// the store's secrets.
pub fn describe(err: &opendal::Error, store: &StoreConfig) -> String {
    let mut text = err.message().to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    scrub(&text, store)
}

/// Removes URL query strings and the store's secrets from `text`.
pub fn scrub(text: &str, store: &StoreConfig) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_query = false;
    for c in text.chars() {
        if in_query {
            if c.is_whitespace() || c == ')' || c == '"' || c == ',' {
                in_query = false;
                out.push(c);
            }
            continue;
        }
        if c == '?' && out.contains("://") {
            in_query = true;
            out.push_str("?…");
            continue;
        }
        out.push(c);
    }
    for secret in store.secrets() {
        out = out.replace(secret, "***");
    }
    out
}

/// Maps an OpenDAL error of `op` on `what` to a verdict with a hint naming the config key.
pub fn verdict(
    op: Op,
    what: &str,
    err: &opendal::Error,
    store: &StoreConfig,
    http: &HttpClientConfig,
) -> StepError {
    let detail = describe(err, store);
    let lower = detail.to_lowercase();
    let kind = store.kind;
    let has = |code: &str| detail.contains(code);
    let msg = |m: String| format!("{} of {what} failed: {m} ({detail})", op.verb());

    if kind == StoreType::File {
        let e = if err.kind() == DalKind::PermissionDenied || lower.contains("permission denied") {
            StepError::rejected(msg("permission denied on the local disk".into()))
        } else if lower.contains("read-only file system") || lower.contains("no space") {
            StepError::rejected(msg("the disk refuses writes".into()))
        } else {
            StepError::rejected(msg(format!("{}", err.kind())))
        };
        return e.with_hint(
            "set `storage.data_home` to a writable directory of the datanode's user, with free space",
        );
    }

    // Transport: TLS, timeouts, unreachable endpoint.
    let tls = lower.contains("certificate")
        || lower.contains("invalidcertificate")
        || lower.contains("tls handshake")
        || lower.contains("unknownissuer")
        || lower.contains("invalid peer certificate");
    if tls {
        return StepError::rejected(msg("TLS failure".into())).with_hint(
            "the endpoint's certificate is not trusted: check `endpoint` (https vs http), install the CA in the \
             system trust store, or as a last resort set `http_client.skip_ssl_validation = true` (insecure)",
        );
    }
    let endpoint = endpoint(store).map_or("(the provider's default)".to_string(), |e| e.url);
    let reqwest = reqwest_error(err);
    let timeout = reqwest.is_some_and(|e| e.is_timeout())
        || (err.kind() == DalKind::Unexpected && lower.contains("timed out"));
    if timeout && reqwest.is_some_and(|e| e.is_connect()) {
        let key = HttpKey::of(store, "connect_timeout");
        return StepError {
            silence: Some(Silence::BlackHoled),
            ..StepError::timeout(msg(format!(
                "no TCP connection to {endpoint} within {}",
                key.with_value(http.connect_timeout())
            )))
        }
        .with_hint(format!(
            "no SYN-ACK and no refusal came back: a firewall or security group drops the traffic, \
             the route is wrong, or the host is down; check `endpoint` and the network path \
             (GreptimeDB gives up the connection after {} too)",
            key.with_value(http.connect_timeout())
        ));
    }
    if timeout {
        let key = HttpKey::of(store, "timeout");
        return StepError::timeout(msg(format!(
            "{endpoint} did not complete the request within {}",
            key.with_value(http.timeout())
        )))
        .with_hint(format!(
            "the store answers too slowly or stopped answering: check its load and the network \
             path; GreptimeDB gives up a request after {} as well (then retries it)",
            key.with_value(http.timeout())
        ));
    }
    let refused = lower.contains("connection refused");
    let unreachable = err.kind() == DalKind::Unexpected
        && (refused
            || reqwest.is_some_and(|e| e.is_connect())
            || lower.contains("error sending request")
            || lower.contains("dns error")
            || lower.contains("tcp connect")
            || lower.contains("client error (connect)")
            || lower.contains("connection reset")
            || lower.contains("failed to lookup"));
    if unreachable {
        return StepError {
            silence: refused.then_some(Silence::Refused),
            ..StepError::unreachable(msg(format!("endpoint {endpoint} unreachable")))
        }
        .with_hint("check `endpoint` (scheme, host, port) and that the object store is running and reachable from the datanode");
    }

    // Missing bucket / container.
    let container_key = if kind == StoreType::Azblob {
        "container"
    } else {
        "bucket"
    };
    let missing_bucket = has("NoSuchBucket")
        || has("ContainerNotFound")
        || has("The specified bucket does not exist")
        || (kind == StoreType::S3 && err.kind() == DalKind::ConfigInvalid)
        || (op == Op::List && err.kind() == DalKind::NotFound);
    if missing_bucket {
        let name = match kind {
            StoreType::Azblob => store.container.as_deref().unwrap_or(""),
            _ => store.bucket.as_deref().unwrap_or(""),
        };
        return StepError::rejected(msg(format!("{container_key} `{name}` does not exist")))
            .with_hint(format!(
                "create the {container_key} or fix `{container_key}` (and `endpoint`/`region` if it lives elsewhere)"
            ));
    }

    // Credentials.
    let (id_key, secret_key) = match kind {
        StoreType::S3 => ("access_key_id", "secret_access_key"),
        StoreType::Oss => ("access_key_id", "access_key_secret"),
        StoreType::Azblob => ("account_name", "account_key"),
        _ => ("credential", "credential_path"),
    };
    if lower.contains("failed to load signing credential") {
        return StepError::rejected(msg(format!(
            "no credentials: `{id_key}`/`{secret_key}` are empty and the default credential \
             chain found none"
        )))
        .with_hint(format!(
            "set `{id_key}` and `{secret_key}` (e.g. through GREPTIMEDB_DATANODE__STORAGE__… \
             environment variables), or provide credentials to the default chain (AWS_* \
             variables, ~/.aws, web identity, ECS or EC2 instance metadata)"
        ));
    }
    if has("InvalidAccessKeyId") || has("InvalidAccessKey") {
        return StepError::rejected(msg("the access key is unknown to the server".into()))
            .with_hint(format!(
                "fix `{id_key}` (empty keys use the default credential chain)"
            ));
    }
    if has("SignatureDoesNotMatch") {
        return StepError::rejected(msg(
            "signature mismatch: the secret does not match the access key".into(),
        ))
        .with_hint(format!(
            "fix `{secret_key}` for this `{id_key}`; check also `region` and `enable_virtual_host_style`"
        ));
    }
    if kind == StoreType::Azblob
        && (has("AuthenticationFailed")
            || has("InvalidAuthenticationInfo")
            || lower.contains("failed to authenticate"))
    {
        let key = if nonempty(&store.sas_token).is_some() {
            "sas_token"
        } else {
            "account_key"
        };
        return StepError::rejected(msg("authentication failed".into())).with_hint(format!(
            "fix `{key}` (and `account_name`); a SAS token must be valid now and signed for this account"
        ));
    }
    if has("ExpiredToken") || has("InvalidToken") || has("TokenRefreshRequired") {
        return StepError::rejected(msg("the credentials are expired or invalid".into()))
            .with_hint(format!(
                "renew the credentials (`{id_key}`/`{secret_key}` or the default chain)"
            ));
    }
    let denied = err.kind() == DalKind::PermissionDenied
        || has("AccessDenied")
        || has("AuthorizationPermissionMismatch")
        || has("AuthorizationFailure")
        || has("Forbidden");
    if denied {
        if kind == StoreType::Gcs && lower.contains("401") {
            return StepError::rejected(msg("authentication failed".into()))
                .with_hint("fix `credential` or `credential_path` (and `scope`)");
        }
        return StepError::rejected(msg(format!(
            "permission denied: the credential may not {} here",
            op.verb()
        )))
        .with_hint(format!(
            "grant {} on the {container_key} and root to this credential; GreptimeDB needs PutObject, \
             GetObject, ListBucket and DeleteObject",
            op.permission()
        ));
    }
    if err.kind() == DalKind::ConfigInvalid {
        return StepError::misconfigured(msg("OpenDAL reports an invalid configuration".into()))
            .with_hint("check `endpoint`, `region` and the credentials fields of this store");
    }
    StepError::rejected(msg(format!("{}", err.kind()))).with_hint(
        "look at the object store's log for this request; check `endpoint` and the credentials",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn store(v: serde_json::Value) -> StoreConfig {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn scrub_drops_query_strings_and_secrets() {
        let s = store(
            json!({"type": "Azblob", "sas_token": "sv=2021&sig=abcdEFGH", "account_key": "c2VjcmV0S2V5"}),
        );
        let out = scrub(
            "send http request: url http://h:1/acct/c/x?sv=2021&sig=abcdEFGH (key c2VjcmV0S2V5)",
            &s,
        );
        assert!(
            !out.contains("abcdEFGH") && !out.contains("c2VjcmV0S2V5"),
            "{out}"
        );
        assert!(out.contains("http://h:1/acct/c/x?…"), "{out}");
    }

    fn v(kind: DalKind, message: &str, st: &StoreConfig, op: Op) -> StepError {
        verdict(
            op,
            "`x`",
            &opendal::Error::new(kind, message),
            st,
            &HttpClientConfig::default(),
        )
    }

    /// What a verdict must say: in its message, in its hint, at the start of its hint, or its kind.
    enum Says {
        Message(&'static str),
        Hint(&'static str),
        HintStart(&'static str),
        Kind(crate::plugins::ErrorKind),
    }

    #[test]
    fn service_codes_map_to_verdicts_naming_the_key() {
        use crate::plugins::ErrorKind::{Rejected, Unreachable};
        use Says::{Hint, HintStart, Kind, Message};
        let s3 = store(json!({"type": "S3", "bucket": "b"}));
        let oss = store(json!({"type": "Oss", "bucket": "b", "endpoint": "https://e"}));
        let az = store(json!({"type": "Azblob", "container": "c", "endpoint": "http://e"}));
        let cases: &[(DalKind, &str, &StoreConfig, Op, &[Says])] = &[
            (
                DalKind::ConfigInvalid,
                "S3Error { code: \"NoSuchBucket\" }",
                &s3,
                Op::List,
                &[Kind(Rejected), Message("bucket `b` does not exist")],
            ),
            (
                DalKind::PermissionDenied,
                "code: \"SignatureDoesNotMatch\"",
                &s3,
                Op::List,
                &[Hint("secret_access_key")],
            ),
            (
                DalKind::PermissionDenied,
                "code: \"InvalidAccessKeyId\"",
                &s3,
                Op::List,
                &[Hint("access_key_id")],
            ),
            (
                DalKind::PermissionDenied,
                "code: \"AccessDenied\"",
                &s3,
                Op::Write,
                &[Message("may not write"), Hint("PutObject")],
            ),
            (
                DalKind::PermissionDenied,
                "code: \"AccessDenied\"",
                &s3,
                Op::Delete,
                &[HintStart("grant DeleteObject")],
            ),
            (
                DalKind::Unexpected,
                "send http request: error sending request: tcp connect error: Connection refused",
                &s3,
                Op::List,
                &[Kind(Unreachable), Hint("`endpoint`")],
            ),
            (
                DalKind::Unexpected,
                "invalid peer certificate: UnknownIssuer",
                &s3,
                Op::List,
                &[Kind(Rejected), Message("TLS")],
            ),
            (
                DalKind::PermissionDenied,
                "<Code>SignatureDoesNotMatch</Code>",
                &oss,
                Op::List,
                &[Hint("access_key_secret")],
            ),
            (
                DalKind::NotFound,
                "ContainerNotFound",
                &az,
                Op::List,
                &[Message("container `c` does not exist")],
            ),
            (
                DalKind::PermissionDenied,
                "AuthenticationFailed",
                &az,
                Op::List,
                &[Hint("account_key")],
            ),
            (
                DalKind::PermissionDenied,
                "AuthorizationPermissionMismatch",
                &az,
                Op::Write,
                &[Hint("PutObject")],
            ),
        ];
        for (kind, text, st, op, says) in cases {
            let e = v(*kind, text, st, *op);
            let hint = e.hint.as_deref().unwrap_or_default();
            for said in *says {
                match said {
                    Message(m) => assert!(e.message.contains(m), "{text}: {}", e.message),
                    Hint(h) => assert!(hint.contains(h), "{text}: {hint}"),
                    HintStart(h) => assert!(hint.starts_with(h), "{text}: {hint}"),
                    Kind(k) => assert_eq!(e.kind, *k, "{text}"),
                }
            }
        }
    }

    #[test]
    fn required_fields_are_misconfigured() {
        let http = HttpClientConfig::default();
        for (v, key) in [
            (json!({"type": "S3"}), "bucket"),
            (json!({"type": "Oss", "bucket": "b"}), "endpoint"),
            (
                json!({"type": "Azblob", "endpoint": "http://e"}),
                "container",
            ),
            (json!({"type": "Gcs"}), "bucket"),
        ] {
            let err = build(&store(v), &http, "/tmp", BuildOptions::default())
                .err()
                .expect("refused");
            assert_eq!(err.kind, crate::plugins::ErrorKind::Misconfigured);
            assert!(err.message.contains(key), "{}", err.message);
        }
        let s3 = store(
            json!({"type": "S3", "bucket": "b", "endpoint": "http://127.0.0.1:9", "region": "us-east-1"}),
        );
        let built = build(&s3, &http, "/tmp", BuildOptions::default()).unwrap();
        assert_eq!(built.root, "/");
    }

    #[test]
    fn endpoints_are_where_opendal_sends_the_requests() {
        let at = |v: serde_json::Value| endpoint(&store(v)).map(|e| (e.url, e.addr, e.https));
        let own = |u: &str, a: &str, https: bool| Some((u.to_string(), a.to_string(), https));
        assert_eq!(
            at(json!({"type": "S3", "bucket": "b", "endpoint": "http://127.0.0.1:9000/"})),
            own("http://127.0.0.1:9000", "127.0.0.1:9000", false)
        );
        assert_eq!(
            at(
                json!({"type": "S3", "bucket": "b", "endpoint": "minio.local",
                      "enable_virtual_host_style": true})
            ),
            own("https://b.minio.local", "b.minio.local:443", true)
        );
        assert_eq!(
            at(
                json!({"type": "S3", "bucket": "b", "endpoint": "https://s3.amazonaws.com",
                      "region": "us-west-2"})
            ),
            own(
                "https://s3.us-west-2.amazonaws.com",
                "s3.us-west-2.amazonaws.com:443",
                true
            )
        );
        assert_eq!(
            at(
                json!({"type": "Oss", "bucket": "b", "endpoint": "https://oss-cn-hangzhou.aliyuncs.com"})
            ),
            own(
                "https://b.oss-cn-hangzhou.aliyuncs.com",
                "b.oss-cn-hangzhou.aliyuncs.com:443",
                true
            )
        );
        assert_eq!(
            at(
                json!({"type": "Azblob", "container": "c", "endpoint": "http://127.0.0.1:10000/acct"})
            ),
            own("http://127.0.0.1:10000", "127.0.0.1:10000", false)
        );
        assert_eq!(
            at(json!({"type": "Gcs", "bucket": "b"})),
            own(
                "https://storage.googleapis.com",
                "storage.googleapis.com:443",
                true
            )
        );
        assert_eq!(at(json!({"type": "File"})), None);
    }

    #[test]
    fn http_keys_name_the_storage_table_or_the_provider() {
        let t = std::time::Duration::from_secs(3);
        let plain = store(json!({"type": "S3", "bucket": "b"}));
        assert_eq!(
            HttpKey::of(&plain, "timeout").with_value(t),
            "`storage.http_client.timeout = 3s`"
        );
        let provider = store(
            json!({"type": "S3", "bucket": "b", "name": "arch", "http_client": {"timeout": "3s"}}),
        );
        assert_eq!(
            HttpKey::of(&provider, "timeout").with_value(t),
            "`http_client.timeout = 3s` of provider `arch`"
        );
    }
}
