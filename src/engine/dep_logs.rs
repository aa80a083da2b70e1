//! Log lines of dependency crates (OpenDAL, sqlx, tonic, hyper …) at WARN and above: never on
//! stderr at the default log level, they become detail lines of the check whose attempt
//! emitted them (`-v`), so a retry warning or a backtrace cannot land in the middle of a
//! report.

use std::fmt::Write as _;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::layer::{Context, Layer};

/// Longest detail line kept from one log event.
const MAX_LINE: usize = 240;
/// Most lines kept per attempt (a retry loop can log many).
const MAX_LINES: usize = 20;

/// The lines an attempt's dependency crates logged.
#[derive(Clone, Default)]
pub(crate) struct Collected(Arc<Mutex<Vec<String>>>);

impl Collected {
    /// The lines, as `dependency log: <target>: <message>` detail lines.
    pub(crate) fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().expect("dependency log lock"))
    }

    fn push(&self, line: String) {
        let mut lines = self.0.lock().expect("dependency log lock");
        if lines.len() < MAX_LINES && lines.last() != Some(&line) {
            lines.push(line);
        }
    }
}

tokio::task_local! {
    static CURRENT: Collected;
}

/// Runs `fut` with its dependency crates' WARN/ERROR events collected into `into`.
pub(crate) fn collect<F: Future>(into: Collected, fut: F) -> impl Future<Output = F::Output> {
    CURRENT.scope(into, fut)
}

/// The tracing layer that hands dependency crates' events to the attempt that emitted them;
/// events outside any attempt are dropped.
pub struct DependencyLogs;

impl DependencyLogs {
    /// Whether `target` is one of this tool's own modules.
    pub fn is_own(target: &str) -> bool {
        target.starts_with(env!("CARGO_CRATE_NAME"))
    }
}

impl<S: Subscriber> Layer<S> for DependencyLogs {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let normalized = event.normalized_metadata();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        if *meta.level() > Level::WARN || Self::is_own(meta.target()) {
            return;
        }
        let mut text = Message::default();
        event.record(&mut text);
        let first = text.0.lines().next().unwrap_or("").trim();
        let mut line = format!(
            "dependency log: {} {}: {first}",
            meta.level(),
            meta.target()
        );
        if line.len() > MAX_LINE {
            let cut = (0..=MAX_LINE)
                .rev()
                .find(|i| line.is_char_boundary(*i))
                .unwrap_or(0);
            line.truncate(cut);
            line.push('…');
        }
        let _ = CURRENT.try_with(|lines| lines.push(line));
    }
}

/// An event's message and its other fields (`log.*` bookkeeping fields left out).
#[derive(Default)]
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let name = field.name();
        if name.starts_with("log.") {
            return;
        }
        if name == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {name}={value:?}");
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else if !field.name().starts_with("log.") {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    #[tokio::test]
    async fn dependency_warnings_go_to_the_attempt_and_own_ones_do_not() {
        let subscriber = tracing_subscriber::registry().with(DependencyLogs);
        let _guard = tracing::subscriber::set_default(subscriber);
        let collected = Collected::default();
        collect(collected.clone(), async {
            tracing::warn!(target: "opendal::layers::retry", "will retry List\nBacktrace:\n 0: frame");
            tracing::warn!(target: "opendal::layers::retry", "will retry List\nBacktrace:\n 0: frame");
            tracing::info!(target: "hyper::proto", "chatter");
            tracing::warn!("our own warning");
        })
        .await;
        tracing::warn!(target: "sqlx::query", "outside any attempt");
        assert_eq!(
            collected.take(),
            ["dependency log: WARN opendal::layers::retry: will retry List"]
        );
    }
}
