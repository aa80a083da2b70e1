//! greptime-self-test: a declarative, YAML-driven pre-flight check runner for GreptimeDB.
//!
//! Imports point one way only, left to right:
//! `notation → diag → config → plugins → playbook → inventory → engine → report → cli`
//! (`notation`, the address and connection-string parsers, imports nothing of the crate).

pub mod cli;
pub mod config;
pub mod diag;
pub mod engine;
pub mod inventory;
pub mod kubernetes;
pub(crate) mod notation;
pub mod playbook;
pub mod plugins;
pub mod report;
