//! `fs.writable`: a directory exists (or can be created) and takes a durable write.

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rustix::io::Errno;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::plugins::{Step, StepCx, StepError};

/// Size of the probe file.
const PROBE_SIZE: usize = 4096;

/// Proves a directory is usable by writing, fsyncing, reading back and removing a probe file,
/// and reports free space. Directories it creates are removed afterwards if still empty.
pub struct Writable;

/// Parameters of `fs.writable`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WritableParams {
    /// Directory to check, e.g. `storage.data_home` or `wal.dir`. A relative path resolves
    /// against the working directory of greptime-self-test; GreptimeDB resolves it against its
    /// own working directory, so run the check from the same directory or use absolute paths.
    pub path: String,
    /// Whether the directory and missing parents may be created, as GreptimeDB creates them at
    /// start-up. Default true. With false, a missing directory fails the check. Directories
    /// created by the check are removed again afterwards (only if still empty).
    #[serde(default = "default_create")]
    pub create: bool,
}

fn default_create() -> bool {
    true
}

/// Output of `fs.writable`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WritableOutput {
    /// The directory, as an absolute path.
    pub path: String,
    /// True when the directory existed before the check.
    pub existed: bool,
    /// True when the check created the directory (and possibly parents).
    pub created: bool,
    /// True when a probe file was written, fsynced and read back; false in `--read-only` mode,
    /// where only existence, permissions (`access(2)`) and free space are checked.
    pub probed: bool,
    /// Time to create and write the probe file, in milliseconds (0 when not probed).
    pub write_ms: f64,
    /// Time to fsync the probe file, in milliseconds (0 when not probed).
    pub fsync_ms: f64,
    /// Time to read the probe file back, in milliseconds (0 when not probed).
    pub read_ms: f64,
    /// Bytes available to unprivileged users on the directory's filesystem (or, when the
    /// directory does not exist yet in `--read-only` mode, on its nearest existing parent's).
    pub free_bytes: u64,
    /// Total size of that filesystem in bytes.
    pub total_bytes: u64,
}

impl Step for Writable {
    const NAME: &'static str = "fs.writable";
    const SUMMARY: &'static str =
        "Check a directory exists or can be created, takes an fsynced write, and has free space";
    const EXAMPLE: &'static str = "path: ./greptimedb_data\ncreate: true\n";
    type Params = WritableParams;
    type Output = WritableOutput;

    async fn run(&self, params: Self::Params, cx: &StepCx) -> Result<Self::Output, StepError> {
        let raw = params.path.trim();
        if raw.is_empty() {
            return Err(StepError::misconfigured("the directory path is empty")
                .with_hint("set the directory in the component config"));
        }
        let path = std::path::absolute(raw)
            .map_err(|e| StepError::could_not_run(format!("cannot make `{raw}` absolute: {e}")))?
            // Drops `.` components and a trailing `/`; `..` is kept, as the kernel resolves it.
            .components()
            .collect::<PathBuf>();

        let (existing, missing) = locate(&path).await?;
        let existed = missing.is_empty();
        if !existed && !params.create {
            return Err(
                StepError::misconfigured(format!("`{}` does not exist", path.display())).with_hint(
                    "create it, writable by the user GreptimeDB runs as, or set `create: true` if \
                 GreptimeDB creates it at start-up",
                ),
            );
        }

        if cx.read_only {
            let dir = existing.clone();
            blocking(move || {
                rustix::fs::access(
                    &dir,
                    rustix::fs::Access::WRITE_OK | rustix::fs::Access::EXEC_OK,
                )
                .map_err(|e| fs_error("write to", &dir, &dir, &io::Error::from(e)))
            })
            .await?;
            let (free_bytes, total_bytes) = space(existing).await?;
            return Ok(WritableOutput {
                path: path.display().to_string(),
                existed,
                created: false,
                probed: false,
                write_ms: 0.0,
                fsync_ms: 0.0,
                read_ms: 0.0,
                free_bytes,
                total_bytes,
            });
        }

        let probe = path.join(format!(".greptime-self-test-{}", cx.run_id));
        let created: Arc<Mutex<Vec<PathBuf>>> = Arc::default();
        let label = if missing.is_empty() {
            format!("probe file {}", probe.display())
        } else {
            format!(
                "probe file {} and the directories created under {}",
                probe.display(),
                existing.display()
            )
        };
        cx.on_cleanup(label, cleanup(probe.clone(), Arc::clone(&created)));

        for dir in &missing {
            match tokio::fs::create_dir(dir).await {
                Ok(()) => {
                    created.lock().expect("created dirs").push(dir.clone());
                    cx.record_created_dir(dir.clone());
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(fs_error(
                        "create directory",
                        dir,
                        dir.parent().unwrap_or(dir),
                        &e,
                    ))
                }
            }
        }
        let created_any = !created.lock().expect("created dirs").is_empty();

        let data = probe_data(&cx.run_id);
        let timings = {
            let (probe, path) = (probe.clone(), path.clone());
            blocking(move || write_probe(&probe, &path, &data)).await?
        };
        let (free_bytes, total_bytes) = space(path.clone()).await?;
        Ok(WritableOutput {
            path: path.display().to_string(),
            existed,
            created: created_any,
            probed: true,
            write_ms: timings.write_ms,
            fsync_ms: timings.fsync_ms,
            read_ms: timings.read_ms,
            free_bytes,
            total_bytes,
        })
    }
}

