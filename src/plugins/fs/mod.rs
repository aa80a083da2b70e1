//! `fs.*`: local directories a component writes to (data home, WAL, caches).

mod writable;

pub use writable::{Writable, WritableOutput, WritableParams};

pub(super) static STEPS: &[&dyn super::DynStep] = &[&Writable];
