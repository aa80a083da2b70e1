//! Every registered step type, checked in one place over the registry
//! (`plugins::registry::all`), so a new step is covered the day it is registered:
//!
//! - its `EXAMPLE` is YAML that parses into its `Params`, and its summary is not empty;
//! - its `Params` refuse a field they do not know (the example plus one bogus key), naming it;
//! - its output is valid against its declared output schema, at least once: steps that need no
//!   server run here; the others are named, per step, with the tests that run them successfully
//!   through `common::steps::run_step`, which validates every successful output. [`VALIDATION`]
//!   must list exactly the registered steps, and every test it names must exist, be a test,
//!   name the step, and sit in a module that runs steps only through `run_step`;
//! - the step tables of `docs/playbooks.md` list exactly the registered steps.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::common;

use common::steps::{assert_example_parses, run_cleanup, run_step, TestCx};
use greptime_self_test::config::{Component, LintFinding, Severity};
use greptime_self_test::plugins::{registry, CleanupRegistry};
use serde_json::{json, Value};

/// Where the output of each step type is validated against its output schema.
enum Validated {
    /// Here, by [`outputs_of_steps_without_a_server_match_their_schema`] (see [`run_here`]).
    Here,
    /// By these tests (`module::function` in `tests/<module>.rs`), each running the step
    /// successfully through `common::steps::run_step` against a server (or a stand-in).
    By(&'static [&'static str]),
}

use Validated::{By, Here};

/// One row per registered step type; [`every_step_output_is_validated_somewhere`] keeps it
/// equal to the registry.
const VALIDATION: &[(&str, Validated)] = &[
    ("config.lint", Here),
    ("config.inspect", Here),
    ("net.tcp_connect", Here),
    ("net.bind_available", Here),
    ("fs.writable", Here),
    (
        "http.request",
        By(&[
            "plugins_http::ok_with_json_body",
            "plugins_http::non_2xx_is_an_output_not_an_error",
        ]),
    ),
    (
        "etcd.endpoint",
        By(&["plugins_etcd::healthy_endpoint_reports_its_status"]),
    ),
    ("etcd.cluster", By(&["plugins_etcd::cluster_endpoints_agree"])),
    (
        "etcd.probe",
        By(&["plugins_etcd::probe_passes_and_leaves_nothing"]),
    ),
    (
        "etcd.metadata",
        By(&["plugins_etcd::metadata_reports_keys_and_the_election_leader"]),
    ),
    (
        "etcd.latency",
        By(&["plugins_etcd::latency_figures_are_ordered_and_nothing_is_left"]),
    ),
    (
        "sql.connect",
        By(&[
            "plugins_sql::pg_healthy_store_passes_and_leaves_nothing",
            "plugins_sql::mysql_healthy_store_passes_and_leaves_nothing",
        ]),
    ),
    (
        "sql.metadata_table",
        By(&[
            "plugins_sql::pg_healthy_store_passes_and_leaves_nothing",
            "plugins_sql::mysql_healthy_store_passes_and_leaves_nothing",
        ]),
    ),
    (
        "sql.privileges",
        By(&[
            "plugins_sql::pg_healthy_store_passes_and_leaves_nothing",
            "plugins_sql::mysql_healthy_store_passes_and_leaves_nothing",
        ]),
    ),
    (
        "sql.election",
        By(&[
            "plugins_sql::pg_healthy_store_passes_and_leaves_nothing",
            "plugins_sql::mysql_healthy_store_passes_and_leaves_nothing",
        ]),
    ),
    (
        "sql.latency",
        By(&[
            "plugins_sql::pg_healthy_store_passes_and_leaves_nothing",
            "plugins_sql::mysql_healthy_store_passes_and_leaves_nothing",
        ]),
    ),
    (
        "kafka.brokers",
        By(&["plugins_kafka::healthy_broker_answers_brokers"]),
    ),
    (
        "kafka.topics",
        By(&["plugins_kafka::present_wal_topics_are_found"]),
    ),
    (
        "kafka.api_versions",
        By(&["plugins_kafka::healthy_broker_offers_greptimedbs_apis"]),
    ),
    (
        "kafka.write_probe",
        By(&["plugins_kafka::write_probe_creates_produces_fetches_and_deletes"]),
    ),
    (
        "metasrv.ask_leader",
        By(&["plugins_metasrv::ask_leader_on_leader_and_follower"]),
    ),
    (
        "metasrv.leader",
        By(&["plugins_metasrv::all_healthy_agree_and_the_leader_confirms"]),
    ),
    (
        "metasrv.peers",
        By(&["plugins_metasrv::peers_lists_leader_and_followers"]),
    ),
    (
        "metasrv.store_range",
        By(&["plugins_metasrv::store_range_reads_one_key_without_its_value"]),
    ),
    ("object_store.config", Here),
    ("object_store.probe", Here),
    (
        "object_store.bench",
        By(&[
            "bench_object_store::file_run_stops_at_max_bytes_keeps_other_runs_objects_and_leaves_nothing",
            "bench_object_store::file_read_only_run_reads_existing_objects_and_writes_nothing",
        ]),
    ),
    ("cluster.node_ids", Here),
    ("cluster.metasrv_addrs", Here),
    ("cluster.wal", Here),
    ("cluster.failover", Here),
    ("cluster.server_addrs", Here),
    ("cluster.ports", Here),
    ("cluster.shared_storage", Here),
];

