//! The first-answer witness for PostgreSQL: [`answer::first_answer`] with a witness that
//! speaks PostgreSQL's first words.
//!
//! A PostgreSQL client starts TLS only after a plaintext SSLRequest the server answers with `S`
//! (or `N`), so `answer`'s TLS witness (a ClientHello straight after the TCP handshake) would
//! judge every PostgreSQL server "TLS handshake stalled", and its plain witness cannot tell a
//! server that stalls the TLS handshake from one that never answers. This witness connects,
//! sends an SSLRequest, and when the server says `S` and the connection would use TLS, sends a
//! ClientHello: which of these got no answer names the silence.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::plugins::answer::{first_answer, AnswerDeadline, NoAnswer, Silence};

/// How long the connection attempt runs alone before the witness connects (as in `answer`):
/// healthy servers answer well within it and never see the witness.
const WITNESS_DELAY: Duration = Duration::from_millis(250);

/// PostgreSQL's SSLRequest: length 8, then the request code 80877103 (1234 << 16 | 5679).
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// Runs `request` (one connection attempt) under `deadline`; when it has not connected in
/// time, says which kind of silence the witness saw at `addr` (`host:port`; `None` for a Unix
/// socket, then the silence is unknown). `tls`: whether the attempt negotiates TLS. The
/// attempt's own errors pass through untouched, and nothing is retried.
pub(super) async fn pg_first_answer<T>(
    deadline: &AnswerDeadline,
    addr: Option<&str>,
    tls: bool,
    request: impl Future<Output = T>,
) -> Result<T, NoAnswer> {
    let phase = Mutex::new(Phase::NotStarted);
    let watcher = async {
        if let Some(addr) = addr {
            tokio::time::sleep(WITNESS_DELAY.min(deadline.limit / 4)).await;
            watch(addr, tls, &phase).await;
        }
        std::future::pending::<()>().await
    };
    tokio::select! {
        answered = first_answer(deadline, None, request) => answered.map_err(|mut no| {
            no.silence = phase.lock().expect("phase lock").silence();
            if let Some(addr) = addr {
                no.endpoint = addr.to_string();
            }
            no
        }),
        _ = watcher => unreachable!("the witness never ends"),
    }
}

/// How far the witness got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    NotStarted,
    Connecting,
    Refused,
    /// Connected, the SSLRequest sent, no answer yet.
    Connected,
    /// The server said `S`; the ClientHello is out, no answer yet.
    TlsHandshake,
    /// The server answered everything the witness asked: the silence comes later (start-up,
    /// authentication).
    Answered,
    /// The witness failed for another reason (DNS, no route): the attempt's own error says more.
    Other,
}

impl Phase {
    fn silence(self) -> Option<Silence> {
        match self {
            Phase::NotStarted | Phase::Other => None,
            Phase::Connecting => Some(Silence::BlackHoled),
            Phase::Refused => Some(Silence::Refused),
            Phase::Connected | Phase::Answered => Some(Silence::AcceptedSilent),
            Phase::TlsHandshake => Some(Silence::TlsStalled),
        }
    }
}

async fn watch(addr: &str, tls: bool, phase: &Mutex<Phase>) {
    let set = |p| *phase.lock().expect("phase lock") = p;
    set(Phase::Connecting);
    let mut stream = match TcpStream::connect(addr).await {
        Ok(stream) => stream,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return set(Phase::Refused),
        Err(_) => return set(Phase::Other),
    };
    set(Phase::Connected);
    if stream.write_all(&SSL_REQUEST).await.is_err() {
        // A connection closed under the request is an answer of a kind.
        return set(Phase::Answered);
    }
    let mut reply = [0u8; 1];
    match stream.read(&mut reply).await {
        Ok(1) if reply[0] == b'S' && tls => {}
        _ => return set(Phase::Answered),
    }
    set(Phase::TlsHandshake);
    // Any handshake result (even a certificate this empty trust store refuses) means the
    // server answered the ClientHello.
    let host = addr
        .rsplit_once(':')
        .map_or(addr, |(host, _)| host)
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let name = rustls::pki_types::ServerName::try_from(host)
        .unwrap_or_else(|_| rustls::pki_types::ServerName::try_from("localhost").expect("a name"));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let Ok(builder) =
        rustls::ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions()
    else {
        return set(Phase::Other);
    };
    let config = builder
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let _ = connector.connect(name, stream).await;
    set(Phase::Answered);
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    fn short() -> AnswerDeadline {
        AnswerDeadline::from_run(Duration::from_millis(600))
    }

    /// A server that accepts and runs `answer` on each connection, holding it open.
    async fn server<F, Fut>(answer: F) -> String
    where
        F: Fn(TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(answer(socket));
            }
        });
        addr
    }

    async fn hold(socket: TcpStream) {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(socket);
    }

    async fn says_s_then_stalls(mut socket: TcpStream) {
        let mut request = [0u8; 8];
        if socket.read_exact(&mut request).await.is_ok() && request == SSL_REQUEST {
            let _ = socket.write_all(b"S").await;
        }
        hold(socket).await;
    }

    async fn silence(addr: &str, tls: bool) -> Option<Silence> {
        pg_first_answer(&short(), Some(addr), tls, std::future::pending::<()>())
            .await
            .unwrap_err()
            .silence
    }

    #[tokio::test]
    async fn a_server_that_never_answers_the_ssl_request_is_accepted_silent() {
        let addr = server(hold).await;
        assert_eq!(silence(&addr, true).await, Some(Silence::AcceptedSilent));
    }

    #[tokio::test]
    async fn a_server_that_agrees_to_tls_and_stalls_the_handshake_is_tls_stalled() {
        let addr = server(says_s_then_stalls).await;
        assert_eq!(silence(&addr, true).await, Some(Silence::TlsStalled));
        // Without TLS the attempt never gets to the handshake: the stall is in the start-up.
        assert_eq!(silence(&addr, false).await, Some(Silence::AcceptedSilent));
    }

    #[tokio::test]
    async fn an_answer_in_time_passes_through_and_a_socket_has_no_witness() {
        let addr = server(hold).await;
        assert_eq!(
            pg_first_answer(&short(), Some(&addr), true, async { 7 })
                .await
                .unwrap(),
            7
        );
        let no = pg_first_answer(&short(), None, true, std::future::pending::<()>())
            .await
            .unwrap_err();
        assert_eq!(no.silence, None);
    }
}
