//! The JSON report: the serialization of [`RunReport`] is the format.

use std::io::{self, Write};

use super::Reporter;
use crate::engine::result::RunReport;

/// Writes the report as pretty-printed JSON, described by [`report_schema`].
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonReporter;

impl Reporter for JsonReporter {
    fn write(&self, report: &RunReport, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, report)?;
        writeln!(out)
    }

    /// Writes a JSON array of reports.
    fn write_many(&self, reports: &[RunReport], out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, reports)?;
        writeln!(out)
    }
}

/// The JSON schema of one JSON report (shipped as `schemas/report.schema.json`).
pub fn report_schema() -> schemars::Schema {
    schemars::schema_for!(RunReport)
}
