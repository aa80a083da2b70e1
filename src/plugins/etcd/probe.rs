//! `etcd.probe`: the write probe. Proves metasrv can put, get and delete, that etcd accepts a
//! transaction of metasrv's `max_txn_ops` operations and a value of
//! `procedure.max_metadata_value_size` bytes, and leaves nothing behind.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use etcd_client::{Txn, TxnOp};

use super::client;
use super::{claim_namespace, delete_own, open_namespace, pattern, timed};
use crate::plugins::backend_tls::BackendTls;
use crate::plugins::{Step, StepCx, StepError};

/// Metasrv's default `max_txn_ops`.
const DEFAULT_MAX_TXN_OPS: usize = 128;
/// Metasrv's default `procedure.max_metadata_value_size` (1500KiB).
const DEFAULT_VALUE_SIZE: u64 = 1500 * 1024;
/// Largest value the probe puts.
const MAX_VALUE_SIZE: u64 = 64 << 20;

/// Writes a unique key, reads it back and deletes it; commits one transaction of `max_txn_ops`
/// puts; puts one value of `value_size` bytes; deletes everything and checks nothing is left.
/// All keys live under `{key_prefix}__greptime_self_test/{run_id}/`.
pub struct Probe;

/// Parameters of `etcd.probe`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProbeParams {
    /// Metasrv's `store_addrs`: every etcd endpoint, `host:port` or `http(s)://host:port`.
    /// Requests are spread over all of them as metasrv's client spreads them, so a dead
    /// endpoint among them fails some requests here as it does for metasrv.
    pub endpoints: Vec<String>,
    /// Metasrv's `backend_tls` table.
    #[serde(default)]
    pub tls: BackendTls,
    /// Metasrv's `store_key_prefix` (may be empty). The probe writes only under
    /// `{key_prefix}__greptime_self_test/{run_id}/`.
    #[serde(default)]
    pub key_prefix: String,
    /// Metasrv's `max_txn_ops` (default 128): the probe commits one transaction of exactly this
    /// many puts, which etcd refuses when its `--max-txn-ops` is lower.
    #[serde(default = "default_max_txn_ops")]
    pub max_txn_ops: usize,
    /// Size in bytes of the large value to put, normally metasrv's
    /// `procedure.max_metadata_value_size` (default 1500KiB); a byte count or a size string
    /// such as `"1500KiB"`. etcd refuses it when its `--max-request-bytes` is lower. 0 skips the
    /// large-value probe.
    #[serde(default = "default_value_size", deserialize_with = "de_size")]
    #[schemars(schema_with = "size_schema")]
    pub value_size: u64,
}

fn default_max_txn_ops() -> usize {
    DEFAULT_MAX_TXN_OPS
}

fn default_value_size() -> u64 {
    DEFAULT_VALUE_SIZE
}

/// A byte count or a GreptimeDB size string such as `"1500KiB"`.
fn size_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": ["integer", "string"], "minimum": 0})
}

fn de_size<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let value = Value::deserialize(deserializer)?;
    crate::config::units::parse_size(&value).map_err(serde::de::Error::custom)
}

/// Output of `etcd.probe`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ProbeOutput {
    /// The folder the probe wrote under (`{key_prefix}__greptime_self_test/{run_id}/probe-…/`).
    pub namespace: String,
    /// True in `--read-only` mode: only the namespace was read, and every write field is null.
    pub read_only: bool,
    /// Whether TLS was used.
    pub tls: bool,
    /// Time to put the unique key, in milliseconds.
    pub put_ms: Option<f64>,
    /// Time to read it back (and compare), in milliseconds.
    pub get_ms: Option<f64>,
    /// Time to delete it, in milliseconds.
    pub delete_ms: Option<f64>,
    /// Number of puts in the transaction (metasrv's `max_txn_ops`).
    pub txn_ops: Option<usize>,
    /// Time to commit the transaction, in milliseconds.
    pub txn_ms: Option<f64>,
    /// Size of the large value put, in bytes (null when skipped).
    pub large_value_bytes: Option<u64>,
    /// Time to put the large value, in milliseconds.
    pub large_put_ms: Option<f64>,
    /// Store revision before the probe.
    pub revision_before: i64,
    /// Store revision after everything was deleted again (null in read-only mode).
    pub revision_after: Option<i64>,
    /// Things worth knowing that are not failures (keys of other runs in the namespace).
    pub warnings: Vec<String>,
}

