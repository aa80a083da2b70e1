//! Each role's generated keys (`pkg/dbconfig/{meta,frontend,datanode,flownode}_config.go`), in
//! the order of the Go struct's fields.

use toml::Value;

use super::common::{self, Storage, Wal};
use super::{Generated, Role};
use crate::diag::Diagnostic;
use crate::kubernetes::resource::{ClusterSpec, SqlStorage};
use crate::kubernetes::secrets::{SecretStore, SecretUse};

/// The keys the operator generates for `role` (before the merge with the user's `config`).
pub fn generated(
    spec: &ClusterSpec,
    role: Role,
    secrets: &SecretStore,
) -> Result<Generated, Diagnostic> {
    let mut out = Generated::new();
    match role {
        Role::Meta(meta) => {
            out.push((
                "enable_region_failover",
                Value::Boolean(meta.enable_region_failover == Some(true)),
            ));
            let backend = meta.backend_storage.as_ref();
            let mut store_key_prefix = None;
            let mut store_addrs = Vec::new();
            let mut table_name = None;
            let mut lock_id = None;
            let mut kind = None;
            if let Some(etcd) = backend.and_then(|b| b.etcd.as_ref()) {
                kind = Some("etcd_store");
                store_addrs = etcd.endpoints.clone().unwrap_or_default();
                store_key_prefix = etcd.store_key_prefix.clone().filter(|p| !p.is_empty());
            }
            if let Some(mysql) = backend.and_then(|b| b.mysql.as_ref()) {
                kind = Some("mysql_store");
                let sql = SqlStorage::from(mysql.clone());
                store_addrs = vec![sql_url(
                    "mysql",
                    &sql,
                    "spec.meta.backendStorage.mysql.credentialsSecretName",
                    secrets,
                )?];
                table_name = Some(sql.table.clone().unwrap_or_default());
            }
            if let Some(pg) = backend.and_then(|b| b.postgresql.as_ref()) {
                kind = Some("postgres_store");
                store_addrs = vec![sql_url(
                    "postgres",
                    pg,
                    "spec.meta.backendStorage.postgresql.credentialsSecretName",
                    secrets,
                )?];
                table_name = Some(pg.table.clone().unwrap_or_default());
                lock_id = Some(pg.election_lock_id.unwrap_or(0));
            }
            if let Some(prefix) = store_key_prefix {
                out.push(("store_key_prefix", Value::String(prefix)));
            }
            if !store_addrs.is_empty() {
                out.push((
                    "store_addrs",
                    Value::Array(store_addrs.into_iter().map(Value::String).collect()),
                ));
            }
            if let Some(name) = table_name {
                out.push(("meta_table_name", Value::String(name)));
            }
            if let Some(id) = lock_id {
                let id = i64::try_from(id).map_err(|_| {
                    Diagnostic::new(
                        "cannot render the metasrv config",
                        format!(
                            "spec.meta.backendStorage.postgresql.electionLockID {id} does not fit \
                             a TOML integer (at most {})",
                            i64::MAX
                        ),
                    )
                    .with_hint("choose a lock id below 2^63")
                })?;
                out.push(("meta_election_lock_id", Value::Integer(id)));
            }
            if let Some(kind) = kind {
                out.push(("backend", Value::from(kind)));
            }
            let mut wal = Wal::default();
            if let Some(k) = spec.wal.as_ref().and_then(|w| w.kafka.as_ref()) {
                common::kafka(k, secrets, &mut wal)?;
            }
            wal.push(&mut out);
            common::logging(meta.logging.as_ref(), &mut out);
            common::tracing(meta.tracing.as_ref(), &mut out);
        }
        Role::Frontend(frontend) => {
            let mut storage = Storage::default();
            if frontend.enable_object_storage == Some(true) {
                if let Some(os) = &spec.object_storage {
                    common::object_storage(os, secrets, &mut storage)?;
                }
            }
            storage.push(&mut out);
            common::logging(frontend.logging.as_ref(), &mut out);
            common::slow_query(frontend.slow_query.as_ref(), &mut out);
            common::tracing(frontend.tracing.as_ref(), &mut out);
            common::audit_log(frontend.audit_log.as_ref(), &mut out);
        }
        Role::Datanode(datanode) => {
            let mut storage = Storage::default();
            if let Some(os) = &spec.object_storage {
                common::object_storage(os, secrets, &mut storage)?;
            }
            let kafka = spec.wal.as_ref().and_then(|w| w.kafka.as_ref());
            let mut wal = Wal::default();
            if kafka.is_none() {
                wal.dir = wal_dir(spec).filter(|d| !d.is_empty());
            }
            if let Some(home) = datanode
                .storage
                .as_ref()
                .and_then(|s| s.data_home.clone())
                .filter(|h| !h.is_empty())
            {
                storage.data_home = Some(home);
            }
            if let Some(k) = kafka {
                common::kafka(k, secrets, &mut wal)?;
            }
            storage.push(&mut out);
            wal.push(&mut out);
            common::logging(datanode.logging.as_ref(), &mut out);
            common::tracing(datanode.tracing.as_ref(), &mut out);
        }
        Role::Flownode(_) => {
            let flownode = spec.flownode.as_ref();
            common::logging(flownode.and_then(|f| f.logging.as_ref()), &mut out);
            common::tracing(flownode.and_then(|f| f.tracing.as_ref()), &mut out);
        }
    }
    Ok(out)
}

/// `GetWALDir`: the raft-engine volume's mount path, else the top-level datanode's
/// `dataHome/wal` (datanode groups get none and keep GreptimeDB's default under their own
/// data home). A `raftEngine` without `fs` crashes the operator; validation refuses it first.
pub fn wal_dir(spec: &ClusterSpec) -> Option<String> {
    if let Some(raft) = spec.wal.as_ref().and_then(|w| w.raft_engine.as_ref()) {
        return Some(
            raft.fs
                .as_ref()
                .and_then(|fs| fs.mount_path.clone())
                .unwrap_or_default(),
        );
    }
    let home = spec
        .datanode
        .as_ref()
        .and_then(|d| d.storage.as_ref())
        .and_then(|s| s.data_home.clone())
        .filter(|h| !h.is_empty())?;
    Some(format!("{home}/wal"))
}

/// `mysql://user:password@host:port/database`, credentials pasted in unescaped as the operator
/// does.
fn sql_url(
    scheme: &str,
    sql: &SqlStorage,
    field: &str,
    secrets: &SecretStore,
) -> Result<String, Diagnostic> {
    let name = sql.credentials_secret_name.clone().unwrap_or_default();
    if name.is_empty() {
        return Err(Diagnostic::new(
            "no credentials Secret for the metadata store",
            format!(
                "`{field}` is not set; the operator reads `username` and `password` from that \
                 Secret for metasrv's store_addrs and stops when it cannot"
            ),
        )
        .with_hint(format!(
            "set `{field}` to a Secret with keys username and password"
        )));
    }
    let values = secrets.read_text(&SecretUse {
        name: &name,
        keys: &["username", "password"],
        field,
        purpose: "the user and password in metasrv's store_addrs URL",
        public: &["username"],
    })?;
    Ok(format!(
        "{scheme}://{}:{}@{}:{}/{}",
        values[0],
        values[1],
        sql.host.clone().unwrap_or_default(),
        sql.port.unwrap_or(0),
        sql.database.clone().unwrap_or_default()
    ))
}
