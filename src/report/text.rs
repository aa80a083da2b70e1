//! The human-readable report: a header, one line per check, advice under problems, a verdict.

use std::io::{self, Write};

use owo_colors::{OwoColorize, Style};

use std::collections::HashMap;

use super::{
    clean, counts_phrase, display_value, evidence_lines, overall_line, verdict_line, Reporter,
    INTERRUPTED_NOTICE,
};
use crate::engine::result::{CheckResult, Counts, Overall, RunReport, Skip, Status};

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
        let layout = Layout::of(report);
        for check in &layout.listed {
            self.write_check(check, out)?;
            for skipped in layout.under(check) {
                let line = format!("↳ skipped: {}", skipped.title);
                writeln!(
                    out,
                    "{INDENT}{}",
                    self.paint(&clean(&line), Style::new().dimmed())
                )?;
            }
        }
        self.write_not_applicable(&layout.not_applicable, out)?;
        writeln!(out)?;
        self.write_summary(report, out)?;
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

    /// A check's one-line result: status, duration, title and the first line of its message
    /// (what the report lists, and what a live view shows when the check ends).
    pub fn check_line(&self, check: &CheckResult) -> String {
        let (symbol, style) = marker(check.status);
        let verdict = format!("{symbol} {:<7}", check.status.as_str());
        let duration = format!("{:>6}", short_duration(check.duration_ms));
        let message = clean(&check.message);
        let headline = match message.lines().next() {
            Some(first) if !first.is_empty() => format!("{}: {first}", check.title),
            _ => check.title.clone(),
        };
        format!(
            "{} {}  {}",
            self.paint(&verdict, style),
            self.paint(&duration, Style::new().dimmed()),
            clean(&headline)
        )
    }

    fn write_check(&self, check: &CheckResult, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{}", self.check_line(check))?;
        let message = clean(&check.message);
        let message_lines = message.lines().skip(1).map(str::to_string);

        let evidence = if self.verbose {
            evidence_lines(check)
        } else {
            Vec::new()
        };
        let below: Vec<String> = message_lines.chain(evidence).collect();
        for line in clean(&below.join("\n")).lines() {
            writeln!(out, "{INDENT}{line}")?;
        }
        Ok(())
    }

    /// One line counting the checks that do not apply to this config; with `-v`, one line each.
    fn write_not_applicable(&self, checks: &[&CheckResult], out: &mut dyn Write) -> io::Result<()> {
        if checks.is_empty() {
            return Ok(());
        }
        let n = checks.len();
        let (noun, verb) = if n == 1 {
            ("check", "does")
        } else {
            ("checks", "do")
        };
        if !self.verbose {
            let line =
                format!("  {n} {noun} {verb} not apply to this config and options (-v lists them)");
            return writeln!(out, "{}", self.paint(&line, Style::new().dimmed()));
        }
        writeln!(
            out,
            "  {n} {noun} {verb} not apply to this config and options:"
        )?;
        for check in checks {
            let line = format!("  - {} ({})", check.title, check.message);
            writeln!(out, "{}", self.paint(&clean(&line), Style::new().dimmed()))?;
        }
        Ok(())
    }

    /// The end-of-run summary: each failure, error and warning on one line (check, key, what is
    /// wrong) with its fix under it; nothing when every check passed.
    fn write_summary(&self, report: &RunReport, out: &mut dyn Write) -> io::Result<()> {
        let problems: Vec<&CheckResult> = report
            .checks
            .iter()
            .filter(|c| matches!(c.status, Status::Fail | Status::Error | Status::Warn))
            .collect();
        let elsewhere = in_cluster_groups(report);
        if problems.is_empty() && elsewhere.is_empty() {
            return Ok(());
        }
        writeln!(out, "{}", self.paint("Summary", Style::new().bold()))?;
        for check in problems {
            let (symbol, style) = marker(check.status);
            let what = check.message.lines().next().unwrap_or_default();
            let line = match &check.key {
                Some(key) => format!("{} ({key}): {what}", check.instance),
                None => format!("{}: {what}", check.instance),
            };
            writeln!(out, "{} {}", self.paint(symbol, style), clean(&line))?;
            for line in fix_lines(check) {
                writeln!(out, "{INDENT}{}", clean(&line))?;
            }
        }
        for (address, checks) in elsewhere {
            let (symbol, style) = marker(Status::Skipped);
            let instances: Vec<&str> = checks.iter().map(|c| c.instance.as_str()).collect();
            let line = format!(
                "{address}: {} not run from this host, an in-cluster name ({})",
                if checks.len() == 1 {
                    "1 check".to_string()
                } else {
                    format!("{} checks", checks.len())
                },
                instances.join(", ")
            );
            writeln!(out, "{} {}", self.paint(symbol, style), clean(&line))?;
            for line in fix_lines(checks[0]) {
                writeln!(out, "{INDENT}{}", clean(&line))?;
            }
        }
        writeln!(out)
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

/// The symbol and colour of a status.
fn marker(status: Status) -> (&'static str, Style) {
    match status {
        Status::Pass => ("✓", Style::new().green()),
        Status::Warn => ("!", Style::new().yellow()),
        Status::Fail | Status::Error => ("✗", Style::new().red()),
        Status::Skipped => ("-", Style::new().dimmed()),
    }
}

/// The lines under a problem in the summary: its hint as `fix:` (a hint line starting with
/// `$ ` is a command, shown on its own line without the `$ `, ready to copy), then its doc.
fn fix_lines(check: &CheckResult) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(hint) = &check.hint {
        for line in hint.lines().filter(|l| !l.trim().is_empty()) {
            let first = lines.is_empty();
            match line.strip_prefix("$ ") {
                Some(command) => {
                    if first {
                        lines.push("fix:".to_string());
                    }
                    lines.push(format!("       {command}"));
                }
                None if first => lines.push(format!("fix: {line}")),
                None => lines.push(format!("     {line}")),
            }
        }
    }
    lines.extend(check.doc.iter().map(|doc| format!("doc: {doc}")));
    lines
}

