//! `kubernetes --emit-job`: a ConfigMap and a Job that run this same check inside the
//! resource's namespace, where its Service names resolve. The ConfigMap carries the
//! `GreptimeDBCluster` document only (as written, without `status` and server-set metadata);
//! the Job mounts each Secret the resource names, by name, from the cluster, so no Secret
//! value is ever printed. The Job is locked down as `examples/kubernetes/` are: one attempt,
//! a deadline past the tool's own `--timeout`, non-root with a fixed UID, read-only root, no
//! privilege escalation, every capability dropped, the runtime's seccomp profile, no service
//! account token. Its report is its log (`kubectl logs job/<cluster>-self-test`), in the
//! format `--output` chose.

use std::process::ExitCode;

use serde_json::json;

use super::input::{referenced_secrets, Given};
use super::KubernetesArgs;
use crate::cli::{exit, Failure, OutputFormat};
use crate::config::units::parse_duration;
use crate::diag::Diagnostic;
use crate::kubernetes::rendered::RenderedCluster;

/// Where the Job mounts the resource and the Secrets.
const MOUNT: &str = "/etc/greptime-self-test";
/// The non-root user the Job runs as (the Dockerfile's `USER`).
const UID: u32 = 65532;
/// How long a finished Job stays for its log to be read.
const TTL_SECONDS: u64 = 86_400;
/// The Job's deadline beyond the tool's own `--timeout`, so the tool stops first and still
/// prints its report.
const DEADLINE_MARGIN_SECONDS: u64 = 60;

/// Prints the manifests to stdout.
pub fn print(
    args: &KubernetesArgs,
    given: &Given,
    cluster: &RenderedCluster,
) -> Result<ExitCode, Failure> {
    let text = manifests(args, given, cluster)?;
    use std::io::Write as _;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(ExitCode::from(exit::OK))
}

/// The ConfigMap and the Job, as one YAML stream with a comment on how to use it.
pub fn manifests(
    args: &KubernetesArgs,
    given: &Given,
    cluster: &RenderedCluster,
) -> Result<String, Failure> {
    if args.exec.json_file.is_some() || args.exec.junit_file.is_some() {
        return Err(Diagnostic::new(
            "report files with --emit-job",
            "--json-file and --junit-file would be written inside the Job's pod, where nobody \
             reads them",
        )
        .with_hint(
            "the Job's report is its log: choose its format with --output json|junit and \
             read it with kubectl logs",
        )
        .into());
    }
    let timeout = parse_duration(&args.exec.timeout).map_err(|e| {
        Failure::bad_input(
            Diagnostic::new("bad --timeout", e).with_hint("use a duration like 90s or 5m"),
        )
    })?;
    let document = given.cluster_document().ok_or_else(|| {
        Failure::bad_input(Diagnostic::new(
            "no GreptimeDBCluster",
            "the input holds no GreptimeDBCluster document",
        ))
    })?;
    let secrets = referenced_secrets(&document);
    let name = format!("{}-self-test", cluster.name);
    let namespace = &cluster.namespace;
    let labels = json!({
        "app.kubernetes.io/name": "greptime-self-test",
        "app.kubernetes.io/instance": cluster.name,
        "app.kubernetes.io/component": "pre-flight",
    });
    let resource = yaml(&clean_document(document))?;
    let config_map = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "data": {"cluster.yaml": resource},
    });
    let mut mounts = vec![json!({
        "name": "resource",
        "mountPath": format!("{MOUNT}/cluster.yaml"),
        "subPath": "cluster.yaml",
        "readOnly": true,
    })];
    let mut volumes = vec![json!({"name": "resource", "configMap": {"name": name}})];
    for (index, secret) in secrets.iter().enumerate() {
        let volume = format!("secret-{index}");
        mounts.push(json!({
            "name": volume,
            "mountPath": format!("{MOUNT}/secrets/{secret}"),
            "readOnly": true,
        }));
        volumes.push(json!({
            "name": volume,
            "secret": {"secretName": secret, "defaultMode": 0o440},
        }));
    }
    mounts.push(json!({"name": "tmp", "mountPath": "/tmp"}));
    volumes.push(json!({"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}));
    let job = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            // one attempt: a failed pre-flight is a finding to read, not a flake to retry
            "backoffLimit": 0,
            "activeDeadlineSeconds": timeout.as_secs() + DEADLINE_MARGIN_SECONDS,
            "ttlSecondsAfterFinished": TTL_SECONDS,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": false,
                    "securityContext": {
                        "runAsNonRoot": true,
                        "runAsUser": UID,
                        "runAsGroup": UID,
                        "fsGroup": UID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [{
                        "name": "self-test",
                        "image": image(args),
                        "imagePullPolicy": "IfNotPresent",
                        "command": ["greptime-self-test"],
                        "args": job_args(args, &secrets),
                        "securityContext": {
                            "allowPrivilegeEscalation": false,
                            "readOnlyRootFilesystem": true,
                            "capabilities": {"drop": ["ALL"]},
                        },
                        "resources": {
                            "requests": {"cpu": "100m", "memory": "64Mi"},
                            "limits": {"cpu": "1", "memory": "256Mi"},
                        },
                        "volumeMounts": mounts,
                    }],
                    "volumes": volumes,
                },
            },
        },
    });
    let mut out = header(cluster, &name, &secrets);
    out.push_str("---\n");
    out.push_str(&yaml(&config_map)?);
    out.push_str("---\n");
    out.push_str(&yaml(&job)?);
    Ok(out)
}

