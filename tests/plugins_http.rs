//! `http.request` against hand-written HTTP/1.1 responders on 127.0.0.1.

use std::net::SocketAddr;
use std::time::Duration;

use crate::common;

use common::steps::{black_hole, closed_port, run_step, silent_listener, TestCx};
use greptime_self_test::config::Component;
use greptime_self_test::plugins::answer::{AnswerDeadline, Silence};
use greptime_self_test::plugins::{ErrorKind, StepError, StepOutput};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Runs `http.request` against an empty frontend config, with `budget` until its deadline.
async fn run(params: Value, budget: Duration) -> Result<StepOutput, StepError> {
    let cx = TestCx::new(Component::Frontend, "http-test")
        .budget(budget)
        .build();
    run_step("http.request", params, &cx).await
}

/// Runs `http.request` with a 10 s budget and a first-answer deadline of `answer`; returns the
/// result and how long it took.
async fn run_answering(
    params: Value,
    answer: Duration,
) -> (Result<StepOutput, StepError>, Duration) {
    let cx = TestCx::new(Component::Frontend, "http-test")
        .budget(Duration::from_secs(10))
        .build()
        .with_answer(AnswerDeadline::from_run(answer));
    let started = Instant::now();
    let result = run_step("http.request", params, &cx).await;
    (result, started.elapsed())
}

/// Asserts the step was judged within the deadline `limit` (20% and 0.5 s of slack).
fn within(took: Duration, limit: Duration, what: &str) {
    let bound = limit.mul_f64(1.2) + Duration::from_millis(500);
    assert!(took <= bound, "{what}: took {took:?}, more than {bound:?}");
}

/// What the responder saw of one request.
#[derive(Debug)]
struct Seen {
    head: String,
    body: Vec<u8>,
}

/// Reads one request (head and `content-length` body). `None` when the client sent something
/// that is not HTTP (e.g. a TLS ClientHello).
async fn read_request(stream: &mut TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf[0] == 0x16 {
            return None;
        }
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Seen { head, body })
}

/// Serves `respond(path)` to every connection; reports each request on the channel.
async fn serve(respond: fn(&str) -> Vec<u8>) -> (SocketAddr, mpsc::UnboundedReceiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let response = match read_request(&mut stream).await {
                    Some(seen) => {
                        let path = seen.head.split(' ').nth(1).unwrap_or("/").to_string();
                        let _ = tx.send(seen);
                        respond(&path)
                    }
                    None => b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n".to_vec(),
                };
                let _ = stream.write_all(&response).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (addr, rx)
}

fn response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

fn routes(path: &str) -> Vec<u8> {
    match path {
        "/health" => response(
            "200 OK",
            &[
                ("Content-Type", "application/json"),
                ("X-Greptime", "a"),
                ("X-Greptime", "b"),
            ],
            br#"{"status":"ok","nodes":[1,2]}"#,
        ),
        "/down" => response(
            "503 Service Unavailable",
            &[("content-type", "text/plain")],
            b"not ready",
        ),
        "/big" => response(
            "200 OK",
            &[("content-type", "application/json")],
            &[b'['; 100 * 1024],
        ),
        "/old" => response("302 Found", &[("location", "/health")], b""),
        _ => response("404 Not Found", &[], b""),
    }
}

#[tokio::test]
async fn ok_with_json_body() {
    let (addr, _seen) = serve(routes).await;
    let out = run(
        json!({"url": format!("http://{addr}/health")}),
        Duration::from_secs(5),
    )
    .await
    .expect("200");
    let v = &out.value;
    assert_eq!(v["status"], 200);
    assert_eq!(v["url"], format!("http://{addr}/health"));
    assert_eq!(v["headers"]["content-type"], "application/json");
    assert_eq!(
        v["headers"]["x-greptime"], "a, b",
        "repeated headers are joined"
    );
    assert_eq!(v["json"]["status"], "ok");
    assert_eq!(v["json"]["nodes"], json!([1, 2]));
    assert_eq!(v["body_truncated"], false);
    assert!(v["elapsed_ms"].as_f64().unwrap() > 0.0);
}

