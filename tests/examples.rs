//! The CI and Kubernetes examples (`examples/ci/`, `examples/kubernetes/`): every YAML file
//! parses, the workflows publish the JUnit report the tool writes, the Kubernetes objects carry
//! the fields the examples promise, every `greptime-self-test` command in them parses with the
//! real command line, and the manifests are valid Kubernetes objects.
//!
//! No `helm` can be installed here (Debian, PyPI and npm ship none), so the chart under
//! `examples/kubernetes/helm-pre-check/` is rendered by [`render_template`]: an explicit
//! substitution of the few template actions the chart uses (`.Values.…`, `.Release.…`,
//! `.Chart.…`, `quote`, `nindent`, one `if … end`), with the fixed release of [`RELEASE`]. Any
//! other action fails the test, so a template cannot silently use what this renderer ignores.
//!
//! The plain manifest and the rendered chart are validated against the Kubernetes JSON schemas
//! (strict: unknown fields are errors) that PyPI's `kubernetes-validate` ships for offline use;
//! `scripts/prereqs.sh` installs it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::error::ErrorKind;
use clap::Parser;
use greptime_self_test::cli::{exit, Cli};
use greptime_self_test::config::{self, Component, LoadOptions};
use serde::Deserialize as _;
use serde_yaml::Value;

const TOOL: &str = "greptime-self-test";

/// The release the chart is rendered for: `.Release.<key>`.
const RELEASE: [(&str, &str); 3] = [
    ("Name", "mycluster"),
    ("Namespace", "greptimedb"),
    ("Service", "Helm"),
];

/// The Kubernetes versions the manifests are validated against: an old one still in wide use
/// and the newest `kubernetes-validate` 1.37 knows.
const KUBERNETES_VERSIONS: [&str; 2] = ["1.28.0", "1.37.0"];

/// The secret the Kubernetes examples pass through GreptimeDB's environment overlay.
const SECRET_ENV: &str = "GREPTIMEDB_DATANODE__STORAGE__SECRET_ACCESS_KEY";

fn examples_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

fn chart_dir() -> PathBuf {
    examples_dir("kubernetes").join("helm-pre-check")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `.yml`/`.yaml` file under `dir`, sorted; `skip` directories are not entered.
fn yaml_files(dir: &Path, skip: &[&Path]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if !skip.contains(&path.as_path()) {
                    pending.push(path);
                }
            } else if path
                .extension()
                .is_some_and(|ext| ext == "yml" || ext == "yaml")
            {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The documents of a (multi-document) YAML text; empty documents are dropped.
fn documents(text: &str, origin: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|document| {
            Value::deserialize(document).unwrap_or_else(|e| panic!("{origin}: invalid YAML: {e}"))
        })
        .filter(|document| !document.is_null())
        .collect()
}

/// `value` at a dotted path of mapping keys, e.g. `spec.template.spec` (keys without dots).
pub(crate) fn at<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |node, key| node.get(key))
}

fn str_at<'a>(value: &'a Value, path: &str) -> &'a str {
    at(value, path)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("`{path}` is not a string in {value:?}"))
}

// ---------------------------------------------------------------------------------------------
// command lines

/// A shell word, and whether it contains a `$` expansion this test cannot resolve.
struct Word {
    text: String,
    expands: bool,
}

enum Token {
    Word(Word),
    /// `|`, `||`, `&&`, `;`, `>`, `(`, …: ends a simple command.
    Operator,
}

