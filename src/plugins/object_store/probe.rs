//! `object_store.probe`: proves the datanode's object store can be reached and used with the
//! configured credentials, through the operator GreptimeDB would build, under a prefix of its
//! own.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use opendal::{Buffer, EntryMode, Metadata, Operator};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::client::{self, BuildOptions, Built, Endpoint, HttpKey, Op, ATOMIC_WRITE_DIR};
use super::{HttpClientConfig, StoreConfig, StoreType, PROBE_DIR};
use crate::plugins::answer::{first_answer, AnswerDeadline, Silence, Witness};
use crate::plugins::{human, millis, Step, StepCx, StepError};

/// Size of the small object.
const SMALL_BYTES: usize = 4 * 1024;
/// Multipart part size: S3's minimum part size, so the write really is a multipart upload.
const CHUNK_BYTES: usize = 5 * 1024 * 1024;
/// Size of the multipart object: two parts (5 MiB and 1 MiB).
const MULTIPART_BYTES: usize = 6 * 1024 * 1024;
/// At most this many entries are looked at when searching for objects.
pub(crate) const LIST_SCAN: usize = 1000;
/// Bound on the cleanup (the engine gives each cleanup action 15 s).
const CLEANUP_LIMIT: Duration = Duration::from_secs(12);
/// A timeout error of the HTTP client this close to the first-answer deadline is the deadline's
/// own (the client's `timeout` capped it): the witness names the silence.
const DEADLINE_SLACK: Duration = Duration::from_millis(100);

/// Builds the object store as GreptimeDB builds it from the same fields, then, under
/// `<root>/.greptime-self-test/<run id>/`: lists the root (bucket or container reachable),
/// warns when `.greptime-self-test/` holds objects of another run (and leaves them alone),
/// registers the removal of its own prefix with the engine, then writes a small object, stats
/// it, reads it back and compares, lists the prefix, writes a 6 MiB object as a multipart
/// upload (5 MiB parts), reads it back, deletes both and checks the prefix is empty. Every
/// write runs to its end in a task of its own and is aborted if it fails. With `--read-only` it
/// lists the root and reads the first bytes of one existing object, and writes nothing.
/// File stores are probed the same way through OpenDAL's fs service rooted at `data_home`
/// (`fs.writable` proves fsync and free space).
pub struct Probe;

/// Parameters of `object_store.probe`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProbeParams {
    /// The store: the `[storage]` table or one `[[storage.providers]]` entry, as in the
    /// config.
    pub store: StoreConfig,
    /// `[storage.http_client]`; a provider's own `http_client` table wins over it. Absent:
    /// GreptimeDB's defaults (30 s connect and request timeouts).
    #[serde(default)]
    pub http_client: Option<HttpClientConfig>,
    /// `storage.data_home`: the root of File stores. Absent: the store's own `data_home`
    /// (when the whole `[storage]` table is passed), else GreptimeDB's `./greptimedb_data`.
    #[serde(default)]
    pub data_home: Option<String>,
}

/// One reported operation.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Operation {
    /// `list_root`, `list_probe_dir`, `write`, `stat`, `read`, `list`, `multipart_write`,
    /// `multipart_read`, `delete`, `delete_multipart`, `list_after_delete`, `read_existing`.
    pub op: String,
    /// Whether it succeeded.
    pub ok: bool,
    /// Its latency in milliseconds (one attempt: the probe does not retry).
    pub ms: f64,
    /// Why it failed (no secret, no URL query string).
    pub error: Option<String>,
}

/// Output of `object_store.probe`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ProbeOutput {
    /// The store's name as GreptimeDB computes it (`name`, or the type).
    pub store: String,
    /// `File`, `S3`, `Oss`, `Azblob` or `Gcs`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `bucket` or `container` (none for File).
    pub bucket: Option<String>,
    /// The root as GreptimeDB normalises it (File: `data_home`).
    pub root: String,
    /// The probe prefix, relative to the root.
    pub prefix: String,
    /// True in a `--read-only` run: nothing was written.
    pub read_only: bool,
    /// How the store authenticates: `keys`, `sas_token`, `default chain` (empty keys), or
    /// `none` (File).
    pub credentials: String,
    /// `http_client.skip_ssl_validation`: certificates are not checked (a warning).
    pub skip_ssl_validation: bool,
    /// Every operation, in order.
    pub operations: Vec<Operation>,
    /// Bytes written by the multipart upload.
    pub multipart_bytes: Option<u64>,
    /// Part size of the multipart upload (5 MiB, S3's minimum).
    pub multipart_part_bytes: Option<u64>,
    /// ETag the store gave the multipart object, when it returned one (S3 multipart ETags end
    /// in `-<parts>`).
    pub multipart_etag: Option<String>,
    /// `--read-only`: the object whose first bytes were read (none when the store is empty).
    pub read_object: Option<String>,
    /// Things worth knowing that are not failures.
    pub warnings: Vec<String>,
}

