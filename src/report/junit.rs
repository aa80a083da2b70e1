//! The JUnit XML report, for CI systems (Jenkins, GitLab, GitHub and Azure test reports).
//!
//! One `<testsuite name="<component>.<playbook>">` per run and one `<testcase>` per check
//! instance, with classname `greptime.<component>.<playbook>` and the check title as name. In a
//! cluster run each node's suite is named after the node (`datanode-0`, or
//! `datanode-0 (<site playbook>)`) with classname `greptime.<node>.<playbook>`, and the
//! cross-node checks are the suite `cluster.<playbook>`
//! (` [instance]` is appended to titles that occur twice, because GitLab keeps only the first of
//! two equal names). Statuses map as follows:
//! - fail → `<failure>`, typed by the `error_kind` metric, else `AssertionFailed`;
//! - error → `<error>`, typed by the `error_kind` metric, else `StepError`;
//! - skipped → `<skipped message="…">`;
//! - numeric metrics → suite properties `metric.<instance>.<name>` (the only place both
//!   schemas allow name/value pairs);
//! - warn → a passing testcase (JUnit has no warning), a suite property `warn.<instance>` with
//!   the message, and a `WARN: …` line in the suite's `<system-out>`. In the gitlab shape the
//!   testcase's own `<system-out>` also holds the `WARN:` line and the Testmo-style
//!   `[[PROPERTY|outcome=warn]]` line (junit-10.xsd allows no `<properties>` in a testcase).
//!
//! Two shapes, because no single one is valid against both schemas *and* shows warnings in
//! GitLab: GitLab reads `<system-out>` only per testcase, which the Ant schema forbids.
//! - default: valid against Jenkins' `junit-10.xsd` and the strict Ant schema (windyroad
//!   `JUnit.xsd`): bare `<testsuites>`, no testcase `<system-out>`; each warning is a suite
//!   property `warn.<instance>` and a `WARN:` line in the suite's `<system-out>`.
//! - gitlab: valid against `junit-10.xsd`; `<testsuites>` carries the totals and each warned
//!   testcase has its own `<system-out>`, which GitLab shows.
//!
//! Both shapes write `package`, `id`, `hostname`, a zone-less `timestamp`, `<properties>` and
//! suite-level `<system-out/><system-err/>`, every time with at most 3 decimals, and strip ANSI
//! escapes and characters XML 1.0 forbids.
//!
//! The document is written by junit-report 0.8, then the attributes it cannot write are set on
//! its tags (see `complete_tags`): it writes no attributes on `<testsuites>`,
//! no `<properties>` and no `<skipped>` message; it writes the timestamp with a zone (the Ant
//! schema forbids one), the suite time as the sum of case times (not the run's wall time), and
//! times via `f64::to_string` (1118 ms comes out as `1.1179999999999999`).

use std::collections::HashMap;
use std::io::{self, Write};

use junit_report::{Duration, Report, TestCase, TestSuite};

use super::{
    advice_lines, clean, display_value, evidence_lines, overall_line, Reporter, INTERRUPTED_NOTICE,
};
use crate::engine::result::{CheckResult, Counts, RunReport, Status};

/// Opening of a CDATA section, which the tag rewriter passes through untouched.
const CDATA_OPEN: &str = "<![CDATA[";

/// Writes the report as JUnit XML.
#[derive(Debug, Clone, Copy, Default)]
pub struct JunitReporter {
    /// Per-testcase `<system-out>` with the `WARN:` line, which GitLab shows; valid against
    /// `junit-10.xsd` only. Off (the default): valid against both schemas.
    pub gitlab: bool,
}

impl Reporter for JunitReporter {
    fn write(&self, report: &RunReport, out: &mut dyn Write) -> io::Result<()> {
        self.write_many(std::slice::from_ref(report), out)
    }