impl Step for Probe {
    const NAME: &'static str = "etcd.probe";
    const SUMMARY: &'static str =
        "Write probe on etcd: put/get/delete, one txn of max_txn_ops puts, \
         one large value; leaves nothing";
    const SHAREABLE: bool = true;
    const EXAMPLE: &'static str = "\
endpoints: [\"127.0.0.1:2379\"]
tls:
  mode: prefer
key_prefix: \"\"
max_txn_ops: 128
value_size: 1536000
";
    type Params = ProbeParams;
    type Output = ProbeOutput;

    async fn run(&self, params: Self::Params, cx: &StepCx) -> Result<Self::Output, StepError> {
        if params.max_txn_ops == 0 {
            return Err(StepError::misconfigured("`max_txn_ops` is 0")
                .with_hint("metasrv splits batches into transactions of `max_txn_ops` operations; set it to at least 1 (default 128)"));
        }
        if params.value_size > MAX_VALUE_SIZE {
            return Err(StepError::could_not_run(format!(
                "`value_size` is {}; the large-value probe puts at most {}",
                size_text(params.value_size),
                size_text(MAX_VALUE_SIZE)
            ))
            .with_hint("etcd recommends requests of at most 10 MiB; lower `procedure.max_metadata_value_size`"));
        }
        let (etcd, ns, state) = open_namespace(
            &params.endpoints,
            &params.tls,
            &params.key_prefix,
            "probe",
            cx,
        )
        .await?;
        let mut warnings = Vec::new();
        if cx.read_only {
            return Ok(ProbeOutput {
                namespace: ns.own,
                read_only: true,
                tls: etcd.tls,
                put_ms: None,
                get_ms: None,
                delete_ms: None,
                txn_ops: None,
                txn_ms: None,
                large_value_bytes: None,
                large_put_ms: None,
                revision_before: state.revision,
                revision_after: None,
                warnings,
            });
        }
        let claim = claim_namespace(&etcd, cx, &ns, &state).await?;
        warnings.extend(claim.warning.clone());
        let mut kv = etcd.client.kv_client();

        // put / get / delete of one key.
        let key = format!("{}kv", ns.own);
        let value = format!("greptime-self-test probe, run {}", cx.run_id).into_bytes();
        let (_, put_ms) = timed(etcd.call(
            cx,
            &format!("put `{key}`"),
            kv.put(key.as_bytes(), value.clone(), Some(claim.put_options())),
        ))
        .await?;
        let (got, get_ms) =
            timed(etcd.call(cx, &format!("get `{key}`"), kv.get(key.as_bytes(), None))).await?;
        match got.kvs().first() {
            Some(kv) if kv.value() == value.as_slice() => {}
            Some(kv) => {
                return Err(StepError::rejected(format!(
                    "etcd returned a different value for `{key}` than was put ({} bytes put, {} \
                     read)",
                    value.len(),
                    kv.value().len()
                ))
                .with_hint(
                    "another client rewrote the key, or the endpoints are different etcd \
                     clusters; check `etcd.cluster`",
                ))
            }
            None => {
                return Err(StepError::rejected(format!(
                    "`{key}` was put but a read right after does not find it"
                ))
                .with_hint(
                    "the endpoints in `store_addrs` may belong to different etcd clusters, or a \
                     proxy serves stale reads; check `etcd.cluster`",
                ))
            }
        }
        let (deleted, delete_ms) = timed(etcd.call(
            cx,
            &format!("delete `{key}`"),
            kv.delete(key.as_bytes(), None),
        ))
        .await?;
        if deleted.deleted() != 1 {
            return Err(StepError::rejected(format!(
                "deleting `{key}` removed {} key(s), expected 1",
                deleted.deleted()
            )));
        }

        // One transaction of max_txn_ops puts.
        let n = params.max_txn_ops;
        let ops: Vec<TxnOp> = (0..n)
            .map(|i| {
                TxnOp::put(
                    format!("{}txn/{i:06}", ns.own),
                    "t",
                    Some(claim.put_options()),
                )
            })
            .collect();
        let what = format!("a transaction of {n} puts");
        let (txn, txn_ms) =
            timed(
                etcd.call_with(cx, &what, kv.txn(Txn::new().and_then(ops)), |e| {
                    let message = client::status_message(e)?;
                    message
                        .contains("too many operations in txn request")
                        .then(|| too_many_ops(n, message))
                }),
            )
            .await?;
        if !txn.succeeded() {
            return Err(StepError::rejected(format!("{what} did not succeed")));
        }

        // One large value.
        let (large_value_bytes, large_put_ms) = if params.value_size == 0 {
            (None, None)
        } else {
            let size = params.value_size;
            let key = format!("{}large", ns.own);
            let data = pattern(size as usize);
            let what = format!("put of a {size}-byte value");
            let (_, put_ms) = timed(etcd.call_with(
                cx,
                &what,
                kv.put(key.as_bytes(), data, Some(claim.put_options())),
                |e| {
                    client::is_too_large(e)
                        .then(|| too_large(size, client::status_message(e).unwrap_or_default()))
                },
            ))
            .await?;
            (Some(size), Some(put_ms))
        };

        let revision_after = delete_own(&etcd, cx, &ns).await?;
        Ok(ProbeOutput {
            namespace: ns.own,
            read_only: false,
            tls: etcd.tls,
            put_ms: Some(put_ms),
            get_ms: Some(get_ms),
            delete_ms: Some(delete_ms),
            txn_ops: Some(n),
            txn_ms: Some(txn_ms),
            large_value_bytes,
            large_put_ms,
            revision_before: state.revision,
            revision_after: Some(revision_after),
            warnings,
        })
    }
}

