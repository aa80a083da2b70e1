//! `object_store.probe`: proves the datanode's object store can be reached and used with the
//! configured credentials, through the operator GreptimeDB would build, under a prefix of its
//! own.

use std::future::Future;
use std::time::Duration;

use futures::TryStreamExt;
use opendal::{EntryMode, Operator};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::client::{self, BuildOptions, Op, ATOMIC_WRITE_DIR};
use super::{HttpClientConfig, StoreConfig, StoreType, PROBE_DIR};
use crate::plugins::{millis, Step, StepCx, StepError};

/// Size of the small object.
const SMALL_BYTES: usize = 4 * 1024;
/// Multipart part size: S3's minimum part size, so the write really is a multipart upload.
const CHUNK_BYTES: usize = 5 * 1024 * 1024;
/// Size of the multipart object: two parts (5 MiB and 1 MiB).
const MULTIPART_BYTES: usize = 6 * 1024 * 1024;
/// At most this many entries are looked at when searching for objects.
const LIST_SCAN: usize = 1000;
/// Bound on the cleanup (the engine gives each cleanup action 15 s).
const CLEANUP_LIMIT: Duration = Duration::from_secs(12);

/// Builds the object store as GreptimeDB builds it from the same fields, then, under
/// `<root>/.greptime-self-test/<run id>/`: lists the root (bucket or container reachable),
/// refuses to go on if `.greptime-self-test/` holds objects of another run, registers the
/// removal of its own prefix with the engine, then writes a small object, stats it, reads it
/// back and compares, lists the prefix, writes a 6 MiB object as a multipart upload (5 MiB
/// parts), reads it back, deletes both and checks the prefix is empty. With `--read-only` it
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
    /// Its latency in milliseconds (retries included).
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
    const EXAMPLE: &'static str = "\
store:
  type: S3
  bucket: greptimedb
  root: data
  endpoint: https://s3.us-west-2.amazonaws.com
  region: us-west-2
  access_key_id: AKIA...
  secret_access_key: \"{{ secret }}\"
http_client:
  connect_timeout: 10s
  timeout: 30s
