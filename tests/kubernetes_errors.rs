//! The renderer's errors: what the operator refuses, missing Secrets and keys, unknown fields
//! (with their path, line and the field probably meant), inputs without one cluster; and the
//! input shapes beside the fixtures (Secret files, `kind: List`, frontend TLS).

use std::fs;

use greptime_self_test::diag::Diagnostic;
use greptime_self_test::kubernetes::rendered::RenderedCluster;
use greptime_self_test::kubernetes::{render, Input};

fn render_text(yaml: &str) -> Result<RenderedCluster, Diagnostic> {
    render(&Input {
        documents: vec![("cluster.yaml".into(), yaml.into())],
        secret_files: Vec::new(),
    })
}

fn render_err(yaml: &str) -> Diagnostic {
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
fn a_secret_reference_without_a_name_is_named() {
    let yaml = format!(
        "{HEAD}  datanode: {{replicas: 1}}\n  wal:\n    kafka:\n      brokerEndpoints: [k:9092]\n      sasl: {{type: PLAIN, secretRef: {{usernameKey: u, passwordKey: p}}}}\n"
    );
    let d = render_err(&yaml);
    assert_eq!(d.title, "no Secret named");
    assert!(
        d.message
            .contains("`spec.wal.kafka.sasl.secretRef.name` is empty"),
        "{}",
        d.message
    );
}
