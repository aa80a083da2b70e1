//! The JUnit reporter: schema-valid in both shapes, and the status mapping CI systems rely on.
//!
//! Schema validation runs `xmllint` (Debian `libxml2-utils`) against the project's JUnit schema,
//! `schemas/junit.xsd`. Without xmllint, the test fails under `CI=true` and is skipped with a
//! note otherwise.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use greptime_self_test::engine::result::{RunReport, Status};
use greptime_self_test::report::{JunitReporter, Reporter};
use regex::Regex;
use serde_json::Value;

const GITLAB: JunitReporter = JunitReporter { gitlab: true };
const DEFAULT: JunitReporter = JunitReporter { gitlab: false };

fn fixture() -> RunReport {
    serde_json::from_str(include_str!("fixtures/report/run_report.json")).expect("fixture parses")
}

fn render_many(reporter: JunitReporter, reports: &[RunReport]) -> String {
    let mut out = Vec::new();
    reporter
        .write_many(reports, &mut out)
        .expect("writes to a Vec");
    String::from_utf8(out).expect("UTF-8")
}

fn render(reporter: JunitReporter, report: &RunReport) -> String {
    render_many(reporter, std::slice::from_ref(report))
}

/// The `<testcase …>` element (tag and content) whose name attribute starts with `name`.
fn testcase<'a>(xml: &'a str, name: &str) -> &'a str {
    let start = xml
        .find(&format!("<testcase name=\"{name}"))
        .unwrap_or_else(|| panic!("no testcase {name:?} in {xml}"));
    let rest = &xml[start..];
    let end = match rest.find("/>") {
        Some(at) if !rest[..at].contains('>') => at + 2,
        _ => rest.find("</testcase>").expect("closed testcase") + "</testcase>".len(),
    };
    &rest[..end]
}

/// The JUnit schema, or `None` (after a note) when xmllint is missing outside CI.
fn schema() -> Option<PathBuf> {
    crate::common::junit_validator()
}

/// Runs `xmllint --schema`; returns its complaints when the document is invalid.
fn validate(xml: &str, schema: &Path) -> Result<(), String> {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), xml).expect("writes temp file");
    let output = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(schema)
        .arg(file.path())
        .output()
        .expect("runs xmllint");
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

#[test]
fn gitlab_shape_is_valid_junit() {
    let Some(xsd) = schema() else { return };
    let xml = render(GITLAB, &fixture());
    validate(&xml, &xsd).unwrap_or_else(|errors| panic!("{errors}\n{xml}"));
}

#[test]
fn default_shape_is_valid_and_keeps_output_off_the_testcases() {
    let Some(xsd) = schema() else { return };
    let mut interrupted = fixture();
    interrupted.interrupted = true;
    for xml in [
        render(DEFAULT, &fixture()),
        render(DEFAULT, &interrupted),
        render_many(DEFAULT, &[fixture(), interrupted.clone()]),
        render_many(DEFAULT, &[]),
    ] {
        validate(&xml, &xsd).unwrap_or_else(|errors| panic!("{errors}\n{xml}"));
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), &xml).unwrap();
        crate::common::assert_no_case_output(file.path());
    }
}

