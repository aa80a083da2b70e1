//! The resource's own report, first among the run's reports: one check that the resource
//! renders (naming its pods), one per finding the renderer made (its CR field as the check's
//! key, its fix as the hint), and, when there is something to say, one on the names the
//! configs use (in-cluster names, `--resolve` redirects, unused ones).
//!
//! Findings are checks of a report of their own, rather than a step of the cross-node
//! playbook, because they are about the resource, not about any node's effective config: they
//! exist before anything runs, in the resource's terms, and a plain `cluster -f inventory`
//! run has none. As checks they reach every output the same way (text summary with field and
//! fix, JSON, a JUnit testcase each), and an error finding fails the run (exit 3) as a failed
//! check does; a warning finding warns.

use serde_json::{json, Map, Value};

use super::names::Names;
use crate::engine::options::new_run_id;
use crate::engine::reach::Redirect;
use crate::engine::result::{CheckResult, RunReport, Status};
use crate::kubernetes::rendered::{FindingSeverity, RenderedCluster, OPERATOR_VERSION};

/// The component and playbook the resource's report names.
pub const COMPONENT: &str = "kubernetes";
pub const PLAYBOOK: &str = "resource";

/// The report of the resource itself (not yet masked).
pub fn report(
    cluster: &RenderedCluster,
    source: &str,
    names: &Names,
    redirects: &[Redirect],
) -> RunReport {
    let started = time::OffsetDateTime::now_utc();
    let mut checks = vec![rendered_check(cluster)];
    checks.extend(finding_checks(cluster));
    checks.extend(names_check(names, redirects));
    let mut summary = Map::new();
    summary.insert(
        "resource".into(),
        json!(format!(
            "GreptimeDBCluster {}/{}",
            cluster.namespace, cluster.name
        )),
    );
    summary.insert(
        "rendered as".into(),
        json!(format!("greptimedb-operator {OPERATOR_VERSION}")),
    );
    summary.insert("pods".into(), json!(cluster.nodes.len().to_string()));
    let mut report = RunReport {
        node: Some(format!("GreptimeDBCluster/{}", cluster.name)),
        config_file: Some(source.to_string()),
        summary,
        checks,
        ..RunReport::new(
            new_run_id(),
            COMPONENT.to_string(),
            PLAYBOOK.to_string(),
            started,
        )
    };
    report.finalize();
    report
}

fn check(
    id: &str,
    instance: String,
    title: String,
    status: Status,
    message: String,
) -> CheckResult {
    CheckResult {
        id: id.to_string(),
        instance,
        title,
        status,
        message,
        hint: None,
        key: None,
        doc: None,
        step: "kubernetes.render".to_string(),
        cleanup: false,
        duration_ms: 0.0,
        attempts: 1,
        metrics: Map::new(),
        details: Vec::new(),
        skip: None,
    }
}

fn rendered_check(cluster: &RenderedCluster) -> CheckResult {
    let pods: Vec<String> = cluster
        .nodes
        .iter()
        .map(|n| format!("{} ({})", n.name, n.component.as_str()))
        .collect();
    let mut result = check(
        "resource_renders",
        "resource_renders".into(),
        format!(
            "GreptimeDBCluster {}/{} renders as greptimedb-operator {OPERATOR_VERSION} renders it",
            cluster.namespace, cluster.name
        ),
        Status::Pass,
        format!("{} pod(s): {}", pods.len(), pods.join(", ")),
    );
    result.key = Some("spec".into());
    result
        .metrics
        .insert("pods".into(), Value::from(pods.len()));
    result.details = cluster
        .nodes
        .iter()
        .map(|n| format!("pod {}: ConfigMap {}", n.name, n.config_map))
        .collect();
    result
}

/// One check per finding; titles stay unique (a field with two findings adds the code).
fn finding_checks(cluster: &RenderedCluster) -> Vec<CheckResult> {
    let findings = &cluster.findings;
    findings
        .iter()
        .enumerate()
        .map(|(index, finding)| {
            let same_code = findings.iter().filter(|f| f.code == finding.code).count();
            let same_field = findings.iter().filter(|f| f.field == finding.field).count();
            let nth = findings[..index]
                .iter()
                .filter(|f| f.code == finding.code)
                .count();
            let instance = if same_code > 1 {
                format!("{}[{nth}]", finding.code)
            } else {
                finding.code.clone()
            };
            let title = if same_field > 1 {
                format!("resource field {} ({})", finding.field, instance)
            } else {
                format!("resource field {}", finding.field)
            };
            let status = match finding.severity {
                FindingSeverity::Error => Status::Fail,
                FindingSeverity::Warning => Status::Warn,
            };
            let mut result = check(
                &finding.code,
                instance,
                title,
                status,
                finding.message.clone(),
            );
            result.key = Some(finding.field.clone());
            result.hint = Some(finding.fix.clone());
            result
        })
        .collect()
}

