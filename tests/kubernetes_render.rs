//! Golden tests of the Kubernetes renderer: `tests/fixtures/kubernetes/render/<case>/` holds
//! `cluster.yaml` (the resource and its Secrets), and what operator v0.6.0 makes of it:
//! `<pod>.toml` (the file the pod reads, compared as TOML values), `<pod>.args` (one argument
//! per line), `<pod>.env` (`NAME=value` lines the environment holds), `<pod>.noenv` (names it
//! does not), `pods.txt` (every pod, in order), `findings.txt` (`code field` per line, the
//! whole set), `secrets/<NAME>.yaml` (handed in as `--secret NAME=FILE`).

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
    let mut dirs: Vec<PathBuf> = fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
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
    let mut dirs: Vec<PathBuf> = fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let tmp = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    let mut loaded = 0;
    for dir in dirs {
        let case = dir.file_name().unwrap().to_string_lossy().into_owned();
        let rendered = render(&input(&dir)).unwrap();
        for node in &rendered.nodes {
            let file = tmp.path().join(format!("{case}-{}.toml", node.name));
            fs::write(&file, &node.config_toml).unwrap();
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
                file: Some(file),
                env: node.env.clone().into_iter().collect(),
                env_prefix: None,
                overrides: Vec::new(),
                start_flags: flags,
            };
            let effective = config::load(&opts)
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

fn render_text(yaml: &str) -> Result<RenderedCluster, greptime_self_test::diag::Diagnostic> {
    render(&Input {
        documents: vec![("cluster.yaml".into(), yaml.into())],
        secret_files: Vec::new(),
    })
}

fn render_err(yaml: &str) -> greptime_self_test::diag::Diagnostic {
    match render_text(yaml) {
        Ok(r) => panic!(
            "rendered: {:?}",
            r.nodes.iter().map(|n| &n.name).collect::<Vec<_>>()
        ),
        Err(d) => d,
    }
}

const HEAD: &str =
    "apiVersion: greptime.io/v1alpha1\nkind: GreptimeDBCluster\nmetadata:\n  name: c\nspec:\n";

#[test]
fn an_unknown_field_is_named_with_its_path_line_and_a_suggestion() {
    let yaml = format!("{HEAD}  meta:\n    replicas: 1\n  frontend:\n    replica: 2\n");
    let d = render_err(&yaml);
    assert_eq!(d.title, "unknown field in GreptimeDBCluster");
    assert!(
        d.message.contains("`spec.frontend.replica`"),
        "{}",
        d.message
    );
    assert!(
        d.message.contains("cluster.yaml (document 1)"),
        "{}",
        d.message
    );
    assert_eq!(d.hint.as_deref(), Some("did you mean `replicas`?"));
    let span = d.span.as_ref().expect("a position");
    assert_eq!(span.line, 9, "{span}");
    let text = d.render_quoted();
    assert!(text.contains("replica: 2"), "{text}");
}

#[test]
fn unknown_fields_deep_in_the_resource_and_unknown_values_are_named() {
    let yaml = format!("{HEAD}  objectStorage:\n    s3:\n      bucket: b\n      secretname: s\n");
    let d = render_err(&yaml);
    assert!(
        d.message.contains("`spec.objectStorage.s3.secretname`"),
        "{}",
        d.message
    );
    assert_eq!(d.hint.as_deref(), Some("did you mean `secretName`?"));

    let yaml = format!("{HEAD}  logging:\n    level: inf\n");
    let d = render_err(&yaml);
    assert!(
        d.message.contains("`spec.logging.level` cannot be `inf`"),
        "{}",
        d.message
    );
    assert_eq!(d.hint.as_deref(), Some("did you mean `info`?"));

    let yaml = format!("{HEAD}  datanodeGroups:\n    - name: a\n      storage:\n        fs:\n          mountpath: /x\n");
    let d = render_err(&yaml);
    assert!(
        d.message
            .contains("`spec.datanodeGroups[0].storage.fs.mountpath`"),
        "{}",
        d.message
    );
    assert_eq!(d.hint.as_deref(), Some("did you mean `mountPath`?"));
}

#[test]
fn a_missing_secret_names_the_field_and_the_secret_flag() {
    let yaml = format!(
        "{HEAD}  datanode: {{replicas: 1}}\n  objectStorage:\n    s3: {{bucket: b, region: r, root: x, secretName: s3-credentials}}\n"
    );
    let d = render_err(&yaml);
    assert_eq!(d.title, "Secret `s3-credentials` not found");
    assert!(
        d.message.contains("spec.objectStorage.s3.secretName"),
        "{}",
        d.message
    );
    assert!(
        d.message.contains("`access-key-id`, `secret-access-key`"),
        "{}",
        d.message
    );
    let hint = d.hint.unwrap();
    assert!(hint.contains("--secret s3-credentials=FILE"), "{hint}");
}

#[test]
fn a_secret_in_another_namespace_is_not_the_clusters() {
    let yaml = format!(
        "{HEAD}  datanode: {{replicas: 1}}\n  objectStorage:\n    s3: {{bucket: b, region: r, root: x, secretName: s3}}\n---\napiVersion: v1\nkind: Secret\nmetadata: {{name: s3, namespace: other}}\nstringData: {{access-key-id: a, secret-access-key: b}}\n"
    );
    let d = render_err(&yaml);
    assert!(d.message.contains("namespace `other`"), "{}", d.message);
}

#[test]
fn a_missing_secret_key_names_the_key_the_field_and_the_keys_present() {
    let yaml = format!(
        "{HEAD}  meta:\n    backendStorage:\n      postgresql: {{host: pg, port: 5432, credentialsSecretName: pg}}\n---\napiVersion: v1\nkind: Secret\nmetadata: {{name: pg}}\nstringData: {{username: u, pass: p}}\n"
    );
    let d = render_err(&yaml);
    assert_eq!(d.title, "Secret `pg` has no key `password`");
    assert!(
        d.message
            .contains("spec.meta.backendStorage.postgresql.credentialsSecretName"),
        "{}",
        d.message
    );
    assert!(d.message.contains("`username`, `pass`"), "{}", d.message);
    assert!(!d.message.contains(": p"), "a value leaked: {}", d.message);
}

#[test]
fn secret_files_supply_secrets_and_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "{HEAD}  datanode: {{replicas: 1}}\n  objectStorage:\n    s3: {{bucket: b, region: r, root: x, secretName: s3}}\n"
    );
    let with = |name: &str, text: &str| {
        let path = dir.path().join(format!("{name}.yaml"));
        fs::write(&path, text).unwrap();
        render(&Input {
            documents: vec![("cluster.yaml".into(), yaml.clone())],
            secret_files: vec![("s3".into(), path)],
        })
    };
    let r = with(
        "plain",
        "access-key-id: AKIA\nsecret-access-key: \"0123\"\n",
    )
    .unwrap();
    assert!(r.nodes[1]
        .config_toml
        .contains("secret_access_key = \"0123\""));
    let manifest = "apiVersion: v1\nkind: Secret\nmetadata: {name: s3}\ndata: {access-key-id: QQ==, secret-access-key: Qg==}\n";
    let r = with("manifest", manifest).unwrap();
    assert!(r.nodes[1].config_toml.contains("access_key_id = \"A\""));
    let d = with("number", "access-key-id: AKIA\nsecret-access-key: 123\n").unwrap_err();
    assert!(
        d.message.contains("`secret-access-key` is not a string"),
        "{}",
        d.message
    );
    let d = with(
        "other",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s4}\nstringData: {a: b}\n",
    )
    .unwrap_err();
    assert_eq!(d.title, "secret name mismatch");
}