/// The schema is not vacuous: documents a JUnit reader would choke on are rejected.
#[test]
fn schema_rejects_malformed_reports() {
    let Some(xsd) = schema() else { return };
    let case = |body: &str| {
        format!(
            "<testsuites><testsuite name=\"s\" tests=\"1\" failures=\"0\" errors=\"0\">{body}\
             </testsuite></testsuites>"
        )
    };
    for bad in [
        case(r#"<testcase name="a" classname="c" time="0.1"><failure/><skipped/></testcase>"#),
        case(r#"<testcase classname="c" time="0.1"/>"#),
        case(r#"<testcase name="a" classname="c" time="-1"/>"#),
        case(
            r#"<testcase name="a" classname="c" time="0.1"/><testcase name="a" classname="c" time="0.1"/>"#,
        ),
        "<testsuite name=\"s\"/>".to_string(),
    ] {
        assert!(validate(&bad, &xsd).is_err(), "accepted: {bad}");
    }
    validate(
        &case(r#"<testcase name="a" classname="c" time="0.1"><skipped message="m"/></testcase>"#),
        &xsd,
    )
    .expect("a well-formed report");
}

#[test]
fn several_reports_share_one_document() {
    let Some(xsd) = schema() else { return };
    let xml = render_many(GITLAB, &[fixture(), fixture()]);
    validate(&xml, &xsd).unwrap_or_else(|errors| panic!("{errors}\n{xml}"));
    assert_eq!(xml.matches("<testsuite ").count(), 2);
    assert!(xml.contains(r#"<testsuite id="1" "#));
    let root = Regex::new(r"<testsuites [^>]*>")
        .unwrap()
        .find(&xml)
        .expect("root tag")
        .as_str();
    assert_eq!(
        root,
        r#"<testsuites name="greptime-self-test" tests="10" failures="2" errors="2" time="13.578">"#
    );
}

#[test]
fn times_have_at_most_three_decimals() {
    let time_attribute = Regex::new(r#" time="([^"]*)""#).unwrap();
    let seconds = Regex::new(r"^[0-9]+\.[0-9]{3}$").unwrap();
    for xml in [render(GITLAB, &fixture()), render(DEFAULT, &fixture())] {
        let times: Vec<&str> = time_attribute
            .captures_iter(&xml)
            .map(|captures| captures.get(1).unwrap().as_str())
            .collect();
        // One per testcase and testsuite, plus the root in the default shape.
        assert!(times.len() >= 6, "{times:?}");
        assert!(times.iter().all(|time| seconds.is_match(time)), "{times:?}");
    }
    let xml = render(GITLAB, &fixture());
    assert!(
        testcase(&xml, "Clock offset").contains(r#"time="1.118""#),
        "1118 ms"
    );
    assert!(xml.contains(r#"<testsuite id="0" name="datanode.object_storage" package="greptime.datanode" tests="5" errors="1" failures="1" hostname="node-1" timestamp="2026-01-02T03:04:05" time="6.789" skipped="1">"#), "{xml}");
}

#[test]
fn testcase_names_are_unique() {
    let xml = render(DEFAULT, &fixture());
    let names: Vec<&str> = Regex::new(r#"<testcase name="([^"]*)""#)
        .unwrap()
        .captures_iter(&xml)
        .map(|captures| captures.get(1).unwrap().as_str())
        .collect();
    assert_eq!(names.len(), 5);
    assert_eq!(names.iter().collect::<HashSet<_>>().len(), 5, "{names:?}");
    assert_eq!(names[0], "etcd endpoint reachable [etcd_reachable[0]]");
    assert_eq!(names[1], "etcd endpoint reachable [etcd_reachable[1]]");
    assert_eq!(
        names[2], "Clock offset within 100 ms",
        "unique titles stay as they are"
    );
    assert!(xml.contains(r#"classname="greptime.datanode.object_storage""#));
}

#[test]
fn statuses_map_to_result_elements() {
    let xml = render(GITLAB, &fixture());
    assert!(testcase(&xml, "etcd endpoint reachable [etcd_reachable[0]]").ends_with("/>"));
    assert!(
        testcase(&xml, "etcd endpoint reachable [etcd_reachable[1]]")
            .contains(r#"<skipped message="dependency config_valid did not pass"/>"#)
    );

    let failed = testcase(&xml, "S3 bucket writable");
    assert!(
        failed.contains(r#"name="S3 bucket writable &lt;&amp;&gt;&quot;""#),
        "{failed}"
    );
    assert!(
        failed.contains(r#"<failure type="AssertionFailed" message="PUT returned 403">"#),
        "{failed}"
    );
    assert!(failed.contains("hint: Grant s3:PutObject"), "{failed}");
    assert!(
        failed.contains("metrics: status=403 bucket=greptime-data"),
        "{failed}"
    );
    assert!(!failed.contains("<error"));

    let errored = testcase(&xml, "S3 延迟 p99 ≤ 200 ms");
    assert!(
        errored.contains(r#"<error type="Timeout" message="connection refused red bell">"#),
        "{errored}"
    );
    assert!(!errored.contains("<failure"));

    // No counts of skipped cases on <testsuites>: junit-10.xsd rejects it.
    assert!(!Regex::new(r"<testsuites [^>]*skipped=")
        .unwrap()
        .is_match(&xml));
}

#[test]
fn failure_type_comes_from_error_kind() {
    let mut report = fixture();
    let failed = &mut report.checks[3];
    assert_eq!(failed.status, Status::Fail);
    failed
        .metrics
        .insert("error_kind".into(), Value::from("AccessDenied"));
    report.checks[4].metrics.clear();
    let xml = render(GITLAB, &report);
    assert!(testcase(&xml, "S3 bucket writable").contains(r#"<failure type="AccessDenied""#));
    assert!(testcase(&xml, "S3 延迟").contains(r#"<error type="StepError""#));
}

#[test]
fn warnings_pass_with_a_warn_line() {
    let xml = render(GITLAB, &fixture());
    let warned = testcase(&xml, "Clock offset");
    assert!(
        !warned.contains("<failure") && !warned.contains("<skipped") && !warned.contains("<error")
    );
    assert!(
        warned
            .contains("<system-out><![CDATA[WARN: Clock offset within 100 ms: offset is 300 ms\n"),
        "{warned}"
    );
    assert!(warned.contains("[[PROPERTY|outcome=warn]]"), "{warned}");

    let strict = render(DEFAULT, &fixture());
    assert!(
        strict.contains(r#"<property name="warn.clock_offset" value="offset is 300 ms"/>"#),
        "{strict}"
    );
    assert!(!testcase(&strict, "Clock offset").contains("system-out"));
    assert!(strict.contains("<system-out><![CDATA[WARN: Clock offset within 100 ms: offset is 300 ms\nOverall Result: FAIL"));
}

#[test]
fn control_characters_and_ansi_escapes_are_stripped() {
    for xml in [render(GITLAB, &fixture()), render(DEFAULT, &fixture())] {
        assert!(
            !xml.contains(|c: char| c.is_control() && c != '\n'),
            "{xml:?}"
        );
        assert!(xml.contains("connection refused red bell"));
        // `]]>` in a message is split across two CDATA sections, not dropped.
        assert!(xml.contains("key ]]]]><![CDATA[> end"));
    }
}