#[tokio::test]
async fn sends_method_headers_and_body() {
    let (addr, mut seen) = serve(routes).await;
    let out = run(
        json!({
            "url": format!("http://{addr}/health"),
            "method": "post",
            "headers": {"X-Probe": "self-test", "content-type": "text/plain"},
            "body": "hello"
        }),
        Duration::from_secs(5),
    )
    .await
    .expect("200");
    assert_eq!(out.value["status"], 200);
    let request = seen.recv().await.expect("the server saw the request");
    assert!(
        request.head.starts_with("POST /health HTTP/1.1\r\n"),
        "{}",
        request.head
    );
    assert!(
        request
            .head
            .to_ascii_lowercase()
            .contains("x-probe: self-test"),
        "{}",
        request.head
    );
    assert_eq!(request.body, b"hello");
}

#[tokio::test]
async fn non_2xx_is_an_output_not_an_error() {
    let (addr, _seen) = serve(routes).await;
    let out = run(
        json!({"url": format!("http://{addr}/down")}),
        Duration::from_secs(5),
    )
    .await
    .expect("503 is data");
    assert_eq!(out.value["status"], 503);
    assert_eq!(out.value["body"], "not ready");
    assert_eq!(out.value["json"], Value::Null);
}

#[tokio::test]
async fn redirects_are_reported_unless_followed() {
    let (addr, _seen) = serve(routes).await;
    let url = format!("http://{addr}/old");
    let out = run(json!({ "url": url }), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(out.value["status"], 302);
    assert_eq!(out.value["headers"]["location"], "/health");

    let out = run(
        json!({"url": url, "follow_redirects": true}),
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert_eq!(out.value["status"], 200);
    assert_eq!(out.value["url"], format!("http://{addr}/health"));
}

#[tokio::test]
async fn long_bodies_are_cut_at_64_kib() {
    let (addr, _seen) = serve(routes).await;
    let out = run(
        json!({"url": format!("http://{addr}/big")}),
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert_eq!(out.value["body"].as_str().unwrap().len(), 64 * 1024);
    assert_eq!(out.value["body_truncated"], true);
    assert_eq!(out.value["json"], Value::Null, "a cut body is not parsed");
}

/// A check's `timeout` shorter than the first-answer deadline: the step is judged before the
/// check's deadline, accepted-but-silent, naming what set the wait.
#[tokio::test]
async fn hung_server_ends_by_the_deadline_with_timeout() {
    let silent = silent_listener().await;
    let budget = Duration::from_millis(800);
    let started = Instant::now();
    let result = tokio::time::timeout(
        budget + Duration::from_millis(400),
        run(
            json!({"url": format!("http://{}/health", silent.addr)}),
            budget,
        ),
    )
    .await
    .expect("the step ended by its deadline");
    let err = result.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout, "{err:?}");
    assert_eq!(err.silence, Some(Silence::AcceptedSilent), "{err:?}");
    let says = format!(
        "{} accepted the connection but sent no answer to GET /health within",
        silent.addr
    );
    assert!(err.message.contains(&says), "{}", err.message);
    assert!(
        err.message
            .contains("(what is left of the check's `timeout`)"),
        "{}",
        err.message
    );
    assert!(started.elapsed() >= budget - Duration::from_millis(200));
}

/// The first-answer deadline judges a server that accepts and never answers, long before the
/// check's own timeout, and says which setting set the wait.
#[tokio::test]
async fn silent_server_is_accepted_silent_within_the_answer_deadline() {
    let silent = silent_listener().await;
    let (result, took) = run_answering(
        json!({"url": format!("http://{}/health", silent.addr)}),
        Duration::from_secs(1),
    )
    .await;
    within(took, Duration::from_secs(1), "silent");
    let err = result.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout, "{err:?}");
    assert_eq!(err.silence, Some(Silence::AcceptedSilent), "{err:?}");
    assert!(
        err.message
            .contains("sent no answer to GET /health within 1s (`--answer-timeout`)"),
        "{}",
        err.message
    );
    assert!(err.hint.unwrap().contains("`answer_timeout`"));
}

/// `https://` to a port that takes the connection and never answers the handshake.
#[tokio::test]
async fn silent_https_server_is_a_stalled_tls_handshake() {
    let silent = silent_listener().await;
    let (result, took) = run_answering(
        json!({"url": format!("https://{}/health", silent.addr)}),
        Duration::from_secs(1),
    )
    .await;
    within(took, Duration::from_secs(1), "TLS stalled");
    let err = result.unwrap_err();
    assert_eq!(err.silence, Some(Silence::TlsStalled), "{err:?}");
    assert!(
        err.message
            .contains("accepted the connection but did not answer the TLS handshake within 1s"),
        "{}",
        err.message
    );
}

/// A server whose SYNs are dropped: neither SYN-ACK nor RST.
#[tokio::test]
async fn black_holed_server_is_judged_black_holed() {
    let hole = black_hole().await;
    let (result, took) = run_answering(
        json!({"url": format!("http://{}/health", hole.addr)}),
        Duration::from_secs(1),
    )
    .await;
    within(took, Duration::from_secs(1), "black-holed");
    let err = result.unwrap_err();
    assert_eq!(err.silence, Some(Silence::BlackHoled), "{err:?}");
    assert!(
        err.message.contains(&format!(
            "{} did not answer the TCP connection within 1s (`--answer-timeout`): black-holed",
            hole.addr
        )),
        "{}",
        err.message
    );
}

/// The status line and headers came in time, the body stalls: the first answer came, so the
/// check's `timeout` (not the answer deadline) ends the wait, and no silence is claimed.
#[tokio::test]
async fn a_stalled_body_is_bounded_by_the_checks_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut stream, _)) = listener.accept().await {
            let _ = read_request(&mut stream).await;
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial")
                .await;
            held.push(stream);
        }
    });
    let cx = TestCx::new(Component::Frontend, "http-test")
        .budget(Duration::from_millis(1500))
        .build()
        .with_answer(AnswerDeadline::from_run(Duration::from_millis(500)));
    let started = Instant::now();
    let err = run_step(
        "http.request",
        json!({"url": format!("http://{addr}/health")}),
        &cx,
    )
    .await
    .unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(1000), "{err:?}");
    assert_eq!(err.kind, ErrorKind::Timeout, "{err:?}");
    assert_eq!(err.silence, None, "{err:?}");
    assert!(
        err.message.contains("did not finish within"),
        "{}",
        err.message
    );
    server.abort();
}

