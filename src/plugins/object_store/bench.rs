//! `object_store.bench`: latency and throughput of the datanode's object store, measured
//! through the operator GreptimeDB would build, under the probe's prefix of its own. Warp's
//! method: a warm-up, then fixed-length segments whose fastest, median and slowest rates are
//! reported. The step gives no verdict; thresholds belong in the playbook's outcomes.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use indicatif::{ProgressBar, ProgressFinish};
use opendal::{Buffer, EntryMode, Operator};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::time::Instant;

use super::client::{BuildOptions, Op};
use super::probe::{first_entries, payload, Target, LIST_SCAN};
use super::{HttpClientConfig, StoreConfig, PROBE_DIR};
use crate::config::units::parse_size;
use crate::plugins::{de_opt_duration, millis, LatencySummary, Step, StepCx, StepError};

/// Size of the latency-phase objects, and the most read of each existing object in a
/// `--read-only` run.
const SMALL_BYTES: u64 = 4 * 1024;
/// Length of one throughput segment.
const SEGMENT: Duration = Duration::from_secs(1);
/// Time kept back from the step deadline (the last requests in flight).
const MARGIN: Duration = Duration::from_secs(3);
const MIB: f64 = 1024.0 * 1024.0;

/// Measures the object store: sequential 4 KiB PUTs then GETs (total time, and time to first
/// byte for GET), then `concurrency` workers PUTting `object_size` objects for `duration`
/// after `warmup`, then GETting them back the same way; reports p50/p90/p99/max latencies and
/// the median, fastest and slowest 1-second segment in MiB/s and objects/s per direction.
/// Everything is written under `<root>/.greptime-self-test/<run id>/bench/`, removed by a
/// cleanup registered before the first write, which waits for the writes in flight. With
/// `--read-only` it only measures GETs of the first 4 KiB of existing objects.
pub struct Bench;

/// Parameters of `object_store.bench`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BenchParams {
    /// The store: the `[storage]` table or one `[[storage.providers]]` entry.
    pub store: StoreConfig,
    /// `[storage.http_client]`; a provider's own `http_client` table wins over it.
    #[serde(default)]
    pub http_client: Option<HttpClientConfig>,
    /// `storage.data_home`: the root of File stores.
    #[serde(default)]
    pub data_home: Option<String>,
    /// Number of small PUTs and GETs of the latency phase (default 50, at most 1000).
    #[serde(default)]
    pub latency_ops: Option<u32>,
    /// Size of each throughput object: a size string (`8MiB`) or bytes (default `8MiB`, at
    /// most `256MiB`).
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub object_size: Option<Value>,
    /// Parallel workers of the throughput phase (default 4, at most 64).
    #[serde(default)]
    pub concurrency: Option<u32>,
    /// Measured time of each throughput direction (default `10s`, at most `120s`).
    #[serde(default, deserialize_with = "de_opt_duration")]
    #[schemars(with = "Option<String>")]
    pub duration: Option<Duration>,
    /// Unmeasured time before each direction's measurement (default `2s`, at most `60s`).
    #[serde(default, deserialize_with = "de_opt_duration")]
    #[schemars(with = "Option<String>")]
    pub warmup: Option<Duration>,
    /// Cap on the bytes written by the throughput phase (default `2GiB`).
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub max_bytes: Option<Value>,
}

