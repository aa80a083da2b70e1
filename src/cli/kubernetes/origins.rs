//! Where a config key of a rendered pod comes from in the resource, so that a failing check
//! says what to change there: a failed S3 probe on `storage` points at `spec.objectStorage.s3`
//! and the Secret (and keys) its credentials come from, a refused metadata store at
//! `spec.meta.backendStorage.postgresql` and its credentials Secret. The operator writes these
//! keys from these fields (docs/kubernetes.md, "What is rendered"); a user's own `config` TOML
//! may set the same keys, which the hint also says.
//!
//! Applied to the node reports after the run: each failed, errored or warned check whose key
//! falls under one of the resource's fields gets one more hint line. Names only, never values.

use serde_yaml::Value;

use crate::engine::result::{RunReport, Status};

/// The resource fields behind config keys, for one resource.
#[derive(Debug, Default)]
pub struct Origins {
    cluster: String,
    /// (config key or key prefix, where it comes from in the resource)
    entries: Vec<(&'static [&'static str], String)>,
}

/// Object-store kinds: the CR field, and the Secret keys the operator reads for it.
const STORES: [(&str, &[&str]); 4] = [
    ("s3", &["access-key-id", "secret-access-key"]),
    ("oss", &["access-key-id", "access-key-secret"]),
    ("gcs", &["service-account-key"]),
    ("azblob", &["account-name", "account-key"]),
];

impl Origins {
    /// Reads which backends the resource chose.
    pub fn of(cluster: &Value, name: &str) -> Self {
        let spec = cluster.get("spec").cloned().unwrap_or(Value::Null);
        let mut entries = Vec::new();
        if let Some(store) = spec.get("objectStorage") {
            for (kind, keys) in STORES {
                let Some(fields) = store.get(kind) else {
                    continue;
                };
                entries.push((
                    &["storage"][..],
                    with_secret(
                        format!("spec.objectStorage.{kind}"),
                        fields.get("secretName"),
                        keys,
                    ),
                ));
            }
        }
        if let Some(backend) = spec.get("meta").and_then(|m| m.get("backendStorage")) {
            let keys: &'static [&'static str] = &[
                "store_addrs",
                "store_key_prefix",
                "meta_table_name",
                "backend",
            ];
            if backend.get("etcd").is_some() {
                entries.push((keys, "spec.meta.backendStorage.etcd".to_string()));
            }
            for kind in ["postgresql", "mysql"] {
                if let Some(fields) = backend.get(kind) {
                    entries.push((
                        keys,
                        with_secret(
                            format!("spec.meta.backendStorage.{kind}"),
                            fields.get("credentialsSecretName"),
                            &["username", "password"],
                        ),
                    ));
                }
            }
        }
        if let Some(kafka) = spec.get("wal").and_then(|w| w.get("kafka")) {
            let mut text = "spec.wal.kafka (brokerEndpoints, tls, sasl)".to_string();
            if let Some(secret) = kafka
                .get("sasl")
                .and_then(|s| s.get("secretRef"))
                .and_then(|r| r.get("name").or(Some(r)))
                .and_then(Value::as_str)
            {
                text.push_str(&format!("; SASL credentials from Secret `{secret}`"));
            }
            entries.push((&["wal"][..], text));
        }
        entries.push((
            &["meta_client.metasrv_addrs"][..],
            "written by the operator as --metasrv-addrs <cluster>-meta.<namespace>:<spec.meta.rpcPort>"
                .to_string(),
        ));
        entries.push((
            &["enable_region_failover"][..],
            "spec.meta.enableRegionFailover".to_string(),
        ));
        Self {
            cluster: name.to_string(),
            entries,
        }
    }

    /// Adds the resource's field to the hint of every problem whose key it writes.
    pub fn annotate(&self, reports: &mut [RunReport]) {
        for check in reports.iter_mut().flat_map(|r| r.checks.iter_mut()) {
            if !matches!(check.status, Status::Fail | Status::Error | Status::Warn) {
                continue;
            }
            let Some(key) = check.key.as_deref() else {
                continue;
            };
            let Some((_, origin)) = self
                .entries
                .iter()
                .find(|(keys, _)| keys.iter().any(|k| covers(k, key)))
            else {
                continue;
            };
            let line = format!(
                "in GreptimeDBCluster `{}`: {origin} (or the component's own `config` TOML, \
                 whose keys win)",
                self.cluster
            );
            check.hint = Some(match check.hint.take() {
                Some(hint) => format!("{hint}\n{line}"),
                None => line,
            });
        }
    }
}

/// Whether config key `prefix` is `key` or a table above it (`storage` covers
/// `storage.providers (s3)`).
fn covers(prefix: &str, key: &str) -> bool {
    key == prefix
        || key
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with(['.', ' ', '[']))
}

fn with_secret(field: String, secret: Option<&Value>, keys: &[&str]) -> String {
    match secret.and_then(Value::as_str) {
        Some(secret) => format!(
            "{field} (credentials from Secret `{secret}`, keys {})",
            keys.iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => field,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::result::CheckResult;

    fn report(key: &str, status: Status) -> RunReport {
        let check: CheckResult = serde_json::from_value(serde_json::json!({
            "id": "c", "instance": "c", "title": "t", "status": status, "message": "m",
            "hint": "fix it", "key": key, "step": "s", "duration_ms": 0.0, "attempts": 1
        }))
        .unwrap();
        serde_json::from_value(serde_json::json!({
            "tool_version": "0", "run_id": "r", "component": "datanode", "playbook": "p",
            "timestamp": "", "hostname": "h", "overall": "FAIL", "duration_ms": 0.0,
            "counts": {"total": 1, "passed": 0, "warnings": 0, "failed": 1, "errors": 0, "skipped": 0},
            "checks": [check]
        }))
        .unwrap()
    }

    #[test]
    fn failures_point_at_the_resource_field_and_its_secret() {
        let cluster: Value = serde_yaml::from_str(
            "spec:\n  objectStorage: {s3: {bucket: b, secretName: s3-credentials}}\n  \
             meta: {backendStorage: {postgresql: {host: pg, credentialsSecretName: pg-credentials}}}\n",
        )
        .unwrap();
        let origins = Origins::of(&cluster, "mycluster");
        let mut reports = vec![
            report("storage", Status::Fail),
            report("store_addrs", Status::Fail),
            report("storage", Status::Pass),
            report("storage_x", Status::Fail),
        ];
        origins.annotate(&mut reports);
        let hint = |i: usize| reports[i].checks[0].hint.clone().unwrap();
        assert!(
            hint(0).contains(
                "spec.objectStorage.s3 (credentials from Secret `s3-credentials`, keys \
                 `access-key-id`, `secret-access-key`)"
            ),
            "{}",
            hint(0)
        );
        assert!(hint(0).starts_with("fix it\n"), "{}", hint(0));
        assert!(
            hint(1).contains(
                "spec.meta.backendStorage.postgresql (credentials from Secret `pg-credentials`"
            ),
            "{}",
            hint(1)
        );
        assert_eq!(hint(2), "fix it", "passing checks are left alone");
        assert_eq!(
            hint(3),
            "fix it",
            "a key that only starts alike is not covered"
        );
    }
}