/// Splits one line of shell into words and operators: quotes, backslash escapes and `#`
/// comments as a POSIX shell reads them; expansions are only noted.
fn shell_tokens(line: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut word: Option<Word> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => tokens.extend(word.take().map(Token::Word)),
            '#' if word.is_none() => break,
            '|' | '&' | ';' | '<' | '>' | '(' | ')' => {
                tokens.extend(word.take().map(Token::Word));
                while chars.peek().is_some_and(|c| "|&;<>".contains(*c)) {
                    chars.next();
                }
                tokens.push(Token::Operator);
            }
            _ => {
                let current = word.get_or_insert_with(|| Word {
                    text: String::new(),
                    expands: false,
                });
                match c {
                    '\'' => current
                        .text
                        .extend(chars.by_ref().take_while(|&c| c != '\'')),
                    '"' => {
                        while let Some(c) = chars.next() {
                            match c {
                                '"' => break,
                                '\\' => current.text.extend(chars.next()),
                                '$' => {
                                    current.expands = true;
                                    current.text.push(c);
                                }
                                _ => current.text.push(c),
                            }
                        }
                    }
                    '\\' => current.text.extend(chars.next()),
                    '$' => {
                        current.expands = true;
                        current.text.push(c);
                    }
                    _ => current.text.push(c),
                }
            }
        }
    }
    tokens.extend(word.map(Token::Word));
    tokens
}

/// The argument vectors of every `greptime-self-test` command in a shell script: the tool's
/// name in command position (first word, or after an operator), up to the next operator.
fn tool_commands(script: &str, origin: &str) -> Vec<Vec<String>> {
    let script = script.replace("\\\n", " ");
    let mut commands = Vec::new();
    for line in script.lines() {
        let mut command_position = true;
        let mut current: Option<Vec<String>> = None;
        for token in shell_tokens(line) {
            match token {
                Token::Operator => {
                    commands.extend(current.take());
                    command_position = true;
                }
                Token::Word(word) => {
                    if let Some(argv) = current.as_mut() {
                        assert!(
                            !word.expands,
                            "{origin}: `{}` in a {TOOL} command is a shell expansion this test \
                             cannot resolve; write the value out:\n{line}",
                            word.text
                        );
                        argv.push(word.text);
                    } else if command_position && word.text == TOOL {
                        current = Some(vec![word.text]);
                    }
                    command_position = false;
                }
            }
        }
        commands.extend(current);
    }
    commands
}

/// Parses `argv` with the tool's own command line; `--version` and `--help` count as parsed.
fn assert_parses(argv: &[String], origin: &str) {
    if let Err(e) = Cli::try_parse_from(argv) {
        assert!(
            matches!(e.kind(), ErrorKind::DisplayVersion | ErrorKind::DisplayHelp),
            "{origin}: `{}` does not parse:\n{}",
            argv.join(" "),
            e.render()
        );
    }
}

/// The value of the first of `flags` in `argv` (`--flag VALUE` or `--flag=VALUE`).
fn flag_value<'a>(argv: &'a [String], flags: &[&str]) -> Option<&'a str> {
    argv.iter().enumerate().find_map(|(i, arg)| {
        flags.iter().find_map(|flag| {
            if arg == flag {
                argv.get(i + 1).map(String::as_str)
            } else {
                arg.strip_prefix(flag)?.strip_prefix('=')
            }
        })
    })
}

// ---------------------------------------------------------------------------------------------
// CI

/// Each GitHub job's name with the tool commands of its `run:` steps.
fn github_jobs(workflow: &Value) -> Vec<(String, &Value, Vec<Vec<String>>)> {
    let jobs = at(workflow, "jobs")
        .and_then(Value::as_mapping)
        .expect("the workflow has `jobs`");
    jobs.iter()
        .map(|(name, job)| {
            let name = name.as_str().expect("job name").to_string();
            let steps = at(job, "steps")
                .and_then(Value::as_sequence)
                .unwrap_or_else(|| panic!("job {name} has `steps`"));
            let commands = steps
                .iter()
                .filter_map(|step| step.get("run").and_then(Value::as_str))
                .flat_map(|script| tool_commands(script, &format!("github job {name}")))
                .collect();
            (name, job, commands)
        })
        .collect()
}