fn registered() -> Vec<&'static str> {
    registry::all().map(|s| s.name()).collect()
}

/// The EXAMPLE of `name` as a JSON object.
fn example(name: &str) -> serde_json::Map<String, Value> {
    match serde_yaml::from_str::<Value>(common::steps::step(name).example()) {
        Ok(Value::Object(map)) => map,
        other => panic!("{name}: EXAMPLE is not a YAML mapping: {other:?}"),
    }
}

/// The EXAMPLE of `name` with the fields of `overrides` replaced.
fn example_with(name: &str, overrides: Value) -> Value {
    let mut params = example(name);
    params.extend(
        overrides
            .as_object()
            .expect("overrides are an object")
            .clone(),
    );
    Value::Object(params)
}

#[test]
fn examples_parse_into_params() {
    for name in registered() {
        let step = assert_example_parses(name);
        assert!(!step.summary().is_empty(), "{name} has no summary");
        let params: Value = serde_yaml::from_str(step.example()).unwrap();
        let schema = step.params_schema().to_value();
        let errors: Vec<String> = jsonschema::validator_for(&schema)
            .unwrap_or_else(|e| panic!("{name}: the params schema is not a JSON Schema: {e}"))
            .iter_errors(&params)
            .map(|e| e.to_string())
            .collect();
        assert!(
            errors.is_empty(),
            "{name}: EXAMPLE against the params schema: {errors:?}"
        );
        // An output schema that describes something: an object with its properties, so that
        // validating an output against it can fail.
        let output = step.output_schema().to_value();
        assert_eq!(output["type"], "object", "{name}: output schema {output}");
        assert!(
            output["properties"]
                .as_object()
                .is_some_and(|p| !p.is_empty()),
            "{name}: output schema without properties: {output}"
        );
    }
}

#[test]
fn params_refuse_an_unknown_field_naming_it() {
    const BOGUS: &str = "gst_no_such_field";
    for name in registered() {
        let mut params = example(name);
        params.insert(BOGUS.into(), json!(true));
        let err = common::steps::step(name)
            .check_params(&Value::Object(params))
            .expect_err(&format!("{name} accepted `{BOGUS}`"));
        assert!(
            err.contains(&format!("unknown field `{BOGUS}`")),
            "{name}: the error does not name the field: {err}"
        );
    }
}

/// Runs step `name`, which needs no server, to success (`run_step` validates the output against
/// the schema), then its cleanup actions; returns the output.
async fn run_here(name: &str) -> Value {
    let tmp = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let listening = listener.local_addr().unwrap().to_string();
    let mut cx =
        TestCx::new(Component::Datanode, "steps-test-0001").budget(Duration::from_secs(20));
    let params = match name {
        "config.lint" => {
            cx = cx.file("datanode.toml").findings(vec![LintFinding {
                severity: Severity::Warning,
                code: "unknown_key".into(),
                key: "storage.bukcet".into(),
                message: "unknown key".into(),
                hint: Some("did you mean `storage.bucket`?".into()),
                location: Some("datanode.toml:3:1".into()),
            }]);
            example_with(name, json!({}))
        }
        "config.inspect" => example_with(name, json!({"value": {"addrs": ["a:1"], "n": 3}})),
        "net.tcp_connect" => example_with(name, json!({ "address": listening })),
        "net.bind_available" => example_with(name, json!({"address": "127.0.0.1:0"})),
        "fs.writable" => example_with(name, json!({"path": tmp.path().join("data")})),
        "object_store.config" => example_with(name, json!({})),
        "object_store.probe" => json!({"store": {"type": "File"}, "data_home": tmp.path()}),
        cluster if cluster.starts_with("cluster.") => {
            cx = TestCx::new(Component::Cluster, "steps-test-0001");
            example_with(name, json!({}))
        }
        other => panic!("{other} is listed as validated here, but run_here cannot run it"),
    };
    let cleanup = CleanupRegistry::default();
    let out = run_step(name, params.clone(), &cx.cleanup(&cleanup).build())
        .await
        .unwrap_or_else(|e| panic!("{name} with {params} failed: {e} ({:?})", e.hint));
    run_cleanup(&cleanup).await;
    drop(listener);
    out.value
}

