//! The first-answer deadline: how long a probe waits for a dependency's first answer before
//! judging it, and which kind of silence it met (refused, black-holed, accepted but silent, TLS
//! handshake stalled).
//!
//! A probe's first request goes through [`first_answer`]: the library call runs under the
//! deadline, and if it has not answered after a moment a *witness* connection to the same
//! endpoint watches the TCP and TLS handshakes, so a timeout can say which phase stalled. Healthy
//! dependencies answer before the witness starts and never see it.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use super::{human, ErrorKind, StepCx, StepError};

/// The first-answer deadline when neither `--answer-timeout` nor a check's `answer_timeout` sets
/// one.
pub const DEFAULT_ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the library call runs alone before the witness connects: healthy dependencies
/// answer well within it (so they never see a second connection), and it leaves most of even
/// a short deadline for the witness.
const WITNESS_DELAY: Duration = Duration::from_millis(250);

/// How long a probe waits for a dependency's first answer, and what set that limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerDeadline {
    pub limit: Duration,
    /// What set the limit, as the report names it (`--answer-timeout`, a config key …).
    pub set_by: String,
}

impl Default for AnswerDeadline {
    fn default() -> Self {
        Self {
            limit: DEFAULT_ANSWER_TIMEOUT,
            set_by: "the default first-answer deadline; `--answer-timeout` changes it".into(),
        }
    }
}

impl AnswerDeadline {
    /// A deadline from the run's `--answer-timeout`.
    pub fn from_run(limit: Duration) -> Self {
        Self {
            limit,
            set_by: "`--answer-timeout`".into(),
        }
    }

    /// A deadline from a check's own `answer_timeout`.
    pub fn from_check(limit: Duration) -> Self {
        Self {
            limit,
            set_by: "the check's `answer_timeout`".into(),
        }
    }

    /// The smaller of this deadline and the component's own timeout `key` (GreptimeDB gives up
    /// after it too, so waiting longer judges nothing GreptimeDB would see).
    pub fn capped_by(&self, key: &str, value: Duration) -> Self {
        if value < self.limit {
            Self {
                limit: value,
                set_by: format!("`{key}`, GreptimeDB's own limit"),
            }
        } else {
            self.clone()
        }
    }

    /// This deadline, cut to what is left of the check's `timeout` ([`StepCx::request_limit`])
    /// when that is shorter, so the step still names the silence.
    pub fn within_check(self, cx: &StepCx) -> Self {
        let left = cx.request_limit();
        if left < self.limit {
            Self {
                limit: left,
                set_by: "what is left of the check's `timeout`".into(),
            }
        } else {
            self
        }
    }

    /// `5s (the default first-answer deadline; …)`, for messages.
    pub fn describe(&self) -> String {
        format!("{} ({})", human(self.limit), self.set_by)
    }
}

/// Which kind of silence a dependency met a probe with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Silence {
    /// The connection was refused (RST): nothing listens there.
    Refused,
    /// No answer to the TCP connection at all: packets are dropped on the way or at the host.
    BlackHoled,
    /// The TCP connection was accepted, the request got no answer.
    AcceptedSilent,
    /// The TCP connection was accepted, the TLS handshake got no answer.
    TlsStalled,
}

impl Silence {
    /// The report's `metrics.no_answer`.
    pub fn as_str(self) -> &'static str {
        match self {
            Silence::Refused => "refused",
            Silence::BlackHoled => "black_holed",
            Silence::AcceptedSilent => "accepted_silent",
            Silence::TlsStalled => "tls_stalled",
        }
    }

    fn kind(self) -> ErrorKind {
        match self {
            Silence::Refused => ErrorKind::Unreachable,
            _ => ErrorKind::Timeout,
        }
    }

    fn advice(self) -> &'static str {
        match self {
            Silence::Refused => "nothing listens on that port: check the address and that the service runs",
            Silence::BlackHoled => "no SYN-ACK and no refusal came back: a firewall or security group drops the traffic, the route is wrong, or the host is down",
            Silence::AcceptedSilent => "the server (or a proxy or load balancer in front of it) took the connection but answers nothing: it is overloaded or stuck, see its logs",
            Silence::TlsStalled => "the port takes TCP connections but does not answer a TLS handshake: the server is stuck, or this port is not the TLS listener",
        }
    }
}

