//! A proxy between the binary and the emulator that counts requests by operation, records
//! the AssumeRole parameters STS received, and can deny AssumeRole into chosen accounts.

use std::collections::{BTreeMap, HashSet};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

/// One request the proxy saw.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `GetDocument`, `AssumeRole`, …
    pub operation: String,
    /// Form parameters of query-protocol requests (STS).
    pub params: BTreeMap<String, String>,
    pub headers: Vec<(String, String)>,
    /// The response body, kept for AssumeRole (to check its secrets never leak).
    pub response: String,
}

#[derive(Default)]
struct State {
    seen: Vec<Seen>,
    deny_assume_role: HashSet<String>,
}

pub struct Proxy {
    pub url: String,
    state: Arc<Mutex<State>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// SSM operations that change a target.
pub const WRITES: &[&str] = &[
    "CreateDocument",
    "UpdateDocument",
    "UpdateDocumentDefaultVersion",
    "DeleteDocument",
];

impl Proxy {
    /// Starts a proxy to `upstream` (http://host:port) on a thread and runtime of its own, so
    /// tests of any flavour can use it; it stops when dropped.
    pub fn start(upstream: &str) -> Proxy {
        let upstream = upstream.trim_start_matches("http://").to_string();
        let state = Arc::new(Mutex::new(State::default()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let st = state.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).unwrap();
                loop {
                    let stream = tokio::select! {
                        accepted = listener.accept() => match accepted { Ok((s, _)) => s, Err(_) => continue },
                        _ = &mut stopped => break,
                    };
                    let (st, upstream) = (st.clone(), upstream.clone());
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req| handle(req, st.clone(), upstream.clone()));
                        let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                    });
                }
            });
            runtime.shutdown_background();
        });
        Proxy {
            url,
            state,
            _stop: stop,
        }
    }

    /// AssumeRole into this account is answered with AccessDenied.
    pub fn deny_assume_role(&self, account_id: &str) {
        self.state
            .lock()
            .unwrap()
            .deny_assume_role
            .insert(account_id.to_string());
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    pub fn clear(&self) {
        self.state.lock().unwrap().seen.clear();
    }

    /// Requests per operation.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for s in self.seen() {
            *out.entry(s.operation).or_insert(0) += 1;
        }
        out
    }

    pub fn count(&self, operation: &str) -> usize {
        self.seen()
            .iter()
            .filter(|s| s.operation == operation)
            .count()
    }

    pub fn writes(&self) -> usize {
        self.seen()
            .iter()
            .filter(|s| WRITES.contains(&s.operation.as_str()))
            .count()
    }
}

async fn handle(
    req: Request<Incoming>,
    state: Arc<Mutex<State>>,
    upstream: String,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let params = form(&body);
    let operation = match target.rsplit_once('.') {
        Some((_, op)) => op.to_string(),
        None => params
            .get("Action")
            .cloned()
            .unwrap_or_else(|| format!("{} {}", parts.method, parts.uri.path())),
    };
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let denied = operation == "AssumeRole" && {
        let st = state.lock().unwrap();
        let arn = params.get("RoleArn").cloned().unwrap_or_default();
        st.deny_assume_role
            .iter()
            .any(|a| arn.contains(&format!(":{a}:")))
    };
    let mut seen = Seen {
        operation,
        params: params.clone(),
        headers,
        response: String::new(),
    };
    if denied {
        state.lock().unwrap().seen.push(seen);
        let arn = params.get("RoleArn").cloned().unwrap_or_default();
        let xml = format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code>\
             <Message>User: arn:aws:iam::123456789012:user/test is not authorized to perform: sts:AssumeRole on resource: {arn}</Message>\
             </Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
        );
        return Ok(Response::builder()
            .status(403)
            .header("content-type", "text/xml")
            .body(Full::new(Bytes::from(xml)))
            .unwrap());
    }
    let resp = forward(parts, body, &upstream).await.unwrap_or_else(|e| {
        Response::builder()
            .status(502)
            .body(Full::new(Bytes::from(format!("proxy: {e}"))))
            .unwrap()
    });
    if seen.operation == "AssumeRole" {
        let (parts, body) = resp.into_parts();
        let bytes = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        seen.response = String::from_utf8_lossy(&bytes).into_owned();
        state.lock().unwrap().seen.push(seen);
        return Ok(Response::from_parts(parts, Full::new(bytes)));
    }
    state.lock().unwrap().seen.push(seen);
    Ok(resp)
}

async fn forward(
    parts: hyper::http::request::Parts,
    body: Bytes,
    upstream: &str,
) -> Result<Response<Full<Bytes>>, Box<dyn std::error::Error + Send + Sync>> {
    let stream = TcpStream::connect(upstream).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let req = Request::from_parts(parts, Full::new(body));
    let resp = sender.send_request(req).await?;
    let (parts, body) = resp.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(Response::from_parts(parts, Full::new(body)))
}

/// `a=b&c=d` with percent-decoding, for query-protocol bodies.
fn form(body: &[u8]) -> BTreeMap<String, String> {
    let text = String::from_utf8_lossy(body);
    if text.starts_with('{') {
        return BTreeMap::new();
    }
    text.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Proxy {
    /// Every credential the emulator issued through this proxy (access key, secret, token).
    pub fn issued_secrets(&self) -> Vec<String> {
        let mut out = vec![];
        for s in self.seen() {
            for tag in ["AccessKeyId", "SecretAccessKey", "SessionToken"] {
                let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
                if let Some(start) = s.response.find(&open) {
                    let rest = &s.response[start + open.len()..];
                    if let Some(end) = rest.find(&close) {
                        out.push(rest[..end].to_string());
                    }
                }
            }
        }
        out
    }
}
