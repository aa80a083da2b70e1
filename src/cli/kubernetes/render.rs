//! `kubernetes --render`: what the operator would deploy, pod by pod (name, component,
//! ConfigMap, command line, environment, the config file), then the resource's findings, with
//! every secret masked (the values read from Secrets by the masker, the values of secret keys
//! of a user's own `config` by their key). Runs nothing, like `helm template`; exits 0 whatever the findings say
//! (the run reports them as checks).

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;

use crate::cli::exit;
use crate::config::{is_secret_key, redact_toml_source};
use crate::engine::mask::{Masker, MASK};
use crate::kubernetes::rendered::{FindingSeverity, RenderedCluster, OPERATOR_VERSION};

/// Prints the rendered cluster to stdout, masked.
pub fn print(cluster: &RenderedCluster, masker: &Masker) -> ExitCode {
    let text = masker.mask(&text(cluster));
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    ExitCode::from(exit::OK)
}

/// The rendering as text (not yet masked).
pub fn text(cluster: &RenderedCluster) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# GreptimeDBCluster {}/{} as greptimedb-operator {OPERATOR_VERSION} renders it \
         ({} pods; secrets masked)",
        cluster.namespace,
        cluster.name,
        cluster.nodes.len()
    );
    for node in &cluster.nodes {
        let _ = writeln!(out);
        let _ = writeln!(out, "## pod {} ({})", node.name, node.component.as_str());
        let _ = writeln!(out, "ConfigMap: {}", node.config_map);
        let args: Vec<String> = node.args.iter().map(|a| shell_word(a)).collect();
        let _ = writeln!(out, "command: greptime {}", args.join(" "));
        if !node.env.is_empty() {
            let _ = writeln!(out, "env:");
            for (name, value) in &node.env {
                let leaf = name
                    .rsplit("__")
                    .next()
                    .unwrap_or(name)
                    .to_ascii_lowercase();
                let value = if is_secret_key(&leaf) { MASK } else { value };
                let _ = writeln!(out, "  {name}={}", shell_word(value));
            }
        }
        let _ = writeln!(out, "/etc/greptimedb/config.toml:");
        // secret keys of the user's own `config` are masked too, not only Secret values
        for line in redact_toml_source(&node.config_toml).lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "## resource findings");
    if cluster.findings.is_empty() {
        let _ = writeln!(out, "none");
    }
    for finding in &cluster.findings {
        let severity = match finding.severity {
            FindingSeverity::Error => "error",
            FindingSeverity::Warning => "warning",
        };
        let _ = writeln!(
            out,
            "{severity} {} ({}): {}",
            finding.code, finding.field, finding.message
        );
        let _ = writeln!(out, "    fix: {}", finding.fix);
    }
    out
}

/// An argument as a shell reads it back: bare when it is safe, else single-quoted.
fn shell_word(word: &str) -> String {
    let safe = !word.is_empty()
        && word.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':' | ',' | '=' | '@')
        });
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use indexmap::IndexMap;

    use super::*;
    use crate::config::Component;
    use crate::kubernetes::rendered::{RenderedNode, ResourceFinding};

    #[test]
    fn pods_then_findings_with_secrets_masked() {
        let cluster = RenderedCluster {
            name: "mycluster".into(),
            namespace: "default".into(),
            nodes: vec![RenderedNode {
                name: "mycluster-datanode-0".into(),
                component: Component::Datanode,
                config_map: "mycluster-datanode".into(),
                config_toml: "[storage]\n  secret_access_key = \"SECRETEXAMPLE\"\n[wal.sasl]\n  password = \"inline-user-secret\"\n".into(),
                args: vec![
                    "datanode".into(),
                    "start".into(),
                    "--rpc-server-addr".into(),
                    "$(POD_IP):4001".into(),
                ],
                env: IndexMap::from([
                    ("GREPTIMEDB_DATANODE__X".into(), "a b".into()),
                    ("GREPTIMEDB_DATANODE__WAL__SASL__PASSWORD".into(), "env-canary".into()),
                ]),
            }],
            findings: vec![ResourceFinding {
                code: "kafka_tls_empty".into(),
                severity: FindingSeverity::Error,
                field: "spec.wal.kafka.tls".into(),
                message: "`tls: {}` renders no [wal.tls]".into(),
                fix: "set serverCaCertPath".into(),
            }],
            secrets: vec!["SECRETEXAMPLE".into()],
        };
        let masker = Masker::default();
        cluster.secrets.iter().for_each(|s| masker.add(s));
        let shown = masker.mask(&text(&cluster));
        for secret in ["SECRETEXAMPLE", "inline-user-secret", "env-canary"] {
            assert!(!shown.contains(secret), "{secret}: {shown}");
        }
        for expected in [
            "## pod mycluster-datanode-0 (datanode)",
            "ConfigMap: mycluster-datanode",
            "command: greptime datanode start --rpc-server-addr '$(POD_IP):4001'",
            "  GREPTIMEDB_DATANODE__X='a b'",
            "  secret_access_key = \"******\"",
            "error kafka_tls_empty (spec.wal.kafka.tls): `tls: {}` renders no [wal.tls]",
            "    fix: set serverCaCertPath",
        ] {
            assert!(shown.contains(expected), "{expected}\n{shown}");
        }
    }
}
