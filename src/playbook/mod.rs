//! Playbooks: the YAML model, loading with includes and source positions, static validation,
//! and the template/expression layer. This module reads files; it runs nothing.

pub mod load;
pub mod model;
pub mod schema;
mod schema_templates;
pub mod source;
pub mod template;
pub mod validate;

pub use load::{load_builtin, load_file, LoadedPlaybook, Located};
pub use template::Templates;
pub use validate::validate;
