//! `greptime-self-test kubernetes`: the engine's in-cluster verdict and `--resolve` redirects
//! (through the library, with a real listener), and the command end to end against the test
//! services (etcd, PostgreSQL, SeaweedFS S3, tansu Kafka) and the metasrv stand-in, with the
//! resource written at test time from their `GST_*` endpoints.

use std::sync::Arc;
use std::time::Duration;

use greptime_self_test::config::{Component, EffectiveConfig};
use greptime_self_test::engine::mask::Masker;
use greptime_self_test::engine::options::RunOptions;
use greptime_self_test::engine::reach::{Reach, Redirect};
use greptime_self_test::engine::result::{RunReport, Skip, Status};
use greptime_self_test::engine::run::Engine;
use greptime_self_test::playbook;
use greptime_self_test::report::{Reporter, TextReporter};
use serde_json::{json, Map};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// A playbook whose checks dial an in-cluster name, depend on it, dial a redirected name, and
/// only read a value naming the in-cluster host.
const PLAYBOOK: &str = r#"
version: 1
name: reach
component: datanode
checks:
  - id: meta
    title: "metasrv {{ config.meta }} accepts TCP"
    key: meta_client.metasrv_addrs
    step:
      type: net.tcp_connect
      with:
        address: "{{ config.meta }}"
        timeout: 1s
  - id: after_meta
    title: "something that needs metasrv"
    depends_on: [meta]
    step:
      type: config.inspect
      with:
        value: 1
  - id: store
    title: "store {{ config.store }} accepts TCP"
    step:
      type: net.tcp_connect
      with:
        address: "{{ config.store }}"
        timeout: 2s
  - id: lint_like
    title: "a config-only check naming the in-cluster host"
    step:
      type: config.inspect
      with:
        value: "{{ config.meta }}"
"#;

async fn run_reach_playbook(reach: Reach, store: &str) -> RunReport {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("reach.yaml");
    std::fs::write(&file, PLAYBOOK).unwrap();
    let playbook = playbook::load_file(&file).unwrap();
    let config = EffectiveConfig {
        component: Component::Datanode,
        file: None,
        value: json!({"meta": "mycluster-meta.default:3002", "store": store}),
        findings: Vec::new(),
        secrets: Vec::new(),
    };
    let opts = RunOptions {
        jobs: Arc::new(Semaphore::new(4)),
        progress: None,
        node: Some("mycluster-datanode-0".into()),
        overall_timeout: Duration::from_secs(30),
        answer_timeout: None,
        read_only: true,
        options: Map::new(),
        var_overrides: Map::new(),
        run_id: "reach".into(),
        shared: None,
        observer: None,
    };
    let mut engine = Engine::new(Arc::new(Masker::default()));
    engine.set_reach(reach);
    engine
        .run(&playbook, Arc::new(config), &opts, CancellationToken::new())
        .await
        .unwrap()
}

fn check<'a>(
    report: &'a RunReport,
    id: &str,
) -> &'a greptime_self_test::engine::result::CheckResult {
    report.checks.iter().find(|c| c.id == id).unwrap()
}

#[tokio::test]
async fn in_cluster_names_get_their_own_verdict_and_redirects_reach_a_real_listener() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let reach = Reach::new(
        vec![Redirect::parse(&format!("pg.db.svc:5432:127.0.0.1:{port}")).unwrap()],
        [
            "mycluster-meta.default".to_string(),
            "pg.db.svc".to_string(),
        ],
        Some("default".into()),
    );
    let report = run_reach_playbook(reach, "pg.db.svc:5432").await;

    let meta = check(&report, "meta");
    assert_eq!(meta.status, Status::Skipped);
    assert_eq!(
        meta.skip,
        Some(Skip::InCluster {
            host: "mycluster-meta.default".into(),
            port: Some(3002)
        })
    );
    assert_eq!(meta.attempts, 0, "nothing dialled");
    let hint = meta.hint.as_deref().unwrap();
    assert!(
        hint.contains("$ kubectl -n default port-forward svc/mycluster-meta 13002:3002"),
        "{hint}"
    );
    assert!(hint.contains("--emit-job"), "{hint}");
    let after = check(&report, "after_meta");
    assert_eq!(
        after.skip,
        Some(Skip::Blocked {
            cause: "meta".into()
        })
    );
    assert!(
        after.message.contains("not run from this host"),
        "{}",
        after.message
    );

    let store = check(&report, "store");
    assert_eq!(store.status, Status::Pass, "{}", store.message);
    assert!(
        store
            .details
            .iter()
            .any(|d| d.contains(&format!("127.0.0.1:{port} for pg.db.svc:5432"))),
        "the redirect is never silent: {:?}",
        store.details
    );
    // the title keeps the config's name; only the connection goes elsewhere
    assert_eq!(store.title, "store pg.db.svc:5432 accepts TCP");
    assert_eq!(check(&report, "lint_like").status, Status::Pass);

    assert_eq!(report.counts.in_cluster, 2, "{:?}", report.counts);
    assert_eq!(report.counts.blocked, 0);
    assert_eq!(
        greptime_self_test::engine::result::Overall::Pass,
        report.overall,
        "not run from here is no failure"
    );
    let mut text = Vec::new();
    TextReporter {
        verbose: false,
        color: false,
    }
    .write(&report, &mut text)
    .unwrap();
    let text = String::from_utf8(text).unwrap();
    for expected in [
        "↳ skipped: something that needs metasrv",
        "- mycluster-meta.default:3002: 1 check not run from this host, an in-cluster name (meta)",
        "           kubectl -n default port-forward svc/mycluster-meta 13002:3002",
        "2 skipped: 2 not run from this host (in-cluster names)",
    ] {
        assert!(text.contains(expected), "{expected}\n{text}");
    }
    drop(listener);
}

