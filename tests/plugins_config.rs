//! `config.*` steps: `lint` reports the loader's findings (the playbook owns the verdict);
//! `inspect` hands a rendered value to assertions.

use crate::common;

use common::steps::{assert_example_parses, assert_matches_output_schema, step, TestCx};
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

#[test]
fn example_parses_and_unknown_params_are_refused() {
    let step = assert_example_parses("config.lint");
    assert!(step.check_params(&json!({"strict": true})).is_err());
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
    let step = step("config.lint");
    let out = step
        .run_dyn(json!({}), &cx(findings))
        .await
        .expect("lint only reports");
    assert_eq!(out.value["errors"], 2);
    assert_eq!(out.value["warnings"], 1);
    assert_eq!(out.value["findings"].as_array().unwrap().len(), 3);
    assert_eq!(out.value["findings"][0]["severity"], "error");
    assert_eq!(out.value["findings"][0]["location"], "datanode.toml:12:8");
    assert_matches_output_schema("config.lint", &out.value);

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
    let step = step("config.lint");
    let out = step.run_dyn(json!({}), &cx(Vec::new())).await.unwrap();
    assert_eq!(
        out.value,
        json!({"errors": 0, "warnings": 0, "findings": []})
    );
    assert!(out.details.is_empty());

    let err = step
        .run_dyn(json!({"x": 1}), &cx(Vec::new()))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::CouldNotRun);
}

#[tokio::test]
async fn inspect_hands_the_value_through_with_its_type() {
    let step = assert_example_parses("config.inspect");
    assert!(step.check_params(&json!({})).is_err(), "value is required");
    let value = json!({"backend": "memory_store", "addrs": ["a:1", "b:2"], "n": 3});
    let out = common::steps::run_step("config.inspect", json!({ "value": value }), &cx(Vec::new()))
        .await
        .expect("inspect never fails");
    assert_eq!(out.value, json!({ "value": value }));
    assert_matches_output_schema("config.inspect", &out.value);
}
