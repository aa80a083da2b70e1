//! [`Runner`]: the state of one run that its checks share. Its methods live with their
//! concern: `graph.rs` schedules checks, `instance.rs` runs one instance with retries,
//! `judge.rs` turns an attempt's end into a result; `attempt.rs` executes the attempts.

use super::attempt::AttemptCx;
use super::mask::Masker;
use super::options::RunOptions;
use super::reach::Reach;
use super::scope::Scope;
use crate::playbook::Templates;

/// One run's scheduler state.
pub(super) struct Runner<'a> {
    pub templates: &'a Templates,
    pub masker: &'a Masker,
    pub reach: &'a Reach,
    pub scope: &'a Scope,
    pub opts: &'a RunOptions,
    pub attempts: AttemptCx<'a>,
}
