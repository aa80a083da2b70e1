//! The key groups several roles share (`pkg/dbconfig/common.go`): object storage, the Kafka
//! WAL, logging, tracing, slow query and the audit-log plugin. Each pushes its keys in the Go
//! struct's field order; a nil pointer is left out, an empty string is written.

use base64::Engine as _;
use toml::{Table, Value};

use super::Generated;
use crate::diag::Diagnostic;
use crate::kubernetes::resource::{
    AuditLogSpec, KafkaWal, LoggingSpec, ObjectStorage, SlowQuery, TracingSpec,
};
use crate::kubernetes::secrets::{SecretStore, SecretUse};

/// `StorageConfig`, field by field; filled by [`object_storage`] and `data_home`.
#[derive(Debug, Default)]
pub struct Storage {
    pub kind: Option<&'static str>,
    pub data_home: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub access_key_secret: Option<String>,
    pub bucket: Option<String>,
    pub root: Option<String>,
    pub region: Option<String>,
    pub endpoint: Option<String>,
    pub scope: Option<String>,
    pub credential: Option<String>,
    pub container: Option<String>,
    pub account_name: Option<String>,
    pub account_key: Option<String>,
    pub cache_capacity: Option<String>,
    pub cache_path: Option<String>,
    pub enable_virtual_host_style: Option<bool>,
}

impl Storage {
    pub fn push(self, out: &mut Generated) {
        let strings = [
            ("storage.type", self.kind.map(str::to_string)),
            ("storage.data_home", self.data_home),
            ("storage.access_key_id", self.access_key_id),
            ("storage.secret_access_key", self.secret_access_key),
            ("storage.access_key_secret", self.access_key_secret),
            ("storage.bucket", self.bucket),
            ("storage.root", self.root),
            ("storage.region", self.region),
            ("storage.endpoint", self.endpoint),
            ("storage.scope", self.scope),
            ("storage.credential", self.credential),
            ("storage.container", self.container),
            ("storage.account_name", self.account_name),
            ("storage.account_key", self.account_key),
            ("storage.cache_capacity", self.cache_capacity),
            ("storage.cache_path", self.cache_path),
        ];
        for (key, value) in strings {
            if let Some(value) = value {
                out.push((key, Value::String(value)));
            }
        }
        if let Some(v) = self.enable_virtual_host_style {
            out.push(("storage.enable_virtual_host_style", Value::Boolean(v)));
        }
    }
}