/// The endpoint a witness connects to while the library call waits.
#[derive(Debug, Clone)]
pub struct Witness {
    /// `host:port`.
    pub addr: String,
    /// Whether the library speaks TLS on the connection (the witness then also handshakes).
    pub tls: bool,
}

impl Witness {
    pub fn plain(addr: impl Into<String>) -> Self {
        Self {
            addr: addr.into(),
            tls: false,
        }
    }
    pub fn tls(addr: impl Into<String>, tls: bool) -> Self {
        Self {
            addr: addr.into(),
            tls,
        }
    }
}

/// A dependency that did not answer within its first-answer deadline.
#[derive(Debug, Clone)]
pub struct NoAnswer {
    /// `None` when the witness could not tell (it did not get to connect in time).
    pub silence: Option<Silence>,
    pub endpoint: String,
    pub deadline: AnswerDeadline,
}

impl NoAnswer {
    /// The verdict: `what` is the request that got no answer (`ListObjects on the bucket`),
    /// `greptimedb` says what GreptimeDB itself would do (which key sets its wait).
    pub fn into_error(self, what: &str, greptimedb: &str) -> StepError {
        let within = self.deadline.describe();
        let endpoint = &self.endpoint;
        let message = match self.silence {
            Some(Silence::Refused) => format!("{endpoint} refused the connection ({what})"),
            Some(Silence::BlackHoled) => format!(
                "{endpoint} did not answer the TCP connection within {within}: black-holed ({what})"
            ),
            Some(Silence::AcceptedSilent) => format!(
                "{endpoint} accepted the connection but sent no answer to {what} within {within}"
            ),
            Some(Silence::TlsStalled) => format!(
                "{endpoint} accepted the connection but did not answer the TLS handshake within {within} ({what})"
            ),
            None => format!("{endpoint} sent no answer to {what} within {within}"),
        };
        let advice = self
            .silence
            .map(Silence::advice)
            .unwrap_or("the server is slow, stuck or unreachable");
        StepError {
            kind: self.silence.map_or(ErrorKind::Timeout, Silence::kind),
            message,
            hint: Some(format!("{advice}; {greptimedb}")),
            silence: self.silence,
        }
    }
}

/// Runs `request` (a probe's first request) under `deadline`; when it has not answered in time,
/// says which kind of silence the witness saw at `witness`. The request's own errors pass
/// through untouched, and it is never retried here.
pub async fn first_answer<T>(
    deadline: &AnswerDeadline,
    witness: Option<Witness>,
    request: impl Future<Output = T>,
) -> Result<T, NoAnswer> {
    let started = Instant::now();
    let phase = Arc::new(Mutex::new(Phase::NotStarted));
    let watcher = witness.clone().map(|w| {
        let phase = phase.clone();
        let delay = WITNESS_DELAY.min(deadline.limit / 4);
        async move {
            tokio::time::sleep(delay).await;
            watch(&w, &phase).await;
            std::future::pending::<()>().await
        }
    });
    let watcher = async move {
        match watcher {
            Some(w) => w.await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        answered = tokio::time::timeout_at(started + deadline.limit, request) => match answered {
            Ok(value) => Ok(value),
            Err(_) => Err(NoAnswer {
                silence: phase.lock().expect("phase lock").silence(),
                endpoint: witness.map(|w| w.addr).unwrap_or_else(|| "the server".into()),
                deadline: deadline.clone(),
            }),
        },
        _ = watcher => unreachable!("the witness never ends"),
    }
}

/// How far the witness got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    NotStarted,
    Connecting,
    Refused,
    /// Connected; for TLS, the ClientHello is out and no answer came yet.
    Connected,
    /// The server answered (a TLS handshake result, good or bad, or a plaintext connection
    /// that is simply open).
    Answered,
    /// The witness failed for another reason (DNS, no route): the library's own error says more.
    Other,
}

