//! `metasrv.store_range`: `Store.Range` with `keys_only` and a limit of 1: a read-only probe of
//! metasrv and, through it, of its metadata backend.
//!
//! The request must be one every backend serves. GreptimeDB's etcd backend refuses an empty key
//! (`EmptyKey` in `src/common/meta/src/kv_backend/etcd.rs`; observed on GreptimeDB 1.0 as
//! `InvalidArgument: Empty key is not allowed`), so the default range is `\0` to `\0`, which
//! is "every key" in the convention all backends share (`to_range` in
//! `src/common/meta/src/rpc/store.rs`, the `Full` template of `kv_backend/rds/*`). Under a
//! `store_key_prefix` metasrv's `ChrootKvBackend` turns it into "every key under the prefix"
//! (`range_end_prepend_root` in `kv_backend/chroot.rs`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tonic::{Code, Status};

use super::client::{CallError, MetaClientTimeouts, Metasrv, Origin};
use super::proto::store_client::StoreClient;
use super::proto::RangeRequest;
use super::{header_error, request_header, Role};
use crate::plugins::{Step, StepCx, StepError};

/// Reads at most one key, without its value, through metasrv's `Store.Range`, which metasrv
/// serves straight from its metadata backend (etcd, PostgreSQL, MySQL): proves end to end that
/// metasrv can read its backend. Writes nothing.
pub struct StoreRange;

/// Parameters of `metasrv.store_range`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreRangeParams {
    /// A metasrv's `host:port`: usually the `leader` output of `metasrv.leader` (any metasrv
    /// answers Store requests).
    pub address: String,
    /// The meta client's timeouts.
    #[serde(flatten)]
    pub timeouts: MetaClientTimeouts,
    /// First key of the range, as text; the range runs from it to the end of the key space.
    /// Leave it out to read from the first key (the request then names every key, `\0` to
    /// `\0`). An empty string is refused before anything is sent: metasrv's etcd backend
    /// rejects an empty key (`InvalidArgument: Empty key is not allowed`).
    #[serde(default)]
    pub key: Option<String>,
}

/// Output of `metasrv.store_range`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct StoreRangeOutput {
    /// The address asked.
    pub address: String,
    /// The first key of the range, as given; null when the range is every key.
    pub key: Option<String>,
    /// Number of keys returned: 0 or 1 (0: no key at or after `key`, e.g. a new cluster).
    pub kvs: usize,
    /// Whether the backend holds more keys in the range.
    pub more: bool,
    /// Time of the Range RPC, connection excluded, in milliseconds.
    pub latency_ms: f64,
}

impl Step for StoreRange {
    const NAME: &'static str = "metasrv.store_range";
    const SUMMARY: &'static str =
        "Read one key (keys only) through metasrv's Store.Range: metasrv reads its backend";
    const SHAREABLE: bool = true;
    const EXAMPLE: &'static str = "\
address: 10.0.0.11:3002
timeout: 3s
connect_timeout: 1s
";
    type Params = StoreRangeParams;
    type Output = StoreRangeOutput;

    async fn run(&self, params: Self::Params, cx: &StepCx) -> Result<Self::Output, StepError> {
        let address = params.address.trim().to_string();
        let request = range_request(params.key.as_deref())?;
        let timeouts = params.timeouts.resolve();
        let metasrv = Metasrv::connect(&address, Origin::Given, timeouts, cx).await?;
        let mut client = StoreClient::new(metasrv.channel.clone());
        let backend_hint = "metasrv serves Store requests from its metadata backend (`backend` \
             and `store_addrs` in metasrv's config); run `greptime-self-test metasrv -c \
             metasrv.toml` on a metasrv host to check that backend, and see the metasrv logs";
        let (response, latency_ms) =
            match metasrv.call("Store.Range", cx, client.range(request)).await {
                Ok(answer) => answer,
                Err(CallError::Failed(e)) => return Err(e),
                Err(CallError::Status(status)) if status.code() == Code::InvalidArgument => {
                    return Err(StepError::rejected(format!(
                        "metasrv at {address} refused the Store.Range request itself \
                         (InvalidArgument{}: {}): the request does not suit its metadata backend",
                        greptime_code(&status),
                        status.message()
                    ))
                    .with_hint(
                        "this says nothing about the backend's health; if `key` is set in the \
                         playbook, leave it out (the step then reads every key), else report it \
                         with metasrv's version and `backend`",
                    ))
                }
                Err(CallError::Status(status)) => {
                    return Err(StepError::rejected(format!(
                        "metasrv at {address} cannot read its metadata backend: Store.Range \
                         failed ({:?}{}: {})",
                        status.code(),
                        greptime_code(&status),
                        status.message()
                    ))
                    .with_hint(backend_hint))
                }
            };
        if let Some(error) = header_error(response.header.as_ref()) {
            return Err(StepError::rejected(format!(
                "metasrv at {address} cannot read its metadata backend: Store.Range answered {error}"
            ))
            .with_hint(backend_hint));
        }
        Ok(StoreRangeOutput {
            address,
            key: params.key,
            kvs: response.kvs.len(),
            more: response.more,
            latency_ms,
        })
    }

