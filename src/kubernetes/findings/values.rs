//! Values the operator writes (or leaves out) that GreptimeDB reads as something else: an
//! empty `tls: {}`, literal empty strings and zeros, empty lists that fall back to GreptimeDB's
//! localhost defaults, a `[storage] type` that disagrees with `objectStorage`.

use toml::Value;

use super::{finding, Context};
use crate::kubernetes::dbconfig::{self, Role};
use crate::kubernetes::pods::Workload;
use crate::kubernetes::rendered::{FindingSeverity, ResourceFinding};
use crate::kubernetes::resource::SqlStorage;

pub fn find(cx: &Context, out: &mut Vec<ResourceFinding>) {
    kafka(cx, out);
    metadata_store(cx, out);
    object_store(cx, out);
}

fn meta<'a>(cx: &'a Context) -> Option<&'a Workload<'a>> {
    cx.workloads
        .iter()
        .find(|w| matches!(w.role, Role::Meta(_)))
}

/// The workloads that read the Kafka WAL settings: metasrv and the datanodes.
fn wal_readers<'a>(cx: &'a Context) -> impl Iterator<Item = &'a Workload<'a>> {
    cx.workloads
        .iter()
        .filter(|w| matches!(w.role, Role::Meta(_) | Role::Datanode(_)))
}

fn str_at<'a>(w: &'a Workload, key: &str) -> Option<&'a str> {
    dbconfig::get(&w.config.merged, key).and_then(Value::as_str)
}

fn kafka(cx: &Context, out: &mut Vec<ResourceFinding>) {
    let Some(kafka) = cx.raw.wal.as_ref().and_then(|w| w.kafka.as_ref()) else {
        return;
    };
    if let Some(tls) = &kafka.tls {
        let empty = [
            &tls.server_ca_cert_path,
            &tls.client_cert_path,
            &tls.client_key_path,
        ]
        .iter()
        .all(|v| v.as_deref().unwrap_or_default().is_empty());
        let plaintext: Vec<&str> = wal_readers(cx)
            .filter(|w| !dbconfig::has(&w.config.merged, "wal.tls"))
            .map(|w| w.resource.as_str())
            .collect();
        if empty && !plaintext.is_empty() {
            out.push(finding(
                "kafka_tls_empty",
                FindingSeverity::Warning,
                "spec.wal.kafka.tls",
                format!(
                    "`tls: {{}}` writes no [wal.tls] table (the operator writes only the TLS \
                     paths that are set), so {} connect to Kafka in plaintext; the Helm chart \
                     documents `tls: {{}}` as TLS with the system CA certificates. Against a \
                     TLS listener the connection fails",
                    plaintext.join(", ")
                ),
                "for TLS with the system CAs set spec.wal.kafka.tls.serverCaCertPath to the CA \
                 bundle in the image (e.g. /etc/ssl/certs/ca-certificates.crt), or add an empty \
                 `[wal.tls]` table to spec.meta.config and spec.datanode.config; for plaintext \
                 remove spec.wal.kafka.tls",
            ));
        }
    }
    if kafka
        .broker_endpoints
        .as_deref()
        .unwrap_or_default()
        .is_empty()
    {
        let defaulted: Vec<&str> = wal_readers(cx)
            .filter(|w| !dbconfig::has(&w.config.merged, "wal.broker_endpoints"))
            .map(|w| w.resource.as_str())
            .collect();
        if !defaulted.is_empty() {
            out.push(finding(
                "value_not_written",
                FindingSeverity::Error,
                "spec.wal.kafka.brokerEndpoints",
                format!(
                    "no broker endpoints: the operator writes no wal.broker_endpoints, so {} use \
                     GreptimeDB's default 127.0.0.1:9092, a broker inside their own pod",
                    defaulted.join(", ")
                ),
                "list the Kafka bootstrap servers in spec.wal.kafka.brokerEndpoints",
            ));
        }
    }
}