/// Finds the nearest existing ancestor of `path` (possibly `path` itself), which must be a
/// directory, and the missing directories below it, shallowest first.
async fn locate(path: &Path) -> Result<(PathBuf, Vec<PathBuf>), StepError> {
    let mut missing = Vec::new();
    for dir in path.ancestors() {
        match tokio::fs::metadata(dir).await {
            Ok(meta) if meta.is_dir() => {
                missing.reverse();
                return Ok((dir.to_path_buf(), missing));
            }
            Ok(_) if dir == path => {
                return Err(StepError::misconfigured(format!(
                    "`{}` exists but is a file, not a directory",
                    path.display()
                ))
                .with_hint("point the config at a directory, or move the file away"))
            }
            Ok(_) => {
                return Err(StepError::misconfigured(format!(
                    "`{}` is a file, so `{}` cannot be a directory",
                    dir.display(),
                    path.display()
                ))
                .with_hint("point the config at a directory, or move the file away"))
            }
            Err(e)
                if e.kind() == io::ErrorKind::NotFound
                    || Errno::from_io_error(&e) == Some(Errno::NOTDIR) =>
            {
                missing.push(dir.to_path_buf());
            }
            Err(e) => return Err(fs_error("look up", dir, dir.parent().unwrap_or(dir), &e)),
        }
    }
    Err(StepError::could_not_run(format!(
        "no ancestor of `{}` exists",
        path.display()
    )))
}

/// The cleanup action: removes the probe file if present, then the directories this step
/// created, deepest first, each only if empty. Idempotent.
async fn cleanup(probe: PathBuf, created: Arc<Mutex<Vec<PathBuf>>>) -> Result<(), String> {
    let mut problems = Vec::new();
    match tokio::fs::remove_file(&probe).await {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => problems.push(format!("cannot remove {}: {e}", probe.display())),
    }
    let dirs = created.lock().expect("created dirs").clone();
    for dir in dirs.iter().rev() {
        match tokio::fs::remove_dir(dir).await {
            Ok(()) => {}
            // Gone already, or something else now lives there: keep it.
            Err(e)
                if e.kind() == io::ErrorKind::NotFound
                    || Errno::from_io_error(&e) == Some(Errno::NOTEMPTY) => {}
            Err(e) => problems.push(format!("cannot remove {}: {e}", dir.display())),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

struct Timings {
    write_ms: f64,
    fsync_ms: f64,
    read_ms: f64,
}

/// A few KiB naming the run, then a byte pattern.
fn probe_data(run_id: &str) -> Vec<u8> {
    let mut data = format!("greptime-self-test probe, run {run_id}\n").into_bytes();
    let mut i: u32 = 0;
    while data.len() < PROBE_SIZE {
        data.push((i.wrapping_mul(31).wrapping_add(7) % 251) as u8);
        i += 1;
    }
    data.truncate(PROBE_SIZE);
    data
}

/// Creates, writes, fsyncs, reads back and removes the probe file.
fn write_probe(probe: &Path, dir: &Path, data: &[u8]) -> Result<Timings, StepError> {
    let started = Instant::now();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(probe)
        .map_err(|e| fs_error("create a file in", dir, dir, &e))?;
    file.write_all(data)
        .map_err(|e| fs_error("write to", probe, dir, &e))?;
    let write_ms = ms(started);

    let started = Instant::now();
    file.sync_all()
        .map_err(|e| fs_error("fsync", probe, dir, &e))?;
    let fsync_ms = ms(started);
    drop(file);

    let started = Instant::now();
    let back = std::fs::read(probe).map_err(|e| fs_error("read back", probe, dir, &e))?;
    let read_ms = ms(started);

    std::fs::remove_file(probe).map_err(|e| fs_error("remove", probe, dir, &e))?;
    if back != data {
        return Err(StepError::rejected(format!(
            "the data read back from `{}` differs from what was written ({} bytes written, {} \
             read)",
            probe.display(),
            data.len(),
            back.len()
        ))
        .with_hint(
            "the filesystem does not return what was written; check the mount (network or FUSE \
             filesystems) and the kernel log for storage errors",
        ));
    }
    Ok(Timings {
        write_ms,
        fsync_ms,
        read_ms,
    })
}

fn ms(started: Instant) -> f64 {
    crate::plugins::millis(started.elapsed())
}

/// Free and total bytes of the filesystem holding `dir`.
async fn space(dir: PathBuf) -> Result<(u64, u64), StepError> {
    blocking(move || {
        let stat = rustix::fs::statvfs(&dir).map_err(|e| {
            StepError::could_not_run(format!(
                "cannot read free space of `{}`: {e}",
                dir.display()
            ))
        })?;
        Ok((
            stat.f_bavail.saturating_mul(stat.f_frsize),
            stat.f_blocks.saturating_mul(stat.f_frsize),
        ))
    })
    .await
}

/// Runs blocking filesystem work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StepError> + Send + 'static,
) -> Result<T, StepError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StepError::could_not_run(format!("filesystem task failed: {e}")))?
}

