//! `etcd.latency`: put and get latency percentiles over a bounded number of sequential
//! operations, with the write probe's namespace and no-leftover guarantees.

use etcd_client::GetOptions;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{claim_namespace, delete_own, open_namespace, pattern, timed};
use crate::plugins::backend_tls::BackendTls;
use crate::plugins::{LatencySummary, Step, StepCx, StepError};

/// Upper bound of `operations`.
const MAX_OPERATIONS: usize = 10_000;
/// Upper bound of `value_size`.
const MAX_VALUE_SIZE: usize = 1 << 20;

/// Puts `operations` distinct keys one after the other, then gets each of them, and reports
/// p50/p90/p99/max latencies; then deletes everything. In `--read-only` mode, only gets of a
/// missing key are timed.
pub struct Latency;

/// Parameters of `etcd.latency`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LatencyParams {
    /// Metasrv's `store_addrs`: every etcd endpoint, `host:port` or `http(s)://host:port`.
    /// Requests are spread over all of them as metasrv's client spreads them, so a dead
    /// endpoint among them fails some requests here as it does for metasrv.
    pub endpoints: Vec<String>,
    /// Metasrv's `backend_tls` table.
    #[serde(default)]
    pub tls: BackendTls,
    /// Metasrv's `store_key_prefix` (may be empty). Keys are written only under
    /// `{key_prefix}__greptime_self_test/{run_id}/`.
    #[serde(default)]
    pub key_prefix: String,
    /// Number of puts, and of gets (default 200, at most 10000).
    #[serde(default = "default_operations")]
    pub operations: usize,
    /// Size of each value in bytes (default 256, at most 1 MiB).
    #[serde(default = "default_value_size")]
    pub value_size: usize,
}

fn default_operations() -> usize {
    200
}

fn default_value_size() -> usize {
    256
}

/// Output of `etcd.latency`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct LatencyOutput {
    /// The folder the keys were written under.
    pub namespace: String,
    /// True in `--read-only` mode: nothing was written and every put field is null.
    pub read_only: bool,
    /// Whether TLS was used.
    pub tls: bool,
    /// Number of puts and of gets timed.
    pub operations: usize,
    /// Size of each value put, in bytes.
    pub value_size: usize,
    /// Median put latency, in milliseconds.
    pub put_p50_ms: Option<f64>,
    /// 90th percentile put latency, in milliseconds.
    pub put_p90_ms: Option<f64>,
    /// 99th percentile put latency, in milliseconds.
    pub put_p99_ms: Option<f64>,
    /// Slowest put, in milliseconds.
    pub put_max_ms: Option<f64>,
    /// Median get latency, in milliseconds.
    pub get_p50_ms: f64,
    /// 90th percentile get latency, in milliseconds.
    pub get_p90_ms: f64,
    /// 99th percentile get latency, in milliseconds.
    pub get_p99_ms: f64,
    /// Slowest get, in milliseconds.
    pub get_max_ms: f64,
    /// Things worth knowing that are not failures (keys of other runs in the namespace).
    pub warnings: Vec<String>,
}

impl Step for Latency {
    const NAME: &'static str = "etcd.latency";
    const SUMMARY: &'static str =
        "Put/get latency percentiles on etcd over sequential operations; leaves nothing";
    const SHAREABLE: bool = true;
    const EXAMPLE: &'static str = "\
endpoints: [\"127.0.0.1:2379\"]
tls:
  mode: prefer
key_prefix: \"\"
operations: 200
value_size: 256
";
    type Params = LatencyParams;
    type Output = LatencyOutput;

