//! The `$ etcdctl …` commands in etcd hints, run against a private etcd (started here with a
//! tiny `--quota-backend-bytes` or with auth on, so the shared etcd is never disturbed); after
//! running them the step passes.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::steps::{run_cleanup, run_step, TestCx};
use etcd_client::Client;
use greptime_self_test::config::Component;
use greptime_self_test::plugins::{CleanupRegistry, ErrorKind, StepError, StepOutput};
use serde_json::{json, Value};

/// The root password of the private auth etcd; must never show in a hint.
const ROOT_PASSWORD: &str = "gst-fix-root-9d1e";

/// A private single-member etcd, killed on drop.
struct PrivateEtcd {
    child: Child,
    endpoint: String,
    etcdctl: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for PrivateEtcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

impl PrivateEtcd {
    /// Starts etcd next to `etcdctl` with `extra` flags; waits until it answers.
    async fn start(etcdctl: &str, extra: &[&str]) -> Self {
        Self::start_with(etcdctl, extra, "http").await
    }

    /// Starts etcd with client URLs of `scheme`; waits until its port accepts connections.
    async fn start_with(etcdctl: &str, extra: &[&str], scheme: &str) -> Self {
        let etcdctl = PathBuf::from(etcdctl);
        let etcd = etcdctl.with_file_name("etcd");
        let dir = tempfile::tempdir().expect("tempdir");
        let (client, peer) = (free_port(), free_port());
        let client_url = format!("{scheme}://127.0.0.1:{client}");
        let peer_url = format!("http://127.0.0.1:{peer}");
        let child = Command::new(&etcd)
            .args([
                "--name=fix",
                &format!("--data-dir={}", dir.path().join("data").display()),
                &format!("--listen-client-urls={client_url}"),
                &format!("--advertise-client-urls={client_url}"),
                &format!("--listen-peer-urls={peer_url}"),
                &format!("--initial-advertise-peer-urls={peer_url}"),
                &format!("--initial-cluster=fix={peer_url}"),
                "--log-level=error",
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start etcd");
        let me = Self {
            child,
            endpoint: format!("127.0.0.1:{client}"),
            etcdctl,
            _dir: dir,
        };
        // a fresh etcd on a loaded 2-core machine (the whole suite runs at once) can take
        // many seconds to elect itself
        let give_up = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < give_up {
            if scheme == "http" {
                if let Ok(mut c) = Client::connect([me.endpoint.as_str()], None).await {
                    if c.status().await.is_ok() {
                        return me;
                    }
                }
            } else if std::net::TcpStream::connect(&me.endpoint).is_ok() {
                tokio::time::sleep(Duration::from_millis(500)).await;
                return me;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("private etcd on {} did not start", me.endpoint);
    }

    /// Runs etcdctl with `args`, returning stdout; panics on failure.
    fn etcdctl(&self, args: &[String]) -> String {
        run_etcdctl(&self.etcdctl, args)
    }
}

fn run_etcdctl(etcdctl: &Path, args: &[String]) -> String {
    let out = Command::new(etcdctl)
        .args(args)
        .output()
        .expect("run etcdctl");
    assert!(
        out.status.success(),
        "etcdctl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `$ ` lines of a hint, split into words without the `etcdctl` itself (no argument of
/// these commands holds a space).
fn commands(hint: &str) -> Vec<Vec<String>> {
    crate::common::hint_commands(hint)
        .into_iter()
        .map(|c| {
            let mut words: Vec<String> = c
                .split_whitespace()
                .map(|w| w.trim_matches('\'').to_string())
                .collect();
            assert_eq!(words.remove(0), "etcdctl", "{c}");
            words
        })
        .collect()
}

async fn run(name: &str, params: Value) -> Result<StepOutput, StepError> {
    let cleanup = CleanupRegistry::default();
    let cx = TestCx::new(Component::Metasrv, "fix-etcd")
        .budget(Duration::from_secs(15))
        .cleanup(&cleanup)
        .build();
    let result = run_step(name, params, &cx).await;
    run_cleanup(&cleanup).await;
    result
}

fn probe_params(endpoint: &str) -> Value {
    json!({"endpoints": [endpoint], "key_prefix": "fix/", "max_txn_ops": 4, "value_size": 0})
}

#[tokio::test]
async fn nospace_hint_commands_free_the_space_and_the_probe_passes() {
    let (etcdctl,) = need!("GST_ETCDCTL");
    let etcd = PrivateEtcd::start(&etcdctl, &["--quota-backend-bytes=2097152"]).await;
    let ep = etcd.endpoint.clone();

    // Fill the quota with overwrites of one key (history only, which compaction frees).
    let mut client = Client::connect([ep.as_str()], None).await.expect("client");
    let value = vec![b'x'; 64 * 1024];
    let mut full = false;
    for _ in 0..200 {
        if client.put("fix/fill", value.clone(), None).await.is_err() {
            full = true;
            break;
        }
    }
    assert!(full, "the private etcd never raised NOSPACE");
    client.delete("fix/fill", None).await.ok();
    let revision = client
        .get("fix/", None)
        .await
        .expect("read")
        .header()
        .expect("header")
        .revision();

    // The endpoint step reports the alarm with the commands.
    let out = run(
        "etcd.endpoint",
        json!({"endpoint": ep, "key_prefix": "fix/"}),
    )
    .await
    .expect("endpoint step");
    let fix = out.value["fix"].as_str().expect("fix").to_string();
    assert!(
        fix.contains(&format!(
            "$ etcdctl --endpoints=http://{ep} compact {revision}"
        )),
        "{fix}"
    );
    assert!(
        fix.contains(&format!("$ etcdctl --endpoints=http://{ep} alarm disarm")),
        "{fix}"
    );

    // The metasrv playbook's endpoint check fails on the alarm and its hint carries them.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("metasrv.toml");
    std::fs::write(
        &config,
        format!(
            "backend = \"etcd_store\"\nstore_addrs = [\"{ep}\"]\n[grpc]\n\
             bind_addr = \"127.0.0.1:0\"\n[http]\naddr = \"127.0.0.1:0\"\n"
        ),
    )
    .unwrap();
    let (_, report) = crate::common::run_component("metasrv", dir.path(), &config, &[]);
    let check = &crate::common::checks(&report, "etcd_endpoint")[0];
    assert_eq!(check["status"], "fail", "{check}");
    let hint = check["hint"].as_str().unwrap_or_default();
    assert!(hint.starts_with("NOSPACE: free the space"), "{hint}");
    assert!(
        hint.contains(&format!("\n$ etcdctl --endpoints=http://{ep} compact ")),
        "{hint}"
    );

    // The probe fails with the same commands.
    let err = run("etcd.probe", probe_params(&ep))
        .await
        .expect_err("NOSPACE");
    assert_eq!(err.kind, ErrorKind::Rejected, "{err:?}");
    let hint = err.hint.clone().expect("hint");
    let lines = commands(&hint);
    let base = vec![format!("--endpoints=http://{ep}")];
    assert_eq!(
        lines,
        vec![
            [base.clone(), vec!["compact".into(), revision.to_string()]].concat(),
            [base.clone(), vec!["defrag".into()]].concat(),
            [base.clone(), vec!["alarm".into(), "disarm".into()]].concat(),
        ],
        "{hint}"
    );

    for line in &lines {
        etcd.etcdctl(line);
    }
    let out = run("etcd.probe", probe_params(&ep))
        .await
        .expect("probe after the fix");
    assert_eq!(out.value["read_only"], json!(false));
    let out = run(
        "etcd.endpoint",
        json!({"endpoint": ep, "key_prefix": "fix/"}),
    )
    .await
    .expect("endpoint step");
    assert_eq!(out.value["alarms"], json!([]));
    assert_eq!(out.value["fix"], Value::Null);
}

#[tokio::test]
async fn auth_hint_command_disables_auth_and_the_step_passes() {
    let (etcdctl,) = need!("GST_ETCDCTL");
    let etcd = PrivateEtcd::start(&etcdctl, &[]).await;
    let ep = etcd.endpoint.clone();
    let at = format!("--endpoints=http://{ep}");
    etcd.etcdctl(&[
        at.clone(),
        "user".into(),
        "add".into(),
        "root".into(),
        "--new-user-password".into(),
        ROOT_PASSWORD.into(),
    ]);
    etcd.etcdctl(&[at.clone(), "auth".into(), "enable".into()]);

    let params = json!({"endpoint": ep, "key_prefix": "fix/"});
    let err = run("etcd.endpoint", params.clone())
        .await
        .expect_err("auth");
    assert_eq!(err.kind, ErrorKind::Rejected, "{err:?}");
    assert!(err.message.contains("unusable by GreptimeDB"), "{err:?}");
    let hint = err.hint.clone().expect("hint");
    assert!(!hint.contains(ROOT_PASSWORD), "{hint}");
    let lines = commands(&hint);
    assert_eq!(
        lines,
        vec![vec![
            at.clone(),
            "--user".into(),
            "root".into(),
            "auth".into(),
            "disable".into()
        ]],
        "{hint}"
    );
    // `--user root` asks for the password; the test gives it on the command line.
    let mut line = lines[0].clone();
    line.push(format!("--password={ROOT_PASSWORD}"));
    etcd.etcdctl(&line);

    run("etcd.endpoint", params)
        .await
        .expect("endpoint after auth disable");
}

#[tokio::test]
async fn permission_hint_commands_grant_the_prefix_and_the_probe_passes() {
    let (etcdctl, ca, cert, key) = need!(
        "GST_ETCDCTL",
        "GST_TLS_CA",
        "GST_TLS_CLIENT_CERT",
        "GST_TLS_CLIENT_KEY"
    );
    let server_cert = Path::new(&ca).with_file_name("server.crt");
    let server_key = Path::new(&ca).with_file_name("server.key");
    let etcd = PrivateEtcd::start_tls(&etcdctl, &ca, &server_cert, &server_key).await;
    let ep = etcd.endpoint.clone();
    let tls = [
        format!("--endpoints=https://{ep}"),
        format!("--cacert={ca}"),
        format!("--cert={cert}"),
        format!("--key={key}"),
    ];
    let admin = |words: &[&str]| {
        let mut args = tls.to_vec();
        args.extend(words.iter().map(|w| w.to_string()));
        etcd.etcdctl(&args)
    };
    admin(&["user", "add", "root", "--new-user-password", ROOT_PASSWORD]);
    // The client certificate's CN (`gt_client`) is the etcd user, without any role.
    admin(&["user", "add", "gt_client", "--no-password"]);
    admin(&["auth", "enable"]);

    let params = json!({
        "endpoints": [format!("https://{ep}")],
        "tls": {"mode": "require", "ca_cert_path": ca, "cert_path": cert, "key_path": key},
        "key_prefix": "meta/",
        "max_txn_ops": 4,
        "value_size": 0,
    });
    let err = run("etcd.probe", params.clone()).await.expect_err("denied");
    assert_eq!(err.kind, ErrorKind::Rejected, "{err:?}");
    let hint = err.hint.clone().expect("hint");
    assert!(!hint.contains(ROOT_PASSWORD), "{hint}");
    assert!(
        hint.contains("readwrite 'meta/' --prefix"),
        "the real prefix: {hint}"
    );
    assert!(
        hint.contains(&format!("--endpoints=https://{ep}")),
        "{hint}"
    );
    // Fill the placeholders as the operator would.
    let filled = hint
        .replace(&format!("'<role of user <CN of {cert}>>'"), "gt_meta")
        .replace(&format!("'<CN of {cert}>'"), "gt_client");
    let lines = commands(&filled);
    assert_eq!(lines.len(), 3, "{filled}");
    for mut line in lines {
        assert!(line.contains(&"--user".to_string()), "{line:?}");
        line.push(format!("--password={ROOT_PASSWORD}"));
        etcd.etcdctl(&line);
    }
    run("etcd.probe", params)
        .await
        .expect("probe after the grant");
}

impl PrivateEtcd {
    /// Starts etcd serving TLS with client certificate auth.
    async fn start_tls(etcdctl: &str, ca: &str, cert: &Path, key: &Path) -> Self {
        let extra = [
            format!("--cert-file={}", cert.display()),
            format!("--key-file={}", key.display()),
            format!("--trusted-ca-file={ca}"),
            "--client-cert-auth".to_string(),
        ];
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        Self::start_with(etcdctl, &extra, "https").await
    }
}
