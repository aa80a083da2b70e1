//! Reporters: turn a finished, masked [`RunReport`] into text for a person, JSON or JUnit XML.
//!
//! Reporters see nothing but the [`RunReport`]; the engine has already masked every secret in
//! it, so no reporter redacts anything on its own.

mod json;
mod junit;
mod text;

use std::io::{self, Write};

use owo_colors::OwoColorize;
use serde_json::Value;

use crate::engine::result::{CheckResult, Counts, Overall, RunReport};

pub use json::{report_schema, JsonReporter};
pub use junit::JunitReporter;
pub use text::TextReporter;

/// Said by every human-readable output when `RunReport::interrupted` is set.
const INTERRUPTED_NOTICE: &str = "Run interrupted: checks that had not finished were skipped.";

/// An output format for run reports.
pub trait Reporter {
    /// Writes one report.
    fn write(&self, report: &RunReport, out: &mut dyn Write) -> io::Result<()>;

    /// Writes several reports (one per node of a cluster, say) as one document.
    ///
    /// By default the reports are written one after the other, separated by a blank line.
    fn write_many(&self, reports: &[RunReport], out: &mut dyn Write) -> io::Result<()> {
        for (index, report) in reports.iter().enumerate() {
            if index > 0 {
                writeln!(out)?;
            }
            self.write(report, out)?;
        }
        Ok(())
    }
}

/// The closing verdict line, e.g. `Overall Result: FAIL (2/5 checks passed, 1 failed, 1 error)`.
///
/// With `color`, PASS is green and FAIL red; the rest stays plain.
fn overall_line(report: &RunReport, color: bool) -> String {
    verdict_line(report.overall, &report.counts, color)
}

/// [`overall_line`] for any verdict and counts (a cluster run's, over all its reports).
fn verdict_line(overall: Overall, counts: &Counts, color: bool) -> String {
    let verdict = match (overall, color) {
        (Overall::Pass, false) => "PASS".to_string(),
        (Overall::Fail, false) => "FAIL".to_string(),
        (Overall::Pass, true) => "PASS".green().bold().to_string(),
        (Overall::Fail, true) => "FAIL".red().bold().to_string(),
    };
    format!("Overall Result: {verdict} ({})", counts_phrase(counts))
}

/// `2/5 checks passed, 1 warning, 1 failed, 1 error, 1 skipped`, leaving out zero counts.
fn counts_phrase(counts: &Counts) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let mut parts = vec![format!("{}/{} checks passed", counts.passed, counts.total)];
    if counts.warnings > 0 {
        parts.push(plural(counts.warnings, "warning"));
    }
    if counts.failed > 0 {
        parts.push(format!("{} failed", counts.failed));
    }
    if counts.errors > 0 {
        parts.push(plural(counts.errors, "error"));
    }
    if counts.skipped > 0 {
        let mut why = Vec::new();
        if counts.blocked > 0 {
            why.push(format!("{} because of a failure above", counts.blocked));
        }
        if counts.in_cluster > 0 {
            why.push(format!(
                "{} not run from this host (in-cluster names)",
                counts.in_cluster
            ));
        }
        if counts.not_applicable > 0 {
            why.push(format!("{} not applicable", counts.not_applicable));
        }
        let other = counts.skipped - counts.blocked - counts.in_cluster - counts.not_applicable;
        if other > 0 && !why.is_empty() {
            why.push(format!("{other} other"));
        }
        if why.is_empty() {
            parts.push(format!("{} skipped", counts.skipped));
        } else {
            parts.push(format!("{} skipped: {}", counts.skipped, why.join(", ")));
        }
    }
    parts.join(", ")
}

/// What to do about a check: its `hint: …` and `doc: …` lines.
fn advice_lines(check: &CheckResult) -> Vec<String> {
    let hint = check.hint.iter().map(|hint| format!("hint: {hint}"));
    let doc = check.doc.iter().map(|doc| format!("doc: {doc}"));
    hint.chain(doc).collect()
}

/// What a check measured: a `metrics: key=value …` line (when there are metrics) and its details.
fn evidence_lines(check: &CheckResult) -> Vec<String> {
    let metrics = (!check.metrics.is_empty()).then(|| {
        let pairs: Vec<String> = check
            .metrics
            .iter()
            .map(|(key, value)| format!("{key}={}", display_value(value)))
            .collect();
        format!("metrics: {}", pairs.join(" "))
    });
    metrics
        .into_iter()
        .chain(check.details.iter().cloned())
        .collect()
}

/// A JSON value as a person reads it: strings without quotes, everything else as JSON.
fn display_value(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Removes ANSI escape sequences and control characters other than tab and newline, so that
/// text from a check can neither drive a terminal nor break XML 1.0.
fn clean(text: &str) -> String {
    let mut cleaned = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            match chars.next() {
                // CSI: parameters and intermediates, up to a final character in '@'..='~'.
                Some('[') => {
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                // OSC: up to BEL or ST (ESC \).
                Some(']') => {
                    while let Some(c) = chars.next() {
                        if c == '\x07' || (c == '\x1b' && chars.next_if_eq(&'\\').is_some()) {
                            break;
                        }
                    }
                }
                // Any other escape is ESC plus one character.
                _ => {}
            }
        } else if is_kept(c) {
            cleaned.push(c);
        }
    }
    cleaned
}

/// Whether `c` is kept: tab, newline, or a character that is neither a control character nor
/// one of the non-characters XML 1.0 forbids (Rust chars are never surrogates).
fn is_kept(c: char) -> bool {
    matches!(c, '\t' | '\n') || !(c.is_control() || matches!(c, '\u{FFFE}' | '\u{FFFF}'))
}