fn github_workflow() -> Value {
    let path = examples_dir("ci").join("github-actions.yml");
    let mut docs = documents(&read(&path), "github-actions.yml");
    assert_eq!(docs.len(), 1, "one workflow per file");
    docs.remove(0)
}

fn gitlab_pipeline() -> Value {
    let path = examples_dir("ci").join("gitlab-ci.yml");
    let mut docs = documents(&read(&path), "gitlab-ci.yml");
    assert_eq!(docs.len(), 1, "one pipeline per file");
    docs.remove(0)
}

/// A GitLab job with its `extends` templates merged in, as GitLab merges them (deeply, the
/// job's own keys winning).
fn gitlab_effective_job(pipeline: &Value, job: &Value) -> Value {
    let mut merged = Value::Mapping(Default::default());
    let templates = match job.get("extends") {
        Some(Value::String(name)) => vec![name.clone()],
        Some(Value::Sequence(names)) => names
            .iter()
            .map(|n| n.as_str().expect("extends names").to_string())
            .collect(),
        _ => Vec::new(),
    };
    for name in templates {
        let template = pipeline
            .get(&name)
            .unwrap_or_else(|| panic!("`extends: {name}` names no job"));
        deep_merge(&mut merged, &gitlab_effective_job(pipeline, template));
    }
    deep_merge(&mut merged, job);
    merged
}