impl Phase {
    fn silence(self) -> Option<Silence> {
        match self {
            Phase::NotStarted | Phase::Other => None,
            Phase::Connecting => Some(Silence::BlackHoled),
            Phase::Refused => Some(Silence::Refused),
            Phase::Connected => Some(Silence::TlsStalled),
            Phase::Answered => Some(Silence::AcceptedSilent),
        }
    }
}

async fn watch(witness: &Witness, phase: &Mutex<Phase>) {
    let set = |p| *phase.lock().expect("phase lock") = p;
    set(Phase::Connecting);
    let stream = match tokio::net::TcpStream::connect(&witness.addr).await {
        Ok(stream) => stream,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return set(Phase::Refused),
        Err(_) => return set(Phase::Other),
    };
    if !witness.tls {
        return set(Phase::Answered);
    }
    set(Phase::Connected);
    // Any handshake result (even a certificate this empty trust store refuses) means the
    // server answered the ClientHello.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    let host = witness
        .addr
        .rsplit_once(':')
        .map_or(witness.addr.as_str(), |(h, _)| h)
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let Ok(name) = rustls::pki_types::ServerName::try_from(host) else {
        return set(Phase::Other);
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let _ = connector.connect(name, stream).await;
    set(Phase::Answered);
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    async fn silent_listener() -> (String, tokio::task::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let held = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                open.push(socket);
            }
        });
        (addr, held)
    }

    fn short() -> AnswerDeadline {
        AnswerDeadline::from_run(Duration::from_millis(600))
    }

    #[tokio::test]
    async fn an_answer_in_time_passes_through() {
        let got = first_answer(&short(), None, async { 7 }).await.unwrap();
        assert_eq!(got, 7);
    }

    #[tokio::test]
    async fn a_silent_plaintext_server_is_accepted_silent() {
        let (addr, _held) = silent_listener().await;
        let started = Instant::now();
        let err = first_answer(
            &short(),
            Some(Witness::plain(&addr)),
            std::future::pending::<()>(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.silence, Some(Silence::AcceptedSilent));
        assert!(started.elapsed() < Duration::from_millis(900));
        let e = err.into_error("the request", "GreptimeDB waits 3s (`x.timeout`)");
        assert_eq!(e.kind, ErrorKind::Timeout);
        assert!(
            e.message.contains("accepted the connection"),
            "{}",
            e.message
        );
        assert!(
            e.message.contains("600ms (`--answer-timeout`)"),
            "{}",
            e.message
        );
        assert!(e.hint.unwrap().contains("`x.timeout`"));
    }

    #[tokio::test]
    async fn a_silent_server_spoken_to_in_tls_is_a_stalled_handshake() {
        let (addr, _held) = silent_listener().await;
        let err = first_answer(
            &short(),
            Some(Witness::tls(&addr, true)),
            std::future::pending::<()>(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.silence, Some(Silence::TlsStalled));
    }

    #[tokio::test]
    async fn a_closed_port_is_refused() {
        let addr = {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            l.local_addr().unwrap().to_string()
        };
        let err = first_answer(
            &short(),
            Some(Witness::plain(&addr)),
            std::future::pending::<()>(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.silence, Some(Silence::Refused));
        assert_eq!(err.into_error("x", "y").kind, ErrorKind::Unreachable);
    }

    #[test]
    fn a_smaller_component_timeout_caps_the_deadline_and_is_named() {
        let d = AnswerDeadline::default().capped_by("meta_client.timeout", Duration::from_secs(3));
        assert_eq!(d.limit, Duration::from_secs(3));
        assert!(d.describe().contains("`meta_client.timeout`"));
        let kept = AnswerDeadline::default()
            .capped_by("storage.http_client.timeout", Duration::from_secs(30));
        assert_eq!(kept, AnswerDeadline::default());
    }
}