/// etcd's `--max-txn-ops` is below metasrv's `max_txn_ops`.
fn too_many_ops(n: usize, message: &str) -> StepError {
    StepError::rejected(format!(
        "etcd refused a transaction of {n} operations with `{message}`: its `--max-txn-ops` is \
         below metasrv's `max_txn_ops` = {n}"
    ))
    .with_hint(format!(
        "metasrv sends batches as transactions of up to `max_txn_ops` operations, and they would \
         fail (greptimedb #3285): raise etcd's `--max-txn-ops` to at least {n} (etcd's default is \
         128), or lower `max_txn_ops` in the metasrv config to etcd's value"
    ))
}

/// etcd's `--max-request-bytes` is below `procedure.max_metadata_value_size`.
fn too_large(size: u64, message: &str) -> StepError {
    StepError::rejected(format!(
        "etcd refused a value of {} with `{message}`: its `--max-request-bytes` is below \
         metasrv's `procedure.max_metadata_value_size`",
        size_text(size)
    ))
    .with_hint(format!(
        "metasrv splits procedure state into values of up to \
         `procedure.max_metadata_value_size`, and etcd refuses larger requests (\"request is too \
         large\", greptimedb #6653): raise etcd's `--max-request-bytes` (default 1.5 MiB) above \
         {} plus a few KiB for the key and framing, or lower \
         `procedure.max_metadata_value_size` (default 1500KiB)",
        size_text(size)
    ))
}

/// A byte count with its binary-unit reading, e.g. `1536000 bytes (1500 KiB)`.
fn size_text(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 10) {
        format!("{bytes} bytes ({:.2} MiB)", bytes as f64 / (1 << 20) as f64)
    } else if bytes >= 1 << 10 {
        format!("{bytes} bytes ({:.1} KiB)", bytes as f64 / 1024.0)
    } else {
        format!("{bytes} bytes")
    }
}
