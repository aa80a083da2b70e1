//! The text reporter, rendered from the fixed fixture in `tests/fixtures/report/`.

use greptime_self_test::engine::result::{Counts, RunReport, Status};
use greptime_self_test::report::{Reporter, TextReporter};

fn fixture() -> RunReport {
    serde_json::from_str(include_str!("fixtures/report/run_report.json")).expect("fixture parses")
}

fn render(reporter: TextReporter, report: &RunReport) -> String {
    let mut out = Vec::new();
    reporter.write(report, &mut out).expect("writes to a Vec");
    String::from_utf8(out).expect("UTF-8")
}

const PLAIN: TextReporter = TextReporter {
    verbose: false,
    color: false,
};

/// A report of a real run, kept as a fixture (`tests/fixtures/report/<name>.json`).
fn recorded(name: &str) -> RunReport {
    let path = format!(
        "{}/tests/fixtures/report/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const VERBOSE: TextReporter = TextReporter {
    verbose: true,
    color: false,
};

// Snapshots of representative runs (tests/snapshots/): a change to the text report is
// reviewed as a diff of these files (`cargo insta review`, or INSTA_UPDATE=always).

#[test]
fn snapshot_mixed_warn_fail_error() {
    insta::assert_snapshot!("mixed", render(PLAIN, &fixture()));
}

#[test]
fn snapshot_healthy_run_folds_what_does_not_apply() {
    let output = render(PLAIN, &recorded("healthy"));
    assert!(
        !output.contains("Summary"),
        "nothing to summarize: {output}"
    );
    assert!(!output.contains("condition not met"), "{output}");
    insta::assert_snapshot!("healthy", output);
}

#[test]
fn snapshot_all_dead_reports_one_cause_once() {
    let output = render(PLAIN, &recorded("all_dead"));
    // the cluster check is skipped under the endpoint failures, not failed a fourth time
    assert_eq!(output.matches("\n✗ fail").count(), 3, "{output}");
    assert!(
        output.contains("↳ skipped: etcd endpoints agree"),
        "{output}"
    );
    insta::assert_snapshot!("all_dead", output);
}

#[test]
fn snapshot_verbose_lists_what_does_not_apply() {
    let output = render(VERBOSE, &recorded("all_dead"));
    assert!(output.contains("condition not met: vars.sql"), "{output}");
    insta::assert_snapshot!("all_dead_verbose", output);
}

#[test]
fn all_pass_overall_line() {
    let mut report = fixture();
    for check in &mut report.checks {
        check.status = Status::Pass;
    }
    report.finalize();
    let output = render(PLAIN, &report);
    assert!(
        output.ends_with("\nOverall Result: PASS (5/5 checks passed)\n"),
        "{output}"
    );
    assert_eq!(
        report.counts,
        Counts {
            total: 5,
            passed: 5,
            ..Counts::default()
        }
    );
}

#[test]
fn verbose_shows_metrics_and_details() {
    let verbose = TextReporter {
        verbose: true,
        color: false,
    };
    let output = render(verbose, &fixture());
    assert!(
        output.contains("\n    metrics: connect_ms=12.3\n"),
        "{output}"
    );
    assert!(
        output.contains("\n    metrics: status=403 bucket=greptime-data\n"),
        "{output}"
    );
    assert!(
        output.contains("\n    PUT self-test/run-2026-0001/probe → 403\n    GET skipped\n"),
        "{output}"
    );
    assert!(!render(PLAIN, &fixture()).contains("metrics:"));
}

#[test]
fn color_only_when_asked() {
    let colored = TextReporter {
        verbose: false,
        color: true,
    };
    let output = render(colored, &fixture());
    // Green, yellow, red and dim, in SGR codes.
    for painted in [
        "\u{1b}[32m✓ pass",
        "\u{1b}[33m! warn",
        "\u{1b}[31m✗ fail",
        "\u{1b}[2m- skipped",
    ] {
        assert!(output.contains(painted), "{painted:?} in {output}");
    }
    assert!(
        output.contains("Overall Result: \u{1b}[1m\u{1b}[31mFAIL"),
        "{output}"
    );
    // Escapes and control characters inside the fixture's own message are removed.
    let plain = render(PLAIN, &fixture());
    assert!(
        !plain.contains(|c: char| c.is_control() && c != '\n'),
        "{plain:?}"
    );
}

#[test]
fn interrupted_run_says_so() {
    let mut report = fixture();
    report.interrupted = true;
    let output = render(PLAIN, &report);
    assert!(output.contains(
        "\nRun interrupted: checks that had not finished were skipped.\nOverall Result: FAIL"
    ));
}

#[test]
fn snapshot_fix_commands_stand_on_their_own_lines() {
    let output = render(PLAIN, &recorded("pg_grant"));
    let summary = output.split("\nSummary\n").nth(1).expect("a summary");
    assert!(
        summary.contains("\n           GRANT CREATE ON SCHEMA \"public\" TO \"gt_ro\";\n"),
        "{summary}"
    );
    assert!(!output.contains("gst-pw-"), "no password: {output}");
    insta::assert_snapshot!("pg_grant", output);
}