#[test]
fn zero_or_several_clusters_are_refused() {
    let d = render_err("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n");
    assert_eq!(d.title, "no GreptimeDBCluster in the input");
    let d = render_err(&format!(
        "{HEAD}  datanode: {{replicas: 1}}\n---\n{}",
        HEAD.replace("name: c", "name: d")
    ));
    assert_eq!(d.title, "more than one GreptimeDBCluster in the input");
    assert!(
        d.message.contains("`c` in cluster.yaml (document 1)"),
        "{}",
        d.message
    );
    assert!(
        d.message.contains("`d` in cluster.yaml (document 2)"),
        "{}",
        d.message
    );
}

#[test]
fn a_kubectl_list_is_read_item_by_item() {
    let yaml = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: greptime.io/v1alpha1\n  kind: GreptimeDBCluster\n  metadata: {name: listed, namespace: ns}\n  spec:\n    meta: {backendStorage: {etcd: {endpoints: [\"e:2379\"]}}}\n  status: {clusterPhase: Running}\n- apiVersion: v1\n  kind: Service\n  metadata: {name: x}\n";
    let r = render_text(yaml).unwrap();
    assert_eq!(r.name, "listed");
    assert_eq!(r.namespace, "ns");
    assert_eq!(r.nodes[0].name, "listed-meta-0");
}

#[test]
fn what_the_operator_refuses_is_an_error() {
    let cases = [
        (
            "  meta:\n    backendStorage:\n      etcd: {endpoints: [e]}\n      mysql: {host: h, port: 1, credentialsSecretName: s}\n",
            "spec.meta.backendStorage",
        ),
        (
            "  objectStorage:\n    s3: {bucket: b}\n    oss: {bucket: b}\n",
            "spec.objectStorage",
        ),
        (
            "  wal:\n    raftEngine: {fs: {name: w, storageSize: 1Gi, mountPath: /w}}\n    kafka: {brokerEndpoints: [k]}\n",
            "spec.wal",
        ),
        (
            "  datanode: {replicas: 1}\n  datanodeGroups:\n    - name: a\n",
            "spec.datanodeGroups",
        ),
        (
            "  wal:\n    raftEngine: {fs: {name: w, mountPath: /w}}\n",
            "spec.wal.raftEngine.fs.storageSize",
        ),
        (
            "  objectStorage:\n    cache: {fs: {storageSize: 1Gi, mountPath: /c}}\n",
            "spec.objectStorage.cache.fs.name",
        ),
        (
            "  frontend:\n    config: |\n      It's not a valid toml config----\n",
            "spec.frontend.config",
        ),
        ("  frontendGroups:\n    - replicas: 1\n", "spec.frontendGroups[0].name"),
        ("  datanodeGroups:\n    - replicas: 1\n", "spec.datanodeGroups[0].name"),
        (
            "  datanode:\n    storage: {fs: {useEmptyDir: true, storageClassName: gp3}}\n",
            "spec.datanode.storage.fs.storageClassName",
        ),
    ];
    for (spec, field) in cases {
        let d = render_err(&format!("{HEAD}{spec}"));
        assert_eq!(
            d.title, "the operator would refuse this GreptimeDBCluster",
            "{field}"
        );
        assert!(
            d.message.contains(&format!("`{field}`")),
            "{field}: {}",
            d.message
        );
    }
    let d = render_err(&format!(
        "{HEAD}  datanode: {{replicas: 1}}\n  wal:\n    raftEngine: {{}}\n"
    ));
    assert_eq!(
        d.title,
        "the operator would crash on this GreptimeDBCluster"
    );
    let d = render_err(&HEAD.replace("v1alpha1", "v1beta1"));
    assert_eq!(d.title, "unsupported GreptimeDBCluster version");
}

#[test]
fn the_frontend_tls_secret_is_checked_and_its_flags_written() {
    let yaml = format!("{HEAD}  frontend:\n    tls: {{secretName: fe-tls}}\n");
    let d = render_err(&yaml);
    assert_eq!(d.title, "Secret `fe-tls` not found");
    let with_secret = format!(
        "{yaml}---\napiVersion: v1\nkind: Secret\nmetadata: {{name: fe-tls}}\ntype: kubernetes.io/tls\nstringData: {{tls.crt: CERT, tls.key: KEY}}\n"
    );
    let r = render_text(&with_secret).unwrap();
    let frontend = r.nodes.iter().find(|n| n.name == "c-frontend-0").unwrap();
    let tail: Vec<&str> = frontend
        .args
        .iter()
        .rev()
        .take(6)
        .rev()
        .map(String::as_str)
        .collect();
    assert_eq!(
        tail,
        [
            "--tls-mode",
            "prefer",
            "--tls-cert-path",
            "/etc/greptimedb/tls/tls.crt",
            "--tls-key-path",
            "/etc/greptimedb/tls/tls.key"
        ]
    );
    assert!(
        !r.secrets.iter().any(|s| s == "CERT"),
        "only read values are masked"
    );
}

#[test]
fn user_names_are_not_masked_passwords_are() {
    let r = render_case("meta-mysql");
    assert!(r.secrets.contains(&"S3cret-Pass".to_string()));
    assert!(!r.secrets.contains(&"greptime".to_string()));
}

#[test]
fn positions_count_lines_of_the_whole_stream() {
    let yaml = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\nstringData: {{password: hunter2}}\n---\n{HEAD}  meta:\n    replicas: 1\n    rpcport: 3002\n"
    );
    let d = render_err(&yaml);
    assert!(
        d.message.contains("cluster.yaml (document 2)"),
        "{}",
        d.message
    );
    assert_eq!(d.hint.as_deref(), Some("did you mean `rpcPort`?"));
    assert_eq!(d.span.as_ref().unwrap().line, 13);
    assert!(!d.render_quoted().contains("hunter2"));
}

#[test]
fn plain_sasl_passwords_in_the_resource_are_masked_too() {
    let r = render_case("validation-sasl-plain");
    assert_eq!(r.secrets, ["gt-operator-e2e"]);
}