impl Step for Probe {
    const NAME: &'static str = "object_store.probe";
    const SUMMARY: &'static str = "Build the object store as GreptimeDB does; list, write, stat, read, multipart write and delete under a prefix of its own";
    const SHAREABLE: bool = true;
    const EXAMPLE: &'static str = concat!(
        s3_store_example!(),
        "\
http_client:
  connect_timeout: 10s
  timeout: 30s
data_home: /var/lib/greptimedb
",
    );
    type Params = ProbeParams;
    type Output = ProbeOutput;

    async fn run(&self, params: Self::Params, cx: &StepCx) -> Result<Self::Output, StepError> {
        probe_with(params, cx, BuildOptions::default()).await
    }

    fn details(output: &Self::Output) -> Vec<String> {
        let mut lines: Vec<String> = output
            .operations
            .iter()
            .map(|o| match &o.error {
                None => format!("{}: ok in {} ms", o.op, o.ms),
                Some(e) => format!("{}: FAILED in {} ms: {e}", o.op, o.ms),
            })
            .collect();
        lines.extend(output.warnings.iter().map(|w| format!("warning: {w}")));
        lines
    }
}

/// Probes with construction `options` (see [`BuildOptions`]; the registered step uses the
/// defaults, i.e. exactly GreptimeDB's construction).
pub async fn probe_with(
    params: ProbeParams,
    cx: &StepCx,
    options: BuildOptions,
) -> Result<ProbeOutput, StepError> {
    let target = Target::new(
        params.store,
        params.http_client,
        params.data_home,
        cx,
        options,
    )?;
    let (store, http, op, prefix) = (&target.store, &target.http, target.op(), &target.prefix);

    let mut out = ProbeOutput {
        store: store.display_name(),
        kind: store.kind.as_str().to_string(),
        bucket: match store.kind {
            StoreType::File => None,
            StoreType::Azblob => store.container.clone(),
            _ => store.bucket.clone(),
        },
        root: target.built.root.clone(),
        prefix: prefix.clone(),
        read_only: cx.read_only,
        credentials: credentials(store),
        skip_ssl_validation: http.skip_ssl_validation && store.kind != StoreType::File,
        operations: Vec::new(),
        multipart_bytes: None,
        multipart_part_bytes: None,
        multipart_etag: None,
        read_object: None,
        warnings: Vec::new(),
    };
    if out.skip_ssl_validation {
        out.warnings.push(
            "http_client.skip_ssl_validation = true: the object store's certificate is not checked"
                .into(),
        );
    }
    let mut ctx = Ctx {
        target: &target,
        ops: &mut out.operations,
    };

    // Bucket or container reachable: the first request, under the first-answer deadline.
    ctx.run_first(
        cx,
        "list_root",
        Op::List,
        "the root",
        first_entries(op, "/", false, 1),
    )
    .await?;

    if cx.read_only {
        let found = ctx
            .run(
                "list_objects",
                Op::List,
                "the root (recursive)",
                first_file(op, "/"),
            )
            .await?;
        if let Some(path) = found {
            let what = format!("`{path}`");
            ctx.run("read_existing", Op::Read, &what, async {
                let len = op.stat(&path).await?.content_length();
                op.read_with(&path).range(0..len.min(1024)).await.map(drop)
            })
            .await?;
            out.read_object = Some(path);
        } else {
            out.warnings
                .push("the store holds no object under the root: nothing was read".into());
        }
        return Ok(out);
    }

    // Never mix with objects already under this run's prefix.
    let existing = ctx
        .run(
            "list_probe_dir",
            Op::List,
            &format!("`{PROBE_DIR}`"),
            first_entries(op, PROBE_DIR, true, LIST_SCAN),
        )
        .await?;
    out.warnings.extend(target.check_probe_dir(&existing)?);

    // Registered before the first write: whatever happens next, the prefix is removed.
    target.register_cleanup(cx);
    let writes = &target.writes;

    let small_path = format!("{prefix}small.bin");
    let small = payload(SMALL_BYTES, &cx.run_id);
    let what = format!("`{small_path}`");
    ctx.run(
        "write",
        Op::Write,
        &what,
        writes.write(op, &small_path, None, vec![small.clone().into()]),
    )
    .await?;
    let meta = ctx
        .run("stat", Op::Stat, &what, op.stat(&small_path))
        .await?;
    if meta.content_length() != SMALL_BYTES as u64 {
        return Err(StepError::rejected(format!(
            "stat of {what} reports {} bytes, {SMALL_BYTES} were written",
            meta.content_length()
        ))
        .with_hint("the object store does not keep what it acknowledged; check for a proxy or gateway in front of it"));
    }
    let back = ctx
        .run("read", Op::Read, &what, op.read(&small_path))
        .await?;
    if back.to_vec() != small {
        return Err(StepError::rejected(format!(
            "{what} read back differs from what was written ({} bytes back, {SMALL_BYTES} written)",
            back.len()
        ))
        .with_hint("the object store does not return what it stored; check for a proxy or gateway in front of it"));
    }
    let listed = ctx
        .run(
            "list",
            Op::List,
            &format!("`{prefix}`"),
            first_entries(op, prefix, true, LIST_SCAN),
        )
        .await?;
    if !listed.iter().any(|(p, _)| *p == small_path) {
        return Err(StepError::rejected(format!(
            "listing `{prefix}` does not show {what}, which was just written"
        ))
        .with_hint("the object store's listing is not consistent with its writes; GreptimeDB relies on listing to find files"));
    }

    let big_path = format!("{prefix}multipart.bin");
    let big = payload(MULTIPART_BYTES, &cx.run_id);
    let what_big = format!("`{big_path}`");
    let written = ctx
        .run(
            "multipart_write",
            Op::Write,
            &what_big,
            writes.write(
                op,
                &big_path,
                Some(CHUNK_BYTES),
                big.chunks(1024 * 1024)
                    .map(|part| part.to_vec().into())
                    .collect(),
            ),
        )
        .await?;
    out.multipart_etag = written.etag().map(str::to_string);
    let back = ctx
        .run("multipart_read", Op::Read, &what_big, op.read(&big_path))
        .await?;
    if back.len() != MULTIPART_BYTES || back.to_vec() != big {
        return Err(StepError::rejected(format!(
            "{what_big} read back has {} bytes or differs, {MULTIPART_BYTES} were written in {CHUNK_BYTES}-byte parts",
            back.len()
        ))
        .with_hint("the object store mishandles multipart uploads, which GreptimeDB uses for large SST files"));
    }
    out.multipart_bytes = Some(MULTIPART_BYTES as u64);
    out.multipart_part_bytes = Some(CHUNK_BYTES as u64);

    ctx.run("delete", Op::Delete, &what, op.delete(&small_path))
        .await?;
    ctx.run(
        "delete_multipart",
        Op::Delete,
        &what_big,
        op.delete(&big_path),
    )
    .await?;
    let left = ctx
        .run(
            "list_after_delete",
            Op::List,
            &format!("`{prefix}`"),
            first_entries(op, prefix, true, LIST_SCAN),
        )
        .await?;
    if let Some((path, _)) = left.iter().find(|(_, m)| *m == EntryMode::FILE) {
        return Err(StepError::rejected(format!(
            "`{path}` is still listed after it was deleted"
        ))
        .with_hint("the object store accepted the DeleteObject but keeps the object (versioning or a retention lock?); GreptimeDB needs deletes to take effect"));
    }
    Ok(out)
}