#[tokio::test]
async fn without_reach_every_name_is_dialled_as_written() {
    let report = run_reach_playbook(Reach::default(), "127.0.0.1:1").await;
    let meta = check(&report, "meta");
    assert_eq!(meta.status, Status::Fail, "{}", meta.message);
    assert_eq!(meta.skip, None);
    assert_eq!(report.counts.in_cluster, 0);
}

// --- the command end to end -------------------------------------------------------------------

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::{self, Run};
use crate::metasrv_standin::{Behaviour, StandIn};
use serde_json::Value;

/// The resource's namespace: `gst-meta.gst-ns` is then an in-cluster name.
const NS: &str = "gst-ns";
/// The resource's name: pods `gst-meta-0`, `gst-frontend-0`, `gst-datanode-0`, `gst-datanode-1`.
const NAME: &str = "gst";
const META_SERVICE: &str = "gst-meta.gst-ns";

/// What the resource points at: the test services, and a root and key prefix of its own.
struct Backends {
    etcd: String,
    s3_endpoint: String,
    s3_bucket: String,
    s3_region: String,
    s3_key: String,
    s3_secret: String,
    kafka: String,
    /// Unique: the S3 root and the etcd key prefix, proven empty after the run.
    root: String,
}

impl Backends {
    fn from_env() -> Option<Self> {
        Some(Self {
            etcd: common::service("GST_ETCD_ENDPOINT")?,
            s3_endpoint: common::service("GST_S3_ENDPOINT")?,
            s3_bucket: common::service("GST_S3_BUCKET")?,
            s3_region: common::service("GST_S3_REGION")?,
            s3_key: common::service("GST_S3_RW_KEY")?,
            s3_secret: common::service("GST_S3_RW_SECRET")?,
            kafka: common::service("GST_KAFKA_BROKER")?,
            root: common::unique("k8s"),
        })
    }

    /// A GreptimeDBCluster on etcd, S3 and Kafka, with `wal` and `meta_backend` replacing the
    /// Kafka WAL and the etcd backend when given, then the S3 Secret (`secret` as its
    /// secret-access-key) and `more` documents.
    fn resource(
        &self,
        secret: &str,
        wal: Option<&str>,
        meta_backend: Option<&str>,
        more: &str,
    ) -> String {
        let wal = wal
            .map(str::to_string)
            .unwrap_or_else(|| format!("kafka: {{brokerEndpoints: [\"{}\"]}}", self.kafka));
        let backend = meta_backend.map(str::to_string).unwrap_or_else(|| {
            format!(
                "etcd: {{endpoints: [\"{}\"], storeKeyPrefix: \"{}\"}}",
                self.etcd, self.root
            )
        });
        format!(
            "apiVersion: greptime.io/v1alpha1\nkind: GreptimeDBCluster\n\
             metadata: {{name: {NAME}, namespace: {NS}}}\n\
             spec:\n  base: {{main: {{image: greptime/greptimedb:v1.3.0}}}}\n\
             \x20 frontend: {{replicas: 1}}\n\
             \x20 meta:\n    replicas: 1\n    backendStorage:\n      {backend}\n\
             \x20 datanode: {{replicas: 2}}\n\
             \x20 objectStorage:\n    s3: {{bucket: {}, region: {}, root: {}, endpoint: \"{}\", secretName: s3-credentials}}\n\
             \x20 wal:\n    {wal}\n\
             ---\napiVersion: v1\nkind: Secret\nmetadata: {{name: s3-credentials, namespace: {NS}}}\n\
             stringData: {{access-key-id: {}, secret-access-key: \"{secret}\"}}\n{more}",
            self.s3_bucket, self.s3_region, self.root, self.s3_endpoint, self.s3_key
        )
    }
}

