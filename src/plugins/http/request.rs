//! `http.request`: one HTTP(S) request; the playbook asserts on the status, headers and body.

use std::collections::BTreeMap;
use std::error::Error as _;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::redirect::Policy;
use reqwest::{Method, Url};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::time::Instant;

use crate::plugins::answer::{first_answer, AnswerDeadline, Silence, Witness};
use crate::plugins::{human, millis, Step, StepCx, StepError};

/// Bodies longer than this are cut in the output.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Sends one HTTP(S) request, once (no retries), and reports the response. A non-2xx status is
/// not an error: the playbook asserts on `status`. The status line and headers must come within
/// the first-answer deadline (`--answer-timeout`, or the check's `answer_timeout`; 5 s by
/// default), and the body within the check's `timeout`; a server that does not answer in time
/// is judged refused, black-holed, accepted-but-silent or TLS-stalled.
pub struct Request;

/// The second half of a silent server's hint: which setting sets the wait.
const NO_GREPTIMEDB_KEY: &str = "an `http.request` follows no GreptimeDB timeout: the check's \
     `answer_timeout` (or `--answer-timeout`) sets how long it waits for the status line, and \
     its `timeout` bounds the whole request";

/// Parameters of `http.request`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestParams {
    /// Full URL, `http://` or `https://`, e.g. `http://127.0.0.1:4000/health`.
    pub url: String,
    /// HTTP method, e.g. `GET`, `HEAD`, `POST`, `PUT`.
    #[serde(default = "default_method")]
    pub method: String,
    /// Request headers, name to value.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Request body, sent as is (set a `content-type` header to match).
    #[serde(default)]
    pub body: Option<String>,
    /// Accept any TLS certificate and host name. Only the built-in (webpki) root certificates
    /// are trusted otherwise. Use it to check reachability of a server whose certificate is
    /// known to be self-signed; it proves nothing about the certificate.
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// Follow up to 10 redirects. By default a 3xx response is reported as is, so a playbook
    /// can assert on it.
    #[serde(default)]
    pub follow_redirects: bool,
}

fn default_method() -> String {
    "GET".into()
}

/// Output of `http.request`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RequestOutput {
    /// URL of the response (differs from the one requested only after a followed redirect).
    pub url: String,
    /// HTTP status code, e.g. 200 or 503.
    pub status: u16,
    /// Response headers, names lowercased; repeated headers are joined with `, `.
    pub headers: BTreeMap<String, String>,
    /// Response body as text (invalid UTF-8 replaced), cut at 64 KiB.
    pub body: String,
    /// True when the body was longer than 64 KiB and was cut.
    pub body_truncated: bool,
    /// The body parsed as JSON, when it is complete JSON (JSON content type, or a body starting
    /// with `{` or `[`); null otherwise.
    pub json: Option<Value>,
    /// Time from sending the request to the end of the (possibly cut) body, in milliseconds.
    pub elapsed_ms: f64,
}

impl Step for Request {
    const NAME: &'static str = "http.request";
    const SUMMARY: &'static str =
        "Send one HTTP(S) request and report status, headers and body (non-2xx is not an error)";
    const SHAREABLE: bool = true;
    const EXAMPLE: &'static str = "\
url: http://127.0.0.1:4000/health
method: GET
headers:
  accept: application/json
insecure_skip_verify: false
";
    type Params = RequestParams;
    type Output = RequestOutput;