fn deep_merge(base: &mut Value, overlay: &Value) {
    match (base, overlay) {
        (Value::Mapping(base), Value::Mapping(overlay)) => {
            for (key, value) in overlay {
                match base.get_mut(key) {
                    Some(existing) => deep_merge(existing, value),
                    None => {
                        base.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (base, overlay) => *base = overlay.clone(),
    }
}

/// GitLab's visible jobs (not hidden `.templates` or global keywords) with their tool
/// commands, templates merged.
fn gitlab_jobs(pipeline: &Value) -> Vec<(String, Value, Vec<Vec<String>>)> {
    const GLOBAL_KEYWORDS: [&str; 11] = [
        "stages",
        "variables",
        "default",
        "include",
        "workflow",
        "image",
        "services",
        "cache",
        "before_script",
        "after_script",
        "spec",
    ];
    pipeline
        .as_mapping()
        .expect("the pipeline is a mapping")
        .iter()
        .filter_map(|(name, job)| {
            let name = name.as_str()?;
            (!name.starts_with('.') && !GLOBAL_KEYWORDS.contains(&name)).then(|| {
                let job = gitlab_effective_job(pipeline, job);
                let commands = ["before_script", "script"]
                    .iter()
                    .filter_map(|key| job.get(*key).and_then(Value::as_sequence))
                    .flatten()
                    .map(|line| line.as_str().expect("script lines are strings"))
                    .flat_map(|script| tool_commands(script, &format!("gitlab job {name}")))
                    .collect();
                (name.to_string(), job, commands)
            })
        })
        .collect()
}

/// The subcommand of a run (`datanode`, `cluster`, …), when it is one that writes reports.
fn run_subcommand(argv: &[String]) -> Option<&str> {
    let sub = argv.get(1)?.as_str();
    [
        "metasrv",
        "frontend",
        "datanode",
        "flownode",
        "standalone",
        "run",
        "cluster",
    ]
    .contains(&sub)
    .then_some(sub)
}

#[test]
fn github_workflow_runs_the_tool_and_publishes_its_junit_report_always() {
    let workflow = github_workflow();
    assert!(workflow.get("on").is_some(), "the workflow has `on`");
    let mut subcommands = Vec::new();
    for (name, job, commands) in github_jobs(&workflow) {
        assert!(job.get("runs-on").is_some(), "job {name} has `runs-on`");
        let steps = at(job, "steps").and_then(Value::as_sequence).unwrap();
        let runs: Vec<_> = commands
            .iter()
            .filter(|argv| run_subcommand(argv).is_some())
            .collect();
        assert!(!runs.is_empty(), "job {name} runs the tool");
        for argv in runs {
            subcommands.push(argv[1].clone());
            let junit = flag_value(argv, &["--junit-file"])
                .unwrap_or_else(|| panic!("job {name}: `{}` writes JUnit", argv.join(" ")));
            let json = flag_value(argv, &["--json-file"])
                .unwrap_or_else(|| panic!("job {name}: `{}` writes JSON", argv.join(" ")));
            let uses = |prefix: &str| {
                steps.iter().find(|step| {
                    step.get("uses")
                        .and_then(Value::as_str)
                        .is_some_and(|uses| uses.starts_with(prefix))
                })
            };
            let publish = uses("mikepenz/action-junit-report@")
                .unwrap_or_else(|| panic!("job {name} publishes with action-junit-report"));
            assert_eq!(str_at(publish, "if"), "always()", "job {name}: publish");
            assert_eq!(str_at(publish, "with.report_paths"), junit, "job {name}");
            let upload = uses("actions/upload-artifact@")
                .unwrap_or_else(|| panic!("job {name} uploads the reports"));
            assert_eq!(str_at(upload, "if"), "always()", "job {name}: upload");
            let uploaded: Vec<_> = str_at(upload, "with.path").lines().collect();
            assert!(
                uploaded.contains(&junit) && uploaded.contains(&json),
                "job {name} uploads {junit} and {json}: {uploaded:?}"
            );
        }
    }
    subcommands.sort();
    assert_eq!(subcommands, ["cluster", "datanode"]);
}

#[test]
fn gitlab_jobs_hand_their_junit_report_to_gitlab_always() {
    let pipeline = gitlab_pipeline();
    let jobs = gitlab_jobs(&pipeline);
    let mut subcommands = Vec::new();
    for (name, job, commands) in &jobs {
        assert!(job.get("stage").is_some(), "job {name} has a stage");
        for argv in commands
            .iter()
            .filter(|argv| run_subcommand(argv).is_some())
        {
            subcommands.push(argv[1].clone());
            assert!(
                argv.iter().any(|a| a == "--junit-gitlab"),
                "job {name}: the gitlab JUnit shape shows warnings in GitLab"
            );
            let junit = flag_value(argv, &["--junit-file"])
                .unwrap_or_else(|| panic!("job {name}: `{}` writes JUnit", argv.join(" ")));
            assert_eq!(str_at(job, "artifacts.reports.junit"), junit, "job {name}");
            assert_eq!(str_at(job, "artifacts.when"), "always", "job {name}");
        }
        if commands
            .iter()
            .any(|argv| argv.iter().any(|a| a == "--strict"))
        {
            let allowed = at(job, "allow_failure.exit_codes")
                .and_then(Value::as_sequence)
                .unwrap_or_else(|| panic!("job {name}: --strict without allow_failure"));
            assert!(
                allowed
                    .iter()
                    .any(|code| code.as_u64() == Some(u64::from(exit::WARNINGS))),
                "job {name}: exit 4 (warnings with --strict) is allowed to fail"
            );
        }
    }
    subcommands.sort();
    assert_eq!(subcommands, ["cluster", "datanode"]);
}

// ---------------------------------------------------------------------------------------------
// Kubernetes

/// Renders one chart template (see the module comment for what it understands).
fn render_template(template: &str, values: &Value, chart: &Value, origin: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    let mut in_if = false;
    let mut skipping = false;
    while let Some(start) = rest.find("{{") {
        let mut text = &rest[..start];
        let end = rest[start..]
            .find("}}")
            .unwrap_or_else(|| panic!("{origin}: unclosed `{{{{`"))
            + start;
        let mut action = &rest[start + 2..end];
        rest = &rest[end + 2..];
        if let Some(trimmed) = action.strip_prefix('-') {
            text = text.trim_end();
            action = trimmed;
        }
        if let Some(trimmed) = action.strip_suffix('-') {
            rest = rest.trim_start();
            action = trimmed;
        }
        if !skipping {
            out.push_str(text);
        }
        let action = action.trim();
        if let Some(condition) = action.strip_prefix("if ") {
            assert!(!in_if, "{origin}: nested `if` is beyond this renderer");
            in_if = true;
            skipping = !truthy(&lookup(condition.trim(), values, chart, origin));
        } else if action == "end" {
            assert!(in_if, "{origin}: `end` without `if`");
            in_if = false;
            skipping = false;
        } else if !skipping {
            out.push_str(&evaluate(action, values, chart, origin));
        }
    }
    assert!(!in_if, "{origin}: `if` without `end`");
    out.push_str(rest);
    out
}

/// One pipeline: an expression, then `quote` or `nindent N`.
fn evaluate(action: &str, values: &Value, chart: &Value, origin: &str) -> String {
    let mut stages = action.split('|').map(str::trim);
    let expression = stages.next().unwrap_or_default();
    let mut text = scalar(&lookup(expression, values, chart, origin), origin);
    for function in stages {
        let words: Vec<_> = function.split_whitespace().collect();
        text = match words.as_slice() {
            ["quote"] => serde_json::to_string(&text).unwrap(),
            ["nindent", width] => {
                let pad = " ".repeat(width.parse().expect("nindent width"));
                format!("\n{pad}{}", text.replace('\n', &format!("\n{pad}")))
            }
            _ => panic!("{origin}: `{function}` is beyond this renderer"),
        };
    }
    text
}

fn lookup(expression: &str, values: &Value, chart: &Value, origin: &str) -> Value {
    let unknown = format!("{origin}: `{expression}` is beyond this renderer or not set");
    let found = if let Some(path) = expression.strip_prefix(".Values.") {
        at(values, path).cloned()
    } else if let Some(key) = expression.strip_prefix(".Release.") {
        RELEASE
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, value)| Value::String(value.to_string()))
    } else if let Some(key) = expression.strip_prefix(".Chart.") {
        // Chart.yaml's keys are lowerCamelCase: `.Chart.AppVersion` is `appVersion`
        let mut chars = key.chars();
        let field: String = chars
            .next()
            .map(|c| c.to_ascii_lowercase())
            .into_iter()
            .chain(chars)
            .collect();
        chart.get(&field).cloned()
    } else {
        None
    };
    found.unwrap_or_else(|| panic!("{unknown}"))
}

fn scalar(value: &Value, origin: &str) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("{origin}: {other:?} is not a scalar"),
    }
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::Sequence(s) => !s.is_empty(),
        Value::Mapping(m) => !m.is_empty(),
        Value::Tagged(_) => true,
    }
}

