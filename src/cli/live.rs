//! The live view of a run on a terminal: a spinner line per running check, replaced by the
//! check's result line when it ends, as `cargo test` and nextest show progress. It draws on
//! stderr and is cleared before the report is written, so the report (stdout) stays the same
//! whether or not anyone watched.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::engine::options::CheckObserver;
use crate::engine::result::CheckResult;
use crate::report::TextReporter;

/// Finished lines kept on screen at once; older ones give way (the report lists them all).
const FINISHED_SHOWN: usize = 12;

/// A [`CheckObserver`] drawing on a `MultiProgress`.
#[derive(Debug)]
pub struct LiveView {
    multi: MultiProgress,
    lines: TextReporter,
    running: Mutex<HashMap<String, ProgressBar>>,
    finished: Mutex<VecDeque<ProgressBar>>,
}

impl LiveView {
    pub fn new(multi: MultiProgress, color: bool) -> Self {
        Self {
            multi,
            lines: TextReporter {
                verbose: false,
                color,
            },
            running: Mutex::default(),
            finished: Mutex::default(),
        }
    }

    /// Removes every line the view drew (before the report is written).
    pub fn clear(&self) {
        self.running.lock().expect("live lock").clear();
        self.finished.lock().expect("live lock").clear();
        let _ = self.multi.clear();
    }

    fn key(run_id: &str, instance: &str) -> String {
        format!("{run_id}/{instance}")
    }

    fn prefix(node: Option<&str>) -> String {
        node.map(|n| format!("[{n}] ")).unwrap_or_default()
    }
}

impl CheckObserver for LiveView {
    fn started(&self, run_id: &str, node: Option<&str>, instance: &str, title: &str) {
        let style = ProgressStyle::with_template("  {spinner} {elapsed:>4}  {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let bar = self.multi.add(
            ProgressBar::new_spinner()
                .with_style(style)
                .with_message(format!("{}{title}", Self::prefix(node))),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        self.running
            .lock()
            .expect("live lock")
            .insert(Self::key(run_id, instance), bar);
    }

    fn finished(&self, run_id: &str, node: Option<&str>, result: &CheckResult) {
        let Some(bar) = self
            .running
            .lock()
            .expect("live lock")
            .remove(&Self::key(run_id, &result.instance))
        else {
            return;
        };
        bar.set_style(
            ProgressStyle::with_template("{wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        let line = format!("{}{}", Self::prefix(node), self.lines.check_line(result));
        bar.finish_with_message(line);
        let mut finished = self.finished.lock().expect("live lock");
        finished.push_back(bar);
        while finished.len() > FINISHED_SHOWN {
            if let Some(old) = finished.pop_front() {
                self.multi.remove(&old);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::result::Status;

    fn result(instance: &str) -> CheckResult {
        serde_json::from_value(serde_json::json!({
            "id": "c", "instance": instance, "title": "etcd answers", "status": "pass",
            "message": "ok", "step": "etcd.endpoint", "duration_ms": 12.0, "attempts": 1
        }))
        .unwrap()
    }

    #[test]
    fn a_finished_check_replaces_its_running_line_and_old_lines_give_way() {
        let multi = MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::hidden());
        let view = LiveView::new(multi, false);
        for i in 0..FINISHED_SHOWN + 3 {
            let instance = format!("c[{i}]");
            view.started("run", Some("dn-1"), &instance, "etcd answers");
            assert_eq!(view.running.lock().unwrap().len(), 1);
            let mut done = result(&instance);
            done.status = Status::Pass;
            view.finished("run", Some("dn-1"), &done);
            assert!(view.running.lock().unwrap().is_empty());
        }
        let finished = view.finished.lock().unwrap();
        assert_eq!(finished.len(), FINISHED_SHOWN);
        let last = finished.back().unwrap().message();
        assert!(last.starts_with("[dn-1] ✓ pass"), "{last}");
        assert!(last.ends_with("etcd answers: ok"), "{last}");
    }
}
