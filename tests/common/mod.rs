//! Helpers shared by the integration tests that run the real binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub mod object_store;
pub mod steps;

/// The crate root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file under the crate root.
pub fn path(rel: &str) -> PathBuf {
    root().join(rel)
}

/// A `component` config whose metasrv (127.0.0.1:3002) is not running
/// (`tests/fixtures/config/dead-metasrv/`): a run that fails on reachability alone.
pub fn dead_metasrv_config(component: &str) -> PathBuf {
    path(&format!(
        "tests/fixtures/config/dead-metasrv/{component}.toml"
    ))
}

/// Result of one run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout and stderr together.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Runs the binary with `args` in `cwd`, with no GREPTIMEDB_* variables inherited.
pub fn run_in(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_greptime-self-test"));
    cmd.args(args).current_dir(cwd).env("NO_COLOR", "1");
    for (k, _) in std::env::vars() {
        if k.starts_with("GREPTIMEDB_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("binary runs");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// Runs the binary in a fresh temporary directory (so probes of relative paths land there).
pub fn run(args: &[&str]) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    run_in(dir.path(), args, &[])
}

/// Writes `datanode.toml` into `dir`: node 1, a metasrv at 127.0.0.1:1 (nothing answers), gRPC
/// and HTTP on port 0, then `rest` (more TOML). Returns its path.
pub fn datanode_config(dir: &Path, rest: &str) -> PathBuf {
    let config = dir.join("datanode.toml");
    std::fs::write(
        &config,
        format!(
            "node_id = 1\n[meta_client]\nmetasrv_addrs = [\"127.0.0.1:1\"]\n\
             [grpc]\nbind_addr = \"127.0.0.1:0\"\n[http]\naddr = \"127.0.0.1:0\"\n{rest}\n"
        ),
    )
    .unwrap();
    config
}

/// Runs the built-in playbook of `component` on `config` in `dir` with JSON output, then `extra`
/// arguments; returns the run and its report (panics with all the output when stdout is not
/// JSON).
pub fn run_component(component: &str, dir: &Path, config: &Path, extra: &[&str]) -> (Run, Value) {
    let mut args = vec![
        component,
        "-c",
        config.to_str().unwrap(),
        "--output",
        "json",
    ];
    args.extend(extra);
    let r = run_in(dir, &args, &[]);
    let report =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", r.all()));
    (r, report)
}

/// Sends SIGINT (what Ctrl-C sends) to `child`.
pub fn interrupt(child: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -INT {}", child.id());
}

/// The checks of a JSON report with the given `id`, one for each instance.
pub fn checks<'a>(report: &'a Value, id: &str) -> Vec<&'a Value> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == id)
        .collect()
}

/// A name unique to this test run: `gst-<tag>-<12 hex digits>`.
pub fn unique(tag: &str) -> String {
    format!(
        "gst-{tag}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// A `GST_*` variable written by `scripts/services.sh`. Missing: the test is skipped with a note,
/// except under CI=true, where it fails (a test never passes in silence).
pub fn service(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => Some(value),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but {name} is not set: run the tests through scripts/services.sh"
            );
            eprintln!("note: {name} is not set (start scripts/services.sh); test skipped");
            None
        }
    }
}

/// Gets `GST_*` variables (see [`service`]) or returns from the test. Visible to every test
/// module through `#[macro_use]` in `tests/main.rs`.
macro_rules! need {
    ($($name:literal),+) => {
        ($(match $crate::common::service($name) { Some(v) => v, None => return },)+)
    };
}

/// The commands of a hint: its lines that start with `$ ` (the fix a person copies), without it.
pub fn hint_commands(hint: &str) -> Vec<String> {
    hint.lines()
        .filter_map(|line| line.strip_prefix("$ "))
        .map(str::to_string)
        .collect()
}

/// `xmllint` and the project's JUnit schema (`schemas/junit.xsd`). Under CI=true a missing
/// xmllint fails.
pub fn junit_validator() -> Option<PathBuf> {
    let xsd = root().join("schemas/junit.xsd");
    if Command::new("xmllint").arg("--version").output().is_ok() {
        return Some(xsd);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but xmllint is missing"
    );
    eprintln!("note: xmllint is missing; JUnit schema validation skipped");
    None
}

/// Asserts that no `<testcase>` of a JUnit file carries output of its own (`system-out` or
/// `system-err`): the default shape, which strict Ant-style readers require.
pub fn assert_no_case_output(file: &Path) {
    let xml = std::fs::read_to_string(file).unwrap();
    for case in xml.split("<testcase").skip(1) {
        let start_tag_end = case.find('>').expect("a closed start tag");
        let body = if case[..start_tag_end].ends_with('/') {
            ""
        } else {
            case[start_tag_end..]
                .split("</testcase>")
                .next()
                .unwrap_or("")
        };
        assert!(
            !body.contains("<system-out") && !body.contains("<system-err"),
            "a testcase with its own output in {}: {body}",
            file.display()
        );
    }
}

/// Validates an XML file against an XSD with xmllint; panics with its output on failure.
pub fn assert_valid_xml(file: &Path, xsd: &Path) {
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(xsd)
        .arg(file)
        .output()
        .expect("xmllint runs");
    assert!(
        out.status.success(),
        "{} is not valid against {}:\n{}",
        file.display(),
        xsd.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A listener on 127.0.0.1 that accepts connections and never answers (it holds the first
/// four, and closes 30 s after the fourth). Returns its address.
pub fn hung_server() -> (String, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handle = std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().take(4).collect();
        std::thread::sleep(std::time::Duration::from_secs(30));
        drop(held);
    });
    (addr, handle)
}

/// The plain test etcd (`GST_ETCD_ENDPOINT`) is shared by the test modules of this one binary.
/// A test that uses it holds the read side for as long as it does; a test that needs it to
/// itself (proving "no write" by comparing the store revision, or raising an alarm) holds the
/// write side, so no other test writes or fails on the alarm meanwhile. Synchronous tests use
/// `blocking_read`/`blocking_write`.
pub static PLAIN_ETCD: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// The Python that has PyPI's `kubernetes-validate` (the venv `scripts/prereqs.sh` makes, else
/// `python3`); `None` when neither has it, which fails under CI=true.
pub fn kubernetes_validator() -> Option<&'static str> {
    const VENV_PYTHON: &str =
        "/var/cache/greptime-self-test/venv-kubernetes-validate-1.37.0/bin/python";
    let python = if Path::new(VENV_PYTHON).exists() {
        VENV_PYTHON
    } else {
        "python3"
    };
    let found = Command::new(python)
        .args(["-c", "import kubernetes_validate"])
        .output()
        .is_ok_and(|out| out.status.success());
    if found {
        return Some(python);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but kubernetes-validate is missing: run scripts/prereqs.sh"
    );
    eprintln!("note: kubernetes-validate is missing (scripts/prereqs.sh); validation skipped");
    None
}

/// Validates Kubernetes manifests strictly against the schemas of `version` (e.g. `1.28.0`);
/// panics with the validator's output when they do not match.
pub fn assert_valid_kubernetes(python: &str, version: &str, files: &[&Path]) {
    let out = Command::new(python)
        .args([
            "-m",
            "kubernetes_validate",
            "--strict",
            "--quiet",
            "-k",
            version,
        ])
        .args(files)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{files:?} do not validate against Kubernetes {version}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