/// Runs operations and records them.
struct Ctx<'a> {
    target: &'a Target,
    ops: &'a mut Vec<Operation>,
}

impl Ctx<'_> {
    async fn run<T>(
        &mut self,
        name: &str,
        op: Op,
        what: &str,
        fut: impl Future<Output = opendal::Result<T>>,
    ) -> Result<T, StepError> {
        let started = Instant::now();
        let result = fut.await.map_err(|e| self.target.verdict(op, what, &e));
        self.record(name, started, result)
    }

    /// [`Ctx::run`] for the step's first request to the store: under the first-answer
    /// deadline (see [`Target::first_answer`]).
    async fn run_first<T>(
        &mut self,
        cx: &StepCx,
        name: &str,
        op: Op,
        what: &str,
        fut: impl Future<Output = opendal::Result<T>>,
    ) -> Result<T, StepError> {
        let started = Instant::now();
        let result = match self.target.first_answer(cx, fut).await {
            Ok(answered) => answered.map_err(|e| self.target.verdict(op, what, &e)),
            Err(silent) => Err(silent),
        };
        self.record(name, started, result)
    }

    fn record<T>(
        &mut self,
        name: &str,
        started: Instant,
        result: Result<T, StepError>,
    ) -> Result<T, StepError> {
        let ms = millis(started.elapsed());
        match result {
            Ok(v) => {
                self.ops.push(Operation {
                    op: name.into(),
                    ok: true,
                    ms,
                    error: None,
                });
                Ok(v)
            }
            Err(verdict) => {
                self.ops.push(Operation {
                    op: name.into(),
                    ok: false,
                    ms,
                    error: Some(verdict.message.clone()),
                });
                let done: Vec<String> = self
                    .ops
                    .iter()
                    .filter(|o| o.ok)
                    .map(|o| format!("{} {} ms", o.op, o.ms))
                    .collect();
                let message = if done.is_empty() {
                    format!("{name}: {}", verdict.message)
                } else {
                    format!("{name}: {} [after: {}]", verdict.message, done.join(", "))
                };
                Err(StepError { message, ..verdict })
            }
        }
    }
}

