//! The published JSON Schemas (`schemas/*.schema.json`) read by an independent validator, as an
//! editor's YAML language server reads them: python-jsonschema (draft 2020-12, the draft
//! schemars writes) through `tests/support/validate_schema.py`, in the venv that
//! `scripts/prereqs.sh --test` makes. Every playbook and inventory the tool accepts validates;
//! each mistake a schema can see is rejected at its place, and the ones only the tool can see
//! (template references, durations, ids) are listed as such; real JSON reports of passing,
//! failing and cluster runs validate against the report schema.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use greptime_self_test::inventory;
use greptime_self_test::playbook::{self, template::sole_expression};
use serde_json::{json, Value};

use crate::common::{self, path};

/// The venv `scripts/prereqs.sh --test` makes (jsonschema 4.26.0 and PyYAML 6.0.3).
const VENV_PYTHON: &str = "/var/cache/greptime-self-test/venv-jsonschema-4.26.0/bin/python";

/// A Python that imports jsonschema and yaml: the venv, else `python3`. Neither: the test is
/// skipped with a note, or fails under CI=true.
fn validator_python() -> Option<&'static str> {
    for python in [VENV_PYTHON, "python3"] {
        let imports = Command::new(python)
            .args(["-c", "import jsonschema, yaml"])
            .output()
            .is_ok_and(|out| out.status.success());
        if imports {
            return Some(python);
        }
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but no Python with jsonschema and PyYAML ({VENV_PYTHON}): run \
         scripts/prereqs.sh --test"
    );
    eprintln!("note: jsonschema and PyYAML are missing (scripts/prereqs.sh --test); test skipped");
    None
}

/// What the validator says about one file.
#[derive(Debug, PartialEq)]
enum Verdict {
    Valid,
    /// (instance path such as `checks/0/step/with`, message)
    Invalid(Vec<(String, String)>),
    NotYaml,
}

/// Validates `files` against `schemas/<schema>.schema.json`; the script first checks the schema
/// against the 2020-12 meta-schema.
fn validate(python: &str, schema: &str, files: &[PathBuf]) -> Vec<(PathBuf, Verdict)> {
    let out = Command::new(python)
        .arg(path("tests/support/validate_schema.py"))
        .arg(path(&format!("schemas/{schema}.schema.json")))
        .args(files)
        .output()
        .expect("the validator runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "validate_schema.py failed on the {schema} schema:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdicts: Vec<(PathBuf, Verdict)> = stdout
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).expect("one JSON object per line");
            let file = PathBuf::from(v["file"].as_str().expect("file"));
            let verdict = match v["errors"].as_array() {
                None => Verdict::NotYaml,
                Some(errors) if errors.is_empty() => Verdict::Valid,
                Some(errors) => Verdict::Invalid(
                    errors
                        .iter()
                        .map(|e| {
                            let text = |key: &str| e[key].as_str().expect(key).to_string();
                            (text("path"), text("message"))
                        })
                        .collect(),
                ),
            };
            (file, verdict)
        })
        .collect();
    assert_eq!(verdicts.len(), files.len(), "{stdout}");
    verdicts
}