fn metadata_store(cx: &Context, out: &mut Vec<ResourceFinding>) {
    let Some(meta) = meta(cx) else { return };
    let Some(backend) = cx
        .raw
        .meta
        .as_ref()
        .and_then(|m| m.backend_storage.as_ref())
    else {
        return;
    };
    if let Some(etcd) = &backend.etcd {
        if etcd.endpoints.as_deref().unwrap_or_default().is_empty()
            && !dbconfig::has(&meta.config.merged, "store_addrs")
        {
            out.push(finding(
                "value_not_written",
                FindingSeverity::Error,
                "spec.meta.backendStorage.etcd.endpoints",
                "no etcd endpoints: the operator writes no store_addrs, so metasrv uses \
                 GreptimeDB's default 127.0.0.1:2379, an etcd inside its own pod",
                "list the etcd client endpoints in spec.meta.backendStorage.etcd.endpoints",
            ));
        }
    }
    let (kind, sql) = match (&backend.mysql, &backend.postgresql) {
        (Some(m), _) => ("mysql", SqlStorage::from(m.clone())),
        (None, Some(p)) => ("postgresql", p.clone()),
        _ => return,
    };
    let (host, port, database) = (sql.host, sql.port, sql.database);
    let field = format!("spec.meta.backendStorage.{kind}");
    if str_at(meta, "meta_table_name") == Some("") {
        let create = if kind == "mysql" {
            "CREATE TABLE IF NOT EXISTS ``"
        } else {
            "CREATE TABLE IF NOT EXISTS \"\""
        };
        out.push(finding(
            "empty_value_written",
            FindingSeverity::Error,
            format!("{field}.table"),
            format!(
                "no table: the operator writes meta_table_name = \"\" (not GreptimeDB's default \
                 greptime_metakv), so metasrv runs `{create} …` at start-up, which the server \
                 refuses (an empty table name), and metasrv does not start"
            ),
            format!("set {field}.table, e.g. `table: greptime_metakv`"),
        ));
    }
    if kind == "postgresql"
        && dbconfig::get(&meta.config.merged, "meta_election_lock_id").and_then(Value::as_integer)
            == Some(0)
    {
        out.push(finding(
            "empty_value_written",
            FindingSeverity::Warning,
            format!("{field}.electionLockID"),
            "no electionLockID: the operator writes meta_election_lock_id = 0 (GreptimeDB's \
             default is 1); metasrv elects its leader with pg_try_advisory_lock(0), so every \
             cluster deployed without electionLockID on the same PostgreSQL database competes \
             for that one lock, and only one of those clusters has a leader at a time",
            format!(
                "set {field}.electionLockID to a number no other cluster on this database uses"
            ),
        ));
    }
    // The URL the operator wrote, if it is what metasrv reads.
    if !generated_store_addrs_kept(meta) {
        return;
    }
    if host.as_deref().unwrap_or_default().is_empty() {
        out.push(finding(
            "empty_value_written",
            FindingSeverity::Error,
            format!("{field}.host"),
            "no host: store_addrs is written with an empty host (`…@:port/…`), which metasrv \
             cannot connect to",
            format!("set {field}.host to the database server's address"),
        ));
    }
    if port.unwrap_or(0) == 0 {
        let default = if kind == "mysql" { 3306 } else { 5432 };
        out.push(finding(
            "empty_value_written",
            FindingSeverity::Error,
            format!("{field}.port"),
            "no port: store_addrs is written with port 0 (the operator has no default port), \
             which metasrv cannot connect to",
            format!("set {field}.port, e.g. `port: {default}`"),
        ));
    }
    if database.as_deref().unwrap_or_default().is_empty() {
        if kind == "mysql" {
            out.push(finding(
                "empty_value_written",
                FindingSeverity::Error,
                format!("{field}.database"),
                "no database: store_addrs names no database (`…:port/`), and metasrv's \
                 statements name the table without a database, so MySQL answers `No database \
                 selected` and metasrv does not start",
                format!("set {field}.database"),
            ));
        } else {
            out.push(finding(
                "empty_value_written",
                FindingSeverity::Warning,
                format!("{field}.database"),
                "no database: store_addrs names no database (`…:port/`), so metasrv connects \
                 to the database named like its user",
                format!("set {field}.database to the database metasrv should use"),
            ));
        }
    }
}

