//! A playbook file's text and a map from YAML paths (`checks[3].step.type`) to positions.
//!
//! serde_yaml gives positions only for syntax and type errors. Semantic errors found later
//! (unknown step type, duplicate id, bad template) name a path; this map turns the path into
//! `file:line:col`. It is built from marked-yaml's spanned parse; a file marked-yaml cannot
//! read (it rejects anchors and aliases) still loads, its errors just carry no position.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use marked_yaml::Node;
use serde::de::DeserializeOwned;

use crate::diag::{Diagnostic, SourceFile, SourceSpan};

/// One loaded YAML file (playbook, fragment, inventory) with the positions of its nodes.
#[derive(Debug)]
pub struct YamlFile {
    source: SourceFile,
    positions: HashMap<String, (usize, usize, usize)>,
}

impl YamlFile {
    /// `name` is shown in diagnostics: the path as given, or `checks/<name>.yaml` for built-ins.
    pub fn new(name: PathBuf, text: String) -> Self {
        let mut positions = HashMap::new();
        if let Ok(root) = marked_yaml::parse_yaml(0, &text) {
            collect(&root, String::new(), &mut positions);
        }
        Self {
            source: SourceFile::new(name, text, crate::config::redact_yaml_source),
            positions,
        }
    }

    /// The name shown in diagnostics.
    pub fn name(&self) -> &Path {
        &self.source.name
    }

    pub fn text(&self) -> &str {
        &self.source.text
    }

    /// The span of the node at `path`, or of its nearest ancestor that has one.
    pub fn span(&self, path: &str) -> Option<SourceSpan> {
        let mut path = path;
        loop {
            if let Some(&(line, col, len)) = self.positions.get(path) {
                return Some(self.source.span_at(line, col, len));
            }
            path = parent(path)?;
        }
    }

    /// Deserializes the whole file; a syntax or shape error becomes a diagnostic `title` at the
    /// line and column serde_yaml reports, with `hint`.
    pub fn parse<T: DeserializeOwned>(&self, title: &str, hint: &str) -> Result<T, Diagnostic> {
        serde_yaml::from_str(self.text()).map_err(|e| {
            let span = e
                .location()
                .map(|l| self.source.span_at(l.line(), l.column(), 1));
            let message = e.to_string();
            let message = message.split(" at line ").next().unwrap_or(&message);
            Diagnostic::new(title, message).at(span).with_hint(hint)
        })
    }

    /// The span of the *key* of the mapping entry at `path` (e.g. an unknown parameter name).
    pub fn key_span(&self, path: &str) -> Option<SourceSpan> {
        self.span(&format!("{path}#key"))
            .or_else(|| self.span(path))
    }
}

fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    let cut = path.rfind(['.', '[', '#']).unwrap_or(0);
    Some(&path[..cut])
}

fn collect(node: &Node, path: String, out: &mut HashMap<String, (usize, usize, usize)>) {
    if let Some(start) = node.span().start() {
        let len = match node {
            Node::Scalar(s) => s.as_str().lines().next().map_or(1, |l| l.chars().count()),
            _ => 1,
        };
        out.insert(path.clone(), (start.line(), start.column(), len));
    }
    match node {
        Node::Mapping(map) => {
            for (key, value) in map.iter() {
                let child = if path.is_empty() {
                    key.as_str().to_string()
                } else {
                    format!("{path}.{}", key.as_str())
                };
                if let Some(start) = key.span().start() {
                    out.insert(
                        format!("{child}#key"),
                        (start.line(), start.column(), key.as_str().chars().count()),
                    );
                }
                collect(value, child, out);
            }
        }
        Node::Sequence(seq) => {
            for (i, value) in seq.iter().enumerate() {
                collect(value, format!("{path}[{i}]"), out);
            }
        }
        Node::Scalar(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_lines_and_columns() {
        let text = "version: 1\nchecks:\n  - id: a\n    step:\n      type: net.tcp_conect\n";
        let file = YamlFile::new("p.yaml".into(), text.into());
        let span = file.span("checks[0].step.type").unwrap();
        assert_eq!((span.line, span.col, span.len), (5, 13, 14));
        let key = file.key_span("checks[0].step").unwrap();
        assert_eq!((key.line, key.col), (4, 5));
        // unknown paths fall back to the closest ancestor
        let up = file.span("checks[0].step.with.address").unwrap();
        assert_eq!(up.line, 5);
    }
}
