//! Dependencies that never answer, on 127.0.0.1, for the end-to-end dead-path tests
//! (`tests/dead_path.rs`): plain threads, so the tests need no async runtime while the binary
//! runs in a child process.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// What a [`Mute`] server does with a connection it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manner {
    /// Holds it open and never sends a byte: a hung server, or (spoken to in TLS) a port that
    /// never answers the ClientHello.
    Silent,
    /// Reads PostgreSQL's 8-byte SSLRequest, answers `S` (TLS agreed), then sends nothing: the
    /// TLS handshake that follows stalls.
    PgTlsThenSilent,
}

/// A listener on 127.0.0.1 that accepts every connection and answers nothing (see [`Manner`]).
/// It holds every connection until dropped, and counts them.
pub struct Mute {
    /// `127.0.0.1:port`.
    pub addr: String,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Mute {
    pub fn start(manner: Manner) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (accepted, stop) = (accepted.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut held: Vec<TcpStream> = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((mut socket, _)) => {
                            accepted.fetch_add(1, Ordering::Relaxed);
                            if manner == Manner::PgTlsThenSilent {
                                agree_to_tls(&mut socket);
                            }
                            held.push(socket);
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(5))
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        Self {
            addr,
            accepted,
            stop,
            thread: Some(thread),
        }
    }

    /// `Manner::Silent`.
    pub fn silent() -> Self {
        Self::start(Manner::Silent)
    }

    /// The port alone.
    pub fn port(&self) -> u16 {
        self.addr.rsplit_once(':').unwrap().1.parse().unwrap()
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for Mute {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Answers a PostgreSQL SSLRequest with `S`, within a second; anything else gets nothing.
fn agree_to_tls(socket: &mut TcpStream) {
    let _ = socket.set_nonblocking(false);
    let _ = socket.set_read_timeout(Some(Duration::from_secs(1)));
    let mut request = [0u8; 8];
    if socket.read_exact(&mut request).is_ok() && request == [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f] {
        let _ = socket.write_all(b"S");
    }
}