/// The chart rendered with its own values.yaml, as `helm template` prints it: every template's
/// output behind a `# Source:` line, joined as one multi-document text.
fn rendered_chart() -> String {
    let dir = chart_dir();
    let chart = documents(&read(&dir.join("Chart.yaml")), "Chart.yaml").remove(0);
    let values = documents(&read(&dir.join("values.yaml")), "values.yaml").remove(0);
    let templates = yaml_files(&dir.join("templates"), &[]);
    assert!(!templates.is_empty(), "the chart has templates");
    templates
        .iter()
        .map(|path| {
            let origin = path.display().to_string();
            let name = path.strip_prefix(&dir).unwrap().display();
            let body = render_template(&read(path), &values, &chart, &origin);
            format!("---\n# Source: {name}\n{}\n", body.trim())
        })
        .collect()
}

/// The objects of the plain manifest and of the rendered chart, each with where it came from.
pub(crate) fn kubernetes_sets() -> Vec<(String, Vec<Value>)> {
    let plain = examples_dir("kubernetes").join("datanode-self-test-job.yaml");
    vec![
        (
            "datanode-self-test-job.yaml".to_string(),
            documents(&read(&plain), "datanode-self-test-job.yaml"),
        ),
        (
            "helm-pre-check (rendered)".to_string(),
            documents(&rendered_chart(), "helm-pre-check (rendered)"),
        ),
    ]
}

