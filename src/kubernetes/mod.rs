//! Kubernetes input: a `GreptimeDBCluster` (and its Secrets) rendered into each pod's config
//! and command line as the greptimedb-operator renders them.

pub mod rendered;

use std::path::PathBuf;

use crate::diag::Diagnostic;
use rendered::RenderedCluster;

/// What `kubernetes -f` was given.
#[derive(Debug, Clone, Default)]
pub struct Input {
    /// YAML streams, each with the name to show in errors (a path, or `<stdin>`).
    pub documents: Vec<(String, String)>,
    /// `--secret NAME=FILE`: Secrets supplied outside the streams. The file holds the Secret's
    /// keys as a YAML mapping (as `stringData`), or a whole `Secret` manifest.
    pub secret_files: Vec<(String, PathBuf)>,
}

/// Renders the one `GreptimeDBCluster` of `input` as the operator would.
pub fn render(input: &Input) -> Result<RenderedCluster, Diagnostic> {
    let _ = input;
    Err(Diagnostic::new(
        "kubernetes input is not supported yet",
        "the renderer is being written",
    ))
}