    fn details(output: &Self::Output) -> Vec<String> {
        let range = match &output.key {
            Some(key) => format!("from `{key}`"),
            None => "over every key".to_string(),
        };
        vec![format!(
            "Store.Range {range}: {} key(s){}, {:.1} ms",
            output.kvs,
            if output.more { ", more in range" } else { "" },
            output.latency_ms
        )]
    }
}

/// The request: from `key` (default `\0`, the smallest non-empty key, which with `range_end`
/// `\0` means every key) to the end of the key space, at most one key, keys only. An empty
/// `key` is refused: the etcd backend would reject it.
fn range_request(key: Option<&str>) -> Result<RangeRequest, StepError> {
    let key =
        match key {
            None => vec![0],
            Some("") => return Err(StepError::misconfigured(
                "metasrv.store_range: `key` is empty; metasrv's etcd backend rejects an empty key \
                 (InvalidArgument: Empty key is not allowed)",
            )
            .with_hint("leave `key` out to read from the first key, or give a non-empty key")),
            Some(key) => key.as_bytes().to_vec(),
        };
    Ok(RangeRequest {
        header: Some(request_header(0, Role::Frontend)),
        key,
        range_end: vec![0],
        limit: 1,
        keys_only: true,
    })
}

/// `, GreptimeDB status N` from the `x-greptime-err-code` metadata metasrv attaches to its error
/// statuses (`define_into_tonic_status!` in GreptimeDB's `common/error`); empty when absent.
fn greptime_code(status: &Status) -> String {
    status
        .metadata()
        .get("x-greptime-err-code")
        .and_then(|v| v.to_str().ok())
        .map(|code| format!(", GreptimeDB status {code}"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    use prost::Message;

    #[test]
    fn the_default_request_names_every_key_with_a_non_empty_key() {
        // GreptimeDB's etcd backend rejects an empty key (`kv_backend/etcd.rs`, §10:
        // `InvalidArgument: Empty key is not allowed`); `\0`..`\0` is every key there and on
        // the SQL backends (`to_range` in `rpc/store.rs`).
        let request = range_request(None).unwrap();
        assert_eq!(
            (request.key.as_slice(), request.range_end.as_slice()),
            (&[0u8][..], &[0u8][..])
        );
        assert!(!request.key.is_empty());
        assert_eq!((request.limit, request.keys_only), (1, true));
        // On the wire: field 2 (key) and field 3 (range_end) each one zero byte, so the key is
        // sent, not left out as an empty (default) field would be.
        let mut wire = request.clone();
        wire.header = None;
        assert_eq!(
            wire.encode_to_vec(),
            [0x12, 0x01, 0x00, 0x1a, 0x01, 0x00, 0x20, 0x01, 0x28, 0x01]
        );
        assert_eq!(request.header.unwrap().protocol_version, 1);
        assert_eq!(range_request(Some("__table")).unwrap().key, b"__table");
    }

    #[test]
    fn an_empty_key_is_refused_before_sending() {
        let e = range_request(Some("")).unwrap_err();
        assert_eq!(e.kind, crate::plugins::ErrorKind::Misconfigured);
        assert!(
            e.message.contains("Empty key is not allowed"),
            "{}",
            e.message
        );
    }
}