fn text(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

/// `ConfigureObjectStorage`: the first provider set (s3, oss, gcs, azblob), then the cache.
pub fn object_storage(
    os: &ObjectStorage,
    secrets: &SecretStore,
    storage: &mut Storage,
) -> Result<(), Diagnostic> {
    const PURPOSE: &str = "the object store credentials in the datanode config";
    let secret_name = |name: &Option<String>| name.clone().filter(|n| !n.is_empty());
    if let Some(s3) = &os.s3 {
        storage.kind = Some("S3");
        storage.bucket = Some(text(&s3.bucket));
        storage.root = Some(text(&s3.root));
        storage.endpoint = Some(text(&s3.endpoint));
        storage.region = Some(text(&s3.region));
        if let Some(name) = secret_name(&s3.secret_name) {
            let [id, key]: [String; 2] = two(secrets.read_text(&SecretUse {
                name: &name,
                keys: &["access-key-id", "secret-access-key"],
                field: "spec.objectStorage.s3.secretName",
                purpose: PURPOSE,
                public: &[],
            })?);
            storage.access_key_id = Some(id);
            storage.secret_access_key = Some(key);
        }
        if s3.enable_virtual_host_style == Some(true) {
            storage.enable_virtual_host_style = Some(true);
        }
    } else if let Some(oss) = &os.oss {
        storage.kind = Some("Oss");
        storage.bucket = Some(text(&oss.bucket));
        storage.root = Some(text(&oss.root));
        storage.endpoint = Some(text(&oss.endpoint));
        storage.region = Some(text(&oss.region));
        if let Some(name) = secret_name(&oss.secret_name) {
            let [id, key] = two(secrets.read_text(&SecretUse {
                name: &name,
                keys: &["access-key-id", "access-key-secret"],
                field: "spec.objectStorage.oss.secretName",
                purpose: PURPOSE,
                public: &[],
            })?);
            storage.access_key_id = Some(id);
            storage.access_key_secret = Some(key);
        }
    } else if let Some(gcs) = &os.gcs {
        storage.kind = Some("Gcs");
        storage.bucket = Some(text(&gcs.bucket));
        storage.root = Some(text(&gcs.root));
        storage.endpoint = Some(text(&gcs.endpoint));
        storage.scope = Some(text(&gcs.scope));
        if let Some(name) = secret_name(&gcs.secret_name) {
            let key = secrets
                .read(&SecretUse {
                    name: &name,
                    keys: &["service-account-key"],
                    field: "spec.objectStorage.gcs.secretName",
                    purpose: PURPOSE,
                    public: &[],
                })?
                .remove(0);
            if !key.is_empty() {
                let encoded = base64::engine::general_purpose::STANDARD.encode(&key);
                secrets.remember(&encoded);
                storage.credential = Some(encoded);
            }
        }
    } else if let Some(az) = &os.azblob {
        storage.kind = Some("Azblob");
        storage.container = Some(text(&az.container));
        storage.root = Some(text(&az.root));
        storage.endpoint = Some(text(&az.endpoint));
        if let Some(name) = secret_name(&az.secret_name) {
            let [account, key] = two(secrets.read_text(&SecretUse {
                name: &name,
                keys: &["account-name", "account-key"],
                field: "spec.objectStorage.azblob.secretName",
                purpose: PURPOSE,
                public: &[],
            })?);
            storage.account_name = Some(account);
            storage.account_key = Some(key);
        }
    }
    if let Some(cache) = &os.cache {
        if let Some(capacity) = cache.cache_capacity.clone().filter(|c| !c.is_empty()) {
            storage.cache_capacity = Some(capacity);
        }
        let mount = cache.fs.as_ref().and_then(|fs| fs.mount_path.clone());
        if let Some(path) = mount.filter(|p| !p.is_empty()) {
            storage.cache_path = Some(path);
        }
    }
    Ok(())
}

fn two(values: Vec<String>) -> [String; 2] {
    let mut it = values.into_iter();
    [it.next().unwrap_or_default(), it.next().unwrap_or_default()]
}

/// `WALConfig`, field by field.
#[derive(Debug, Default)]
pub struct Wal {
    pub dir: Option<String>,
    pub provider: Option<&'static str>,
    pub broker_endpoints: Vec<String>,
    pub sasl_type: Option<String>,
    pub sasl_username: Option<String>,
    pub sasl_password: Option<String>,
    pub tls_server_ca_cert_path: Option<String>,
    pub tls_client_cert_path: Option<String>,
    pub tls_client_key_path: Option<String>,
}

impl Wal {
    pub fn push(self, out: &mut Generated) {
        if let Some(dir) = self.dir {
            out.push(("wal.dir", Value::String(dir)));
        }
        if let Some(p) = self.provider {
            out.push(("wal.provider", Value::from(p)));
        }
        if !self.broker_endpoints.is_empty() {
            out.push((
                "wal.broker_endpoints",
                Value::Array(
                    self.broker_endpoints
                        .into_iter()
                        .map(Value::String)
                        .collect(),
                ),
            ));
        }
        // `wal.tls` itself is a map the operator fills with nothing (`tls: {}` writes no
        // table); only the three paths below reach the file.
        let rest = [
            ("wal.sasl.type", self.sasl_type),
            ("wal.sasl.username", self.sasl_username),
            ("wal.sasl.password", self.sasl_password),
            ("wal.tls.server_ca_cert_path", self.tls_server_ca_cert_path),
            ("wal.tls.client_cert_path", self.tls_client_cert_path),
            ("wal.tls.client_key_path", self.tls_client_key_path),
        ];
        for (key, value) in rest {
            if let Some(value) = value {
                out.push((key, Value::String(value)));
            }
        }
    }
}

/// `configureKafka`: provider, brokers, SASL (a `secretRef` wins over plain values) and the
/// TLS paths that are set.
pub fn kafka(kafka: &KafkaWal, secrets: &SecretStore, wal: &mut Wal) -> Result<(), Diagnostic> {
    let set = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    wal.provider = Some("kafka");
    wal.broker_endpoints = kafka.broker_endpoints.clone().unwrap_or_default();
    if let Some(sasl) = &kafka.sasl {
        wal.sasl_type = sasl.mechanism.map(|m| m.as_str().to_string());
        wal.sasl_username = set(&sasl.username);
        wal.sasl_password = set(&sasl.password);
        if let Some(p) = &wal.sasl_password {
            secrets.remember(p);
        }
        if let Some(r) = &sasl.secret_ref {
            let name = r.name.clone().unwrap_or_default();
            let user_key = r.username_key.clone().unwrap_or_default();
            let pass_key = r.password_key.clone().unwrap_or_default();
            let [user, password] = two(secrets.read_text(&SecretUse {
                name: &name,
                keys: &[&user_key, &pass_key],
                field: "spec.wal.kafka.sasl.secretRef.name",
                purpose: "the Kafka SASL user and password in the metasrv and datanode configs",
                public: &[&user_key],
            })?);
            wal.sasl_username = Some(user);
            wal.sasl_password = Some(password);
        }
    }
    if let Some(tls) = &kafka.tls {
        wal.tls_server_ca_cert_path = set(&tls.server_ca_cert_path);
        wal.tls_client_cert_path = set(&tls.client_cert_path);
        wal.tls_client_key_path = set(&tls.client_key_path);
    }
    Ok(())
}

/// `ConfigureLogging`: `dir` is `""` unless `logsDir` is set and logs do not go to stdout
/// only; the level carries the filters (`info,mito2=debug`).
pub fn logging(spec: Option<&LoggingSpec>, out: &mut Generated) {
    let Some(spec) = spec else { return };
    let mut dir = spec.logs_dir.clone().unwrap_or_default();
    if spec.only_log_to_stdout == Some(true) {
        dir.clear();
    }
    let mut level = spec
        .level
        .map(|l| l.as_str())
        .unwrap_or_default()
        .to_string();
    let filters = spec.filters.clone().unwrap_or_default();
    if !filters.is_empty() {
        level = format!("{level},{}", filters.join(","));
    }
    out.push(("logging.dir", Value::String(dir)));
    out.push(("logging.level", Value::String(level)));
    out.push((
        "logging.log_format",
        Value::from(spec.format.map(|f| f.as_str()).unwrap_or_default()),
    ));
}

/// Go's `strconv.ParseFloat`, falling back to 1.0 as the operator does.
fn ratio(text: Option<&str>) -> f64 {
    text.and_then(|t| t.parse::<f64>().ok()).unwrap_or(1.0)
}

/// `ConfigureTracing`: only when `enabled: true`.
pub fn tracing(spec: Option<&TracingSpec>, out: &mut Generated) {
    let Some(spec) = spec.filter(|s| s.enabled == Some(true)) else {
        return;
    };
    out.push(("logging.enable_otlp_tracing", Value::Boolean(true)));
    out.push((
        "logging.otlp_endpoint",
        Value::String(spec.endpoint.clone().unwrap_or_default()),
    ));
    out.push((
        "logging.tracing_sample_ratio.default_ratio",
        Value::Float(ratio(spec.sample_ratio.as_deref())),
    ));
    if let Some(headers) = spec.headers.as_ref().filter(|h| !h.is_empty()) {
        let table: Table = headers
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        out.push(("logging.otlp_headers", Value::Table(table)));
    }
}

/// `ConfigureSlowQuery`: every key, whenever the spec is there.
pub fn slow_query(spec: Option<&SlowQuery>, out: &mut Generated) {
    let Some(spec) = spec else { return };
    out.push((
        "slow_query.enable",
        Value::Boolean(spec.enabled == Some(true)),
    ));
    out.push((
        "slow_query.record_type",
        Value::from(spec.record_type.map(|r| r.as_str()).unwrap_or_default()),
    ));
    out.push((
        "slow_query.threshold",
        Value::String(spec.threshold.clone().unwrap_or_default()),
    ));
    out.push((
        "slow_query.sample_ratio",
        Value::Float(ratio(spec.sample_ratio.as_deref())),
    ));
    out.push((
        "slow_query.ttl",
        Value::String(spec.ttl.clone().unwrap_or_default()),
    ));
}

/// `ConfigureAuditLog`: one `[[plugins]]` entry holding `audit_log`, written whenever the spec
/// is there (also with `enabled: false`).
pub fn audit_log(spec: Option<&AuditLogSpec>, out: &mut Generated) {
    let Some(spec) = spec else { return };
    let mut audit = Table::new();
    audit.insert("enable".into(), Value::Boolean(spec.enabled == Some(true)));
    let strings = [
        ("dir", &spec.dir),
        ("sources", &spec.sources),
        ("classes", &spec.classes),
        ("commands", &spec.commands),
        ("object_types", &spec.object_types),
    ];
    for (key, value) in strings {
        if let Some(v) = value.as_ref().filter(|v| !v.is_empty()) {
            audit.insert(key.into(), Value::String(v.clone()));
        }
    }
    if let Some(n) = spec.max_log_files {
        audit.insert("max_log_files".into(), Value::Integer(n.into()));
    }
    let mut plugin = Table::new();
    plugin.insert("audit_log".into(), Value::Table(audit));
    out.push(("plugins", Value::Array(vec![Value::Table(plugin)])));
}