/// The image the repository's Dockerfile builds, under the name `examples/kubernetes/` and
/// the Dockerfile's own comment give it (push it to your registry, or pass `--image`).
const DEFAULT_IMAGE: &str = concat!(
    "registry.example.com/greptime-self-test:",
    env!("CARGO_PKG_VERSION")
);

/// `--image`, else [`DEFAULT_IMAGE`].
fn image(args: &KubernetesArgs) -> String {
    args.image
        .clone()
        .unwrap_or_else(|| DEFAULT_IMAGE.to_string())
}

/// The Job's command line: the resource and its Secrets as mounted, then the run options
/// given here (report files excepted: the report is the log).
fn job_args(args: &KubernetesArgs, secrets: &[String]) -> Vec<String> {
    let mut argv = vec![
        "kubernetes".to_string(),
        "-f".to_string(),
        format!("{MOUNT}/cluster.yaml"),
    ];
    for secret in secrets {
        argv.push("--secret".into());
        argv.push(format!("{secret}={MOUNT}/secrets/{secret}"));
    }
    let exec = &args.exec;
    let output = match exec.output {
        OutputFormat::Text => None,
        OutputFormat::Json => Some("json"),
        OutputFormat::Junit => Some("junit"),
    };
    let mut flag = |name: &str, value: Option<String>| {
        argv.push(name.to_string());
        argv.extend(value);
    };
    if let Some(output) = output {
        flag("--output", Some(output.into()));
    }
    flag("--timeout", Some(exec.timeout.clone()));
    if let Some(answer) = &exec.answer_timeout {
        flag("--answer-timeout", Some(answer.clone()));
    }
    if exec.jobs != 8 {
        flag("--jobs", Some(exec.jobs.to_string()));
    }
    for (on, name) in [
        (exec.verbose, "--verbose"),
        (exec.read_only, "--read-only"),
        (exec.include_performance, "--include-performance"),
        (exec.strict, "--strict"),
        (exec.junit_gitlab, "--junit-gitlab"),
    ] {
        if on {
            flag(name, None);
        }
    }
    for var in &args.vars {
        flag("--var", Some(var.clone()));
    }
    argv
}