pub(crate) fn objects_of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects
        .iter()
        .filter(|o| o.get("kind").and_then(Value::as_str) == Some(kind))
        .collect()
}

/// The command line of a container: `command` then `args`.
fn container_argv(container: &Value) -> Vec<String> {
    ["command", "args"]
        .iter()
        .filter_map(|key| container.get(*key).and_then(Value::as_sequence))
        .flatten()
        .map(|arg| scalar(arg, "container argument"))
        .collect()
}

/// What a locked-down pre-flight Job must say; returns the datanode TOML it mounts and the
/// names of the environment variables it sets.
fn assert_locked_down_job(job: &Value, objects: &[Value], origin: &str) -> (String, Vec<String>) {
    assert_eq!(str_at(job, "apiVersion"), "batch/v1", "{origin}");
    assert_eq!(
        at(job, "spec.backoffLimit").and_then(Value::as_u64),
        Some(0),
        "{origin}: one attempt"
    );
    let deadline = at(job, "spec.activeDeadlineSeconds")
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{origin}: activeDeadlineSeconds"));
    let pod = at(job, "spec.template.spec").expect("pod spec");
    assert_eq!(str_at(pod, "restartPolicy"), "Never", "{origin}");
    assert_eq!(
        at(pod, "securityContext.runAsNonRoot").and_then(Value::as_bool),
        Some(true),
        "{origin}: runs as non-root"
    );
    let volumes = at(pod, "volumes").and_then(Value::as_sequence).unwrap();
    let volume = |name: &str| {
        volumes
            .iter()
            .find(|v| v.get("name").and_then(Value::as_str) == Some(name))
            .unwrap_or_else(|| panic!("{origin}: no volume {name}"))
    };
    let containers = at(pod, "containers").and_then(Value::as_sequence).unwrap();
    let [container] = containers.as_slice() else {
        panic!("{origin}: one container");
    };
    for (key, expected) in [
        ("readOnlyRootFilesystem", true),
        ("allowPrivilegeEscalation", false),
    ] {
        assert_eq!(
            at(container, &format!("securityContext.{key}")).and_then(Value::as_bool),
            Some(expected),
            "{origin}: securityContext.{key}"
        );
    }
    let mounts = at(container, "volumeMounts")
        .and_then(Value::as_sequence)
        .unwrap();
    let mount_at = |path: &str| {
        mounts
            .iter()
            .find(|m| str_at(m, "mountPath") == path)
            .unwrap_or_else(|| panic!("{origin}: nothing mounted at {path}"))
    };
    assert!(
        volume(str_at(mount_at("/tmp"), "name"))
            .get("emptyDir")
            .is_some(),
        "{origin}: /tmp is an emptyDir"
    );

    let argv = container_argv(container);
    assert_eq!(argv.first().map(String::as_str), Some(TOOL), "{origin}");
    assert_parses(&argv, origin);
    let timeout = flag_value(&argv, &["--timeout"]).unwrap_or("5m");
    let timeout = humantime::parse_duration(timeout).expect("--timeout parses");
    assert!(
        deadline > timeout.as_secs(),
        "{origin}: the Job's deadline ({deadline}s) outlasts the tool's --timeout ({timeout:?})"
    );

    // the config: a read-only ConfigMap mount holding the file `-c` names
    let config = Path::new(
        flag_value(&argv, &["-c", "--config"])
            .unwrap_or_else(|| panic!("{origin}: `{}` names a config", argv.join(" "))),
    );
    let mount = mount_at(config.parent().unwrap().to_str().unwrap());
    assert_eq!(
        mount.get("readOnly").and_then(Value::as_bool),
        Some(true),
        "{origin}: the config is mounted read-only"
    );
    let config_map_name = str_at(volume(str_at(mount, "name")), "configMap.name");
    let config_map = objects_of_kind(objects, "ConfigMap")
        .into_iter()
        .find(|c| str_at(c, "metadata.name") == config_map_name)
        .unwrap_or_else(|| panic!("{origin}: no ConfigMap {config_map_name}"));
    let file_name = config.file_name().unwrap().to_str().unwrap();
    let toml = at(config_map, "data")
        .and_then(|data| data.get(file_name))
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{origin}: ConfigMap {config_map_name} has no {file_name}"))
        .to_string();

    let env = at(container, "env").and_then(Value::as_sequence).unwrap();
    let secret = env
        .iter()
        .find(|e| str_at(e, "name") == SECRET_ENV)
        .unwrap_or_else(|| panic!("{origin}: {SECRET_ENV} is set"));
    assert!(
        at(secret, "valueFrom.secretKeyRef.name").is_some(),
        "{origin}: {SECRET_ENV} comes from a Secret"
    );
    let env_names = env.iter().map(|e| str_at(e, "name").to_string()).collect();
    (toml, env_names)
}