/// Up to `limit` entries under `path`, as (path, mode).
pub(crate) async fn first_entries(
    op: &Operator,
    path: &str,
    recursive: bool,
    limit: usize,
) -> opendal::Result<Vec<(String, EntryMode)>> {
    let mut lister = op.lister_with(path).recursive(recursive).await?;
    let mut out = Vec::new();
    while let Some(entry) = lister.try_next().await? {
        if entry.path() == path {
            continue;
        }
        out.push((entry.path().to_string(), entry.metadata().mode()));
        if out.len() >= limit {
            break;
        }
    }
    Ok(out)
}

/// The first file under `path` (among the first [`LIST_SCAN`] entries).
async fn first_file(op: &Operator, path: &str) -> opendal::Result<Option<String>> {
    Ok(first_entries(op, path, true, LIST_SCAN)
        .await?
        .into_iter()
        .find(|(_, m)| *m == EntryMode::FILE)
        .map(|(p, _)| p))
}

/// A store made ready for the self-test: the operator GreptimeDB would build, the run's
/// prefix, and what the cleanup needs to leave a File store's `data_home` as it found it.
/// Shared by `object_store.probe` and `object_store.bench`.
pub(crate) struct Target {
    /// The store as configured.
    pub(crate) store: StoreConfig,
    /// The store's own `http_client`, else the step's, else GreptimeDB's defaults.
    pub(crate) http: HttpClientConfig,
    /// The operator and its root.
    pub(crate) built: Built,
    /// `.greptime-self-test/<run id>/`, relative to the root.
    pub(crate) prefix: String,
    /// The run's session (see [`StepCx::session`]): sibling runs' prefixes start with it.
    session: String,
    /// File stores: whether `data_home/.tmp/` existed before the step.
    tmp_existed: Option<bool>,
    /// File stores: the directories of `data_home` that building the operator created,
    /// deepest first.
    created_home_dirs: Vec<PathBuf>,
    /// What every write of the step passes through (see [`WriteGate`]).
    pub(crate) writes: WriteGate,
    /// Whether the cleanup is registered.
    cleanup_registered: AtomicBool,
    /// Where the requests go (none for File).
    endpoint: Option<Endpoint>,
    /// Set when a request of the step timed out: the cleanup then waits only the first-answer
    /// deadline for the store.
    went_silent: Arc<AtomicBool>,
}

impl Target {
    /// Resolves `http_client` and `data_home` as GreptimeDB does (a provider's own
    /// `http_client` first; `data_home` from the step, the `[storage]` table, else
    /// `./greptimedb_data`) and builds the operator (`--read-only` creates no directory).
    pub(crate) fn new(
        store: StoreConfig,
        http: Option<HttpClientConfig>,
        data_home: Option<String>,
        cx: &StepCx,
        options: BuildOptions,
    ) -> Result<Self, StepError> {
        let data_home = data_home
            .or_else(|| store.data_home.clone())
            .unwrap_or_else(|| "./greptimedb_data".to_string());
        let http = store.http_client.clone().or(http).unwrap_or_default();
        let is_file = store.kind == StoreType::File;
        let tmp_existed = is_file.then(|| {
            let home = super::normalize_dir(&data_home);
            Path::new(&format!("{home}{ATOMIC_WRITE_DIR}")).exists()
        });
        let created_home_dirs = match std::path::absolute(&data_home) {
            Ok(home) if is_file => home
                .ancestors()
                .take_while(|dir| !dir.exists())
                .map(Path::to_path_buf)
                .collect(),
            _ => Vec::new(),
        };
        let options = BuildOptions {
            read_only: cx.read_only,
            ..options
        };
        let built = client::build(&store, &http, &data_home, options)?;
        let endpoint = client::endpoint(&store);
        let target = Self {
            prefix: format!("{PROBE_DIR}{}/", sanitize(&cx.run_id)),
            session: cx.session().to_string(),
            store,
            http,
            built,
            tmp_existed,
            created_home_dirs,
            writes: WriteGate::new(),
            cleanup_registered: AtomicBool::new(false),
            endpoint,
            went_silent: Arc::new(AtomicBool::new(false)),
        };
        // Building a File store's operator has created `data_home` and `.tmp/`: however the
        // step ends from here (refused, a listing failed), the cleanup puts them back.
        if is_file && !cx.read_only {
            for dir in &target.created_home_dirs {
                cx.record_created_dir(dir.clone());
            }
            if tmp_existed == Some(false) {
                let home = super::normalize_dir(&data_home);
                if let Ok(tmp) = std::path::absolute(format!("{home}{ATOMIC_WRITE_DIR}")) {
                    cx.record_created_dir(tmp);
                }
            }
            target.register_cleanup(cx);
        }
        Ok(target)
    }

