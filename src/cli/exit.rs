//! The exit-code table, in one place.

use std::process::ExitCode;

use crate::engine::result::{Overall, RunReport};

/// Every check passed (warnings allowed unless `--strict`).
pub const OK: u8 = 0;
/// Internal error: a bug or an unexpected local failure.
pub const INTERNAL: u8 = 1;
/// Bad input: command line, component config or playbook.
pub const BAD_INPUT: u8 = 2;
/// At least one check failed or could not run.
pub const CHECKS_FAILED: u8 = 3;
/// `--strict` and at least one warning, or one check not run from this host because it names
/// an in-cluster host (nothing failed).
pub const WARNINGS: u8 = 4;

/// The text `--help` shows under "Exit codes".
pub const HELP: &str = "Exit codes:
  0  all checks passed (warnings allowed)
  1  internal error
  2  bad input: command line, component config or playbook
  3  at least one check failed or could not run
  4  with --strict: no failure, but at least one warning (or a check not run from
     outside a Kubernetes cluster)";

/// Exit code of a finished run.
pub fn for_reports(reports: &[RunReport], strict: bool) -> ExitCode {
    let failed = reports.iter().any(|r| r.overall == Overall::Fail);
    // a check that could not be run from here proved nothing: strict runs say so
    let warned = reports
        .iter()
        .any(|r| r.counts.warnings > 0 || r.counts.in_cluster > 0);
    ExitCode::from(if failed {
        CHECKS_FAILED
    } else if strict && warned {
        WARNINGS
    } else {
        OK
    })
}
