//! stub
pub(super) static STEPS: &[&dyn super::DynStep] = &[];