    /// The operator.
    pub(crate) fn op(&self) -> &Operator {
        &self.built.operator
    }

    /// The verdict on `err` from `op` on `what`; a timeout also shortens the cleanup's wait.
    pub(crate) fn verdict(&self, op: Op, what: &str, err: &opendal::Error) -> StepError {
        let verdict = client::verdict(op, what, err, &self.store, &self.http);
        if verdict.kind == crate::plugins::ErrorKind::Timeout {
            self.went_silent.store(true, Ordering::Relaxed);
        }
        verdict
    }

    /// How long the first request waits for an answer: the run's first-answer deadline, capped
    /// by the store's `http_client.timeout` (GreptimeDB's own limit per request) and by what is
    /// left of the check.
    pub(crate) fn answer_deadline(&self, cx: &StepCx) -> AnswerDeadline {
        let key = HttpKey::of(&self.store, "timeout").key();
        cx.answer
            .capped_by(&key, self.http.timeout())
            .within_check(cx)
    }

    /// Runs `request`, the step's first request to the store, under the first-answer deadline
    /// (`plugins::answer`): a store that does not answer in time gets a verdict naming the
    /// silence the witness met at the endpoint, and the key GreptimeDB would wait on. File
    /// stores have no network: the request just runs.
    pub(crate) async fn first_answer<T>(
        &self,
        cx: &StepCx,
        request: impl Future<Output = opendal::Result<T>>,
    ) -> Result<opendal::Result<T>, StepError> {
        if self.store.kind == StoreType::File {
            return Ok(request.await);
        }
        let deadline = self.answer_deadline(cx);
        let at = Instant::now() + deadline.limit;
        let request = async move {
            let answered = request.await;
            let timed_out = matches!(&answered, Err(e) if client::reqwest_error(e).is_some_and(|r| r.is_timeout()));
            if timed_out && Instant::now() + DEADLINE_SLACK >= at {
                std::future::pending::<()>().await;
            }
            answered
        };
        let witness = self
            .endpoint
            .as_ref()
            .filter(|e| !client::proxied(e.https))
            .map(|e| Witness::tls(e.addr.clone(), e.https));
        match first_answer(&deadline, witness, request).await {
            Ok(answered) => Ok(answered),
            Err(mut silent) => {
                self.went_silent.store(true, Ordering::Relaxed);
                let kind = self.store.kind.as_str();
                silent.endpoint = match &self.endpoint {
                    Some(e) => format!("{kind} endpoint {}", e.url),
                    None => format!("the {kind} endpoint"),
                };
                let greptimedb = self.greptimedb_wait(silent.silence);
                Err(silent.into_error(&self.listing(), &greptimedb))
            }
        }
    }

    /// The first request, as the verdict names it.
    fn listing(&self) -> String {
        let bucket = self.store.bucket.as_deref().unwrap_or("");
        let container = self.store.container.as_deref().unwrap_or("");
        match self.store.kind {
            StoreType::S3 => format!("the listing of bucket `{bucket}` (ListObjectsV2)"),
            StoreType::Oss => format!("the listing of bucket `{bucket}` (ListObjects)"),
            StoreType::Azblob => format!("the listing of container `{container}` (List Blobs)"),
            StoreType::Gcs => format!("the listing of bucket `{bucket}` (objects.list)"),
            StoreType::File => "the listing of `data_home`".into(),
        }
    }

