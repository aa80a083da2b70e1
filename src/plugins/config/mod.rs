//! `config.*`: steps that look at the effective config itself.

mod lint;

pub use lint::{Lint, LintOutput, LintParams};

pub(super) static STEPS: &[&dyn super::DynStep] = &[&Lint];
