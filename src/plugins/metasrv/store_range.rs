//! `metasrv.store_range`: `Store.Range` with `keys_only` and a limit of 1: a read-only probe of
//! metasrv and, through it, of its metadata backend.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
    /// Default: empty, from the first key.
    #[serde(default)]
    pub key: String,
}

/// Output of `metasrv.store_range`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct StoreRangeOutput {
    /// The address asked.
    pub address: String,
    /// The first key of the range, as given.
    pub key: String,
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
key: \"\"
";
    type Params = StoreRangeParams;
    type Output = StoreRangeOutput;

    async fn run(&self, params: Self::Params, cx: &StepCx) -> Result<Self::Output, StepError> {
        let address = params.address.trim().to_string();
        let timeouts = params.timeouts.resolve();
        let metasrv = Metasrv::connect(&address, Origin::Given, timeouts, cx).await?;
        let mut client = StoreClient::new(metasrv.channel.clone());
        let request = range_request(&params.key);
        let backend_hint = "metasrv serves Store requests from its metadata backend (`backend` \
             and `store_addrs` in metasrv's config); run `greptime-self-test metasrv -c \
             metasrv.toml` on a metasrv host to check that backend, and see the metasrv logs";
        let (response, latency_ms) =
            match metasrv.call("Store.Range", cx, client.range(request)).await {
                Ok(answer) => answer,
                Err(CallError::Failed(e)) => return Err(e),
                Err(CallError::Status(status)) => {
                    return Err(StepError::rejected(format!(
                    "metasrv at {address} cannot read its metadata backend: Store.Range failed \
                     ({:?}: {})",
                    status.code(),
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
        vec![format!(
            "Store.Range from `{}`: {} key(s){}, {:.1} ms",
            output.key,
            output.kvs,
            if output.more { ", more in range" } else { "" },
            output.latency_ms
        )]
    }
}

/// The request: from `key` to the end of the key space (`range_end` = `\0`), at most one key,
/// keys only.
fn range_request(key: &str) -> RangeRequest {
    RangeRequest {
        header: Some(request_header(0, Role::Frontend)),
        key: key.as_bytes().to_vec(),
        range_end: vec![0],
        limit: 1,
        keys_only: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_reads_one_key_without_its_value() {
        let request = range_request("");
        assert_eq!(
            (request.key.as_slice(), request.range_end.as_slice()),
            (&b""[..], &[0u8][..])
        );
        assert_eq!((request.limit, request.keys_only), (1, true));
        assert_eq!(request.header.unwrap().protocol_version, 1);
        assert_eq!(range_request("__table").key, b"__table");
    }
}
