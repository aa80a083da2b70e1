//! The engine: runs loaded playbooks against an effective config through the step registry.
//! It owns scheduling, timeouts, retries, cleanup, cancellation and secret masking; it knows
//! no specific plugin and no output format.
//!
//! Modules, each depending only on those listed before it: `result`, `mask`, `attempt` (one
//! attempt of a step and its cleanup), `share` (attempts shared by the runs of a session),
//! `reach` (`--resolve` redirects and in-cluster names), `options` (a run's settings), `scope` (vars and the template context), `runner` (a run's
//! state), `judge` (an attempt's end to a result), `instance` (retries), `graph` (dependencies
//! and fan-out), `run` (the [`run::Engine`] and the report), `plan` (`render`, running nothing).

mod attempt;
pub mod dep_logs;
mod graph;
mod instance;
mod judge;
pub mod mask;
pub mod options;
mod plan;
pub mod reach;
pub mod result;
pub mod run;
mod runner;
mod scope;
pub mod share;