/// Output of `object_store.bench`: flat numbers (every one becomes a metric).
#[derive(Debug, Default, Serialize, JsonSchema)]
pub struct BenchOutput {
    /// The store's name as GreptimeDB computes it.
    pub store: String,
    /// `File`, `S3`, `Oss`, `Azblob` or `Gcs`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The bench prefix, relative to the root.
    pub prefix: String,
    /// True in a `--read-only` run: nothing was written.
    pub read_only: bool,
    /// Bytes of each throughput object.
    pub object_size: u64,
    /// Throughput workers.
    pub concurrency: u32,
    /// Small PUT latency p50 (ms).
    pub put_p50_ms: Option<f64>,
    /// Small PUT latency p90 (ms).
    pub put_p90_ms: Option<f64>,
    /// Small PUT latency p99 (ms).
    pub put_p99_ms: Option<f64>,
    /// Small PUT latency max (ms).
    pub put_max_ms: Option<f64>,
    /// Small GET latency p50, body included (ms).
    pub get_p50_ms: Option<f64>,
    /// Small GET latency p90, body included (ms).
    pub get_p90_ms: Option<f64>,
    /// Small GET latency p99, body included (ms).
    pub get_p99_ms: Option<f64>,
    /// Small GET latency max, body included (ms).
    pub get_max_ms: Option<f64>,
    /// Small GET time to first byte p50 (ms).
    pub get_ttfb_p50_ms: Option<f64>,
    /// Small GET time to first byte p90 (ms).
    pub get_ttfb_p90_ms: Option<f64>,
    /// Small GET time to first byte p99 (ms).
    pub get_ttfb_p99_ms: Option<f64>,
    /// Small GET time to first byte max (ms).
    pub get_ttfb_max_ms: Option<f64>,
    /// PUT throughput, median 1-second segment (MiB/s).
    pub put_mib_s_median: Option<f64>,
    /// PUT throughput, fastest segment (MiB/s).
    pub put_mib_s_fastest: Option<f64>,
    /// PUT throughput, slowest segment (MiB/s).
    pub put_mib_s_slowest: Option<f64>,
    /// PUT objects per second, median segment.
    pub put_objects_s_median: Option<f64>,
    /// PUT objects per second, fastest segment.
    pub put_objects_s_fastest: Option<f64>,
    /// PUT objects per second, slowest segment.
    pub put_objects_s_slowest: Option<f64>,
    /// Full PUT segments measured.
    pub put_segments: u64,
    /// Objects the throughput PUTs wrote, warm-up included (the GETs read these).
    pub put_objects: u64,
    /// GET throughput, median 1-second segment (MiB/s).
    pub get_mib_s_median: Option<f64>,
    /// GET throughput, fastest segment (MiB/s).
    pub get_mib_s_fastest: Option<f64>,
    /// GET throughput, slowest segment (MiB/s).
    pub get_mib_s_slowest: Option<f64>,
    /// GET objects per second, median segment.
    pub get_objects_s_median: Option<f64>,
    /// GET objects per second, fastest segment.
    pub get_objects_s_fastest: Option<f64>,
    /// GET objects per second, slowest segment.
    pub get_objects_s_slowest: Option<f64>,
    /// Full GET segments measured.
    pub get_segments: u64,
    /// Objects the throughput GETs read, warm-up included.
    pub get_objects: u64,
    /// Full segments of both directions.
    pub segments: u64,
    /// Bytes written (latency and throughput objects).
    pub bytes_written: u64,
    /// Bytes read back by the throughput GETs.
    pub bytes_read: u64,
    /// Why a phase stopped before its duration (`max_bytes reached`, `step deadline`), if
    /// one did.
    pub stopped_early: Option<String>,
    /// Things worth knowing that are not failures.
    pub warnings: Vec<String>,
}

impl Step for Bench {
    const NAME: &'static str = "object_store.bench";
    const SUMMARY: &'static str = "Object-store latency (small PUT/GET, GET TTFB) and warp-style PUT/GET throughput under a prefix of its own";
    const SHAREABLE: bool = true;
    const EXAMPLE: &'static str = concat!(
        s3_store_example!(),
        "\
latency_ops: 50
object_size: 8MiB
concurrency: 4
duration: 10s
warmup: 2s
max_bytes: 2GiB
",
    );
    type Params = BenchParams;
    type Output = BenchOutput;

    async fn run(&self, params: Self::Params, cx: &StepCx) -> Result<Self::Output, StepError> {
        bench(params, cx).await
    }

    fn details(o: &Self::Output) -> Vec<String> {
        let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
        let mut lines = vec![
            format!(
                "small PUT ms p50/p99/max: {}/{}/{}",
                f(o.put_p50_ms),
                f(o.put_p99_ms),
                f(o.put_max_ms)
            ),
            format!(
                "small GET ms p50/p99/max: {}/{}/{} (TTFB p50/p99: {}/{})",
                f(o.get_p50_ms),
                f(o.get_p99_ms),
                f(o.get_max_ms),
                f(o.get_ttfb_p50_ms),
                f(o.get_ttfb_p99_ms)
            ),
        ];
        for (dir, (median, fastest, slowest), segments) in [
            (
                "PUT",
                (o.put_mib_s_median, o.put_mib_s_fastest, o.put_mib_s_slowest),
                o.put_segments,
            ),
            (
                "GET",
                (o.get_mib_s_median, o.get_mib_s_fastest, o.get_mib_s_slowest),
                o.get_segments,
            ),
        ] {
            lines.push(format!(
                "{dir} MiB/s median/fastest/slowest: {}/{}/{} over {segments} segments",
                f(median),
                f(fastest),
                f(slowest)
            ));
        }
        lines.extend(o.warnings.iter().map(|w| format!("warning: {w}")));
        lines
    }
}