/// Runs the binary in `dir` with `args`, `stdin` piped in, off the async runtime.
async fn kubernetes(dir: &Path, args: &[&str], stdin: Option<String>) -> Run {
    let dir = dir.to_path_buf();
    let args: Vec<String> = std::iter::once("kubernetes".to_string())
        .chain(args.iter().map(|a| a.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_greptime-self-test"));
        cmd.args(&args)
            .current_dir(&dir)
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, _) in std::env::vars() {
            if k.starts_with("GREPTIMEDB_") || k == "RUST_LOG" {
                cmd.env_remove(k);
            }
        }
        let mut child = cmd.spawn().expect("binary runs");
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(stdin.unwrap_or_default().as_bytes())
            .unwrap();
        drop(pipe);
        let out = child.wait_with_output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    })
    .await
    .unwrap()
}

fn reports(run: &Run) -> Vec<Value> {
    let parsed: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{}", run.all()));
    parsed
        .as_array()
        .unwrap_or_else(|| panic!("{parsed}"))
        .clone()
}

/// Every check of every report, as (node, instance, status, skip kind).
fn all_checks(reports: &[Value]) -> Vec<&Value> {
    reports
        .iter()
        .flat_map(|r| r["checks"].as_array().unwrap())
        .collect()
}

fn node_checks<'a>(reports: &'a [Value], node: &str, id: &str) -> Vec<&'a Value> {
    reports
        .iter()
        .filter(|r| r["node"] == node)
        .flat_map(|r| r["checks"].as_array().unwrap())
        .filter(|c| c["id"] == id)
        .collect()
}

fn resource_report(reports: &[Value]) -> &Value {
    let first = &reports[0];
    assert_eq!(first["component"], "kubernetes", "{first}");
    assert_eq!(first["node"], format!("GreptimeDBCluster/{NAME}"));
    first
}

