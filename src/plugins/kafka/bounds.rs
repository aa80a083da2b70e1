//! Time bounds of the requests a step sends: the configured `wal.connect_timeout` or
//! `wal.timeout`, cut short by the step's deadline so that the step names the request that hung.

use std::time::Duration;

use crate::plugins::{human, StepCx};

/// Time a request may take: what is left before the deadline, less a margin so that the step
/// reports which request hung before the engine gives up on the whole step.
pub(crate) fn request_limit(cx: &StepCx) -> Duration {
    let remaining = cx.remaining();
    remaining.saturating_sub((remaining / 10).min(Duration::from_millis(500)))
}

/// The bound on one operation: the configured timeout, or what is left before the deadline
/// when that is less.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bound {
    pub limit: Duration,
    key: &'static str,
    configured: Duration,
    by_deadline: bool,
}

impl Bound {
    pub fn new(configured: Duration, key: &'static str, cx: &StepCx) -> Self {
        let left = request_limit(cx);
        Self {
            limit: configured.min(left),
            key,
            configured,
            by_deadline: left < configured,
        }
    }

    /// `within `wal.timeout` (3s)` or `before the check's deadline (1s 200ms)`.
    pub fn describe(&self) -> String {
        if self.by_deadline {
            format!("before the check's deadline ({} left)", human(self.limit))
        } else {
            format!("within `{}` ({})", self.key, human(self.configured))
        }
    }
}