fn opt_size(v: &Option<Value>, key: &str, default: u64) -> Result<u64, StepError> {
    match v {
        None => Ok(default),
        Some(v) => parse_size(v).map_err(|e| StepError::misconfigured(format!("{key}: {e}"))),
    }
}

fn capped<T: PartialOrd + std::fmt::Debug>(key: &str, v: T, cap: T) -> Result<T, StepError> {
    if v > cap {
        return Err(StepError::misconfigured(format!(
            "{key} {v:?} is above the cap {cap:?}"
        )));
    }
    Ok(v)
}

/// (median, fastest, slowest)
type Rates = (Option<f64>, Option<f64>, Option<f64>);

async fn bench(params: BenchParams, cx: &StepCx) -> Result<BenchOutput, StepError> {
    let latency_ops =
        capped("latency_ops", params.latency_ops.unwrap_or(50), 1000)?.max(1) as usize;
    let concurrency = capped("concurrency", params.concurrency.unwrap_or(4), 64)?.max(1);
    let duration = capped(
        "duration",
        params.duration.unwrap_or(Duration::from_secs(10)),
        Duration::from_secs(120),
    )?;
    let warmup = capped(
        "warmup",
        params.warmup.unwrap_or(Duration::from_secs(2)),
        Duration::from_secs(60),
    )?;
    let object_size = capped(
        "object_size",
        opt_size(&params.object_size, "object_size", 8 << 20)?,
        256 << 20,
    )?
    .max(1);
    let max_bytes = opt_size(&params.max_bytes, "max_bytes", 2 << 30)?;

    let target = Target::new(
        params.store,
        params.http_client,
        params.data_home,
        cx,
        BuildOptions::default(),
    )?;
    let (op, prefix) = (target.op(), &target.prefix);
    let fail = |kind: Op, what: &str, e: opendal::Error| target.verdict(kind, what, &e);
    let mut out = BenchOutput {
        store: target.store.display_name(),
        kind: target.store.kind.as_str().to_string(),
        prefix: prefix.clone(),
        read_only: cx.read_only,
        object_size,
        concurrency,
        ..BenchOutput::default()
    };

    if cx.read_only {
        let mut objects = Vec::new();
        // The first request, under the first-answer deadline.
        for (path, mode) in target
            .first_answer(cx, first_entries(op, "/", true, LIST_SCAN))
            .await?
            .map_err(|e| fail(Op::List, "the root (recursive)", e))?
        {
            if objects.len() == latency_ops {
                break;
            }
            if mode != EntryMode::FILE {
                continue;
            }
            let len = op
                .stat(&path)
                .await
                .map_err(|e| fail(Op::Stat, &format!("`{path}`"), e))?
                .content_length();
            if len > 0 {
                objects.push((path, len.min(SMALL_BYTES)));
            }
        }
        if objects.is_empty() {
            out.warnings.push(
                "read-only run and no non-empty object under the root: nothing was measured".into(),
            );
            return Ok(out);
        }
        let bar = phase_bar(cx, objects.len() as u64, format!("{}: GET", out.store));
        let (total, ttfb) = get_latencies(op, &objects, &bar, &fail).await?;
        bar.finish_and_clear();
        set_get(&mut out, &total, &ttfb);
        return Ok(out);
    }

    // Never mix with objects already under this run's prefix (as the probe does).
    // The first request, under the first-answer deadline.
    let existing = target
        .first_answer(cx, first_entries(op, PROBE_DIR, true, LIST_SCAN))
        .await?
        .map_err(|e| fail(Op::List, &format!("`{PROBE_DIR}`"), e))?;
    out.warnings.extend(target.check_probe_dir(&existing)?);
    // Registered before the first write.
    target.register_cleanup(cx);
    let writes = &target.writes;

    // Latency phase: sequential small PUTs, then GETs of them.
    let bar = phase_bar(
        cx,
        2 * latency_ops as u64,
        format!("{}: small PUT/GET", out.store),
    );
    let small = Buffer::from(payload(SMALL_BYTES as usize, &cx.run_id));
    let mut put_ms = Vec::with_capacity(latency_ops);
    let mut small_objects = Vec::with_capacity(latency_ops);
    for i in 0..latency_ops {
        if cx.remaining() < MARGIN {
            break;
        }
        let path = format!("{prefix}bench/lat/{i}");
        let started = Instant::now();
        writes
            .write(op, &path, None, vec![small.clone()])
            .await
            .map_err(|e| fail(Op::Write, &format!("`{path}`"), e))?;
        put_ms.push(millis(started.elapsed()));
        bar.inc(1);
        out.bytes_written += SMALL_BYTES;
        small_objects.push((path, SMALL_BYTES));
    }
    if let Some(s) = LatencySummary::of(&put_ms) {
        (
            out.put_p50_ms,
            out.put_p90_ms,
            out.put_p99_ms,
            out.put_max_ms,
        ) = (Some(s.p50), Some(s.p90), Some(s.p99), Some(s.max));
    }
    let (total, ttfb) = get_latencies(op, &small_objects, &bar, &fail).await?;
    bar.finish_and_clear();
    set_get(&mut out, &total, &ttfb);

    // Throughput phase: PUT for warmup + duration, then GET what was written. The PUTs get at
    // most half of the time left.
    let big = Buffer::from(payload(object_size as usize, &cx.run_id));
    let written = Mutex::new(Vec::<String>::new());
    let reserved = AtomicU64::new(0);
    let counter = AtomicUsize::new(0);
    let put = Phase::run(
        concurrency,
        warmup,
        duration,
        cx.remaining().saturating_sub(MARGIN) / 2,
        &phase_bar(cx, 0, format!("{}: PUT throughput", out.store)),
        || async {
            if reserved.fetch_add(object_size, Ordering::Relaxed) + object_size > max_bytes {
                return Ok(None);
            }
            let path = format!(
                "{prefix}bench/obj/{}",
                counter.fetch_add(1, Ordering::Relaxed)
            );
            writes
                .write(op, &path, None, vec![big.clone()])
                .await
                .map_err(|e| fail(Op::Write, &format!("`{path}`"), e))?;
            written.lock().expect("bench lock").push(path);
            Ok(Some(object_size))
        },
    )
    .await?;
    out.bytes_written += put.bytes;
    out.put_objects = put.objects;
    out.put_segments = put.full_segments() as u64;
    (
        (
            out.put_mib_s_median,
            out.put_mib_s_fastest,
            out.put_mib_s_slowest,
        ),
        (
            out.put_objects_s_median,
            out.put_objects_s_fastest,
            out.put_objects_s_slowest,
        ),
    ) = put.rates();
    let mut early: Vec<String> = put.stopped.iter().map(|s| format!("put: {s}")).collect();

    let objects = written.into_inner().expect("bench lock");
    if !objects.is_empty() {
        let next = AtomicUsize::new(0);
        let get = Phase::run(
            concurrency,
            warmup,
            duration,
            cx.remaining().saturating_sub(MARGIN),
            &phase_bar(cx, 0, format!("{}: GET throughput", out.store)),
            || async {
                let path = &objects[next.fetch_add(1, Ordering::Relaxed) % objects.len()];
                let got = op
                    .read(path)
                    .await
                    .map_err(|e| fail(Op::Read, &format!("`{path}`"), e))?;
                Ok(Some(got.len() as u64))
            },
        )
        .await?;
        out.bytes_read = get.bytes;
        out.get_objects = get.objects;
        out.get_segments = get.full_segments() as u64;
        (
            (
                out.get_mib_s_median,
                out.get_mib_s_fastest,
                out.get_mib_s_slowest,
            ),
            (
                out.get_objects_s_median,
                out.get_objects_s_fastest,
                out.get_objects_s_slowest,
            ),
        ) = get.rates();
        early.extend(get.stopped.iter().map(|s| format!("get: {s}")));
    }
    out.segments = out.put_segments + out.get_segments;
    if out.put_segments == 0 || out.get_segments == 0 {
        out.warnings.push(
            "a throughput direction measured no full 1-second segment (duration, max_bytes or the step deadline too short)"
                .into(),
        );
    }
    out.stopped_early = (!early.is_empty()).then(|| early.join("; "));
    Ok(out)
}