    async fn run(&self, params: Self::Params, cx: &StepCx) -> Result<Self::Output, StepError> {
        let operations = params.operations;
        if operations == 0 || operations > MAX_OPERATIONS {
            return Err(StepError::could_not_run(format!(
                "`operations` is {operations}; it must be between 1 and {MAX_OPERATIONS}"
            )));
        }
        if params.value_size > MAX_VALUE_SIZE {
            return Err(StepError::could_not_run(format!(
                "`value_size` is {}; it must be at most {MAX_VALUE_SIZE} bytes",
                params.value_size
            )));
        }
        let (etcd, ns, state) = open_namespace(
            &params.endpoints,
            &params.tls,
            &params.key_prefix,
            "latency",
            cx,
        )
        .await?;
        let mut kv = etcd.client.kv_client();
        let mut warnings = Vec::new();

        let (put, get) = if cx.read_only {
            let key = format!("{}missing", ns.own);
            let mut gets = Vec::with_capacity(operations);
            for _ in 0..operations {
                let (_, get_ms) = timed(etcd.call(
                    cx,
                    &format!("get `{key}`"),
                    kv.get(key.as_bytes(), Some(GetOptions::new().with_count_only())),
                ))
                .await?;
                gets.push(get_ms);
            }
            (None, summary(&gets))
        } else {
            let claim = claim_namespace(&etcd, cx, &ns, &state).await?;
            warnings.extend(claim.warning.clone());

            let value = pattern(params.value_size);
            let keys: Vec<String> = (0..operations)
                .map(|i| format!("{}{i:06}", ns.own))
                .collect();
            let mut puts = Vec::with_capacity(operations);
            for key in &keys {
                let (_, put_ms) = timed(etcd.call(
                    cx,
                    &format!("put `{key}`"),
                    kv.put(key.as_bytes(), value.clone(), Some(claim.put_options())),
                ))
                .await?;
                puts.push(put_ms);
            }
            let mut gets = Vec::with_capacity(operations);
            for key in &keys {
                let (got, get_ms) =
                    timed(etcd.call(cx, &format!("get `{key}`"), kv.get(key.as_bytes(), None)))
                        .await?;
                gets.push(get_ms);
                if got.kvs().first().map(|kv| kv.value()) != Some(value.as_slice()) {
                    return Err(StepError::rejected(format!(
                        "`{key}` was put but a read right after returns {}",
                        if got.kvs().is_empty() {
                            "nothing"
                        } else {
                            "a different value"
                        }
                    ))
                    .with_hint(
                        "the endpoints in `store_addrs` may belong to different etcd clusters; \
                         check `etcd.cluster`",
                    ));
                }
            }
            delete_own(&etcd, cx, &ns).await?;
            (Some(summary(&puts)), summary(&gets))
        };

        Ok(LatencyOutput {
            namespace: ns.own,
            read_only: cx.read_only,
            tls: etcd.tls,
            operations,
            value_size: params.value_size,
            put_p50_ms: put.map(|put| put.p50),
            put_p90_ms: put.map(|put| put.p90),
            put_p99_ms: put.map(|put| put.p99),
            put_max_ms: put.map(|put| put.max),
            get_p50_ms: get.p50,
            get_p90_ms: get.p90,
            get_p99_ms: get.p99,
            get_max_ms: get.max,
            warnings,
        })
    }

    fn details(output: &Self::Output) -> Vec<String> {
        let mut lines = Vec::new();
        if let (Some(p50), Some(p90), Some(p99), Some(max)) = (
            output.put_p50_ms,
            output.put_p90_ms,
            output.put_p99_ms,
            output.put_max_ms,
        ) {
            lines.push(format!(
                "put ({} × {} B): p50 {p50:.2} ms, p90 {p90:.2} ms, p99 {p99:.2} ms, max {max:.2} ms",
                output.operations, output.value_size
            ));
        }
        lines.push(format!(
            "get ({}): p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            output.operations,
            output.get_p50_ms,
            output.get_p90_ms,
            output.get_p99_ms,
            output.get_max_ms
        ));
        lines
    }
}

/// The summary of one kind of operation; `operations` is at least 1, so there are samples.
fn summary(samples_ms: &[f64]) -> LatencySummary {
    LatencySummary::of(samples_ms).expect("at least one operation")
}