    async fn run(&self, params: Self::Params, cx: &StepCx) -> Result<Self::Output, StepError> {
        let url = Url::parse(params.url.trim()).map_err(|e| {
            StepError::misconfigured(format!("invalid URL `{}`: {e}", params.url))
                .with_hint("write a full URL such as `http://127.0.0.1:4000/health`")
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(StepError::misconfigured(format!(
                "unsupported scheme `{}` in `{url}`",
                url.scheme()
            ))
            .with_hint("use an `http://` or `https://` URL"));
        }
        let method = Method::from_bytes(params.method.trim().to_ascii_uppercase().as_bytes())
            .map_err(|_| {
                StepError::could_not_run(format!("invalid HTTP method `{}`", params.method))
                    .with_hint("use GET, HEAD, POST, PUT, DELETE, …")
            })?;
        let mut headers = HeaderMap::new();
        for (name, value) in &params.headers {
            let header_name = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| StepError::could_not_run(format!("invalid header name `{name}`")))?;
            let header_value = HeaderValue::from_str(value).map_err(|_| {
                StepError::could_not_run(format!("invalid value for header `{name}`"))
                    .with_hint("header values must be visible ASCII without line breaks")
            })?;
            headers.append(header_name, header_value);
        }

        // The first answer (the status line and headers) within the first-answer deadline,
        // with a witness telling which kind of silence it met; the body within what is left of
        // the check.
        let deadline = answer_deadline(cx);
        let limit = step_limit(cx);
        let started = Instant::now();
        let target = Target::of(&url);
        let mut builder = reqwest::Client::builder();
        let witness = if proxied(url.scheme()) {
            // The request goes through a proxy: a direct connection would judge another path.
            None
        } else {
            let addr = match target.host.parse::<IpAddr>() {
                Ok(ip) => SocketAddr::new(ip, target.port),
                Err(_) => {
                    let addrs = resolve(&target, &deadline).await?;
                    // reqwest connects to the addresses resolved here, which the witness watches.
                    builder = builder.resolve_to_addrs(&target.host, &addrs);
                    addrs[0]
                }
            };
            Some(Witness::tls(addr.to_string(), url.scheme() == "https"))
        };
        let client = builder
            .retry(reqwest::retry::never())
            .danger_accept_invalid_certs(params.insecure_skip_verify)
            .redirect(if params.follow_redirects {
                Policy::limited(10)
            } else {
                Policy::none()
            })
            .user_agent(concat!("greptime-self-test/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                StepError::could_not_run(format!("cannot build the HTTP client: {}", chain(&e)))
            })?;
        let what = format!("{method} {}", url.path());
        let mut request = client.request(method, url.clone()).headers(headers);
        if let Some(body) = params.body {
            request = request.body(body);
        }

        let left = AnswerDeadline {
            limit: deadline.limit.saturating_sub(started.elapsed()),
            ..deadline.clone()
        };
        let mut response = match first_answer(&left, witness.clone(), request.send()).await {
            Ok(sent) => sent.map_err(|e| request_error(&url, &e))?,
            Err(mut silent) => {
                silent.deadline = deadline;
                silent.endpoint = match &witness {
                    Some(w) if w.addr != target.addr => format!("{} ({})", target.addr, w.addr),
                    _ => target.addr.clone(),
                };
                return Err(silent.into_error(&what, NO_GREPTIMEDB_KEY));
            }
        };
        let status = response.status().as_u16();
        let final_url = response.url().to_string();
        let mut response_headers: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in response.headers() {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            response_headers
                .entry(name.as_str().to_string())
                .and_modify(|v| {
                    v.push_str(", ");
                    v.push_str(&value);
                })
                .or_insert(value);
        }

        let mut body = Vec::new();
        let mut body_truncated = false;
        loop {
            let chunk = match tokio::time::timeout_at(started + limit, response.chunk()).await {
                Ok(Ok(Some(chunk))) => chunk,
                Ok(Ok(None)) => break,
                Ok(Err(e)) => return Err(request_error(&url, &e)),
                Err(_) => return Err(body_timeout(&url, limit)),
            };
            let room = BODY_LIMIT - body.len();
            if chunk.len() > room {
                body.extend_from_slice(&chunk[..room]);
                body_truncated = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        let elapsed_ms = millis(started.elapsed());
        let body = String::from_utf8_lossy(&body).into_owned();
        let json = if !body_truncated
            && looks_like_json(
                response_headers.get("content-type").map(String::as_str),
                &body,
            ) {
            serde_json::from_str(&body).ok()
        } else {
            None
        };

        Ok(RequestOutput {
            url: final_url,
            status,
            headers: response_headers,
            body,
            body_truncated,
            json,
            elapsed_ms,
        })
    }
}

/// JSON content type (`application/json`, `application/problem+json`, …) or a body that
/// starts like a JSON object or array.
fn looks_like_json(content_type: Option<&str>, body: &str) -> bool {
    let by_type = content_type.is_some_and(|ct| {
        let mime = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        mime == "application/json" || mime.ends_with("+json")
    });
    by_type || body.trim_start().starts_with(['{', '['])
}

/// The messages of an error's sources, without repeats: `client error (Connect): tcp connect
/// error: Connection refused (os error 111)`.
fn chain(e: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = e.source();
    while let Some(err) = source {
        let text = err.to_string();
        // hyper-util's `client error (Connect)` wrapper says nothing its source does not.
        let noise = text.starts_with("client error (");
        if !noise && !parts.last().is_some_and(|last| last.contains(&text)) {
            parts.push(text);
        }
        source = err.source();
    }
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(": ")
    }
}

/// The first `io::Error` kind among the error's sources.
fn io_kind(e: &reqwest::Error) -> Option<io::ErrorKind> {
    let mut source = e.source();
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            return Some(io.kind());
        }
        source = err.source();
    }
    None
}