/// What the name look-up found, when it found something worth saying.
fn names_check(names: &Names, redirects: &[Redirect]) -> Option<CheckResult> {
    if names.in_cluster.is_empty() && redirects.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    // a name redirected on some port may still be named on another: the checks say which
    let unredirected: Vec<&str> = names
        .in_cluster
        .iter()
        .filter(|host| !redirects.iter().any(|r| r.host.eq_ignore_ascii_case(host)))
        .map(String::as_str)
        .collect();
    if !unredirected.is_empty() {
        parts.push(format!(
            "in-cluster, not resolvable here: {} (checks that dial them are not run from this \
             host)",
            unredirected.join(", ")
        ));
    }
    let used: Vec<String> = redirects
        .iter()
        .filter(|r| !names.unused_redirects.contains(&r.from()))
        .map(|r| format!("{} → {}", r.from(), r.to()))
        .collect();
    if !used.is_empty() {
        parts.push(format!("--resolve: {}", used.join(", ")));
    }
    let mut result = check(
        "resource_names",
        "resource_names".into(),
        "names in the rendered configs, seen from this host".into(),
        Status::Pass,
        parts.join("; "),
    );
    if !names.unused_redirects.is_empty() {
        result.status = Status::Warn;
        result.message = format!(
            "--resolve {} matches no address in the rendered configs{}",
            names.unused_redirects.join(", "),
            if parts.is_empty() {
                String::new()
            } else {
                format!("; {}", parts.join("; "))
            }
        );
        result.hint = Some(
            "write --resolve HOST:PORT:ADDR with HOST:PORT exactly as a config names it (the \
             configs are printed by --render)"
                .into(),
        );
    }
    result.details = names
        .resolved
        .iter()
        .map(|n| format!("resolves here: {n}"))
        .chain(
            names
                .unresolved
                .iter()
                .map(|n| format!("does not resolve here: {n}")),
        )
        .collect();
    Some(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::result::Overall;
    use crate::kubernetes::rendered::ResourceFinding;

    fn cluster(findings: Vec<ResourceFinding>) -> RenderedCluster {
        RenderedCluster {
            name: "mycluster".into(),
            namespace: "default".into(),
            nodes: Vec::new(),
            findings,
            secrets: Vec::new(),
        }
    }

    fn finding(code: &str, severity: FindingSeverity, field: &str) -> ResourceFinding {
        ResourceFinding {
            code: code.into(),
            severity,
            field: field.into(),
            message: format!("{code} message"),
            fix: format!("{code} fix"),
        }
    }

    #[test]
    fn findings_are_checks_keyed_by_their_field() {
        let report = report(
            &cluster(vec![
                finding(
                    "kafka_tls_empty",
                    FindingSeverity::Error,
                    "spec.wal.kafka.tls",
                ),
                finding(
                    "credential_not_url_safe",
                    FindingSeverity::Warning,
                    "spec.meta.x",
                ),
                finding(
                    "credential_not_url_safe",
                    FindingSeverity::Warning,
                    "spec.meta.x",
                ),
            ]),
            "<stdin>",
            &Names::default(),
            &[],
        );
        let ids: Vec<(&str, Status, Option<&str>)> = report
            .checks
            .iter()
            .map(|c| (c.instance.as_str(), c.status, c.key.as_deref()))
            .collect();
        assert_eq!(
            ids,
            [
                ("resource_renders", Status::Pass, Some("spec")),
                ("kafka_tls_empty", Status::Fail, Some("spec.wal.kafka.tls")),
                (
                    "credential_not_url_safe[0]",
                    Status::Warn,
                    Some("spec.meta.x")
                ),
                (
                    "credential_not_url_safe[1]",
                    Status::Warn,
                    Some("spec.meta.x")
                ),
            ]
        );
        assert_eq!(
            report.checks[1].hint.as_deref(),
            Some("kafka_tls_empty fix")
        );
        assert_eq!(report.overall, Overall::Fail);
        let titles: std::collections::HashSet<_> = report.checks.iter().map(|c| &c.title).collect();
        assert_eq!(titles.len(), report.checks.len(), "titles are unique");
        assert_eq!(report.node.as_deref(), Some("GreptimeDBCluster/mycluster"));
    }

    #[test]
    fn names_are_reported_when_there_is_something_to_say() {
        let quiet = report(&cluster(Vec::new()), "c.yaml", &Names::default(), &[]);
        assert_eq!(quiet.checks.len(), 1);
        assert_eq!(quiet.overall, Overall::Pass);
        let redirect = Redirect::parse("nowhere.default:1:127.0.0.1").unwrap();
        let names = Names {
            in_cluster: vec!["mycluster-meta.default".into()],
            unused_redirects: vec![redirect.from()],
            ..Names::default()
        };
        let loud = report(&cluster(Vec::new()), "c.yaml", &names, &[redirect]);
        let check = &loud.checks[1];
        assert_eq!(check.status, Status::Warn);
        assert!(
            check
                .message
                .contains("nowhere.default:1 matches no address"),
            "{}",
            check.message
        );
        assert!(
            check.message.contains("mycluster-meta.default"),
            "{}",
            check.message
        );
    }
}
