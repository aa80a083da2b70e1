//! What the operator refuses before it generates anything: `Validate` (run in reconcile when
//! the admission webhook is off, its chart default) and the crashes it would hit. Each is an
//! error: the operator deploys nothing for such a resource.

use super::resource::{ClusterSpec, FileStorage};
use super::secrets::{SecretStore, SecretUse};
use crate::diag::Diagnostic;

/// The first rule the resource breaks, in the operator's order (`apis/v1alpha1/validate.go`).
pub fn validate(spec: &ClusterSpec, origin: &str) -> Result<(), Diagnostic> {
    let refuse = |field: &str, message: String, hint: &str| {
        Err(Diagnostic::new(
            "the operator would refuse this GreptimeDBCluster",
            format!("{origin}: `{field}`: {message}"),
        )
        .with_hint(hint.to_string()))
    };

    if let Some(frontend) = &spec.frontend {
        toml_config("spec.frontend.config", frontend.config.as_deref(), origin)?;
    }
    for (i, group) in spec.frontend_groups.iter().flatten().enumerate() {
        if group.name.as_deref().unwrap_or_default().is_empty() {
            return refuse(
                &format!("spec.frontendGroups[{i}].name"),
                "the frontend name must be specified".into(),
                "give every frontend group a `name`",
            );
        }
        toml_config(
            &format!("spec.frontendGroups[{i}].config"),
            group.config.as_deref(),
            origin,
        )?;
    }
    if let Some(meta) = &spec.meta {
        toml_config("spec.meta.config", meta.config.as_deref(), origin)?;
        if let Some(backend) = &meta.backend_storage {
            let count = [
                backend.etcd.is_some(),
                backend.mysql.is_some(),
                backend.postgresql.is_some(),
            ]
            .iter()
            .filter(|b| **b)
            .count();
            if count > 1 {
                return refuse(
                    "spec.meta.backendStorage",
                    "only one of the backend storage can be set (etcd, mysql, postgresql)".into(),
                    "keep the one backend metasrv uses",
                );
            }
        }
    }
    if spec.datanode.is_some()
        && !spec
            .datanode_groups
            .as_deref()
            .unwrap_or_default()
            .is_empty()
    {
        return refuse(
            "spec.datanodeGroups",
            "datanode and datanodeGroups cannot be set at the same time".into(),
            "use either `datanode` or `datanodeGroups`",
        );
    }
    if let Some(datanode) = &spec.datanode {
        if let Some(fs) = datanode.storage.as_ref().and_then(|s| s.fs.as_ref()) {
            if fs.use_empty_dir == Some(true) && fs.storage_class_name.is_some() {
                return refuse(
                    "spec.datanode.storage.fs.storageClassName",
                    "cannot set storageClassName when useEmptyDir is true".into(),
                    "remove storageClassName, or useEmptyDir",
                );
            }
        }
        toml_config("spec.datanode.config", datanode.config.as_deref(), origin)?;
    }
    for (i, group) in spec.datanode_groups.iter().flatten().enumerate() {
        if group.name.as_deref().unwrap_or_default().is_empty() {
            return refuse(
                &format!("spec.datanodeGroups[{i}].name"),
                "the datanode group name must be specified".into(),
                "give every datanode group a `name`",
            );
        }
        toml_config(
            &format!("spec.datanodeGroups[{i}].config"),
            group.config.as_deref(),
            origin,
        )?;
    }
    if let Some(flownode) = &spec.flownode {
        toml_config("spec.flownode.config", flownode.config.as_deref(), origin)?;
    }
    if let Some(wal) = &spec.wal {
        if wal.raft_engine.is_some() && wal.kafka.is_some() {
            return refuse(
                "spec.wal",
                "only one of 'raftEngine' or 'kafka' can be set".into(),
                "keep `kafka` for the remote WAL or `raftEngine` for a local one",
            );
        }
        if let Some(fs) = wal.raft_engine.as_ref().and_then(|r| r.fs.as_ref()) {
            file_storage("spec.wal.raftEngine.fs", fs, origin)?;
        }
    }
    if let Some(os) = &spec.object_storage {
        let count = [
            os.s3.is_some(),
            os.oss.is_some(),
            os.gcs.is_some(),
            os.azblob.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if count > 1 {
            return refuse(
                "spec.objectStorage",
                "only one storage provider can be set (s3, oss, gcs, azblob)".into(),
                "keep the one object store the datanodes use",
            );
        }
        if let Some(fs) = os.cache.as_ref().and_then(|c| c.fs.as_ref()) {
            file_storage("spec.objectStorage.cache.fs", fs, origin)?;
        }
    }
    crashes(spec, origin)
}

/// A `raftEngine` without `fs`: the operator dereferences `fs.mountPath` to write `wal.dir`
/// (`GetWALDir`) and panics on every reconcile of the datanodes.
fn crashes(spec: &ClusterSpec, origin: &str) -> Result<(), Diagnostic> {
    let raft_without_fs = spec
        .wal
        .as_ref()
        .and_then(|w| w.raft_engine.as_ref())
        .is_some_and(|r| r.fs.is_none());
    let has_datanodes = spec.datanode.is_some()
        || !spec
            .datanode_groups
            .as_deref()
            .unwrap_or_default()
            .is_empty();
    if raft_without_fs && has_datanodes {
        return Err(Diagnostic::new(
            "the operator would crash on this GreptimeDBCluster",
            format!(
                "{origin}: `spec.wal.raftEngine` has no `fs`; the operator reads \
                 raftEngine.fs.mountPath for the datanode's wal.dir and panics (nil pointer)"
            ),
        )
        .with_hint(
            "give `spec.wal.raftEngine.fs` (name, storageSize, mountPath), or remove \
             `raftEngine` to keep the WAL under the datanode's dataHome",
        ));
    }
    Ok(())
}

fn file_storage(field: &str, fs: &FileStorage, origin: &str) -> Result<(), Diagnostic> {
    for (name, value) in [
        ("name", &fs.name),
        ("mountPath", &fs.mount_path),
        ("storageSize", &fs.storage_size),
    ] {
        if value.as_deref().unwrap_or_default().is_empty() {
            return Err(Diagnostic::new(
                "the operator would refuse this GreptimeDBCluster",
                format!("{origin}: `{field}.{name}`: {name} is required in file storage"),
            )
            .with_hint(format!("set `{field}.{name}`")));
        }
    }
    Ok(())
}

/// The operator parses each component's `config` as TOML and refuses the resource when it is
/// not TOML.
fn toml_config(field: &str, config: Option<&str>, origin: &str) -> Result<(), Diagnostic> {
    let Some(text) = config.filter(|c| !c.is_empty()) else {
        return Ok(());
    };
    super::dbconfig::parse_user_config(text)
        .map(|_| ())
        .map_err(|e| {
            Diagnostic::new(
                "the operator would refuse this GreptimeDBCluster",
                format!("{origin}: `{field}` is not TOML: {e}"),
            )
            .with_hint("fix the TOML in the `config` string (a YAML block scalar, `config: |`)")
        })
}

/// The operator's `Check`: every Secret the resource names exists with the keys it needs
/// (frontend TLS, object storage, MySQL/PostgreSQL credentials). Kafka's `secretRef` is not
/// checked there; it is read when the configs are generated.
pub fn check(spec: &ClusterSpec, secrets: &SecretStore) -> Result<(), Diagnostic> {
    let tls = spec
        .frontend
        .as_ref()
        .and_then(|f| f.tls.as_ref())
        .and_then(|t| t.secret_name.as_deref())
        .filter(|n| !n.is_empty());
    if let Some(name) = tls {
        secrets.check(&SecretUse {
            name,
            keys: &["tls.crt", "tls.key"],
            field: "spec.frontend.tls.secretName",
            purpose: "the frontend's TLS certificate (mounted at /etc/greptimedb/tls)",
            public: &[],
        })?;
    }
    let os = spec.object_storage.as_ref();
    let stores: [(Option<&str>, &str, &[&str]); 4] = [
        (
            os.and_then(|o| o.s3.as_ref())
                .and_then(|s| s.secret_name.as_deref()),
            "spec.objectStorage.s3.secretName",
            &["access-key-id", "secret-access-key"],
        ),
        (
            os.and_then(|o| o.oss.as_ref())
                .and_then(|s| s.secret_name.as_deref()),
            "spec.objectStorage.oss.secretName",
            &["access-key-id", "access-key-secret"],
        ),
        (
            os.and_then(|o| o.gcs.as_ref())
                .and_then(|s| s.secret_name.as_deref()),
            "spec.objectStorage.gcs.secretName",
            &["service-account-key"],
        ),
        (
            os.and_then(|o| o.azblob.as_ref())
                .and_then(|s| s.secret_name.as_deref()),
            "spec.objectStorage.azblob.secretName",
            &["account-name", "account-key"],
        ),
    ];
    for (name, field, keys) in stores {
        if let Some(name) = name.filter(|n| !n.is_empty()) {
            secrets.check(&SecretUse {
                name,
                keys,
                field,
                purpose: "the object store credentials in the datanode config",
                public: &[],
            })?;
        }
    }
    let backend = spec.meta.as_ref().and_then(|m| m.backend_storage.as_ref());
    let sql = [
        (
            backend
                .and_then(|b| b.mysql.as_ref())
                .and_then(|m| m.credentials_secret_name.as_deref()),
            "spec.meta.backendStorage.mysql.credentialsSecretName",
        ),
        (
            backend
                .and_then(|b| b.postgresql.as_ref())
                .and_then(|m| m.credentials_secret_name.as_deref()),
            "spec.meta.backendStorage.postgresql.credentialsSecretName",
        ),
    ];
    for (name, field) in sql {
        if let Some(name) = name.filter(|n| !n.is_empty()) {
            secrets.check(&SecretUse {
                name,
                keys: &["username", "password"],
                field,
                purpose: "the user and password in metasrv's store_addrs URL",
                public: &["username"],
            })?;
        }
    }
    Ok(())
}
