//! The JSON report: the serialization of [`RunReport`] is the format.

use std::io::{self, Write};

use schemars::JsonSchema;
use serde::Serialize;

use super::Reporter;
use crate::engine::result::RunReport;

/// Writes the report as pretty-printed JSON, described by [`report_schema`].
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonReporter;

impl Reporter for JsonReporter {
    fn write(&self, report: &RunReport, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, &ReportDocument::One(report))?;
        writeln!(out)
    }

    /// Writes a JSON array of reports.
    fn write_many(&self, reports: &[RunReport], out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, &ReportDocument::Many(reports))?;
        writeln!(out)
    }
}

/// What the JSON report holds: one run's report, or an array of them (several playbooks, or
/// the nodes of a cluster run followed by its cross-node checks).
#[derive(Serialize, JsonSchema)]
#[serde(untagged)]
enum ReportDocument<'a> {
    One(&'a RunReport),
    Many(&'a [RunReport]),
}

/// The JSON schema of the JSON report (shipped as `schemas/report.schema.json`).
pub fn report_schema() -> schemars::Schema {
    schemars::schema_for!(ReportDocument)
}