/// A progress bar for one phase (hidden unless the run shows progress), cleared when the
/// phase ends or is dropped.
fn phase_bar(cx: &StepCx, len: u64, message: String) -> ProgressBar {
    cx.progress_bar(len, message)
        .with_finish(ProgressFinish::AndClear)
}

fn set_get(out: &mut BenchOutput, total: &[f64], ttfb: &[f64]) {
    if let Some(s) = LatencySummary::of(total) {
        (
            out.get_p50_ms,
            out.get_p90_ms,
            out.get_p99_ms,
            out.get_max_ms,
        ) = (Some(s.p50), Some(s.p90), Some(s.p99), Some(s.max));
    }
    if let Some(s) = LatencySummary::of(ttfb) {
        (
            out.get_ttfb_p50_ms,
            out.get_ttfb_p90_ms,
            out.get_ttfb_p99_ms,
            out.get_ttfb_max_ms,
        ) = (Some(s.p50), Some(s.p90), Some(s.p99), Some(s.max));
    }
}

/// Sequential GETs of the first `len` bytes of each object through a reader: (total ms,
/// time-to-first-chunk ms) per object; `bar` advances by one per object.
async fn get_latencies(
    op: &Operator,
    objects: &[(String, u64)],
    bar: &ProgressBar,
    fail: &impl Fn(Op, &str, opendal::Error) -> StepError,
) -> Result<(Vec<f64>, Vec<f64>), StepError> {
    let (mut total, mut ttfb) = (Vec::new(), Vec::new());
    for (path, len) in objects {
        let what = format!("`{path}`");
        let started = Instant::now();
        let reader = op
            .reader(path)
            .await
            .map_err(|e| fail(Op::Read, &what, e))?;
        let mut stream = reader
            .into_bytes_stream(0..*len)
            .await
            .map_err(|e| fail(Op::Read, &what, e))?;
        let io =
            |e: std::io::Error| StepError::rejected(format!("reading {what} failed mid-body: {e}"));
        let first = stream.next().await.transpose().map_err(io)?;
        ttfb.push(millis(started.elapsed()));
        if first.is_some() {
            while stream.try_next().await.map_err(io)?.is_some() {}
        }
        total.push(millis(started.elapsed()));
        bar.inc(1);
    }
    Ok((total, ttfb))
}