    /// Writes one `<testsuite>` per report inside a single `<testsuites>`.
    fn write_many(&self, reports: &[RunReport], out: &mut dyn Write) -> io::Result<()> {
        let mut document = Report::new();
        document.add_testsuites(reports.iter().map(|report| self.testsuite(report)));
        let mut xml = Vec::new();
        document.write_xml(&mut xml).map_err(io::Error::other)?;
        let xml = String::from_utf8(xml).map_err(io::Error::other)?;
        out.write_all(self.complete_tags(&xml, reports).as_bytes())?;
        writeln!(out)
    }
}

impl JunitReporter {
    fn testsuite(&self, report: &RunReport) -> TestSuite {
        let mut suite = TestSuite::new(&clean(&suite_name(report)));
        suite.package = clean(&format!("greptime.{}", report.component));
        suite.hostname = match clean(&report.hostname) {
            hostname if hostname.trim().is_empty() => "localhost".to_string(),
            hostname => hostname,
        };
        let classname = clean(&match &report.node {
            Some(node) => format!("greptime.{node}.{}", report.playbook),
            None => format!("greptime.{}.{}", report.component, report.playbook),
        });
        let names = testcase_names(&report.checks);
        for (check, name) in report.checks.iter().zip(names) {
            suite.add_testcase(self.testcase(check, &name, &classname));
        }
        suite.set_system_out(&cdata_text(&suite_output(report)));
        suite.set_system_err("");
        suite
    }

    fn testcase(&self, check: &CheckResult, name: &str, classname: &str) -> TestCase {
        let time = Duration::milliseconds(whole_millis(check.duration_ms));
        let message = clean(check.message.lines().next().unwrap_or_default());
        let mut case = match check.status {
            Status::Pass | Status::Warn => TestCase::success(name, time),
            Status::Fail => {
                TestCase::failure(name, time, &result_type(check, "AssertionFailed"), &message)
            }
            Status::Error => {
                TestCase::error(name, time, &result_type(check, "StepError"), &message)
            }
            Status::Skipped => TestCase::skipped(name),
        };
        case.set_classname(classname);
        // junit-report writes a failing case's "system out" as the body of <failure>/<error>.
        match check.status {
            Status::Fail | Status::Error => case.set_system_out(&cdata_text(&failure_body(check))),
            Status::Warn if self.gitlab => {
                let lines = [warn_line(check)]
                    .into_iter()
                    .chain(advice_lines(check))
                    .chain(["[[PROPERTY|outcome=warn]]".to_string()]);
                case.set_system_out(&cdata_text(&lines.collect::<Vec<_>>().join("\n")));
            }
            Status::Pass | Status::Warn | Status::Skipped => {}
        }
        case
    }

    /// Sets, on junit-report's tags, what it cannot write itself (see the module docs).
    fn complete_tags(&self, xml: &str, reports: &[RunReport]) -> String {
        let counts: Vec<Counts> = reports
            .iter()
            .map(|report| Counts::of(&report.checks))
            .collect();
        let mut suites = reports.iter().zip(&counts);
        let mut checks = reports.iter().flat_map(|report| &report.checks);
        let mut skipped_checks = checks
            .clone()
            .filter(|check| check.status == Status::Skipped);
        rewrite_tags(xml, |tag| match element_name(tag) {
            "testsuites" if self.gitlab => {
                let sum = |count: fn(&Counts) -> usize| counts.iter().map(count).sum::<usize>();
                let time_ms = reports.iter().map(|report| report.duration_ms).sum();
                let tag = set_attr(tag, "name", "greptime-self-test");
                let tag = set_attr(&tag, "tests", &sum(|c| c.total).to_string());
                let tag = set_attr(&tag, "failures", &sum(|c| c.failed).to_string());
                let tag = set_attr(&tag, "errors", &sum(|c| c.errors).to_string());
                set_attr(&tag, "time", &seconds(time_ms))
            }
            "testsuite" => match suites.next() {
                Some((report, counts)) => {
                    let tag = set_attr(tag, "timestamp", ant_timestamp(&report.timestamp));
                    let tag = set_attr(&tag, "time", &seconds(report.duration_ms));
                    let tag = set_attr(&tag, "skipped", &counts.skipped.to_string());
                    tag + &properties(report)
                }
                None => tag.to_string(),
            },
            "testcase" => match checks.next() {
                Some(check) => set_attr(tag, "time", &seconds(check.duration_ms)),
                None => tag.to_string(),
            },
            "skipped" => match skipped_checks.next() {
                Some(check) => set_attr(tag, "message", &check.message),
                None => tag.to_string(),
            },
            _ => tag.to_string(),
        })
    }
}