/// Fails unless nothing of the run is left in the S3 root or under the etcd key prefix.
async fn assert_nothing_left(backends: &Backends) {
    let s3 = common::object_store::S3Server::from_env().unwrap();
    let admin = opendal::Operator::new(s3.admin(&backends.root))
        .unwrap()
        .finish();
    let left = common::object_store::snapshot(&admin).await;
    assert!(left.is_empty(), "objects left in S3: {:?}", left.keys());
    let mut etcd = etcd_client::Client::connect([backends.etcd.as_str()], None)
        .await
        .unwrap();
    let keys = etcd
        .get(
            backends.root.as_str(),
            Some(
                etcd_client::GetOptions::new()
                    .with_prefix()
                    .with_count_only(),
            ),
        )
        .await
        .unwrap();
    assert_eq!(keys.count(), 0, "keys left under {} in etcd", backends.root);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_healthy_resource_passes_from_stdin_with_in_cluster_metasrv_names_skipped() {
    let Some(backends) = Backends::from_env() else {
        return;
    };
    let _etcd = common::PLAIN_ETCD.read().await;
    let dir = tempfile::tempdir().unwrap();
    let resource = backends.resource(&backends.s3_secret, None, None, "");
    let run = kubernetes(
        dir.path(),
        &["-f", "-", "--output", "json", "--junit-file", "report.xml"],
        Some(resource),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(!run.all().contains(&backends.s3_secret), "secret in output");
    let reports = reports(&run);
    let resource = resource_report(&reports);
    assert_eq!(resource["overall"], "PASS", "{resource}");
    let nodes: Vec<&str> = reports.iter().filter_map(|r| r["node"].as_str()).collect();
    assert_eq!(
        nodes,
        [
            "GreptimeDBCluster/gst",
            "gst-meta-0",
            "gst-frontend-0",
            "gst-datanode-0",
            "gst-datanode-1"
        ]
    );
    assert_eq!(reports.last().unwrap()["component"], "cluster");
    // the backends named by the resource were checked for real
    for (node, id) in [
        ("gst-meta-0", "etcd_probe"),
        ("gst-datanode-0", "object_store_probe"),
        ("gst-datanode-1", "object_store_probe"),
    ] {
        let checks = node_checks(&reports, node, id);
        assert!(!checks.is_empty(), "{node} {id}");
        for check in checks {
            assert_eq!(check["status"], "pass", "{check}");
        }
    }
    // the operator's metasrv address resolves only in the cluster: its own verdict
    let ask = node_checks(&reports, "gst-datanode-0", "metasrv_ask_leader");
    assert_eq!(ask[0]["status"], "skipped", "{}", ask[0]);
    assert_eq!(ask[0]["skip"]["kind"], "in_cluster");
    assert_eq!(ask[0]["skip"]["host"], META_SERVICE);
    assert_eq!(ask[0]["skip"]["port"], 3002);
    let in_cluster: u64 = reports
        .iter()
        .map(|r| r["counts"]["in_cluster"].as_u64().unwrap())
        .sum();
    assert!(in_cluster >= 3, "{in_cluster}");
    // configs as written are still judged: no lint check is skipped for an in-cluster name
    for check in all_checks(&reports) {
        if check["skip"]["kind"] == "in_cluster" {
            assert_ne!(check["step"], "config.lint", "{check}");
        }
    }
    let xml = std::fs::read_to_string(dir.path().join("report.xml")).unwrap();
    assert!(
        xml.contains("<testsuite id=\"0\" name=\"GreptimeDBCluster/gst (resource)\""),
        "{xml}"
    );
    if let Some(xsd) = common::junit_validator() {
        common::assert_valid_xml(&dir.path().join("report.xml"), &xsd);
    }
    // --strict: a check not run from here proved nothing
    let strict = kubernetes(
        dir.path(),
        &["-f", "-", "--strict"],
        Some(backends.resource(&backends.s3_secret, None, None, "")),
    )
    .await;
    assert_eq!(strict.code, 4, "{}", strict.all());
    assert!(
        strict.stdout.contains(&format!("- {META_SERVICE}:3002: ")),
        "{}",
        strict.stdout
    );
    assert!(
        strict
            .stdout
            .contains(&format!("--resolve {META_SERVICE}:3002:127.0.0.1:13002")),
        "{}",
        strict.stdout
    );
    assert_nothing_left(&backends).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn resolve_points_the_meta_service_and_the_leader_pod_at_a_port_forward() {
    let Some(backends) = Backends::from_env() else {
        return;
    };
    let _etcd = common::PLAIN_ETCD.read().await;
    // the leader advertises its pod IP, as `--rpc-server-addr $(POD_IP):3002` makes it
    let pod_ip = "10.244.7.9:3002";
    let metasrv = StandIn::start(Behaviour::leader().advertise(pod_ip)).await;
    let local = metasrv.address.clone();
    let local_port = local.rsplit(':').next().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // the resource alone in its file; its Secret given with --secret as a mapping of its keys
    let resource = backends.resource(&backends.s3_secret, None, None, "");
    let (cluster, _) = resource.split_once("\n---\n").unwrap();
    std::fs::write(dir.path().join("cluster.yaml"), cluster).unwrap();
    std::fs::write(
        dir.path().join("s3.yaml"),
        format!(
            "access-key-id: {}\nsecret-access-key: \"{}\"\n",
            backends.s3_key, backends.s3_secret
        ),
    )
    .unwrap();
    let run = kubernetes(
        dir.path(),
        &[
            "-f",
            "cluster.yaml",
            "--secret",
            "s3-credentials=s3.yaml",
            "--resolve",
            &format!("{META_SERVICE}:3002:127.0.0.1:{local_port}"),
            "--resolve",
            &format!("10.244.7.9:3002:127.0.0.1:{local_port}"),
            "--output",
            "json",
        ],
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let reports = reports(&run);
    for id in ["metasrv_ask_leader", "metasrv_leader", "metasrv_peers"] {
        let check = node_checks(&reports, "gst-frontend-0", id)[0];
        assert_eq!(check["status"], "pass", "{check}");
        let details: Vec<&str> = check["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap())
            .collect();
        assert!(
            details
                .iter()
                .any(|d| d.starts_with("--resolve: connected to 127.0.0.1:")),
            "{id}: the redirect is never silent: {details:?}"
        );
    }
    let names = resource_report(&reports)["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "resource_names")
        .unwrap();
    assert!(
        names["message"]
            .as_str()
            .unwrap()
            .contains(&format!("{META_SERVICE}:3002 → 127.0.0.1:{local_port}")),
        "{names}"
    );
    assert!(
        !names["message"]
            .as_str()
            .unwrap()
            .contains("not resolvable here"),
        "the redirected name is not reported as unchecked: {names}"
    );
    assert_eq!(names["status"], "pass", "{names}");
    let in_cluster: u64 = reports
        .iter()
        .map(|r| r["counts"]["in_cluster"].as_u64().unwrap())
        .sum();
    assert_eq!(in_cluster, 0);
    assert!(!metasrv.received().is_empty(), "the stand-in was asked");
}

/// The first check of the resource report whose key is `field`.
fn finding<'a>(reports: &'a [Value], field: &str) -> &'a Value {
    resource_report(reports)["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"].as_str().is_some_and(|k| k.starts_with(field)))
        .unwrap_or_else(|| panic!("no finding on {field}: {}", reports[0]))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_secret_value_fails_the_probe_and_names_the_secret() {
    let Some(backends) = Backends::from_env() else {
        return;
    };
    let _etcd = common::PLAIN_ETCD.read().await;
    let wrong = "gst-wrong-secret-value-5e1d";
    let dir = tempfile::tempdir().unwrap();
    let run = kubernetes(
        dir.path(),
        &["-f", "-", "--output", "json"],
        Some(backends.resource(wrong, None, None, "")),
    )
    .await;
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(!run.all().contains(wrong), "secret in output");
    let reports = reports(&run);
    let probe = node_checks(&reports, "gst-datanode-0", "object_store_probe")[0];
    assert_eq!(probe["status"], "fail", "{probe}");
    let hint = probe["hint"].as_str().unwrap();
    assert!(
        hint.contains("spec.objectStorage.s3 (credentials from Secret `s3-credentials`, keys `access-key-id`, `secret-access-key`)"),
        "{hint}"
    );
    assert_nothing_left(&backends).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_secret_key_is_bad_input_naming_secret_and_key() {
    let Some(backends) = Backends::from_env() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let resource = backends
        .resource("x", None, None, "")
        .replace(", secret-access-key: \"x\"", "");
    assert!(!resource.contains("secret-access-key:"), "{resource}");
    let run = kubernetes(dir.path(), &["-f", "-"], Some(resource)).await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stdout.is_empty(), "nothing ran: {}", run.stdout);
    for name in ["s3-credentials", "secret-access-key"] {
        assert!(run.stderr.contains(name), "{name}: {}", run.stderr);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn kafka_tls_empty_against_a_tls_only_listener_is_a_finding_on_its_field() {
    let Some(backends) = Backends::from_env() else {
        return;
    };
    let Some(tls_broker) = common::service("GST_KAFKA_TLS_BROKER") else {
        return;
    };
    let _etcd = common::PLAIN_ETCD.read().await;
    let dir = tempfile::tempdir().unwrap();
    let wal = format!("kafka: {{brokerEndpoints: [\"{tls_broker}\"], tls: {{}}}}");
    let run = kubernetes(
        dir.path(),
        &["-f", "-", "--output", "json"],
        Some(backends.resource(&backends.s3_secret, Some(&wal), None, "")),
    )
    .await;
    assert_eq!(run.code, 3, "{}", run.all());
    let reports = reports(&run);
    // the resource's own finding: legal, but not what the chart's `tls: {}` promises
    let tls = finding(&reports, "spec.wal.kafka.tls");
    assert_eq!(tls["status"], "warn", "{tls}");
    assert!(
        tls["hint"].as_str().unwrap().contains("serverCaCertPath"),
        "{tls}"
    );
    // and the plaintext connection the operator renders indeed fails against that listener
    let brokers = node_checks(&reports, "gst-datanode-0", "kafka_brokers");
    assert!(brokers.iter().any(|c| c["status"] == "fail"), "{brokers:?}");
    assert_nothing_left(&backends).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_postgres_password_with_an_at_sign_is_a_finding_naming_what_to_change() {
    let Some(backends) = Backends::from_env() else {
        return;
    };
    let Some(pg) = common::service("GST_PG_RW_URL") else {
        return;
    };
    let authority = pg.split('@').nth(1).unwrap().split('/').next().unwrap();
    let (host, port) = authority.split_once(':').unwrap();
    let dir = tempfile::tempdir().unwrap();
    let backend = format!(
        "postgresql: {{host: \"{host}\", port: {port}, database: greptime_meta, table: {}, credentialsSecretName: pg-credentials}}",
        backends.root.replace('-', "_")
    );
    let secret = format!(
        "---\napiVersion: v1\nkind: Secret\nmetadata: {{name: pg-credentials, namespace: {NS}}}\n\
         stringData: {{username: gt_rw, password: \"gst-p@ss-canary\"}}\n"
    );
    let run = kubernetes(
        dir.path(),
        &["-f", "-", "--output", "json"],
        Some(backends.resource(&backends.s3_secret, None, Some(&backend), &secret)),
    )
    .await;
    assert_eq!(run.code, 3, "{}", run.all());
    // neither the password nor a piece of it, as the broken URL cuts it (`ss-canary@host`)
    for piece in ["gst-p@ss-canary", "ss-canary", "gst-p"] {
        assert!(
            !run.all().contains(piece),
            "{piece} in output:\n{}",
            run.all()
        );
    }
    let reports = reports(&run);
    let at_sign = finding(&reports, "spec.meta.backendStorage.postgresql.credentials");
    assert_eq!(at_sign["id"], "credential_not_url_safe", "{at_sign}");
    assert_eq!(at_sign["status"], "fail", "{at_sign}");
    assert_eq!(
        at_sign["key"],
        "spec.meta.backendStorage.postgresql.credentialsSecretName"
    );
    // and metasrv's connection indeed fails, its hint naming where the credentials come from
    let connect = node_checks(&reports, "gst-meta-0", "sql_connect")[0];
    assert_eq!(connect["status"], "fail", "{connect}");
    assert!(
        connect["hint"]
            .as_str()
            .unwrap()
            .contains("Secret `pg-credentials`"),
        "{connect}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn render_shows_every_pod_and_never_a_secret() {
    let Some(backends) = Backends::from_env() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let canary = "gst-render-canary-secret-77aa";
    let run = kubernetes(
        dir.path(),
        &["-f", "-", "--render"],
        Some(backends.resource(canary, None, None, "")),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        !run.all().contains(canary),
        "secret in --render:\n{}",
        run.all()
    );
    for expected in [
        "## pod gst-meta-0 (metasrv)",
        "## pod gst-frontend-0 (frontend)",
        "## pod gst-datanode-1 (datanode)",
        "ConfigMap: gst-datanode",
        "--metasrv-addrs gst-meta.gst-ns:3002",
        "secret_access_key = \"******\"",
        "## resource findings",
    ] {
        assert!(run.stdout.contains(expected), "{expected}\n{}", run.stdout);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn emit_job_prints_valid_manifests_without_secret_values() {
    let example = common::path("examples/kubernetes/greptimedbcluster.yaml");
    let dir = tempfile::tempdir().unwrap();
    let run = kubernetes(
        dir.path(),
        &[
            "-f",
            example.to_str().unwrap(),
            "--emit-job",
            "--timeout",
            "3m",
        ],
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        !run.stdout.contains("replace-me"),
        "a Secret value:\n{}",
        run.stdout
    );
    assert!(run.stdout.contains("kind: Job"), "{}", run.stdout);
    assert!(
        run.stdout.contains("secretName: s3-credentials"),
        "{}",
        run.stdout
    );
    let manifests = dir.path().join("job.yaml");
    std::fs::write(&manifests, &run.stdout).unwrap();
    // the example's Secret validates as well; its GreptimeDBCluster cannot (kubernetes-validate
    // ships no CRD schemas), so it is rendered by the tool instead (render_the_example_…)
    let secret = dir.path().join("secret.yaml");
    let text = std::fs::read_to_string(&example).unwrap();
    let secret_doc = text.split("\n---\n").nth(1).unwrap();
    std::fs::write(&secret, secret_doc).unwrap();
    if let Some(python) = common::kubernetes_validator() {
        for version in ["1.28.0", "1.37.0"] {
            common::assert_valid_kubernetes(python, version, &[&manifests, &secret]);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_example_renders_into_its_pods() {
    let example = common::path("examples/kubernetes/greptimedbcluster.yaml");
    let dir = tempfile::tempdir().unwrap();
    let run = kubernetes(
        dir.path(),
        &["-f", example.to_str().unwrap(), "--render"],
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    for pod in [
        "mycluster-meta-0",
        "mycluster-frontend-0",
        "mycluster-datanode-0",
        "mycluster-datanode-2",
    ] {
        assert!(
            run.stdout.contains(&format!("## pod {pod} ")),
            "{pod}\n{}",
            run.stdout
        );
    }
}