/// One throughput direction: completed operations as (start, end, bytes), relative to the
/// phase start.
struct Phase {
    ops: Vec<(Duration, Duration, u64)>,
    warmup: Duration,
    /// End of the measured window (the planned end, or earlier when stopped).
    end: Duration,
    bytes: u64,
    objects: u64,
    stopped: Option<String>,
}

impl Phase {
    /// Runs `concurrency` workers calling `one` back to back until `warmup + duration` (or
    /// `budget`) has passed or `one` returns `None` (cap reached). Workers run in this task,
    /// so dropping the step's future stops them all. `bar` shows the elapsed seconds.
    async fn run<F, Fut>(
        concurrency: u32,
        warmup: Duration,
        duration: Duration,
        budget: Duration,
        bar: &ProgressBar,
        one: F,
    ) -> Result<Phase, StepError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Option<u64>, StepError>>,
    {
        let t0 = Instant::now();
        let planned = warmup + duration;
        let limit = planned.min(budget);
        bar.set_length(limit.as_secs().max(1));
        let stop_at = Mutex::new(None::<(Duration, String)>);
        let done = Mutex::new(Vec::new());
        let worker = || async {
            loop {
                if t0.elapsed() >= limit || stop_at.lock().expect("bench lock").is_some() {
                    return Ok::<(), StepError>(());
                }
                let start = t0.elapsed();
                let result = one().await?;
                let end = t0.elapsed();
                bar.set_position(end.as_secs());
                match result {
                    Some(bytes) => done.lock().expect("bench lock").push((start, end, bytes)),
                    None => {
                        let mut s = stop_at.lock().expect("bench lock");
                        if s.is_none() {
                            *s = Some((end, "max_bytes reached".into()));
                        }
                        return Ok(());
                    }
                }
            }
        };
        futures::future::try_join_all((0..concurrency).map(|_| worker())).await?;
        bar.finish_and_clear();
        let ops = done.into_inner().expect("bench lock");
        let (mut end, mut stopped) = (planned, None);
        if let Some((at, why)) = stop_at.into_inner().expect("bench lock") {
            end = at;
            stopped = Some(why);
        } else if limit < planned {
            end = limit;
            stopped = Some("step deadline".into());
        }
        Ok(Phase {
            bytes: ops.iter().map(|o| o.2).sum(),
            objects: ops.len() as u64,
            ops,
            warmup,
            end,
            stopped,
        })
    }