data_home: /var/lib/greptimedb
";
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
    let store = params.store;
    let data_home = params
        .data_home
        .or_else(|| store.data_home.clone())
        .unwrap_or_else(|| "./greptimedb_data".to_string());
    let http = store
        .http_client
        .clone()
        .or(params.http_client)
        .unwrap_or_default();
    let file_tmp_existed = (store.kind == StoreType::File).then(|| {
        let home = super::normalize_dir(&data_home);
        std::path::Path::new(&format!("{home}{ATOMIC_WRITE_DIR}")).exists()
    });
    // File stores: the directories of `data_home` that building the operator will create,
    // deepest first, so the cleanup can remove them again.
    let created_home_dirs: Vec<std::path::PathBuf> = if store.kind == StoreType::File {
        std::path::absolute(&data_home)
            .map(|home| {
                home.ancestors()
                    .take_while(|dir| !dir.exists())
                    .map(std::path::Path::to_path_buf)
                    .collect()
            })
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let options = BuildOptions {
        read_only: cx.read_only,
        ..options
    };
    let built = client::build(&store, &http, &data_home, options)?;
    let op = built.operator.clone();
    let run = sanitize(&cx.run_id);
    let prefix = format!("{PROBE_DIR}{run}/");

    let mut out = ProbeOutput {
        store: store.display_name(),
        kind: store.kind.as_str().to_string(),
        bucket: match store.kind {
            StoreType::File => None,
            StoreType::Azblob => store.container.clone(),
            _ => store.bucket.clone(),
        },
        root: built.root.clone(),
        prefix: prefix.clone(),
        read_only: cx.read_only,
        credentials: credentials(&store),
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
        store: &store,
        http: &http,
        ops: &mut out.operations,
    };

    // Bucket or container reachable.
    ctx.run(
        "list_root",
        Op::List,
        "the root",
        first_entries(&op, "/", false, 1),
    )
    .await?;

    if cx.read_only {
        let found = ctx
            .run(
                "list_objects",
                Op::List,
                "the root (recursive)",
                first_file(&op, "/"),
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

    // Refuse to mix with another run's objects.
    let existing = ctx
        .run(
            "list_probe_dir",
            Op::List,
            &format!("`{PROBE_DIR}`"),
            first_entries(&op, PROBE_DIR, true, LIST_SCAN),
        )
        .await?;
    let foreign: Vec<&String> = existing
        .iter()
        .filter(|(path, mode)| *mode == EntryMode::FILE && !path.starts_with(&prefix))
        .map(|(path, _)| path)
        .collect();
    if let Some(first) = foreign.first() {
        return Err(StepError::rejected(format!(
            "`{}{PROBE_DIR}` already holds {}{} object(s) of another self-test run (e.g. `{first}`)",
            built.root,
            foreign.len(),
            if existing.len() >= LIST_SCAN { "+" } else { "" },
        ))
        .with_hint(format!(
            "another self-test is running against this store, or one was killed before its cleanup; \
             once none runs, delete `{}{PROBE_DIR}` by hand",
            built.root
        )));
    }

    // Registered before the first write: whatever happens next, the prefix is removed.
    {
        let (op, prefix, local_root) = (op.clone(), prefix.clone(), built.local_root.clone());
        let store = store.clone();
        cx.on_cleanup(
            format!(
                "object store `{}` prefix `{}{prefix}`",
                out.store, built.root
            ),
            async move {
                let removed = remove_prefix(
                    &op,
                    &prefix,
                    local_root.as_deref(),
                    file_tmp_existed,
                    &store,
                )
                .await;
                for dir in &created_home_dirs {
                    // only when empty: anything else put there is not ours to remove
                    let _ = std::fs::remove_dir(dir);
                }
                removed
            },
        );
    }

    let small_path = format!("{prefix}small.bin");
    let small = payload(SMALL_BYTES, &cx.run_id);
    let what = format!("`{small_path}`");
    ctx.run(
        "write",
        Op::Write,
        &what,
        op.write(&small_path, small.clone()),
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
            first_entries(&op, &prefix, true, LIST_SCAN),
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
        .run("multipart_write", Op::Write, &what_big, async {
            let mut writer = op.writer_with(&big_path).chunk(CHUNK_BYTES).await?;
            for part in big.chunks(1024 * 1024) {
                writer.write(part.to_vec()).await?;
            }
            writer.close().await
        })
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
            first_entries(&op, &prefix, true, LIST_SCAN),
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
    store: &'a StoreConfig,
    http: &'a HttpClientConfig,
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
        let result = fut.await;
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
            Err(e) => {
                let verdict = client::verdict(op, what, &e, self.store, self.http);
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
async fn first_entries(
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

/// How long the cleanup waits for cut-short uploads to land before its second delete.
const CLEANUP_SETTLE: std::time::Duration = std::time::Duration::from_millis(500);

/// The cleanup: deletes the run's prefix recursively (idempotent). For File stores it also
/// removes `.greptime-self-test/` and `.tmp/` when they are left empty and the probe created
/// them.
async fn remove_prefix(
    op: &Operator,
    prefix: &str,
    local_root: Option<&str>,
    tmp_existed: Option<bool>,
    store: &StoreConfig,
) -> Result<(), String> {
    let deleted = tokio::time::timeout(CLEANUP_LIMIT, async {
        op.delete_with(prefix).recursive(true).await?;
        // an upload whose request was fully sent when the step was cancelled can still land
        // on the server a moment later: wait, then delete once more
        tokio::time::sleep(CLEANUP_SETTLE).await;
        op.delete_with(prefix).recursive(true).await?;
        first_entries(op, prefix, true, 10).await
    })
    .await;
    let left = match deleted {
        Err(_) => {
            return Err(format!(
                "deleting `{prefix}` took longer than {CLEANUP_LIMIT:?}"
            ))
        }
        Ok(Err(e)) if e.kind() == opendal::ErrorKind::NotFound => Vec::new(),
        Ok(Err(e)) => {
            return Err(format!(
                "deleting `{prefix}` failed ({}: {}); delete it by hand with a credential \
                 allowed DeleteObject",
                e.kind(),
                client::describe(&e, store)
            ))
        }
        Ok(Ok(left)) => left,
    };
    if let Some((path, _)) = left.iter().find(|(_, m)| *m == EntryMode::FILE) {
        return Err(format!(
            "`{path}` is still listed after deleting `{prefix}`"
        ));
    }
    if let Some(root) = local_root {
        let _ = std::fs::remove_dir(format!("{root}{prefix}"));
        let _ = std::fs::remove_dir(format!("{root}{PROBE_DIR}"));
        if tmp_existed == Some(false) {
            let _ = std::fs::remove_dir(format!("{root}{ATOMIC_WRITE_DIR}"));
        }
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
fn payload(len: usize, run_id: &str) -> Vec<u8> {
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

    #[test]
    fn payloads_differ_between_calls() {
        let a = payload(1000, "r");
        assert_eq!(a.len(), 1000);
        assert_ne!(a, payload(1000, "r"));
    }
}