    /// What GreptimeDB would do facing the same `silence`: the key and value it waits on, and
    /// its retries.
    fn greptimedb_wait(&self, silence: Option<Silence>) -> String {
        let (timeout, connect) = (self.http.timeout(), self.http.connect_timeout());
        let wait = if silence == Some(Silence::BlackHoled) && connect < timeout {
            format!(
                "{}: GreptimeDB would wait up to {} for each TCP connection",
                HttpKey::of(&self.store, "connect_timeout").with_value(connect),
                human(connect)
            )
        } else {
            format!(
                "{}: GreptimeDB would wait up to {} per request",
                HttpKey::of(&self.store, "timeout").with_value(timeout),
                human(timeout)
            )
        };
        format!(
            "{wait}, then retry it up to 3 times (the OpenDAL RetryLayer GreptimeDB adds: about \
             1s, 2s and 4s apart, plus jitter); this probe makes one attempt, retries are the \
             playbook's `retry:`"
        )
    }

    /// Judges `existing`, a listing of `.greptime-self-test/`. Objects under this run's own
    /// prefix refuse the step: they would be mixed with this run's and deleted by its cleanup.
    /// Objects of other runs are left alone. Those of sibling runs (the datanodes of one
    /// cluster run share a store and probe it at once, see [`StepCx::session`]) are expected;
    /// any other run's give a warning: another self-test running now, or one killed before
    /// its cleanup.
    pub(crate) fn check_probe_dir(
        &self,
        existing: &[(String, EntryMode)],
    ) -> Result<Option<String>, StepError> {
        let files = || existing.iter().filter(|(_, mode)| *mode == EntryMode::FILE);
        let root = &self.built.root;
        if let Some((own, _)) = files().find(|(path, _)| path.starts_with(&self.prefix)) {
            return Err(StepError::rejected(format!(
                "`{root}{}` already holds objects (e.g. `{own}`) before this run wrote any",
                self.prefix
            ))
            .with_hint(format!(
                "the run id is meant to be unique; delete `{root}{}` by hand",
                self.prefix
            )));
        }
        let siblings = format!("{PROBE_DIR}{}", sanitize(&self.session));
        let foreign: Vec<&String> = files()
            .map(|(path, _)| path)
            .filter(|path| !path.starts_with(&siblings))
            .collect();
        Ok(foreign.first().map(|first| {
            format!(
                "`{root}{PROBE_DIR}` holds {}{} object(s) of other self-test runs (e.g. `{first}`): \
                 left alone; if no other self-test runs now, one was killed before its cleanup \
                 and `{root}{PROBE_DIR}` can be deleted by hand",
                foreign.len(),
                if existing.len() >= LIST_SCAN { "+" } else { "" },
            )
        }))
    }

    /// Registers the cleanup with the engine, once; call it before the first write. The
    /// cleanup closes `writes` and waits for the writes in flight, deletes the prefix recursively
    /// (idempotent), then, for File stores, removes what the step created when it is empty:
    /// `.tmp/`, the prefix and `.greptime-self-test/`, and the directories of `data_home`.
    pub(crate) fn register_cleanup(&self, cx: &StepCx) {
        if self.cleanup_registered.swap(true, Ordering::Relaxed) {
            return;
        }
        let label = format!(
            "object store `{}` prefix `{}{}`",
            self.store.display_name(),
            self.built.root,
            self.prefix
        );
        let (op, prefix, store) = (self.op().clone(), self.prefix.clone(), self.store.clone());
        let local_root = self.built.local_root.clone();
        let (tmp_existed, created_home_dirs) = (self.tmp_existed, self.created_home_dirs.clone());
        let writes = self.writes.clone();
        let (went_silent, answer) = (self.went_silent.clone(), self.answer_deadline(cx));
        cx.on_cleanup(label, async move {
            // A store that stopped answering during the step gets the first-answer deadline,
            // not the full cleanup limit.
            let limit = if went_silent.load(Ordering::Relaxed) {
                answer.limit.min(CLEANUP_LIMIT)
            } else {
                CLEANUP_LIMIT
            };
            let removed = tokio::time::timeout(limit, remove_prefix(&op, &prefix, &writes, &store))
                .await
                .unwrap_or_else(|_| {
                    Err(format!(
                        "deleting `{prefix}` got no answer within {}; delete it by hand",
                        human(limit)
                    ))
                });
            if let Some(root) = local_root {
                // only when empty: anything else put there is not ours to remove (`.tmp/` may
                // hold a sibling run's write in flight)
                if tmp_existed == Some(false) {
                    let _ = std::fs::remove_dir(format!("{root}{ATOMIC_WRITE_DIR}"));
                }
                let _ = std::fs::remove_dir(format!("{root}{prefix}"));
                let _ = std::fs::remove_dir(format!("{root}{PROBE_DIR}"));
                for dir in &created_home_dirs {
                    let _ = std::fs::remove_dir(dir);
                }
            }
            removed
        });
    }
}

