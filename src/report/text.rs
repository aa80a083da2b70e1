//! The human-readable report: a header, one line per check, advice under problems, a verdict.

use std::io::{self, Write};

use owo_colors::{OwoColorize, Style};

use super::{
    advice_lines, clean, counts_phrase, display_value, evidence_lines, overall_line, verdict_line,
    Reporter, INTERRUPTED_NOTICE,
};
use crate::engine::result::{CheckResult, Counts, Overall, RunReport, Status};

/// Indentation of the lines under a check line.
const INDENT: &str = "    ";

/// Writes the report for a terminal or a log.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextReporter {
    /// Also show every check's metrics and detail lines.
    pub verbose: bool,
    /// Use ANSI colours; the caller decides from isatty and `NO_COLOR`.
    pub color: bool,
}

impl Reporter for TextReporter {
    fn write(&self, report: &RunReport, out: &mut dyn Write) -> io::Result<()> {
        self.write_header(report, out)?;
        for check in &report.checks {
            self.write_check(check, out)?;
        }
        writeln!(out)?;
        if report.interrupted {
            let notice = self.paint(INTERRUPTED_NOTICE, Style::new().yellow());
            writeln!(out, "{notice}")?;
        }
        writeln!(out, "{}", overall_line(report, self.color))
    }

    /// The reports one after another, then, for a cluster run (reports that name nodes), a
    /// summary with one line per node and playbook and the verdict over all of them.
    fn write_many(&self, reports: &[RunReport], out: &mut dyn Write) -> io::Result<()> {
        for (index, report) in reports.iter().enumerate() {
            if index > 0 {
                writeln!(out)?;
            }
            self.write(report, out)?;
        }
        if reports.iter().any(|report| report.node.is_some()) {
            self.write_cluster_summary(reports, out)?;
        }
        Ok(())
    }
}

impl TextReporter {
    fn write_header(&self, report: &RunReport, out: &mut dyn Write) -> io::Result<()> {
        let title = match &report.node {
            Some(node) => format!(
                "greptime-self-test {}: node {node}: {} (playbook {})",
                report.tool_version, report.component, report.playbook
            ),
            None => format!(
                "greptime-self-test {}: {} (playbook {})",
                report.tool_version, report.component, report.playbook
            ),
        };
        writeln!(out, "{}", self.paint(&clean(&title), Style::new().bold()))?;
        let config = report
            .config_file
            .iter()
            .map(|path| ("config".to_string(), path.clone()));
        let summary = report
            .summary
            .iter()
            .map(|(key, value)| (key.clone(), display_value(value)));
        let rules = (!report.greptimedb_version.is_empty()).then(|| {
            (
                "judged as".to_string(),
                format!("GreptimeDB {}", report.greptimedb_version),
            )
        });
        let run_id = ("run id".to_string(), report.run_id.clone());
        for (key, value) in config.chain(summary).chain(rules).chain([run_id]) {
            writeln!(out, "  {}", clean(&format!("{key}: {value}")))?;
        }
        writeln!(out)
    }

    fn write_check(&self, check: &CheckResult, out: &mut dyn Write) -> io::Result<()> {
        let (symbol, style) = match check.status {
            Status::Pass => ("✓", Style::new().green()),
            Status::Warn => ("!", Style::new().yellow()),
            Status::Fail | Status::Error => ("✗", Style::new().red()),
            Status::Skipped => ("-", Style::new().dimmed()),
        };
        let verdict = format!("{symbol} {:<7}", check.status.as_str());
        let duration = format!("{:>6}", short_duration(check.duration_ms));
        let message = clean(&check.message);
        let mut message_lines = message.lines().map(str::to_string);
        let headline = match message_lines.next() {
            Some(first) if !first.is_empty() => format!("{}: {first}", check.title),
            _ => check.title.clone(),
        };
        writeln!(
            out,
            "{} {}  {}",
            self.paint(&verdict, style),
            self.paint(&duration, Style::new().dimmed()),
            clean(&headline)
        )?;

        let advice = match check.status {
            Status::Warn | Status::Fail | Status::Error => advice_lines(check),
            Status::Pass | Status::Skipped => Vec::new(),
        };
        let evidence = if self.verbose {
            evidence_lines(check)
        } else {
            Vec::new()
        };
        let below: Vec<String> = message_lines.chain(advice).chain(evidence).collect();
        for line in clean(&below.join("\n")).lines() {
            writeln!(out, "{INDENT}{line}")?;
        }
        Ok(())
    }

    fn write_cluster_summary(&self, reports: &[RunReport], out: &mut dyn Write) -> io::Result<()> {
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            self.paint("Cluster summary", Style::new().bold())
        )?;
        let label = |report: &RunReport| {
            let who = report.node.as_deref().unwrap_or("(cross-node)");
            format!("{who} {}/{}", report.component, report.playbook)
        };
        let width = reports.iter().map(|r| label(r).len()).max().unwrap_or(0);
        for report in reports {
            let (verdict, style) = match report.overall {
                Overall::Pass => ("PASS", Style::new().green()),
                Overall::Fail => ("FAIL", Style::new().red()),
            };
            writeln!(
                out,
                "  {:<width$}  {}  {}",
                clean(&label(report)),
                self.paint(verdict, style),
                counts_phrase(&report.counts)
            )?;
        }
        let all = Counts::sum(reports.iter().map(|report| &report.counts));
        writeln!(out)?;
        writeln!(out, "{}", verdict_line(all.overall(), &all, self.color))
    }

    /// Applies `style` when colour is on.
    fn paint(&self, text: &str, style: Style) -> String {
        if self.color {
            text.style(style).to_string()
        } else {
            text.to_string()
        }
    }
}

/// `850ms` below one second, `1.2s` from there on.
fn short_duration(duration_ms: f64) -> String {
    let whole_ms = duration_ms.round();
    if whole_ms < 1000.0 {
        format!("{whole_ms}ms")
    } else {
        format!("{:.1}s", duration_ms / 1000.0)
    }
}
