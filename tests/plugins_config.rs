//! `config.*` steps: `lint` reports the loader's findings (the playbook owns the verdict);
//! `inspect` hands a rendered value to assertions.

use crate::common;

use common::steps::{run_step, step, TestCx};
use greptime_self_test::config::{Component, LintFinding, Severity};
use greptime_self_test::plugins::{ErrorKind, StepCx};
use serde_json::json;

fn finding(
    severity: Severity,
    code: &str,
    key: &str,
    location: Option<&str>,
    hint: Option<&str>,
) -> LintFinding {
    LintFinding {
        severity,
        code: code.into(),
        key: key.into(),
        message: format!("problem with {key}"),
        hint: hint.map(Into::into),
        location: location.map(Into::into),
    }
}

fn cx(findings: Vec<LintFinding>) -> StepCx {
    TestCx::new(Component::Datanode, "lint-test")
        .file("datanode.toml")
        .findings(findings)
        .build()
}

#[tokio::test]
async fn counts_and_details_follow_the_findings() {
    let findings = vec![
        finding(
            Severity::Error,
            "invalid_enum",
            "storage.type",
            Some("datanode.toml:12:8"),
            Some("did you mean `S3`?"),
        ),
        finding(
            Severity::Warning,
            "unknown_key",
            "storage.bukcet",
            Some("datanode.toml:13:1"),
            None,
        ),
        finding(
            Severity::Error,
            "missing_required",
            "node_id",
            None,
            Some("set `node_id`"),
        ),
    ];
    let out = run_step("config.lint", json!({}), &cx(findings))
        .await
        .expect("lint only reports");
    assert_eq!(out.value["errors"], 2);
    assert_eq!(out.value["warnings"], 1);
    assert_eq!(out.value["findings"].as_array().unwrap().len(), 3);
    assert_eq!(out.value["findings"][0]["severity"], "error");
    assert_eq!(out.value["findings"][0]["location"], "datanode.toml:12:8");

    assert_eq!(
        out.details,
        [
            "error invalid_enum storage.type (datanode.toml:12:8): problem with storage.type — hint did you mean `S3`?",
            "warning unknown_key storage.bukcet (datanode.toml:13:1): problem with storage.bukcet",
            "error missing_required node_id: problem with node_id — hint set `node_id`",
        ]
    );
}

#[tokio::test]
async fn a_clean_config_reports_zero() {
    let out = run_step("config.lint", json!({}), &cx(Vec::new()))
        .await
        .unwrap();
    assert_eq!(
        out.value,
        json!({"errors": 0, "warnings": 0, "findings": []})
    );
    assert!(out.details.is_empty());

    let err = run_step("config.lint", json!({"x": 1}), &cx(Vec::new()))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::CouldNotRun);
}

#[tokio::test]
async fn inspect_hands_the_value_through_with_its_type() {
    assert!(
        step("config.inspect").check_params(&json!({})).is_err(),
        "value is required"
    );
    let value = json!({"backend": "memory_store", "addrs": ["a:1", "b:2"], "n": 3});
    let out = run_step("config.inspect", json!({ "value": value }), &cx(Vec::new()))
        .await
        .expect("inspect never fails");
    assert_eq!(out.value, json!({ "value": value }));
}

/// A config GreptimeDB refuses to load (greptimedb.md §10: `[mysql] enable = "true"` →
/// `invalid type: string "true", expected a boolean`) fails the `config_lint` check and the run
/// exits 3, where the same config without it passes (exit 0).
#[test]
fn a_config_greptimedb_refuses_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let example = std::fs::read_to_string(common::path("examples/standalone.toml")).unwrap();
    let refused = dir.path().join("refused.toml");
    std::fs::write(
        &refused,
        example.replace("[mysql]\nenable = true", "[mysql]\nenable = \"true\""),
    )
    .unwrap();
    let args = |file: &std::path::Path| {
        vec![
            "standalone".to_owned(),
            "-c".to_owned(),
            file.to_str().unwrap().to_owned(),
            "--output".to_owned(),
            "json".to_owned(),
        ]
    };
    let run = |file: &std::path::Path| {
        let args = args(file);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        common::run_in(dir.path(), &args, &[])
    };
    let clean = run(&common::path("examples/standalone.toml"));
    assert_eq!(clean.code, 0, "{}", clean.all());
    let r = run(&refused);
    assert_eq!(r.code, 3, "{}", r.all());
    let report: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let lint = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "config_lint")
        .unwrap();
    assert_eq!(lint["status"], "fail", "{lint}");
    let detail = lint["details"][0].as_str().unwrap();
    assert!(
        detail.starts_with("error invalid_type mysql.enable (")
            && detail.contains("refused.toml:")
            && detail.contains("expected a boolean"),
        "{detail}"
    );
}

/// The step counts what the loader found in a real file: an error (a negative usize, §10) and a
/// warning (the singular `store_addr`, which GreptimeDB ignores: src/cmd/src/metasrv.rs).
#[tokio::test]
async fn the_loader_findings_reach_the_step() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("metasrv.toml");
    std::fs::write(&file, "store_addr = \"etcd:2379\"\nmax_txn_ops = -5\n").unwrap();
    let config = greptime_self_test::config::load(&greptime_self_test::config::LoadOptions {
        component: Component::Metasrv,
        file: Some(file.clone()),
        env: Vec::new(),
        env_prefix: None,
        overrides: Vec::new(),
        start_flags: Default::default(),
    })
    .unwrap();
    let cx = TestCx::new(Component::Metasrv, "lint-real")
        .file(&file)
        .findings(config.findings)
        .build();
    let out = run_step("config.lint", json!({}), &cx).await.unwrap();
    assert_eq!(
        (out.value["errors"].clone(), out.value["warnings"].clone()),
        (json!(1), json!(1))
    );
    assert!(
        out.details[0].starts_with("warning ignored_key store_addr ("),
        "{:?}",
        out.details
    );
    assert!(out.details[1].contains("invalid value: integer `-5`, expected usize"));
}