/// Permits of a [`WriteGate`]: more than any step has writes in flight.
const GATE_PERMITS: u32 = 1 << 16;
/// How long the cleanup waits for the writes in flight.
const DRAIN_LIMIT: Duration = Duration::from_secs(8);

/// The writes of one step. Each runs to its end in a task of its own, so cancelling the step
/// never cuts a write short: OpenDAL's fs service makes its file system calls on tokio's
/// blocking pool, where dropping the future does not stop a call already handed over (the
/// `open` of a temporary file in `.tmp/` then lands after the cleanup), and an S3 PUT whose
/// body was sent is stored even when nobody waits for the answer. The cleanup closes the gate,
/// so no write starts after it has begun, and waits for the ones in flight.
#[derive(Clone)]
pub(crate) struct WriteGate(Arc<Semaphore>);

impl WriteGate {
    /// An open gate.
    pub(crate) fn new() -> Self {
        Self(Arc::new(Semaphore::new(GATE_PERMITS as usize)))
    }

    /// Writes `parts` at `path` (in `chunk`-byte uploads when given: a multipart upload) in a
    /// task of its own; fails without starting once the cleanup has begun. A failed write is
    /// aborted: OpenDAL's one-shot `write` would leave a File store's temporary file in
    /// `.tmp/` (and an S3 multipart upload open).
    pub(crate) async fn write(
        &self,
        op: &Operator,
        path: &str,
        chunk: Option<usize>,
        parts: Vec<Buffer>,
    ) -> opendal::Result<Metadata> {
        let (op, path) = (op.clone(), path.to_string());
        self.run(async move {
            let mut writer = match chunk {
                Some(chunk) => op.writer_with(&path).chunk(chunk).await?,
                None => op.writer(&path).await?,
            };
            let mut written = Ok(());
            for part in parts {
                written = writer.write(part).await;
                if written.is_err() {
                    break;
                }
            }
            let written = match written {
                Ok(()) => writer.close().await,
                Err(e) => Err(e),
            };
            if written.is_err() {
                let _ = writer.abort().await;
            }
            written
        })
        .await
    }

    /// Runs `write` in a task of its own; fails without starting it once the cleanup has begun.
    async fn run<T: Send + 'static>(
        &self,
        write: impl Future<Output = opendal::Result<T>> + Send + 'static,
    ) -> opendal::Result<T> {
        let permit = self.0.clone().acquire_owned().await.map_err(|_| {
            opendal::Error::new(
                opendal::ErrorKind::Unexpected,
                "not started: the step is being cleaned up",
            )
        })?;
        tokio::spawn(async move {
            let written = write.await;
            drop(permit);
            written
        })
        .await
        .map_err(|e| opendal::Error::new(opendal::ErrorKind::Unexpected, e.to_string()))?
    }

    /// Closes the gate (a write asked for later fails without starting; the semaphore is
    /// fair, so none can slip in while this waits) and waits up to `limit` for the writes in
    /// flight. Returns how many were still running then.
    async fn drain(&self, limit: Duration) -> usize {
        let all = tokio::time::timeout(limit, self.0.acquire_many(GATE_PERMITS)).await;
        let running = match &all {
            Ok(Ok(_)) => 0,
            // the timed-out acquire has given back what it had gathered
            _ => GATE_PERMITS as usize - self.0.available_permits(),
        };
        // closed before the permits go back: a write waiting for one fails instead
        self.0.close();
        drop(all);
        running
    }
}

/// The cleanup's object part: waits for the writes in flight, deletes the run's prefix
/// recursively and checks nothing is listed under it any more.
async fn remove_prefix(
    op: &Operator,
    prefix: &str,
    writes: &WriteGate,
    store: &StoreConfig,
) -> Result<(), String> {
    let running = writes.drain(DRAIN_LIMIT).await;
    let deleted = async {
        op.delete_with(prefix).recursive(true).await?;
        first_entries(op, prefix, true, 10).await
    }
    .await;
    let left = match deleted {
        Ok(left) => left,
        Err(e) if e.kind() == opendal::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            return Err(format!(
                "deleting `{prefix}` failed ({}: {}); delete it by hand with a credential \
                 allowed DeleteObject",
                e.kind(),
                client::describe(&e, store)
            ))
        }
    };
    if let Some((path, _)) = left.iter().find(|(_, m)| *m == EntryMode::FILE) {
        return Err(format!(
            "`{path}` is still listed after deleting `{prefix}`"
        ));
    }
    if running > 0 {
        return Err(format!(
            "{running} write(s) were still running {DRAIN_LIMIT:?} after the step ended; \
             an object they complete may appear under `{prefix}` later: delete it by hand"
        ));
    }
    Ok(())
}

