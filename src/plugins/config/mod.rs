//! `config.*`: steps that look at the effective config itself.

mod inspect;
mod lint;

pub use inspect::{Inspect, InspectOutput, InspectParams};
pub use lint::{Lint, LintOutput, LintParams};

pub(super) static STEPS: &[&dyn super::DynStep] = &[&Lint, &Inspect];