/// Testcase names: the title, plus ` [instance]` for titles that occur more than once.
fn testcase_names(checks: &[CheckResult]) -> Vec<String> {
    let titles: Vec<String> = checks.iter().map(|check| clean(&check.title)).collect();
    let mut occurrences: HashMap<&str, usize> = HashMap::new();
    for title in &titles {
        *occurrences.entry(title).or_default() += 1;
    }
    titles
        .iter()
        .zip(checks)
        .map(|(title, check)| match occurrences[title.as_str()] {
            1 => title.clone(),
            _ => format!("{title} [{}]", clean(&check.instance)),
        })
        .collect()
}

/// `<component>.<playbook>`; in a cluster run the node's name, with ` (<playbook>)` for the
/// node's site playbooks.
fn suite_name(report: &RunReport) -> String {
    match &report.node {
        Some(node) if report.playbook == report.component => node.clone(),
        Some(node) => format!("{node} ({})", report.playbook),
        None => format!("{}.{}", report.component, report.playbook),
    }
}

/// The `type` of a `<failure>` or `<error>`: the `error_kind` metric if it is a string.
fn result_type(check: &CheckResult, default: &str) -> String {
    match check.metrics.get("error_kind") {
        Some(serde_json::Value::String(kind)) => clean(kind),
        _ => default.to_string(),
    }
}

/// The line that marks a warning, in the suite's `<system-out>` and (by default) the testcase's.
fn warn_line(check: &CheckResult) -> String {
    format!("WARN: {}: {}", check.title, check.message)
}

/// The text of a `<failure>` or `<error>`: the whole message, the advice and the evidence.
fn failure_body(check: &CheckResult) -> String {
    let lines = [check.message.clone()]
        .into_iter()
        .chain(advice_lines(check))
        .chain(evidence_lines(check));
    lines.collect::<Vec<_>>().join("\n")
}

/// The suite's `<system-out>`: every warning, the interruption if any, and the verdict.
fn suite_output(report: &RunReport) -> String {
    let warnings = report
        .checks
        .iter()
        .filter(|check| check.status == Status::Warn)
        .map(warn_line);
    let interrupted = report.interrupted.then(|| INTERRUPTED_NOTICE.to_string());
    let verdict = overall_line(report, false);
    let lines: Vec<String> = warnings.chain(interrupted).chain([verdict]).collect();
    lines.join("\n")
}

/// The suite's `<properties>`: where the run came from, the playbook's summary facts, each
/// warning, and every numeric metric as `metric.<instance>.<name>` (benchmark figures, latencies).
fn properties(report: &RunReport) -> String {
    let mut entries = vec![
        ("component".to_string(), report.component.clone()),
        ("playbook".to_string(), report.playbook.clone()),
    ];
    entries.extend(
        report
            .node
            .iter()
            .map(|node| ("node".to_string(), node.clone())),
    );
    entries.extend(
        report
            .config_file
            .iter()
            .map(|path| ("config_file".to_string(), path.clone())),
    );
    entries.push(("run_id".to_string(), report.run_id.clone()));
    entries.push(("tool_version".to_string(), report.tool_version.clone()));
    entries.push((
        "greptimedb_version".to_string(),
        report.greptimedb_version.clone(),
    ));
    entries.push(("started_at".to_string(), report.timestamp.clone()));
    if report.interrupted {
        entries.push(("interrupted".to_string(), "true".to_string()));
    }
    entries.extend(
        report
            .summary
            .iter()
            .map(|(key, value)| (key.clone(), display_value(value))),
    );
    entries.extend(
        report
            .checks
            .iter()
            .filter(|check| check.status == Status::Warn)
            .map(|check| (format!("warn.{}", check.instance), check.message.clone())),
    );
    entries.extend(report.checks.iter().flat_map(|check| {
        check
            .metrics
            .iter()
            .filter(|(_, value)| value.is_number())
            .map(|(key, value)| {
                (
                    format!("metric.{}.{key}", check.instance),
                    value.to_string(),
                )
            })
    }));
    let properties: String = entries
        .iter()
        .map(|(name, value)| {
            format!(
                r#"<property name="{}" value="{}"/>"#,
                escape_attr(name),
                escape_attr(value)
            )
        })
        .collect();
    format!("<properties>{properties}</properties>")
}