#[tokio::test]
async fn outputs_of_steps_without_a_server_match_their_schema() {
    for (name, validated) in VALIDATION {
        if matches!(validated, Here) {
            let out = run_here(name).await;
            assert!(out.is_object(), "{name}: {out}");
        }
    }
}

/// The body of `fn function` in `source`, after checking that it is a test.
fn test_body<'a>(source: &'a str, module: &str, function: &str) -> &'a str {
    let start = source
        .find(&format!("fn {function}("))
        .unwrap_or_else(|| panic!("tests/{module}.rs has no `fn {function}(`"));
    let before = source[..start]
        .trim_end()
        .trim_end_matches("async")
        .trim_end();
    let attribute = before.lines().last().unwrap_or("");
    assert!(
        attribute.starts_with("#[tokio::test") || attribute.starts_with("#[test"),
        "{module}::{function} is not a test (`{attribute}`)"
    );
    let body = &source[start..];
    &body[..body.find("\n}\n").unwrap_or(body.len())]
}

#[test]
fn every_step_output_is_validated_somewhere() {
    let listed: Vec<&str> = VALIDATION.iter().map(|(name, _)| *name).collect();
    let unique: BTreeSet<&str> = listed.iter().copied().collect();
    assert_eq!(unique.len(), listed.len(), "a step is listed twice");
    let registered: BTreeSet<&str> = registered().into_iter().collect();
    let missing: Vec<_> = registered.difference(&unique).collect();
    let unknown: Vec<_> = unique.difference(&registered).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "VALIDATION must list exactly the registered steps: say where the output of {missing:?} \
         is validated; {unknown:?} are not registered"
    );

    // Every test named runs the step through `run_step` (which validates the output): it
    // exists, is a test, names the step, and its module never runs a step around `run_step`.
    for (name, validated) in VALIDATION {
        let By(tests) = validated else { continue };
        assert!(!tests.is_empty(), "{name}: no test named");
        for test in *tests {
            let (module, function) = test.split_once("::").expect("module::function");
            let file = common::path(&format!("tests/{module}.rs"));
            let source = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            assert!(
                source.contains("run_step") && !source.contains(".run_dyn("),
                "tests/{module}.rs must run steps through common::steps::run_step"
            );
            // The test names the step, or its module runs no other step (its helper names it).
            let body = test_body(&source, module, function);
            let quoted = |step: &str| format!("\"{step}\"");
            let only_step = registered
                .iter()
                .all(|other| other == name || !source.contains(&quoted(other)));
            assert!(
                body.contains(&quoted(name)) || (only_step && source.contains(&quoted(name))),
                "{test} does not name `{name}`"
            );
        }
    }
}

/// The first-column names (backquoted) of the markdown table whose header line is `header`.
fn table_names(markdown: &str, header: &str) -> Vec<String> {
    let mut lines = markdown.lines().skip_while(|l| l.trim() != header);
    assert!(lines.next().is_some(), "no table `{header}`");
    lines
        .skip(1) // |---|---|
        .take_while(|l| l.starts_with('|'))
        .map(|row| {
            let cell = row.split('|').nth(1).unwrap().trim();
            cell.strip_prefix('`')
                .and_then(|c| c.strip_suffix('`'))
                .unwrap_or_else(|| panic!("not a `step` cell: {row}"))
                .to_string()
        })
        .collect()
}

#[test]
fn the_docs_step_tables_list_exactly_the_registered_steps() {
    let docs = std::fs::read_to_string(common::path("docs/playbooks.md")).unwrap();
    let node = table_names(&docs, "| step | what it proves |");
    let cross = table_names(&docs, "| step | rule |");
    let (cluster, other): (Vec<&str>, Vec<&str>) = registered()
        .into_iter()
        .partition(|name| name.starts_with("cluster."));
    for (table, documented, registered) in [
        ("Step types", node, other),
        ("Cross-node checks", cross, cluster),
    ] {
        let rows = documented.len();
        let documented: BTreeSet<String> = documented.into_iter().collect();
        assert_eq!(documented.len(), rows, "{table}: a step is listed twice");
        let registered: BTreeSet<String> = registered.into_iter().map(String::from).collect();
        let undocumented: Vec<_> = registered.difference(&documented).collect();
        let unregistered: Vec<_> = documented.difference(&registered).collect();
        assert!(
            undocumented.is_empty() && unregistered.is_empty(),
            "docs/playbooks.md `{table}`: add {undocumented:?}; {unregistered:?} are not registered"
        );
    }
}
