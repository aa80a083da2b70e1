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

#[test]
fn plain_output_is_exact() {
    let expected = "\
greptime-self-test 0.1.0: datanode (playbook object_storage)
  config: /etc/greptimedb/datanode.toml
  backend: etcd
  storage_type: S3
  endpoints: 2
  judged as: GreptimeDB 1.3.0
  run id: run-2026-0001

✓ pass      12ms  etcd endpoint reachable: connected to 127.0.0.1:2379
- skipped    0ms  etcd endpoint reachable: dependency config_valid did not pass
! warn      1.1s  Clock offset within 100 ms: offset is 300 ms
    hint: Enable NTP or chrony on this host.
    doc: https://docs.greptime.com/user-guide/deployments/self-test#clock
✗ fail     251ms  S3 bucket writable <&>\": PUT returned 403
    Access Denied for <&>\" key ]]> end
    hint: Grant s3:PutObject on the bucket to the configured access key.
    doc: https://docs.greptime.com/user-guide/deployments/configuration#storage-options
✗ error     5.0s  S3 延迟 p99 ≤ 200 ms: connection refused red bell
    hint: Check that the endpoint is reachable from this host.

Overall Result: FAIL (1/5 checks passed, 1 warning, 1 failed, 1 error, 1 skipped)
";
    assert_eq!(render(PLAIN, &fixture()), expected);
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
