//! The engine: runs loaded playbooks against an effective config through the step registry.
//! It owns scheduling, timeouts, retries, cleanup, cancellation and secret masking; it knows
//! no specific plugin and no output format.

pub mod mask;
mod plan;
pub mod result;
pub mod run;
pub mod share;
