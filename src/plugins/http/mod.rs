//! `http.*`: plain HTTP(S) requests, e.g. a component's `/health` or an object-store endpoint.

mod request;

pub use request::{Request, RequestOutput, RequestParams};

pub(super) static STEPS: &[&dyn super::DynStep] = &[&Request];