    fn full_segments(&self) -> usize {
        (self.end.saturating_sub(self.warmup).as_secs_f64() / SEGMENT.as_secs_f64()).floor()
            as usize
    }

    /// Per full segment: bytes and objects, each operation spread evenly over its own
    /// duration (warp's way of attributing a transfer to the segments it spans).
    fn segments(&self) -> Vec<(f64, f64)> {
        let mut segs = vec![(0.0, 0.0); self.full_segments()];
        let seg = SEGMENT.as_secs_f64();
        for &(start, end, bytes) in &self.ops {
            let (s, e) = (start.as_secs_f64(), end.as_secs_f64());
            let len = (e - s).max(1e-9);
            for (i, slot) in segs.iter_mut().enumerate() {
                let lo = self.warmup.as_secs_f64() + i as f64 * seg;
                let overlap = (e.min(lo + seg) - s.max(lo)).max(0.0);
                if overlap > 0.0 {
                    let share = overlap / len;
                    slot.0 += bytes as f64 * share;
                    slot.1 += share;
                }
            }
        }
        segs
    }

    /// (MiB/s, objects/s), each as (median, fastest, slowest) over the full segments.
    fn rates(&self) -> (Rates, Rates) {
        let segs = self.segments();
        let seg = SEGMENT.as_secs_f64();
        let summary = |mut v: Vec<f64>| {
            if v.is_empty() {
                return (None, None, None);
            }
            v.sort_by(f64::total_cmp);
            let round = |x: f64| (x * 1000.0).round() / 1000.0;
            (
                Some(round(v[v.len() / 2])),
                Some(round(v[v.len() - 1])),
                Some(round(v[0])),
            )
        };
        (
            summary(segs.iter().map(|s| s.0 / MIB / seg).collect()),
            summary(segs.iter().map(|s| s.1 / seg).collect()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_spread_operations_over_their_duration() {
        let s = Duration::from_secs;
        let p = Phase {
            ops: vec![(s(0), s(2), 2 * MIB as u64), (s(1), s(3), 4 * MIB as u64)],
            warmup: s(1),
            end: s(3),
            bytes: 0,
            objects: 0,
            stopped: None,
        };
        assert_eq!(p.full_segments(), 2);
        let ((median, fastest, slowest), (o_med, _, _)) = p.rates();
        assert_eq!((fastest, slowest), (Some(3.0), Some(2.0)));
        assert_eq!(median, Some(3.0));
        assert_eq!(o_med, Some(1.0));
    }

    #[test]
    fn a_phase_stops_at_the_byte_cap_and_reports_it() {
        let bytes = AtomicU64::new(0);
        let phase = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(Phase::run(
                2,
                Duration::ZERO,
                Duration::from_secs(5),
                Duration::from_secs(5),
                &ProgressBar::hidden(),
                || async {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    Ok((bytes.fetch_add(1, Ordering::Relaxed) < 10).then_some(1))
                },
            ))
            .unwrap();
        assert_eq!((phase.objects, phase.bytes), (10, 10));
        assert_eq!(phase.stopped.as_deref(), Some("max_bytes reached"));
        assert_eq!(phase.full_segments(), 0, "stopped well before a second");
    }
}
