//! Golden tests of the Kubernetes renderer: `tests/fixtures/kubernetes/render/<case>/` holds
//! `cluster.yaml` (the resource and its Secrets), and what operator v0.6.0 makes of it:
//! `<pod>.toml` (the file the pod reads, compared as TOML values), `<pod>.args` (one argument
//! per line), `<pod>.env` (`NAME=value` lines the environment holds), `<pod>.noenv` (names it
//! does not), `pods.txt` (every pod, in order), `findings.txt` (`code field` per line, the
//! whole set), `secrets/<NAME>.yaml` or `secrets/<NAME>/` (one file per key, as a mounted
//! Secret volume), handed in as `--secret NAME=PATH`.

use std::fs;
use std::path::{Path, PathBuf};

use crate::common;
use greptime_self_test::kubernetes::rendered::RenderedCluster;
use greptime_self_test::kubernetes::{render, Input};

fn fixtures() -> PathBuf {
    common::path("tests/fixtures/kubernetes/render")
}

fn input(dir: &Path) -> Input {
    let cluster = dir.join("cluster.yaml");
    let text = fs::read_to_string(&cluster).expect("cluster.yaml");
    let mut secret_files = Vec::new();
    if let Ok(entries) = fs::read_dir(dir.join("secrets")) {
        for entry in entries {
            let path = entry.expect("entry").path();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            secret_files.push((name, path));
        }
    }
    secret_files.sort();
    Input {
        documents: vec![(cluster.display().to_string(), text)],
        secret_files,
    }
}

/// Every case directory, sorted.
fn cases() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn render_case(name: &str) -> RenderedCluster {
    let dir = fixtures().join(name);
    render(&input(&dir)).unwrap_or_else(|d| panic!("{name}: {}", d.render_quoted()))
}

/// Checks every expectation file of one case; returns what was checked, for the summary.
fn check_case(dir: &Path) -> Vec<String> {
    let case = dir.file_name().unwrap().to_string_lossy().into_owned();
    let rendered = render(&input(dir)).unwrap_or_else(|d| panic!("{case}: {}", d.render_quoted()));
    let mut checked = Vec::new();
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in files {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let expected = || fs::read_to_string(&path).unwrap();
        let node = |pod: &str| {
            rendered
                .nodes
                .iter()
                .find(|n| n.name == pod)
                .unwrap_or_else(|| {
                    panic!(
                        "{case}: no pod {pod}; rendered {:?}",
                        rendered.nodes.iter().map(|n| &n.name).collect::<Vec<_>>()
                    )
                })
        };
        if let Some(pod) = file.strip_suffix(".toml") {
            let want: toml::Value = toml::from_str(&expected()).expect("expected TOML");
            let got: toml::Value = toml::from_str(&node(pod).config_toml).expect("rendered TOML");
            assert_eq!(
                got,
                want,
                "{case}/{file}: rendered\n{}",
                node(pod).config_toml
            );
        } else if let Some(pod) = file.strip_suffix(".args") {
            let want: Vec<String> = expected().lines().map(str::to_string).collect();
            assert_eq!(node(pod).args, want, "{case}/{file}");
        } else if let Some(pod) = file.strip_suffix(".env") {
            for line in expected().lines().filter(|l| !l.trim().is_empty()) {
                let (name, value) = line.split_once('=').expect("NAME=value");
                assert_eq!(
                    node(pod).env.get(name).map(String::as_str),
                    Some(value),
                    "{case}/{file}: {name} in {:?}",
                    node(pod).env
                );
            }
        } else if let Some(pod) = file.strip_suffix(".noenv") {
            for name in expected().lines().filter(|l| !l.trim().is_empty()) {
                assert!(!node(pod).env.contains_key(name), "{case}/{file}: {name}");
            }
        } else if file == "pods.txt" {
            let want: Vec<String> = expected().lines().map(str::to_string).collect();
            let got: Vec<String> = rendered.nodes.iter().map(|n| n.name.clone()).collect();
            assert_eq!(got, want, "{case}/{file}");
        } else if file == "findings.txt" {
            let mut want: Vec<String> = expected()
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string)
                .collect();
            let mut got: Vec<String> = rendered
                .findings
                .iter()
                .map(|f| format!("{} {}", f.code, f.field))
                .collect();
            want.sort();
            got.sort();
            assert_eq!(got, want, "{case}/{file}: {:#?}", rendered.findings);
        } else {
            continue;
        }
        checked.push(format!("{case}/{file}"));
    }
    checked
}

#[test]
fn every_fixture_renders_as_the_operator_does() {
    let dirs = cases();
    assert!(dirs.len() >= 30, "fixtures missing: {dirs:?}");
    for dir in dirs {
        let checked = check_case(&dir);
        assert!(!checked.is_empty(), "{}: nothing to compare", dir.display());
    }
}

#[test]
fn secret_values_are_listed_for_masking() {
    let rendered = render_case("s3-etcd-kafka");
    assert!(rendered.secrets.contains(&"AKIAEXAMPLE".to_string()));
    assert!(rendered.secrets.contains(&"SECRETEXAMPLE".to_string()));
}

/// Every rendered pod's file and command line, read by our own config loader as GreptimeDB
/// reads them (the args as start flags over the file): no lint error. A render our own lint
/// rejects would be a bug in one or the other.
#[test]
fn rendered_configs_load_without_lint_errors() {
    use greptime_self_test::config::{self, start_flags, LoadOptions, Severity};
    let dirs = cases();
    let mut problems = Vec::new();
    let mut loaded = 0;
    for dir in dirs {
        let case = dir.file_name().unwrap().to_string_lossy().into_owned();
        let rendered = render(&input(&dir)).unwrap();
        for node in &rendered.nodes {
            let flags = match start_flags::parse(node.component, &node.args) {
                Ok(flags) => flags,
                // A resource that replaces the generated args on purpose (setdefaults-test01)
                // may pass flags of another shape; its finding says so.
                Err(d) if !rendered.findings.is_empty() => {
                    let _ = d;
                    continue;
                }
                Err(d) => panic!("{case}/{}: {}", node.name, d.render_quoted()),
            };
            let opts = LoadOptions {
                component: node.component,
                file: None,
                env: node.env.clone().into_iter().collect(),
                env_prefix: None,
                overrides: Vec::new(),
                start_flags: flags,
            };
            let text = config::ConfigText {
                name: PathBuf::from(format!("{case}/{}.toml", node.name)),
                text: node.config_toml.clone(),
            };
            let effective = config::load_text(&opts, text)
                .unwrap_or_else(|d| panic!("{case}/{}: {}", node.name, d.render_quoted()));
            loaded += 1;
            for f in effective.findings {
                if f.severity == Severity::Error {
                    problems.push(format!(
                        "{case}/{}: {} {}: {}",
                        node.name, f.code, f.key, f.message
                    ));
                }
            }
        }
    }
    assert!(loaded > 40, "only {loaded} pods loaded");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn user_names_are_not_masked_passwords_are() {
    let r = render_case("meta-mysql");
    assert!(r.secrets.contains(&"S3cret-Pass".to_string()));
    assert!(!r.secrets.contains(&"greptime".to_string()));
}

#[test]
fn plain_sasl_passwords_in_the_resource_are_masked_too() {
    let r = render_case("validation-sasl-plain");
    assert_eq!(r.secrets, ["gt-operator-e2e"]);
}
