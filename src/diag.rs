//! Positioned diagnostics for bad input (config TOML, playbook YAML, templates, CLI).
//!
//! Every error a person can fix by editing a file is a [`Diagnostic`]: a title, the place
//! (`file:line:col`), a message and an optional hint. One renderer prints them all, with the
//! offending source line and a caret, so config and playbook errors look alike.
//! This module knows no domain type.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A place in a user's file, 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpan {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    /// Width of the caret underline; at least 1.
    pub len: usize,
    /// The text of `file`, secrets already redacted, to quote the line from; `None` quotes
    /// nothing. Carried along so rendering never reads the file again (it may have changed).
    pub quoted: Option<Arc<str>>,
}

impl SourceSpan {
    pub fn new(file: impl Into<PathBuf>, line: usize, col: usize, len: usize) -> Self {
        Self {
            file: file.into(),
            line,
            col,
            len: len.max(1),
            quoted: None,
        }
    }

    /// Converts a byte offset range in `source` to a span.
    pub fn from_byte_range(file: &Path, source: &str, range: std::ops::Range<usize>) -> Self {
        let start = range.start.min(source.len());
        let before = &source[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = source[line_start..start].chars().count() + 1;
        let len = source[start..range.end.clamp(start, source.len())]
            .lines()
            .next()
            .map_or(1, |l| l.chars().count());
        Self::new(file, line, col, len)
    }
}

/// A user's file: its name, its text, and the same text with secrets redacted for quoting.
/// It turns byte ranges and positions into spans that carry the redacted text.
#[derive(Debug)]
pub struct SourceFile {
    /// Name shown in diagnostics: the path as given, or e.g. `checks/<name>.yaml` for built-ins.
    pub name: PathBuf,
    pub text: String,
    quoted: Arc<str>,
}

impl SourceFile {
    /// `redact` hides the values of secrets in the text; it must keep the lines as they are
    /// numbered.
    pub fn new(name: PathBuf, text: String, redact: impl FnOnce(&str) -> String) -> Self {
        let quoted = redact(&text).into();
        Self { name, text, quoted }
    }

    /// The span at a 1-based line and column.
    pub fn span_at(&self, line: usize, col: usize, len: usize) -> SourceSpan {
        self.quote(SourceSpan::new(self.name.clone(), line, col, len))
    }

    /// The span of a byte range of the text.
    pub fn span_of(&self, range: std::ops::Range<usize>) -> SourceSpan {
        self.quote(SourceSpan::from_byte_range(&self.name, &self.text, range))
    }

    /// `file:line:col` of a byte range.
    pub fn location(&self, range: std::ops::Range<usize>) -> String {
        SourceSpan::from_byte_range(&self.name, &self.text, range).to_string()
    }

    /// Lets a diagnostic made without this file (by a parser given its text) quote it.
    pub fn quote_diagnostic(&self, mut d: Diagnostic) -> Diagnostic {
        d.span = d.span.map(|span| Box::new(self.quote(*span)));
        d
    }

    fn quote(&self, mut span: SourceSpan) -> SourceSpan {
        if span.file == self.name {
            span.quoted = Some(self.quoted.clone());
        }
        span
    }
}

impl fmt::Display for SourceSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.col)
    }
}

/// An error in the user's input, rendered with its place and a hint. Maps to exit code 2.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// Short headline, e.g. "unknown step type".
    pub title: String,
    /// Boxed: a span carries its file name and text, and errors stay small to pass around.
    pub span: Option<Box<SourceSpan>>,
    /// What is wrong, in a sentence.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(title: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            span: None,
            message: message.into(),
            hint: None,
        }
    }

    pub fn at(mut self, span: Option<SourceSpan>) -> Self {
        self.span = span.map(Box::new);
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Renders the diagnostic, quoting the offending line when its span carries the text.
    pub fn render_quoted(&self) -> String {
        self.render(self.span.as_ref().and_then(|s| s.quoted.as_deref()))
    }

    /// Renders the diagnostic with the offending source line when `source` is given.
    pub fn render(&self, source: Option<&str>) -> String {
        let mut out = format!("error: {}\n", self.title);
        if let Some(span) = &self.span {
            out.push_str(&format!("  --> {span}\n"));
            if let Some(text) = source.and_then(|s| s.lines().nth(span.line.saturating_sub(1))) {
                let gutter = span.line.to_string();
                let pad = " ".repeat(gutter.len());
                out.push_str(&format!("{pad} |\n{gutter} | {text}\n"));
                out.push_str(&format!(
                    "{pad} | {}{}\n",
                    " ".repeat(span.col.saturating_sub(1)),
                    "^".repeat(span.len)
                ));
            }
        }
        out.push_str(&format!("  = {}\n", self.message));
        if let Some(hint) = &self.hint {
            out.push_str(&format!("  = hint: {hint}\n"));
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.span {
            Some(span) => write!(f, "{span}: {}: {}", self.title, self.message)?,
            None => write!(f, "{}: {}", self.title, self.message)?,
        }
        if let Some(hint) = &self.hint {
            write!(f, " (hint: {hint})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

/// Returns the candidate closest to `word` when it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_range_maps_to_line_and_column() {
        let src = "a = 1\nbb = [\n";
        let span = SourceSpan::from_byte_range(Path::new("x.toml"), src, 9..10);
        assert_eq!((span.line, span.col), (2, 4));
        assert_eq!(span.to_string(), "x.toml:2:4");
    }

    #[test]
    fn render_shows_caret_under_fault() {
        let d = Diagnostic::new("unknown step type", "`net.tcp_conect` is not a step type")
            .at(Some(SourceSpan::new("p.yaml", 2, 9, 14)))
            .with_hint("did you mean net.tcp_connect?");
        let text = d.render(Some("checks:\n  type: net.tcp_conect\n"));
        assert!(text.contains("--> p.yaml:2:9"), "{text}");
        assert!(text.contains("2 |   type: net.tcp_conect"), "{text}");
        assert!(text.contains("  |         ^^^^^^^^^^^^^^"), "{text}");
        assert!(
            text.contains("hint: did you mean net.tcp_connect?"),
            "{text}"
        );
    }

    #[test]
    fn spans_of_a_file_quote_its_redacted_text_without_reading_it() {
        let file = SourceFile::new(
            "gone.toml".into(),
            "a = 1\npassword = \"x\"\n".into(),
            |t| t.replace("\"x\"", "\"******\""),
        );
        let d = Diagnostic::new("bad", "m").at(Some(file.span_at(2, 1, 8)));
        let text = d.render_quoted();
        assert!(text.contains("2 | password = \"******\""), "{text}");
    }

    #[test]
    fn suggestion_only_for_close_words() {
        let c = ["metasrv_addrs", "timeout", "connect_timeout"];
        assert_eq!(did_you_mean("metasrv_adrs", c), Some("metasrv_addrs"));
        assert_eq!(did_you_mean("zzz", c), None);
    }
}