/// The checks not run from this host, by the in-cluster `host:port` they name, in order.
fn in_cluster_groups(report: &RunReport) -> Vec<(String, Vec<&CheckResult>)> {
    let mut groups: Vec<(String, Vec<&CheckResult>)> = Vec::new();
    for check in &report.checks {
        let Some(Skip::InCluster { host, port }) = &check.skip else {
            continue;
        };
        let address = match port {
            Some(port) => format!("{host}:{port}"),
            None => host.clone(),
        };
        match groups.iter_mut().find(|(a, _)| *a == address) {
            Some((_, checks)) => checks.push(check),
            None => groups.push((address, vec![check])),
        }
    }
    groups
}

/// Which checks the main list shows, which are folded under the failure that caused them, and
/// which do not apply.
struct Layout<'a> {
    listed: Vec<&'a CheckResult>,
    /// Skipped checks by the instance they are shown under.
    under: HashMap<&'a str, Vec<&'a CheckResult>>,
    not_applicable: Vec<&'a CheckResult>,
}

impl<'a> Layout<'a> {
    fn of(report: &'a RunReport) -> Self {
        let by_instance: HashMap<&str, &CheckResult> = report
            .checks
            .iter()
            .map(|c| (c.instance.as_str(), c))
            .collect();
        let mut layout = Layout {
            listed: Vec::new(),
            under: HashMap::new(),
            not_applicable: Vec::new(),
        };
        for check in &report.checks {
            if check.skip == Some(Skip::NotApplicable) {
                layout.not_applicable.push(check);
            } else if let Some(anchor) = anchor(check, &by_instance) {
                layout.under.entry(anchor).or_default().push(check);
            } else {
                layout.listed.push(check);
            }
        }
        layout
    }

    fn under(&self, check: &CheckResult) -> &[&'a CheckResult] {
        self.under
            .get(check.instance.as_str())
            .map_or(&[], Vec::as_slice)
    }
}

/// The listed check a skipped `check` is shown under: the last of its causes in this report,
/// followed through causes that were themselves skipped because of another failure.
fn anchor<'a>(
    check: &CheckResult,
    by_instance: &HashMap<&'a str, &'a CheckResult>,
) -> Option<&'a str> {
    let mut current = check;
    // causes always ran before the checks they explain, so the chain is short and acyclic;
    // the bound only guards against a hand-made report
    for _ in 0..by_instance.len() {
        let causes = current.skip.as_ref().map(Skip::causes).unwrap_or_default();
        let (&instance, &cause) = causes
            .iter()
            .rev()
            .find_map(|c| by_instance.get_key_value(c.as_str()))?;
        if cause.skip.as_ref().is_none_or(|s| s.causes().is_empty()) {
            return Some(instance);
        }
        current = cause;
    }
    None
}