/// Maps a failed filesystem operation on `path` to an error; `dir` is the directory whose
/// permissions or mount matter.
fn fs_error(op: &str, path: &Path, dir: &Path, e: &io::Error) -> StepError {
    let (path, dir) = (path.display(), dir.display());
    match Errno::from_io_error(e) {
        Some(Errno::ACCESS) | Some(Errno::PERM) => {
            let user = current_user();
            let (uid, gid) = current_ids();
            let quoted = shell_quoted(&dir.to_string());
            StepError::rejected(format!("permission denied: cannot {op} `{path}` as {user}"))
                .with_hint(format!(
                    "give the user GreptimeDB runs as write access to `{dir}`; shown for {user}, \
                     which runs this check (run it as GreptimeDB's user to be sure):\n\
                     $ chown -R {uid}:{gid} {quoted}\n$ chmod u+rwx {quoted}"
                ))
        }
        Some(Errno::ROFS) => StepError::rejected(format!(
            "cannot {op} `{path}`: the filesystem is mounted read-only"
        ))
        .with_hint(format!(
            "mount the filesystem holding `{dir}` read-write, or point the config at a writable \
             volume"
        )),
        Some(Errno::NOSPC) | Some(Errno::DQUOT) => StepError::rejected(format!(
            "cannot {op} `{path}`: no space left or disk quota exceeded"
        ))
        .with_hint(format!(
            "free space on the filesystem holding `{dir}`, or raise the quota:\n$ df -h {}",
            shell_quoted(&dir.to_string())
        )),
        Some(Errno::NOTDIR) => StepError::misconfigured(format!(
            "cannot {op} `{path}`: a component of the path is a file, not a directory"
        ))
        .with_hint("point the config at a directory"),
        _ => StepError::could_not_run(format!("cannot {op} `{path}`: {e}")),
    }
}

/// This process's effective uid and gid, for the `chown` a hint prints.
fn current_ids() -> (u32, u32) {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the process's effective uid and gid.
    std::fs::metadata("/proc/self")
        .map(|meta| (meta.uid(), meta.gid()))
        .unwrap_or((0, 0))
}

/// `path` as one shell word: as is when it holds only safe characters, else single-quoted.
fn shell_quoted(path: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-+=:@%,".contains(c);
    if !path.is_empty() && path.chars().all(safe) {
        path.to_string()
    } else {
        format!("'{}'", path.replace('\'', "'\\''"))
    }
}

/// `` `name` (uid N) `` of this process, for hints; best effort.
fn current_user() -> String {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::metadata("/proc/self") else {
        return "the current user".into();
    };
    let uid = meta.uid();
    let name = std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?;
                let id = fields.nth(1)?.parse::<u32>().ok()?;
                (id == uid).then(|| name.to_string())
            })
        });
    match name {
        Some(name) => format!("user `{name}` (uid {uid})"),
        None => format!("uid {uid}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_quoted_for_the_shell_only_when_needed() {
        assert_eq!(shell_quoted("/var/lib/greptimedb"), "/var/lib/greptimedb");
        assert_eq!(shell_quoted("/data/my dir"), "'/data/my dir'");
        assert_eq!(shell_quoted("/it's"), "'/it'\\''s'");
    }

    #[test]
    fn probe_data_is_a_few_kib_and_names_the_run() {
        let data = probe_data("r-1");
        assert_eq!(data.len(), PROBE_SIZE);
        assert!(data.starts_with(b"greptime-self-test probe, run r-1\n"));
        assert_ne!(probe_data("r-1"), probe_data("r-2"));
    }

    #[test]
    fn errno_mapping_gives_kinds_people_can_act_on() {
        use crate::plugins::ErrorKind;
        let p = Path::new("/data/x");
        let kind = |errno: Errno| fs_error("write to", p, p, &io::Error::from(errno)).kind;
        assert_eq!(kind(Errno::ACCESS), ErrorKind::Rejected);
        assert_eq!(kind(Errno::ROFS), ErrorKind::Rejected);
        assert_eq!(kind(Errno::NOSPC), ErrorKind::Rejected);
        assert_eq!(kind(Errno::NOTDIR), ErrorKind::Misconfigured);
        assert_eq!(kind(Errno::IO), ErrorKind::CouldNotRun);
        let denied = fs_error("write to", p, p, &io::Error::from(Errno::ACCESS));
        assert!(denied.message.contains("/data/x"), "{}", denied.message);
        assert!(denied.hint.unwrap().contains("/data/x"));
    }
}