/// The run id as a key segment: `[A-Za-z0-9._-]`, at most 64 characters.
fn sanitize(run_id: &str) -> String {
    let s: String = run_id
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.chars().all(|c| c == '.') {
        "run".into()
    } else {
        s
    }
}

/// `len` bytes that differ per run and per position (a torn or shifted read is caught).
pub(crate) fn payload(len: usize, run_id: &str) -> Vec<u8> {
    let seed = uuid::Uuid::new_v4();
    let mut out = format!("greptime-self-test {run_id} {seed}\n").into_bytes();
    let mut x: u32 = seed.as_u128() as u32 | 1;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// How the store authenticates, without saying with what.
fn credentials(store: &StoreConfig) -> String {
    let set = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
    match store.kind {
        StoreType::File => "none",
        StoreType::S3 if set(&store.access_key_id) || set(&store.secret_access_key) => "keys",
        StoreType::Oss if set(&store.access_key_id) || set(&store.access_key_secret) => "keys",
        StoreType::Azblob if set(&store.sas_token) => "sas_token",
        StoreType::Azblob if set(&store.account_key) => "keys",
        StoreType::Gcs if set(&store.credential) || set(&store.credential_path) => "keys",
        _ => "default chain",
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_become_safe_key_segments() {
        assert_eq!(sanitize("abc-123_x.y"), "abc-123_x.y");
        assert_eq!(sanitize("a/b c"), "a_b_c");
        assert_eq!(sanitize(".."), "run");
        assert_eq!(sanitize(&"x".repeat(100)).len(), 64);
    }

    #[tokio::test]
    async fn the_gate_waits_for_a_write_its_caller_dropped_then_refuses_new_ones() {
        use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
        let gate = WriteGate::new();
        let landed = Arc::new(AtomicBool::new(false));
        let write = {
            let landed = landed.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                landed.store(true, SeqCst);
                Ok(())
            }
        };
        // the caller is cancelled while the write runs
        assert!(
            tokio::time::timeout(Duration::from_millis(50), gate.run(write))
                .await
                .is_err()
        );
        assert!(!landed.load(SeqCst));
        assert_eq!(gate.drain(Duration::from_secs(5)).await, 0);
        assert!(landed.load(SeqCst), "drained before the write ended");

        let started = Arc::new(AtomicBool::new(false));
        let late = {
            let started = started.clone();
            async move {
                started.store(true, SeqCst);
                Ok(())
            }
        };
        assert!(gate.run(late).await.is_err());
        assert!(!started.load(SeqCst), "a write started after the drain");
    }

    #[tokio::test]
    async fn a_failed_write_leaves_no_temporary_file() {
        let home = tempfile::tempdir().unwrap();
        let tmp = home.path().join(".tmp");
        let op = Operator::new(
            opendal::services::Fs::default()
                .root(home.path().to_str().unwrap())
                .atomic_write_dir(tmp.to_str().unwrap()),
        )
        .unwrap()
        .finish();
        // the final rename onto a non-empty directory fails after the temporary file is written
        std::fs::create_dir_all(home.path().join("taken/sub")).unwrap();
        let gate = WriteGate::new();
        let written = gate
            .write(&op, "taken", None, vec![b"x".to_vec().into()])
            .await;
        assert!(written.is_err());
        assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
        // OpenDAL's one-shot write leaves it there
        assert!(op.write("taken", b"x".to_vec()).await.is_err());
        assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 1);
    }

    #[tokio::test]
    async fn the_gate_counts_writes_that_outlive_the_drain_limit() {
        let gate = WriteGate::new();
        let slow = tokio::spawn({
            let gate = gate.clone();
            async move {
                gate.run(async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    Ok(())
                })
                .await
            }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(gate.drain(Duration::from_millis(50)).await, 1);
        slow.abort();
    }

    #[test]
    fn payloads_differ_between_calls() {
        let a = payload(1000, "r");
        assert_eq!(a.len(), 1000);
        assert_ne!(a, payload(1000, "r"));
    }
}