#[test]
fn every_example_yaml_parses_and_kubernetes_objects_are_named() {
    let chart_templates = chart_dir().join("templates");
    let files: Vec<_> = ["ci", "kubernetes"]
        .iter()
        .flat_map(|dir| yaml_files(&examples_dir(dir), &[&chart_templates]))
        .collect();
    let names: Vec<_> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_str().unwrap())
        .collect();
    for expected in [
        "github-actions.yml",
        "gitlab-ci.yml",
        "datanode-self-test-job.yaml",
        "Chart.yaml",
        "values.yaml",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    for file in &files {
        let docs = documents(&read(file), &file.display().to_string());
        assert!(!docs.is_empty(), "{}: no document", file.display());
    }
    for (origin, objects) in kubernetes_sets() {
        assert!(!objects.is_empty(), "{origin}: no object");
        for object in &objects {
            for field in ["apiVersion", "kind", "metadata.name"] {
                assert!(
                    !str_at(object, field).is_empty(),
                    "{origin}: {field} in {object:?}"
                );
            }
        }
    }
}

#[test]
fn kubernetes_job_is_a_locked_down_single_attempt() {
    let (origin, objects) = kubernetes_sets().remove(0);
    let [job] = objects_of_kind(&objects, "Job")[..] else {
        panic!("{origin}: one Job");
    };
    assert_locked_down_job(job, &objects, &origin);
}

#[test]
fn helm_chart_renders_pre_install_and_pre_upgrade_hooks() {
    let dir = chart_dir();
    let chart = documents(&read(&dir.join("Chart.yaml")), "Chart.yaml").remove(0);
    assert_eq!(str_at(&chart, "apiVersion"), "v2");
    assert!(!str_at(&chart, "name").is_empty());
    assert!(!str_at(&chart, "version").is_empty());

    let (origin, objects) = kubernetes_sets().remove(1);
    let [job] = objects_of_kind(&objects, "Job")[..] else {
        panic!("{origin}: one Job");
    };
    assert_locked_down_job(job, &objects, &origin);
    let hook_weight = |object: &Value| -> i64 {
        let annotation = |key: &str| {
            at(object, "metadata.annotations")
                .and_then(|annotations| annotations.get(key))
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("{origin}: annotation {key} in {object:?}"))
        };
        assert_eq!(annotation("helm.sh/hook"), "pre-install,pre-upgrade");
        let policies: Vec<_> = annotation("helm.sh/hook-delete-policy")
            .split(',')
            .map(str::trim)
            .collect();
        assert_eq!(policies, ["before-hook-creation", "hook-succeeded"]);
        annotation("helm.sh/hook-weight")
            .parse()
            .expect("hook weights are integers")
    };
    let job_weight = hook_weight(job);
    // the Job's ConfigMap is a hook too, created first: pre-install hooks run before the
    // release's ordinary resources exist
    for config_map in objects_of_kind(&objects, "ConfigMap") {
        assert!(hook_weight(config_map) < job_weight, "{origin}");
    }
    for object in &objects {
        assert_eq!(
            str_at(object, "metadata.namespace"),
            RELEASE[1].1,
            "{origin}: objects land in the release's namespace"
        );
    }
}

