//! `etcd.*` steps (being written).

pub(super) static STEPS: &[&dyn super::DynStep] = &[];
