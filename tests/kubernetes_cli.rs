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
