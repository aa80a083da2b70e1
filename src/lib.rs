//! greptime-self-test: a declarative, YAML-driven pre-flight check runner for GreptimeDB.
//!
//! Imports point one way only, left to right:
//! `diag → config → plugins → playbook → inventory → engine → report → cli`.

pub mod cli;
pub mod config;
pub mod diag;
pub mod engine;
pub mod inventory;
pub mod playbook;
pub mod plugins;
pub mod report;