/// The `.yaml` files directly in `dir`, sorted.
fn yaml_in(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(path(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn name(file: &Path) -> &str {
    file.file_name()
        .and_then(|n| n.to_str())
        .expect("a file name")
}

/// The tool's own verdict on a playbook: load (YAML, fields, includes) and `validate`.
fn tool_check_playbook(file: &Path) -> Result<(), String> {
    let loaded = playbook::load_file(file).map_err(|d| d.to_string())?;
    let problems = playbook::validate(&loaded);
    match problems.is_empty() {
        true => Ok(()),
        false => Err(problems.iter().map(ToString::to_string).collect()),
    }
}

/// Asserts the validator rejects `verdict` with an error at `at` whose message holds `text`.
fn assert_rejected_at(file: &str, verdict: &Verdict, at: &str, text: &str) {
    let Verdict::Invalid(errors) = verdict else {
        panic!("{file}: the schema accepts it ({verdict:?}), expected an error at {at}");
    };
    assert!(
        errors.iter().any(|(p, m)| p == at && m.contains(text)),
        "{file}: expected an error at `{at}` containing {text:?}, got {errors:#?}"
    );
}

#[test]
fn every_playbook_the_tool_accepts_validates() {
    let Some(python) = validator_python() else {
        return;
    };
    let mut files = yaml_in("checks");
    files.extend(yaml_in("checks/fragments"));
    files.extend(yaml_in("examples"));
    files.extend(yaml_in("tests/fixtures/playbooks"));
    for expected in [
        "checks/metasrv.yaml",
        "checks/cluster.yaml",
        "checks/fragments/kafka_brokers.yaml",
        "examples/site-datanode.yaml",
    ] {
        assert!(files.contains(&path(expected)), "{expected} not found");
    }
    for file in &files {
        if let Err(problems) = tool_check_playbook(file) {
            panic!("{}: the tool rejects it:\n{problems}", file.display());
        }
    }
    let rejected: Vec<_> = validate(python, "playbook", &files)
        .into_iter()
        .filter(|(_, verdict)| *verdict != Verdict::Valid)
        .collect();
    assert!(
        rejected.is_empty(),
        "the playbook schema rejects playbooks the tool runs:\n{rejected:#?}"
    );
}

/// Every fixture in `tests/fixtures/bad/` is rejected by the tool; the schema rejects those
/// whose mistake it can see, at the place of the mistake, and accepts the others.
#[test]
fn playbook_mistakes_the_schema_can_see_are_rejected_where_they_are() {
    let Some(python) = validator_python() else {
        return;
    };
    // (fixture, instance path of the error, part of its message)
    let schema_sees = [
        ("unknown_field.yaml", "checks/0", "'retries' was unexpected"),
        (
            "unknown_param.yaml",
            "checks/0/step/with",
            "'adress' was unexpected",
        ),
        (
            "unknown_nested_param.yaml",
            "checks/0/step/with/tls",
            "'ca_cert' was unexpected",
        ),
        (
            "wrong_enum.yaml",
            "checks/0/step/with/tls/mode",
            "'sometimes'",
        ),
        (
            "wrong_type.yaml",
            "checks/0/step/with/max_txn_ops",
            "'many'",
        ),
        (
            "missing_param.yaml",
            "checks/0/step/with",
            "'address' is a required property",
        ),
    ];
    // Mistakes in what strings say (template and JSONPath syntax, durations, step type names,
    // check ids and their graph): a JSON Schema sees only strings.
    let only_the_tool_sees = [
        "bad_jsonpath.yaml",
        "bad_retry_delay.yaml",
        "bad_template.yaml",
        "bad_timeout.yaml",
        "cycle.yaml",
        "duplicate_id.yaml",
        "unknown_step.yaml",
    ];
    let not_yaml = ["malformed.yaml"];

    let files = yaml_in("tests/fixtures/bad");
    let listed: BTreeSet<&str> = schema_sees
        .iter()
        .map(|(f, _, _)| *f)
        .chain(only_the_tool_sees)
        .chain(not_yaml)
        .collect();
    let present: BTreeSet<&str> = files.iter().map(|f| name(f)).collect();
    assert_eq!(
        listed, present,
        "list each fixture of tests/fixtures/bad/ as one the schema rejects or one only the tool does"
    );
    for file in &files {
        assert!(
            tool_check_playbook(file).is_err(),
            "{}: the tool accepts it",
            file.display()
        );
    }
    for (file, verdict) in validate(python, "playbook", &files) {
        let file = name(&file);
        if let Some((_, at, text)) = schema_sees.iter().find(|(f, _, _)| *f == file) {
            assert_rejected_at(file, &verdict, at, text);
        } else if not_yaml.contains(&file) {
            assert_eq!(verdict, Verdict::NotYaml, "{file}");
        } else {
            assert_eq!(
                verdict,
                Verdict::Valid,
                "{file}: the schema now sees this mistake; move it to the first list"
            );
        }
    }
}

/// A template string takes any type exactly when the loader keeps the type of its value: when
/// it is one `{{ expression }}` ([`sole_expression`]). Checked in Python's regex dialect at an
/// integer parameter, and at an enum one, where any template may render to a valid value.
#[test]
fn template_strings_are_accepted_where_the_loader_renders_them() {
    let Some(python) = validator_python() else {
        return;
    };
    let candidates = [
        "{{ config.max_txn_ops }}",
        "  {{ vars.n | default(128) }}\n",
        "{{ a\n  | int }}",
        "{{ {'a': 1}}}",
        "{{{ a }}}",
        "{{% a %}}",
        "{{ a }}}",
        "{{}}",
        "{{ a }} {{ b }}",
        "{{ a }}0",
        "x{{ a }}",
        "{{ '}}' }}",
        "{{ a }",
        "{ { a } }",
        "{% if a %}1{% endif %}",
        "{{ a }}{% if b %}{% endif %}",
        "128",
        "many",
    ];
    let mut checks: Vec<Value> = candidates
        .iter()
        .enumerate()
        .map(|(i, text)| {
            json!({"id": format!("c{i}"), "title": "t", "step": {"type": "etcd.probe",
                   "with": {"endpoints": ["h:1"], "max_txn_ops": text}}})
        })
        .collect();
    let modes = [
        "{{ m }}",
        "verify_{{ how }}",
        "{% if a %}require{% endif %}",
        "sometimes",
    ];
    for (i, mode) in modes.iter().enumerate() {
        checks.push(
            json!({"id": format!("m{i}"), "title": "t", "step": {"type": "etcd.probe",
                           "with": {"endpoints": ["h:1"], "tls": {"mode": mode}}}}),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("templates.json");
    let playbook = json!({"version": 1, "name": "t", "checks": checks});
    std::fs::write(&file, playbook.to_string()).unwrap();

    let [(_, verdict)] = &validate(python, "playbook", &[file])[..] else {
        panic!("one verdict")
    };
    let Verdict::Invalid(errors) = verdict else {
        panic!("`many` and `sometimes` must be rejected: {verdict:?}")
    };
    let rejected: BTreeSet<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
    // at the integer: only one expression (`"128"` is a string); at the enum: any template
    let mut expected: BTreeSet<String> = candidates
        .iter()
        .enumerate()
        .filter(|(_, text)| sole_expression(text).is_none())
        .map(|(i, _)| format!("checks/{i}/step/with/max_txn_ops"))
        .collect();
    expected.insert(format!(
        "checks/{}/step/with/tls/mode",
        candidates.len() + modes.len() - 1
    ));
    assert_eq!(
        rejected,
        expected.iter().map(String::as_str).collect::<BTreeSet<_>>(),
        "{errors:#?}"
    );
}

#[test]
fn inventories_validate_and_their_mistakes_are_rejected() {
    let Some(python) = validator_python() else {
        return;
    };
    let rejected = [
        (
            "unknown_node_field.yaml",
            "nodes/0",
            "'confg' was unexpected",
        ),
        ("wrong_component.yaml", "nodes/0/component", "'datnode'"),
        (
            "missing_name.yaml",
            "nodes/0",
            "'name' is a required property",
        ),
    ];
    let mut files = vec![path("examples/cluster/cluster.yaml")];
    files.extend(yaml_in("tests/fixtures/inventory"));
    for (file, verdict) in validate(python, "inventory", &files) {
        let tool = inventory::load(&file).map(drop).map_err(|d| d.to_string());
        match rejected.iter().find(|(f, _, _)| *f == name(&file)) {
            Some((f, at, text)) => {
                assert!(tool.is_err(), "{f}: the tool accepts it");
                assert_rejected_at(f, &verdict, at, text);
            }
            None => {
                assert!(tool.is_ok(), "{}: {tool:?}", file.display());
                assert_eq!(verdict, Verdict::Valid, "{}", file.display());
            }
        }
    }
}

/// JSON reports of real runs: a passing standalone run, a datanode whose metasrv is down, and
/// two cluster runs (an array of reports); and a report with an unknown status is rejected.
#[test]
fn json_reports_of_real_runs_validate() {
    let Some(python) = validator_python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let runs: [(&str, Vec<String>, i32, &str); 4] = [
        (
            "standalone.json",
            vec!["standalone".into(), "-c".into(), example("standalone.toml")],
            0,
            "PASS",
        ),
        (
            "datanode.json",
            vec![
                "datanode".into(),
                "-c".into(),
                common::dead_metasrv_config("datanode")
                    .display()
                    .to_string(),
            ],
            3,
            "FAIL",
        ),
        (
            "cluster.json",
            vec![
                "cluster".into(),
                "-f".into(),
                example("cluster/cluster.yaml"),
            ],
            3,
            "FAIL",
        ),
        (
            "every_field.json",
            vec![
                "cluster".into(),
                "-f".into(),
                path("tests/fixtures/inventory/every_field.yaml")
                    .display()
                    .to_string(),
            ],
            3,
            "FAIL",
        ),
    ];
    let mut files = Vec::new();
    for (file, mut args, code, overall) in runs {
        args.extend(["--output".into(), "json".into()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = common::run_in(dir.path(), &args, &[]);
        assert_eq!(run.code, code, "{args:?}:\n{}", run.all());
        let report: Value = serde_json::from_str(&run.stdout).expect("JSON on stdout");
        let reports = report
            .as_array()
            .cloned()
            .unwrap_or_else(|| vec![report.clone()]);
        assert_eq!(reports.len() > 1, args[0] == "cluster", "{args:?}");
        assert!(
            reports.iter().any(|r| r["overall"] == overall),
            "{args:?}: no {overall} report"
        );
        let at = dir.path().join(file);
        std::fs::write(&at, &run.stdout).unwrap();
        files.push(at);
    }
    let mut broken: Value =
        serde_json::from_str(&std::fs::read_to_string(&files[1]).unwrap()).unwrap();
    broken["checks"][0]["status"] = json!("maybe");
    let broken_file = dir.path().join("broken.json");
    std::fs::write(&broken_file, broken.to_string()).unwrap();
    files.push(broken_file);

    let verdicts = validate(python, "report", &files);
    for (file, verdict) in &verdicts[..4] {
        assert_eq!(*verdict, Verdict::Valid, "{}", file.display());
    }
    assert_rejected_at("broken.json", &verdicts[4].1, "checks/0/status", "'maybe'");
}

fn example(file: &str) -> String {
    path(&format!("examples/{file}")).display().to_string()
}