#[test]
fn kubernetes_datanode_configs_lint_clean_with_their_environment() {
    for (origin, objects) in kubernetes_sets() {
        let [job] = objects_of_kind(&objects, "Job")[..] else {
            panic!("{origin}: one Job");
        };
        let (toml, env_names) = assert_locked_down_job(job, &objects, &origin);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("datanode.toml");
        std::fs::write(&file, toml).unwrap();
        let effective = config::load(&LoadOptions {
            component: Component::Datanode,
            file: Some(file),
            env: env_names
                .into_iter()
                .map(|name| (name, "example-value".to_string()))
                .collect(),
            env_prefix: None,
            overrides: Vec::new(),
            start_flags: Default::default(),
        })
        .unwrap_or_else(|d| panic!("{origin}: {}", d.message));
        assert!(
            effective.findings.is_empty(),
            "{origin}: the datanode TOML and its environment lint with findings: {:#?}",
            effective.findings
        );
        assert_eq!(
            effective.value["storage"]["secret_access_key"], "example-value",
            "{origin}: the secret reaches the config through the environment overlay"
        );
    }
}

#[test]
fn every_tool_command_in_the_examples_parses() {
    let mut parsed = BTreeMap::new();
    for (name, _, commands) in github_jobs(&github_workflow()) {
        parsed.insert(format!("github {name}"), commands);
    }
    for (name, _, commands) in gitlab_jobs(&gitlab_pipeline()) {
        parsed.insert(format!("gitlab {name}"), commands);
    }
    for (origin, objects) in kubernetes_sets() {
        let commands = objects_of_kind(&objects, "Job")
            .iter()
            .flat_map(|job| {
                at(job, "spec.template.spec.containers")
                    .and_then(Value::as_sequence)
                    .unwrap()
            })
            .map(container_argv)
            .collect();
        parsed.insert(origin, commands);
    }
    for (origin, commands) in &parsed {
        assert!(!commands.is_empty(), "{origin}: no {TOOL} command found");
        for argv in commands {
            assert_parses(argv, origin);
        }
    }
    let total: usize = parsed.values().map(Vec::len).sum();
    assert!(total >= 8, "only {total} commands found: {parsed:?}");
}

#[test]
fn shell_commands_are_split_as_a_shell_splits_them() {
    let script = "status=0\n\
                  greptime-self-test datanode -c 'my dir/datanode.toml' \\\n  --junit-file \"r.xml\" || status=$?\n\
                  command -v greptime-self-test >/dev/null; greptime-self-test --version # comment\n\
                  cargo install greptime-self-test";
    let commands = tool_commands(script, "unit");
    assert_eq!(
        commands,
        [
            vec![
                TOOL,
                "datanode",
                "-c",
                "my dir/datanode.toml",
                "--junit-file",
                "r.xml"
            ],
            vec![TOOL, "--version"],
        ]
    );
}

#[test]
fn kubernetes_manifests_match_the_kubernetes_schemas() {
    let Some(python) = crate::common::kubernetes_validator() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let rendered = dir.path().join("helm-pre-check.yaml");
    std::fs::write(&rendered, rendered_chart()).unwrap();
    let plain = examples_dir("kubernetes").join("datanode-self-test-job.yaml");
    for version in KUBERNETES_VERSIONS {
        crate::common::assert_valid_kubernetes(python, version, &[&plain, &rendered]);
    }
}