/// Whether the source chain reads like a rustls failure.
fn looks_like_tls(chain: &str) -> bool {
    let text = chain.to_ascii_lowercase();
    [
        "certificate",
        "tls",
        "handshake",
        "received fatal alert",
        "corrupt message",
        "invalidcontenttype",
        "peer is incompatible",
        "peer misbehaved",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

/// Where a URL points.
struct Target {
    /// The host as written (without brackets).
    host: String,
    port: u16,
    /// `host:port`, IPv6 hosts in brackets.
    addr: String,
}

impl Target {
    fn of(url: &Url) -> Self {
        // `http` and `https` URLs always have a host and a known default port.
        let host = url
            .host_str()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = url.port_or_known_default().unwrap_or(80);
        let addr = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        Self { host, port, addr }
    }
}

/// What is left before the check's deadline, less a margin so that the step says what it
/// waited for before the engine gives up on it.
fn step_limit(cx: &StepCx) -> Duration {
    cx.request_limit()
}

/// The first-answer deadline of the run, cut short by the check's own deadline.
fn answer_deadline(cx: &StepCx) -> AnswerDeadline {
    cx.answer.clone().within_check(cx)
}

/// Whether reqwest sends a request of `scheme` through a proxy from the environment (it reads
/// `<scheme>_proxy` and `all_proxy`, either case).
fn proxied(scheme: &str) -> bool {
    [format!("{scheme}_proxy"), "all_proxy".to_string()]
        .iter()
        .flat_map(|name| [name.clone(), name.to_ascii_uppercase()])
        .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
}

/// Resolves the URL's host name within `deadline`, as reqwest would.
async fn resolve(target: &Target, deadline: &AnswerDeadline) -> Result<Vec<SocketAddr>, StepError> {
    let host = &target.host;
    let lookup = tokio::net::lookup_host((host.as_str(), target.port));
    match tokio::time::timeout(deadline.limit, lookup).await {
        Ok(Ok(addrs)) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            if addrs.is_empty() {
                Err(
                    StepError::unreachable(format!("cannot resolve `{host}`: no address"))
                        .with_hint(format!(
                    "check the host name `{host}`; it must resolve from this host (DNS, /etc/hosts)"
                )),
                )
            } else {
                Ok(addrs)
            }
        }
        Ok(Err(e)) => Err(
            StepError::unreachable(format!("cannot resolve `{host}`: {e}")).with_hint(format!(
                "check the host name `{host}`; it must resolve from this host (DNS, /etc/hosts)"
            )),
        ),
        Err(_) => Err(StepError::timeout(format!(
            "resolving `{host}` did not finish within {}",
            deadline.describe()
        ))
        .with_hint(
            "the DNS server does not answer in time; check this host's resolver (/etc/resolv.conf)",
        )),
    }
}

/// The status line and headers came, the body did not finish within `limit`.
fn body_timeout(url: &Url, limit: Duration) -> StepError {
    StepError::timeout(format!(
        "the answer from {url} did not finish within {} (what is left of the check's \
         `timeout`)",
        human(limit)
    ))
    .with_hint(format!(
        "{} sent the status line but not the whole body in time: the server may be hung or \
         overloaded, or the body is too large for the check's `timeout`",
        Target::of(url).addr
    ))
}

/// Maps a reqwest failure to an error kind and a hint.
fn request_error(url: &Url, e: &reqwest::Error) -> StepError {
    let detail = chain(e);
    let host = url.host_str().unwrap_or_default();
    let target = Target::of(url).addr;
    if url.scheme() == "https" && looks_like_tls(&detail) {
        return StepError::rejected(format!("TLS with {target} failed: {detail}")).with_hint(
            "the certificate must be valid for this host name and signed by a public CA (only \
             the built-in webpki roots are trusted); fix the certificate, or set \
             `insecure_skip_verify: true` to check reachability only. If the server speaks \
             plain HTTP, use `http://`",
        );
    }
    if e.is_connect() {
        if detail.contains("dns error") {
            return StepError::unreachable(format!("cannot resolve `{host}`: {detail}")).with_hint(
                format!(
                "check the host name `{host}`; it must resolve from this host (DNS, /etc/hosts)"
            ),
            );
        }
        return match io_kind(e) {
            Some(io::ErrorKind::ConnectionRefused) => StepError {
                silence: Some(Silence::Refused),
                ..StepError::unreachable(format!("cannot connect to {target}: {detail}")).with_hint(
                    format!(
                        "nothing listens on {target}; is the service running, and is the port \
                         right?"
                    ),
                )
            },
            _ => StepError::unreachable(format!("cannot connect to {target}: {detail}")).with_hint(
                format!("check routing and firewall rules between this host and {target}"),
            ),
        };
    }
    if e.is_redirect() {
        return StepError::rejected(format!("{url}: {detail}"))
            .with_hint("the server redirects in a loop; check its base URL settings");
    }
    StepError::rejected(format!("request to {url} failed: {detail}")).with_hint(format!(
        "{target} accepted the connection but did not answer with valid HTTP; is it an HTTP port \
         (not gRPC, MySQL or PostgreSQL), and does it expect TLS (`https://`)?"
    ))
}

#[cfg(test)]
mod tests {
    use super::{looks_like_json, looks_like_tls};

    #[test]
    fn json_is_recognised_by_content_type_or_shape() {
        assert!(looks_like_json(
            Some("application/json; charset=utf-8"),
            "1"
        ));
        assert!(looks_like_json(Some("application/problem+json"), ""));
        assert!(looks_like_json(None, "  {\"a\":1}"));
        assert!(looks_like_json(Some("text/plain"), "[1]"));
        assert!(!looks_like_json(Some("text/plain"), "OK"));
        assert!(!looks_like_json(None, "true"));
    }

    #[test]
    fn tls_failures_are_recognised() {
        assert!(looks_like_tls(
            "client error (Connect): invalid peer certificate: UnknownIssuer"
        ));
        assert!(looks_like_tls(
            "client error (Connect): received corrupt message of type InvalidContentType"
        ));
        assert!(!looks_like_tls(
            "client error (Connect): tcp connect error: Connection refused (os error 111)"
        ));
        assert!(!looks_like_tls(
            "connection closed before message completed: connection reset by peer"
        ));
    }
}