/// Whether metasrv's `store_addrs` is the one the operator generated (the user's `config`
/// wins when it sets its own).
pub(super) fn generated_store_addrs_kept(meta: &Workload) -> bool {
    let generated = meta
        .config
        .generated
        .iter()
        .find(|(k, _)| *k == "store_addrs")
        .map(|(_, v)| v);
    generated.is_some() && generated == dbconfig::get(&meta.config.merged, "store_addrs")
}

fn object_store(cx: &Context, out: &mut Vec<ResourceFinding>) {
    let Some(os) = cx.raw.object_storage.as_ref() else {
        return;
    };
    let (provider, expected) = if os.s3.is_some() {
        ("s3", "S3")
    } else if os.oss.is_some() {
        ("oss", "Oss")
    } else if os.gcs.is_some() {
        ("gcs", "Gcs")
    } else if os.azblob.is_some() {
        ("azblob", "Azblob")
    } else {
        return;
    };
    let field = format!("spec.objectStorage.{provider}");
    for w in cx.workloads {
        if let Role::Frontend(f) = w.role {
            if f.enable_object_storage == Some(true) {
                out.push(finding(
                    "frontend_storage_ignored",
                    FindingSeverity::Warning,
                    format!("{}.enableObjectStorage", w.field),
                    format!(
                        "enableObjectStorage writes {field} and its credentials into {}'s \
                         config, but the open-source frontend (GreptimeDB {}) has no [storage] \
                         option and ignores the table",
                        w.resource,
                        crate::config::GREPTIMEDB_VERSION
                    ),
                    format!(
                        "remove {}.enableObjectStorage when the frontend runs open-source \
                         GreptimeDB",
                        w.field
                    ),
                ));
            }
        }
        let reads_storage = match w.role {
            Role::Datanode(_) => true,
            Role::Frontend(f) => f.enable_object_storage == Some(true),
            _ => false,
        };
        if !reads_storage {
            continue;
        }
        let Some(kind) = str_at(w, "storage.type") else {
            continue;
        };
        if kind != expected {
            out.push(finding(
                "storage_type_mismatch",
                FindingSeverity::Error,
                format!("{}.config", w.field),
                format!(
                    "{}.config sets [storage] type = \"{kind}\" while {field} is set: the \
                     config keeps its own type (its keys win, key by key) and still receives \
                     the {expected} bucket and credentials, so {} store their data as {kind}, \
                     not in {expected}",
                    w.field, w.resource
                ),
                format!(
                    "remove `type` from [storage] in {}.config, or remove {field}",
                    w.field
                ),
            ));
            continue;
        }
        let endpoint = str_at(w, "storage.endpoint").unwrap_or_default();
        let needs_endpoint = matches!(kind, "Oss" | "Azblob");
        if needs_endpoint && endpoint.is_empty() {
            out.push(finding(
                "empty_value_written",
                FindingSeverity::Error,
                format!("{field}.endpoint"),
                format!(
                    "no endpoint: the operator writes storage.endpoint = \"\" and {kind} has no \
                     default endpoint, so {} fail at start-up (OpenDAL: \"endpoint is empty\")",
                    w.resource
                ),
                format!("set {field}.endpoint"),
            ));
        }
        if kind == "S3" && str_at(w, "storage.region").unwrap_or_default().is_empty() {
            let env = w.env("", cx.namespace, cx.store);
            let from_env = ["AWS_REGION", "AWS_DEFAULT_REGION"]
                .iter()
                .any(|k| env.vars.get(*k).is_some_and(|v| !v.is_empty()));
            if !from_env {
                out.push(finding(
                    "empty_value_written",
                    FindingSeverity::Error,
                    format!("{field}.region"),
                    format!(
                        "no region: the operator writes storage.region = \"\", which OpenDAL \
                         treats as unset; without AWS_REGION in the pod {} fail at start-up \
                         (\"region is missing\"), even with a custom endpoint",
                        w.resource
                    ),
                    format!(
                        "set {field}.region (any value the endpoint accepts, e.g. us-east-1 for \
                         most S3-compatible stores)"
                    ),
                ));
            }
        }
    }
}