/// The Ant schema's timestamp: `YYYY-MM-DDTHH:MM:SS`, in UTC, from the report's RFC 3339 UTC time.
fn ant_timestamp(rfc3339: &str) -> &str {
    rfc3339.get(..19).unwrap_or(rfc3339)
}

/// Milliseconds rounded to a whole number, never negative (`max` also maps NaN to 0).
fn whole_millis(duration_ms: f64) -> i64 {
    duration_ms.max(0.0).round() as i64
}

/// Seconds with exactly 3 decimals, as both schemas accept.
fn seconds(duration_ms: f64) -> String {
    let millis = whole_millis(duration_ms);
    format!("{}.{:03}", millis / 1000, millis % 1000)
}

/// Text safe inside junit-report's CDATA sections: clean, with `]]>` split across two sections.
fn cdata_text(text: &str) -> String {
    clean(text).replace("]]>", "]]]]><![CDATA[>")
}

/// Cleans and escapes an attribute value; tabs and newlines become character references, which
/// attribute-value normalization would otherwise turn into spaces.
fn escape_attr(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in clean(value).chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\t' => escaped.push_str("&#9;"),
            '\n' => escaped.push_str("&#10;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// Passes every tag of `xml` (`<…>`) through `rewrite`, leaving CDATA sections untouched.
///
/// junit-report escapes `<` and `>` in attribute values and writes all text as CDATA, so
/// outside CDATA every `<` opens a tag and the next `>` closes it.
fn rewrite_tags(xml: &str, mut rewrite: impl FnMut(&str) -> String) -> String {
    let mut rewritten = String::with_capacity(xml.len() + 4096);
    let mut rest = xml;
    while let Some(start) = rest.find('<') {
        rewritten.push_str(&rest[..start]);
        rest = &rest[start..];
        let is_cdata = rest.starts_with(CDATA_OPEN);
        let terminator = if is_cdata { "]]>" } else { ">" };
        let end = rest
            .find(terminator)
            .map_or(rest.len(), |at| at + terminator.len());
        if is_cdata {
            rewritten.push_str(&rest[..end]);
        } else {
            rewritten.push_str(&rewrite(&rest[..end]));
        }
        rest = &rest[end..];
    }
    rewritten.push_str(rest);
    rewritten
}

/// The element name of a start or empty-element tag; empty for an end tag.
fn element_name(tag: &str) -> &str {
    let name = tag.trim_start_matches('<');
    let end = name.find([' ', '/', '>']).unwrap_or(name.len());
    &name[..end]
}

/// Sets attribute `name` of `tag` to `value` (escaped), replacing it or appending it.
fn set_attr(tag: &str, name: &str, value: &str) -> String {
    let value = escape_attr(value);
    let key = format!(" {name}=\"");
    if let Some(at) = tag.find(&key) {
        let start = at + key.len();
        let end = tag[start..].find('"').map_or(tag.len(), |len| start + len);
        return format!("{}{value}{}", &tag[..start], &tag[end..]);
    }
    let close = tag.len() - if tag.ends_with("/>") { 2 } else { 1 };
    format!("{} {name}=\"{value}\"{}", &tag[..close], &tag[close..])
}