/// The resource as the ConfigMap carries it: apiVersion, kind, name, namespace, labels,
/// annotations (but kubectl's last-applied copy) and spec; no status, no server-set metadata.
fn clean_document(document: serde_yaml::Value) -> serde_yaml::Value {
    use serde_yaml::{Mapping, Value as Y};
    let mut out = Mapping::new();
    for key in ["apiVersion", "kind"] {
        if let Some(value) = document.get(key) {
            out.insert(Y::from(key), value.clone());
        }
    }
    let mut metadata = Mapping::new();
    if let Some(source) = document.get("metadata") {
        for key in ["name", "namespace", "labels", "annotations"] {
            if let Some(value) = source.get(key) {
                metadata.insert(Y::from(key), value.clone());
            }
        }
    }
    if let Some(Y::Mapping(annotations)) = metadata.get_mut("annotations") {
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
    out.insert(Y::from("metadata"), Y::Mapping(metadata));
    if let Some(spec) = document.get("spec") {
        out.insert(Y::from("spec"), spec.clone());
    }
    Y::Mapping(out)
}

fn yaml(value: &impl serde::Serialize) -> Result<String, Failure> {
    serde_yaml::to_string(value).map_err(|e| Failure {
        code: exit::INTERNAL,
        diagnostics: vec![Diagnostic::new("cannot write YAML", e.to_string())],
    })
}

fn header(cluster: &RenderedCluster, name: &str, secrets: &[String]) -> String {
    let ns = &cluster.namespace;
    let secrets = if secrets.is_empty() {
        "none".to_string()
    } else {
        secrets.join(", ")
    };
    format!(
        "# greptime-self-test {}: checks GreptimeDBCluster {ns}/{} from inside its namespace,\n\
         # where its Service names resolve. The ConfigMap holds the GreptimeDBCluster only; the Job\n\
         # mounts the Secrets it names from the cluster ({secrets}), which must exist there.\n\
         #   greptime-self-test kubernetes -f cluster.yaml --emit-job | kubectl apply -f -\n\
         #   kubectl -n {ns} wait --for=condition=complete --timeout=10m job/{name}\n\
         #   kubectl -n {ns} logs job/{name}\n\
         # The image is the repository's Dockerfile built and pushed under this name (or --image):\n\
         #   docker build -t {DEFAULT_IMAGE} . && docker push {DEFAULT_IMAGE}\n\
         # The Job fails (exit 3 in its log) when a check fails, and is not retried.\n",
        env!("CARGO_PKG_VERSION"),
        cluster.name
    )
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;
    use serde_yaml::Value as Y;

    use super::*;
    use crate::cli::{Cli, Command};
    use crate::kubernetes::Input;

    const RESOURCE: &str = "\
apiVersion: greptime.io/v1alpha1
kind: GreptimeDBCluster
metadata:
  name: mycluster
  namespace: gt
  uid: 0b6f
  resourceVersion: \"42\"
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{}'
    team: storage
spec:
  objectStorage:
    s3: {bucket: b, secretName: s3-credentials}
  frontend:
    tls: {secretName: frontend-tls}
status: {clusterPhase: Running}
---
apiVersion: v1
kind: Secret
metadata: {name: s3-credentials, namespace: gt}
stringData: {access-key-id: AKIAEMITJOB, secret-access-key: emit-job-canary-secret}
";

    fn args(extra: &[&str]) -> KubernetesArgs {
        let argv = [
            "greptime-self-test",
            "kubernetes",
            "-f",
            "c.yaml",
            "--emit-job",
        ];
        let cli = Cli::try_parse_from(argv.iter().chain(extra)).unwrap();
        match cli.command {
            Command::Kubernetes(args) => args,
            other => panic!("{other:?}"),
        }
    }

    fn emitted(extra: &[&str]) -> Vec<Y> {
        let given = Given {
            input: Input {
                documents: vec![("c.yaml".into(), RESOURCE.into())],
                secret_files: Vec::new(),
            },
            namespaces: Default::default(),
        };
        let cluster = RenderedCluster {
            name: "mycluster".into(),
            namespace: "gt".into(),
            nodes: Vec::new(),
            findings: Vec::new(),
            secrets: vec!["AKIAEMITJOB".into(), "emit-job-canary-secret".into()],
        };
        let text = manifests(&args(extra), &given, &cluster).unwrap();
        for secret in &cluster.secrets {
            assert!(!text.contains(secret.as_str()), "{secret} printed:\n{text}");
        }
        serde_yaml::Deserializer::from_str(&text)
            .map(|doc| serde::Deserialize::deserialize(doc).unwrap())
            .collect()
    }

    fn at<'a>(value: &'a Y, path: &str) -> &'a Y {
        path.split('.')
            .fold(value, |v, key| match key.parse::<usize>() {
                Ok(i) => &v[i],
                Err(_) => &v[key],
            })
    }

    #[test]
    fn the_job_runs_the_resource_with_its_secrets_mounted_locked_down() {
        let docs = emitted(&["--output", "junit", "--timeout", "2m", "--var", "a=b"]);
        let [config_map, job] = docs.as_slice() else {
            panic!("{docs:?}")
        };
        let resource: Y =
            serde_yaml::from_str(config_map["data"]["cluster.yaml"].as_str().unwrap()).unwrap();
        assert_eq!(at(&resource, "metadata.name"), "mycluster");
        assert!(resource.get("status").is_none());
        assert!(at(&resource, "metadata").get("uid").is_none());
        assert_eq!(
            at(&resource, "metadata.annotations"),
            &serde_yaml::from_str::<Y>("{team: storage}").unwrap()
        );
        assert_eq!(at(job, "metadata.namespace"), "gt");
        assert_eq!(at(job, "spec.backoffLimit"), 0);
        assert_eq!(at(job, "spec.activeDeadlineSeconds"), 180);
        let pod = at(job, "spec.template.spec");
        assert_eq!(
            at(pod, "automountServiceAccountToken").as_bool(),
            Some(false)
        );
        assert_eq!(
            at(pod, "securityContext.runAsNonRoot").as_bool(),
            Some(true)
        );
        assert_eq!(
            at(pod, "securityContext.seccompProfile.type"),
            "RuntimeDefault"
        );
        let container = at(pod, "containers.0");
        assert_eq!(
            at(container, "securityContext.readOnlyRootFilesystem").as_bool(),
            Some(true)
        );
        assert_eq!(
            at(container, "securityContext.allowPrivilegeEscalation").as_bool(),
            Some(false)
        );
        assert_eq!(at(container, "securityContext.capabilities.drop.0"), "ALL");
        assert_eq!(at(container, "image").as_str().unwrap(), DEFAULT_IMAGE);
        let argv: Vec<String> = ["command", "args"]
            .iter()
            .flat_map(|k| container[*k].as_sequence().unwrap())
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            argv.join(" "),
            "greptime-self-test kubernetes -f /etc/greptime-self-test/cluster.yaml \
             --secret s3-credentials=/etc/greptime-self-test/secrets/s3-credentials \
             --output junit --timeout 2m --var a=b"
        );
        Cli::try_parse_from(&argv).expect("the Job's command line parses");
        // the frontend's TLS Secret is not read into any config: not mounted
        let volumes = serde_yaml::to_string(at(pod, "volumes")).unwrap();
        assert!(volumes.contains("secretName: s3-credentials"), "{volumes}");
        assert!(!volumes.contains("frontend-tls"), "{volumes}");
    }

    #[test]
    fn report_files_and_resolve_are_refused_with_the_job() {
        let given = Given {
            input: Input::default(),
            namespaces: Default::default(),
        };
        let cluster = RenderedCluster {
            name: "c".into(),
            namespace: "d".into(),
            nodes: Vec::new(),
            findings: Vec::new(),
            secrets: Vec::new(),
        };
        let err = manifests(&args(&["--junit-file", "j.xml"]), &given, &cluster).unwrap_err();
        assert_eq!(err.code, exit::BAD_INPUT);
        let argv = [
            "greptime-self-test",
            "kubernetes",
            "-f",
            "c.yaml",
            "--emit-job",
            "--resolve",
            "a:1:127.0.0.1",
        ];
        assert!(Cli::try_parse_from(argv).is_err());
    }
}