#[tokio::test]
async fn refused_is_unreachable() {
    let port = closed_port();
    let err = run(
        json!({"url": format!("http://127.0.0.1:{port}/health")}),
        Duration::from_secs(5),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unreachable, "{err:?}");
    assert_eq!(err.silence, Some(Silence::Refused), "{err:?}");
    assert!(err
        .hint
        .unwrap()
        .contains(&format!("nothing listens on 127.0.0.1:{port}")));
}

#[tokio::test]
async fn unresolvable_host_is_unreachable() {
    let err = run(
        json!({"url": "http://no-such-host.invalid:4000/health"}),
        Duration::from_secs(10),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err.kind, ErrorKind::Unreachable | ErrorKind::Timeout),
        "{err:?}"
    );
    if err.kind == ErrorKind::Unreachable {
        assert!(
            err.message
                .contains("cannot resolve `no-such-host.invalid`"),
            "{}",
            err.message
        );
    }
}

#[tokio::test]
async fn https_to_a_plain_http_port_is_a_tls_rejection() {
    let (addr, _seen) = serve(routes).await;
    let err = run(
        json!({"url": format!("https://{addr}/health")}),
        Duration::from_secs(5),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Rejected, "{err:?}");
    assert!(err.message.starts_with("TLS with"), "{}", err.message);
    assert!(err.hint.unwrap().contains("insecure_skip_verify"));
}

#[tokio::test]
async fn unusable_params() {
    let err = run(
        json!({"url": "127.0.0.1:4000/health"}),
        Duration::from_secs(5),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Misconfigured, "{err:?}");
    let err = run(json!({"url": "ftp://example.com/"}), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Misconfigured, "{err:?}");
    let err = run(
        json!({"url": "http://127.0.0.1:1/", "method": "GE T"}),
        Duration::from_secs(5),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::CouldNotRun, "{err:?}");
    let err = run(
        json!({"url": "http://127.0.0.1:1/", "headers": {"x": "a\nb"}}),
        Duration::from_secs(5),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::CouldNotRun, "{err:?}");
}
