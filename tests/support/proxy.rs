//! A proxy between the binary and the emulator that counts requests by operation, records
//! the AssumeRole parameters STS received, and injects faults: AccessDenied for chosen
//! accounts' roles or for chosen operations of chosen accounts, throttling, 5xx, connection
//! resets, slow answers, a rejected region.
//!
//! Operations are named as AWS names them: JSON services (SSM, CloudWatch Logs, KMS,
//! Organizations) by their `X-Amz-Target`, query services (STS) by their `Action`, and S3,
//! whose REST requests carry neither, by method, path and sub-resource (`HEAD /b` is
//! `HeadBucket`; path-style addressing, as clients pointed at an emulator use).

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;

/// The upstream side: one pool of connections across the emulators, as an AWS client keeps.
/// A connection is reused only if the upstream keeps it open: moto's server closes each one
/// after its answer (`Connection: close`), so against moto the pool still connects per request.
type Upstream = Client<HttpConnector, Full<Bytes>>;

/// One request the proxy saw.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `GetDocument`, `AssumeRole`, …
    pub operation: String,
    /// Form parameters of query-protocol requests (STS).
    pub params: BTreeMap<String, String>,
    pub headers: Vec<(String, String)>,
    /// The region the request was signed for.
    pub region: String,
    /// The service the request was signed for (`ssm`, `sts`, `s3`, `logs`, `kms`, …).
    pub service: String,
    /// The account the request acts in: the role's account for AssumeRole, else the account
    /// whose assumed-role key signed it (empty for base credentials and unsigned requests).
    pub account: String,
    /// The request's path and query (`/ssm-logs-1-us-east-1?encryption`).
    pub path: String,
    /// The response body, kept for AssumeRole (to check its secrets never leak).
    pub response: String,
}

#[derive(Default)]
struct State {
    seen: Vec<Seen>,
    deny_assume_role: HashSet<String>,
    faults: Faults,
    rng: Rng,
    /// Access key id → account, learnt from AssumeRole answers.
    keys: std::collections::HashMap<String, String>,
    /// Account → regions it has enabled, for the Account API's ListRegions (moto lacks it).
    enabled_regions: std::collections::HashMap<String, Vec<String>>,
    /// (account, region) → the opt-in statuses GetRegionOptStatus answers in turn (the last
    /// one from then on).
    region_statuses: std::collections::HashMap<(String, String), Vec<String>>,
    /// Account → how many of its next AssumeRoles are denied (a role not created yet).
    deny_assume_role_first: std::collections::HashMap<String, usize>,
    /// Operation → how many of its next requests fail, and with what (HTTP status, code).
    fail_first: std::collections::HashMap<String, (usize, u16, &'static str)>,
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

impl Seen {
    /// The bucket an S3 request is about (path-style: the path's first segment).
    pub fn bucket(&self) -> Option<&str> {
        if self.service != "s3" {
            return None;
        }
        let path = self.path.split('?').next().unwrap_or("");
        path.trim_start_matches('/')
            .split('/')
            .next()
            .filter(|b| !b.is_empty())
    }
}

/// Services whose requests preflight sends (`--no-preflight` sends none).
pub const CHECK_SERVICES: &[&str] = &["s3", "logs", "kms", "ec2", "iam"];

impl Proxy {
    /// Starts a proxy to `upstream` (http://host:port) on a thread and runtime of its own, so
    /// tests of any flavour can use it; it stops when dropped.
    pub fn start(upstream: &str) -> Proxy {
        Self::start_sharded(&[upstream])
    }

    /// A proxy in front of several emulators, each holding a share of the accounts: every
    /// request of an account goes to the same one (its AssumeRole by the role's ARN, its calls
    /// by the access key that AssumeRole issued), so each sees a consistent world. Requests of
    /// no known account go to the first: base or profile credentials, and anything a test sets
    /// up straight on an emulator, so only traffic through AssumeRole is spread.
    pub fn start_sharded(upstreams: &[&str]) -> Proxy {
        let upstreams: Arc<Vec<String>> = Arc::new(
            upstreams
                .iter()
                .map(|u| u.trim_start_matches("http://").to_string())
                .collect(),
        );
        assert!(!upstreams.is_empty(), "at least one upstream");
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
                // The timer lets the pool drop connections left idle past its timeout.
                let client: Upstream = Client::builder(TokioExecutor::new())
                    .pool_timer(TokioTimer::new())
                    .build(HttpConnector::new());
                loop {
                    let stream = tokio::select! {
                        accepted = listener.accept() => match accepted { Ok((s, _)) => s, Err(_) => continue },
                        _ = &mut stopped => break,
                    };
                    let (st, upstreams, client) = (st.clone(), upstreams.clone(), client.clone());
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req| handle(req, st.clone(), upstreams.clone(), client.clone()));
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

    /// Answers Account ListRegions for this account with these regions (moto lacks the API).
    pub fn set_enabled_regions(&self, account: &str, regions: &[&str]) {
        let regions = regions.iter().map(|r| r.to_string()).collect();
        self.state
            .lock()
            .unwrap()
            .enabled_regions
            .insert(account.to_string(), regions);
    }

    /// GetRegionOptStatus of this account and region answers these statuses in turn, then
    /// the last one (moto lacks the Account API); unset, it is denied.
    pub fn set_region_statuses(&self, account: &str, region: &str, statuses: &[&str]) {
        self.state.lock().unwrap().region_statuses.insert(
            (account.to_string(), region.to_string()),
            statuses.iter().map(|s| s.to_string()).collect(),
        );
    }

    /// The next `n` AssumeRoles into this account are denied, as STS answers while a new
    /// account's role does not exist yet; then they pass.
    pub fn deny_assume_role_first(&self, account_id: &str, n: usize) {
        self.state
            .lock()
            .unwrap()
            .deny_assume_role_first
            .insert(account_id.to_string(), n);
    }

    /// The next `n` requests of `operation` (a JSON service's: CloudTrail's `LookupEvents`, …)
    /// are answered HTTP `status` with the error `code` (`InternalFailure` with 500,
    /// `ThrottlingException` with 400); `usize::MAX` for every one. Then they pass.
    pub fn fail_first(&self, operation: &str, n: usize, status: u16, code: &'static str) {
        self.state
            .lock()
            .unwrap()
            .fail_first
            .insert(operation.to_string(), (n, status, code));
    }

    /// From now on, inject these faults.
    pub fn set_faults(&self, faults: Faults) {
        self.state.lock().unwrap().faults = faults;
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

    /// The requests of this operation, in arrival order.
    pub fn seen_of(&self, operation: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.operation == operation)
            .collect()
    }

    pub fn writes(&self) -> usize {
        self.seen()
            .iter()
            .filter(|s| WRITES.contains(&s.operation.as_str()))
            .count()
    }
}

/// Faults the proxy injects, each for a fraction of requests or for chosen targets.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Fraction of requests answered `ThrottlingException` (STS: `Throttling`), HTTP 400.
    pub throttle: f64,
    /// Fraction of SSM requests answered 500 or 503.
    pub server_error: f64,
    /// Fraction of SSM requests whose connection is dropped without an answer.
    pub reset: f64,
    /// SSM requests signed for this region are answered `UnrecognizedClientException`.
    pub reject_region: Option<String>,
    /// These SSM operations are answered `AccessDeniedException`.
    pub deny_operations: Vec<String>,
    /// (account id, operation): that operation, of any service, is answered AccessDenied in
    /// that account only, in the service's own error shape (S3: HTTP 403 XML `AccessDenied`;
    /// JSON services: HTTP 400 `AccessDeniedException`; STS: HTTP 403 XML `AccessDenied`).
    pub deny_in_account: Vec<(String, String)>,
    /// These operations, of any service, are answered AccessDenied when signed with the base
    /// credentials (the caller's own account: Organizations, say), in the service's shape.
    pub deny_base: Vec<String>,
    /// These operations are answered only after this delay.
    pub slow: Option<(Vec<String>, Duration)>,
    /// Every request waits this long first (real AWS's round trip, for the benchmark).
    pub latency: Duration,
    /// SSM's version cap (moto has none): an UpdateDocument of a document holding this many
    /// versions or more is answered `DocumentVersionLimitExceeded`.
    pub version_cap: Option<usize>,
    /// The message of `deny_in_account`'s answers, instead of IAM's usual sentence.
    pub deny_message: Option<String>,
    /// Accounts where Security Hub is not enabled: its calls there are answered 401
    /// `InvalidAccessException`, as AWS answers (moto imports findings regardless).
    pub security_hub_off: Vec<String>,
    /// (bucket, HTTP status, region): HeadBucket of that bucket is answered with that status
    /// and `x-amz-bucket-region: region`, as S3 answers for a bucket in another region (301) or
    /// one the caller may not list (403).
    pub head_bucket: Option<(String, u16, String)>,
}

enum Verdict {
    Forward,
    Answer(u16, &'static str, String),
    /// HeadBucket's answer without a body, naming the bucket's region.
    BucketRegion(u16, String),
    Reset,
}

/// A request's or an answer's body read to its end (empty where it breaks off).
async fn read_body<B: hyper::body::Body>(body: B) -> Bytes {
    body.collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default()
}

async fn handle(
    req: Request<Incoming>,
    state: Arc<Mutex<State>>,
    upstreams: Arc<Vec<String>>,
    client: Upstream,
) -> Result<Response<Full<Bytes>>, Box<dyn std::error::Error + Send + Sync>> {
    let (parts, body) = req.into_parts();
    let body = read_body(body).await;
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let is_ssm = target.starts_with("AmazonSSM.");
    let params = form(&body);
    if parts.uri.path() == "/listRegions" {
        return Ok(list_regions(&parts, &state));
    }
    if parts.uri.path() == "/getRegionOptStatus" {
        return Ok(region_opt_status(&parts, &body, &state));
    }
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    // SigV4's credential scope names the region and the service:
    // Credential=KEY/20260101/eu-west-1/ssm/aws4_request
    let scope = |i: usize| {
        headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .and_then(|(_, v)| v.split("Credential=").nth(1))
            .and_then(|c| c.split(['/', ',']).nth(i))
            .unwrap_or("")
            .to_string()
    };
    let (region, service) = (scope(2), scope(3));
    let shape = if !target.is_empty() {
        Shape::Json
    } else if service == "s3" && !params.contains_key("Action") {
        Shape::S3
    } else {
        Shape::Query
    };
    let operation = match target.rsplit_once('.') {
        Some((_, op)) => op.to_string(),
        // Security Hub is REST-JSON: its operations are named by their paths.
        None if service == "securityhub" => match parts.uri.path() {
            "/findings/import" => "BatchImportFindings".to_string(),
            "/findings" => "GetFindings".to_string(),
            other => format!("{} {other}", parts.method),
        },
        None if shape == Shape::S3 => s3_operation(&parts.method, &parts.uri),
        None => params
            .get("Action")
            .cloned()
            .unwrap_or_else(|| format!("{} {}", parts.method, parts.uri.path())),
    };
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let (verdict, delay, upstream, account) = {
        let mut st = state.lock().unwrap();
        let f = st.faults.clone();
        let arn = params.get("RoleArn").cloned().unwrap_or_default();
        let account = if operation == "AssumeRole" {
            arn.split(':').nth(4).map(str::to_string)
        } else {
            access_key(&parts).and_then(|k| st.keys.get(k).cloned())
        };
        let shard = account
            .as_deref()
            .and_then(|a| a.parse::<u64>().ok())
            .map_or(0, |a| (a % upstreams.len() as u64) as usize);
        let upstream = upstreams[shard].clone();
        let not_yet = operation == "AssumeRole"
            && st.deny_assume_role_first.iter_mut().any(|(a, n)| {
                let hit = *n > 0 && arn.contains(&format!(":{a}:"));
                if hit {
                    *n -= 1;
                }
                hit
            });
        let denied = operation == "AssumeRole"
            && (not_yet
                || st
                    .deny_assume_role
                    .iter()
                    .any(|a| arn.contains(&format!(":{a}:"))));
        let denied_here = match account.as_deref() {
            Some(a) => f
                .deny_in_account
                .iter()
                .any(|(acct, op)| acct == a && *op == operation),
            None => f.deny_base.contains(&operation),
        };
        let failing = st
            .fail_first
            .get_mut(&operation)
            .filter(|(n, _, _)| *n > 0)
            .map(|(n, status, code)| {
                *n -= 1;
                (*status, *code)
            });
        let mut roll = || st.rng.next();
        let head_bucket = f.head_bucket.as_ref().filter(|(bucket, _, _)| {
            operation == "HeadBucket"
                && parts.uri.path().trim_start_matches('/').split('/').next() == Some(bucket)
        });
        let hub_off = service == "securityhub"
            && account
                .as_deref()
                .is_some_and(|a| f.security_hub_off.iter().any(|off| off == a));
        let verdict = if hub_off {
            Verdict::Answer(
                401,
                "application/json",
                ssm_error(
                    "InvalidAccessException",
                    &format!(
                        "Account {} is not subscribed to AWS Security Hub",
                        account.as_deref().unwrap_or_default()
                    ),
                ),
            )
        } else if let Some((_, status, region)) = head_bucket {
            Verdict::BucketRegion(*status, region.clone())
        } else if denied_here {
            let message = f.deny_message.clone().unwrap_or_else(|| {
                format!(
                    "User: arn:aws:sts::{}:assumed-role/test is not authorized to perform: {service}:{operation}",
                    account.as_deref().unwrap_or_default()
                )
            });
            shape.access_denied(&message)
        } else if denied {
            Verdict::Answer(
                403,
                "text/xml",
                sts_error(
                    "AccessDenied",
                    &format!(
                        "User: arn:aws:iam::123456789012:user/test is not authorized to perform: sts:AssumeRole on resource: {arn}"
                    ),
                ),
            )
        } else if let Some((status, code)) = failing {
            Verdict::Answer(
                status,
                "application/x-amz-json-1.1",
                ssm_error(code, "injected"),
            )
        } else if f.throttle > 0.0 && roll() < f.throttle {
            shape.throttled()
        } else if is_ssm && f.reject_region.as_deref() == Some(region.as_str()) {
            Verdict::Answer(
                400,
                "application/x-amz-json-1.1",
                ssm_error(
                    "UnrecognizedClientException",
                    "The security token included in the request is invalid.",
                ),
            )
        } else if is_ssm && f.deny_operations.contains(&operation) {
            Verdict::Answer(
                400,
                "application/x-amz-json-1.1",
                ssm_error(
                    "AccessDeniedException",
                    &format!("not authorized to perform ssm:{operation}"),
                ),
            )
        } else if is_ssm && f.server_error > 0.0 && roll() < f.server_error {
            let status = if roll() < 0.5 { 500 } else { 503 };
            Verdict::Answer(
                status,
                "application/x-amz-json-1.1",
                ssm_error("InternalServerError", "injected"),
            )
        } else if is_ssm && f.reset > 0.0 && roll() < f.reset {
            Verdict::Reset
        } else {
            Verdict::Forward
        };
        let slow = f
            .slow
            .as_ref()
            .filter(|(ops, _)| ops.contains(&operation))
            .map(|(_, d)| *d)
            .unwrap_or_default();
        (
            verdict,
            f.latency + slow,
            upstream,
            account.unwrap_or_default(),
        )
    };
    // Counted on arrival, so a test sees a request that is still being answered.
    let index = {
        let mut st = state.lock().unwrap();
        st.seen.push(Seen {
            operation: operation.clone(),
            params,
            headers,
            region,
            service,
            account,
            path,
            response: String::new(),
        });
        st.seen.len() - 1
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let version_cap = state.lock().unwrap().faults.version_cap;
    let verdict = match (verdict, version_cap) {
        (Verdict::Forward, Some(cap)) if is_ssm && operation == "UpdateDocument" => {
            let name = json_name(&body);
            match document_versions(&client, &parts.headers, &upstream, &name).await {
                Ok(versions) if versions.len() >= cap => Verdict::Answer(
                    400,
                    "application/x-amz-json-1.1",
                    ssm_error(
                        "DocumentVersionLimitExceeded",
                        "The document has too many versions. Delete one or more document versions and try again.",
                    ),
                ),
                _ => Verdict::Forward,
            }
        }
        (v, _) => v,
    };
    let resp = match verdict {
        Verdict::Answer(status, ctype, body) => Response::builder()
            .status(status)
            .header("content-type", ctype)
            .body(Full::new(Bytes::from(body)))
            .unwrap(),
        Verdict::BucketRegion(status, region) => Response::builder()
            .status(status)
            .header("x-amz-bucket-region", region)
            .body(Full::new(Bytes::new()))
            .unwrap(),
        // An error from the service makes hyper drop the connection: the client sees a reset.
        Verdict::Reset => return Err("injected connection reset".into()),
        // moto lacks ListDocumentVersions: answered here from its DescribeDocument of each
        // version, which is what AWS's would list.
        Verdict::Forward if is_ssm && operation == "ListDocumentVersions" => {
            let name = json_name(&body);
            match document_versions(&client, &parts.headers, &upstream, &name).await {
                Ok(versions) => json_response(
                    200,
                    serde_json::json!({ "DocumentVersions": versions }).to_string(),
                ),
                Err(resp) => resp,
            }
        }
        Verdict::Forward => forward(&client, parts, body, &upstream)
            .await
            .unwrap_or_else(|e| {
                Response::builder()
                    .status(502)
                    .body(Full::new(Bytes::from(format!("proxy: {e}"))))
                    .unwrap()
            }),
    };
    if operation != "AssumeRole" {
        return Ok(resp);
    }
    let (parts, body) = resp.into_parts();
    let bytes = read_body(body).await;
    let mut st = state.lock().unwrap();
    if let Some(seen) = st.seen.get_mut(index) {
        seen.response = String::from_utf8_lossy(&bytes).into_owned();
        let account = seen
            .params
            .get("RoleArn")
            .and_then(|a| a.split(':').nth(4))
            .unwrap_or("")
            .to_string();
        let key = between(&seen.response, "<AccessKeyId>", "</AccessKeyId>")
            .unwrap_or("")
            .to_string();
        // A failed AssumeRole issues no key: an empty one would claim unsigned requests.
        if !key.is_empty() {
            st.keys.insert(key, account);
        }
    }
    drop(st);
    Ok(Response::from_parts(parts, Full::new(bytes)))
}

/// A request's protocol, which decides the shape of an error the proxy answers itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// awsJson (`X-Amz-Target`): SSM, CloudWatch Logs, KMS, Organizations.
    Json,
    /// awsQuery (`Action=` in the form body): STS.
    Query,
    /// REST-XML: S3.
    S3,
}

impl Shape {
    fn access_denied(self, message: &str) -> Verdict {
        match self {
            Shape::Json => Verdict::Answer(
                400,
                "application/x-amz-json-1.1",
                ssm_error("AccessDeniedException", message),
            ),
            Shape::Query => Verdict::Answer(403, "text/xml", sts_error("AccessDenied", message)),
            Shape::S3 => Verdict::Answer(403, "application/xml", s3_error("AccessDenied", message)),
        }
    }

    fn throttled(self) -> Verdict {
        match self {
            Shape::Json => Verdict::Answer(
                400,
                "application/x-amz-json-1.1",
                ssm_error("ThrottlingException", "Rate exceeded"),
            ),
            Shape::Query => {
                Verdict::Answer(400, "text/xml", sts_error("Throttling", "Rate exceeded"))
            }
            Shape::S3 => Verdict::Answer(
                503,
                "application/xml",
                s3_error("SlowDown", "Please reduce your request rate."),
            ),
        }
    }
}

/// An S3 REST request's operation, from its method, path (path-style: `/bucket/key`) and
/// sub-resource (`?location`, `?encryption`, …); the SDK's `x-id` names it when present.
fn s3_operation(method: &hyper::Method, uri: &Uri) -> String {
    let query: Vec<(String, String)> = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    if let Some((_, id)) = query.iter().find(|(k, _)| k == "x-id") {
        return id.clone();
    }
    let has = |key: &str| query.iter().any(|(k, _)| k == key);
    let path = uri.path().trim_start_matches('/');
    let (bucket, object) = path.split_once('/').unwrap_or((path, ""));
    let verb = match *method {
        hyper::Method::GET => "Get",
        hyper::Method::PUT => "Put",
        hyper::Method::DELETE => "Delete",
        hyper::Method::HEAD => "Head",
        hyper::Method::POST => "Post",
        _ => "",
    };
    let sub = [
        ("location", "Location"),
        ("encryption", "Encryption"),
        ("policy", "Policy"),
        ("versioning", "Versioning"),
        ("tagging", "Tagging"),
        ("acl", "Acl"),
        ("ownershipControls", "OwnershipControls"),
    ]
    .into_iter()
    .find(|(key, _)| has(key));
    let named = match (bucket.is_empty(), object.is_empty(), sub, verb) {
        (true, _, _, "Get") => Some("ListBuckets".to_string()),
        (false, true, Some((_, name)), "Get" | "Put" | "Delete") => {
            Some(format!("{verb}Bucket{name}"))
        }
        (false, true, None, "Head") => Some("HeadBucket".into()),
        (false, true, None, "Put") => Some("CreateBucket".into()),
        (false, true, None, "Delete") => Some("DeleteBucket".into()),
        (false, true, None, "Get") if has("list-type") => Some("ListObjectsV2".into()),
        (false, true, None, "Get") => Some("ListObjects".into()),
        (false, false, None, "Get" | "Put" | "Delete" | "Head") => Some(format!("{verb}Object")),
        _ => None,
    };
    named.unwrap_or_else(|| format!("S3 {method} {}", uri.path()))
}

fn s3_error(code: &str, message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message>\
         <RequestId>0000000000000000</RequestId><HostId>proxy</HostId></Error>"
    )
}

fn ssm_error(code: &str, message: &str) -> String {
    format!("{{\"__type\":\"{code}\",\"message\":\"{message}\"}}")
}

fn sts_error(code: &str, message: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>{code}</Code>\
         <Message>{message}</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
    )
}

/// A small deterministic generator, so a fault test sees the same faults every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl Default for Rng {
    fn default() -> Self {
        Rng(0x9E37_79B9_7F4A_7C15)
    }
}

/// Hop-by-hop headers belong to one connection, not to the message (RFC 9110 7.6.1).
const HOP_BY_HOP: &[&str] = &["connection", "keep-alive", "transfer-encoding"];

async fn forward(
    client: &Upstream,
    mut parts: hyper::http::request::Parts,
    body: Bytes,
    upstream: &str,
) -> Result<Response<Full<Bytes>>, Box<dyn std::error::Error + Send + Sync>> {
    // The client's request names only the path; the pool needs the upstream to pick a connection.
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    parts.uri = format!("http://{upstream}{path}").parse::<Uri>()?;
    // The client's connection to the proxy is not the pooled one to the upstream: its
    // `Connection: close` must not close a connection other requests share.
    for name in HOP_BY_HOP {
        parts.headers.remove(*name);
    }
    let req = Request::from_parts(parts, Full::new(body));
    let resp = client.request(req).await?;
    let (mut parts, body) = resp.into_parts();
    let body = body.collect().await?.to_bytes();
    // Likewise the other way: moto's `Connection: close` would otherwise make every client
    // reconnect per request, which AWS's endpoints, keeping connections alive, never do.
    for name in HOP_BY_HOP {
        parts.headers.remove(*name);
    }
    Ok(Response::from_parts(parts, Full::new(body)))
}

/// The `Name` of an SSM request's JSON body.
fn json_name(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("Name").and_then(|n| n.as_str()).map(str::to_string))
        .unwrap_or_default()
}

fn json_response(status: u16, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.1")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

/// One SSM call of the proxy's own to the upstream, signed as the client's request was
/// (the emulator checks no signature, only the credentials' account and the region).
async fn ssm_call(
    client: &Upstream,
    headers: &hyper::HeaderMap,
    upstream: &str,
    operation: &str,
    body: serde_json::Value,
) -> Result<(u16, serde_json::Value), Box<dyn std::error::Error + Send + Sync>> {
    let mut req = Request::builder()
        .method("POST")
        .uri(format!("http://{upstream}/").parse::<Uri>()?);
    for (k, v) in headers {
        if !HOP_BY_HOP.contains(&k.as_str()) && k != "content-length" && k != "x-amz-target" {
            req = req.header(k, v);
        }
    }
    let req = req
        .header("x-amz-target", format!("AmazonSSM.{operation}"))
        .body(Full::new(Bytes::from(body.to_string())))?;
    let resp = client.request(req).await?;
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await?.to_bytes();
    Ok((status, serde_json::from_slice(&bytes).unwrap_or_default()))
}

/// The document's versions as ListDocumentVersions lists them (newest first), from
/// DescribeDocument of every version number up to the latest; the upstream's answer when
/// the document does not exist.
async fn document_versions(
    client: &Upstream,
    headers: &hyper::HeaderMap,
    upstream: &str,
    name: &str,
) -> Result<Vec<serde_json::Value>, Response<Full<Bytes>>> {
    let failed = |e: Box<dyn std::error::Error + Send + Sync>| {
        Response::builder()
            .status(502)
            .body(Full::new(Bytes::from(format!("proxy: {e}"))))
            .unwrap()
    };
    let (status, doc) = ssm_call(
        client,
        headers,
        upstream,
        "DescribeDocument",
        serde_json::json!({"Name": name}),
    )
    .await
    .map_err(failed)?;
    if status != 200 {
        return Err(json_response(status, doc.to_string()));
    }
    let field =
        |d: &serde_json::Value, k: &str| d["Document"][k].as_str().unwrap_or("").to_string();
    let latest: u64 = field(&doc, "LatestVersion").parse().unwrap_or(0);
    let default = field(&doc, "DefaultVersion");
    let mut out = vec![];
    for v in (1..=latest).rev() {
        let (status, d) = ssm_call(
            client,
            headers,
            upstream,
            "DescribeDocument",
            serde_json::json!({"Name": name, "DocumentVersion": v.to_string()}),
        )
        .await
        .map_err(failed)?;
        if status == 200 {
            out.push(serde_json::json!({
                "Name": name,
                "DocumentVersion": v.to_string(),
                "CreatedDate": d["Document"]["CreatedDate"],
                "IsDefaultVersion": v.to_string() == default,
                "DocumentFormat": d["Document"]["DocumentFormat"],
                "Status": d["Document"]["Status"],
            }));
        }
    }
    Ok(out)
}

/// The form parameters of a query-protocol body (`a=b&c=d`); JSON-protocol bodies have none.
fn form(body: &[u8]) -> BTreeMap<String, String> {
    if body.starts_with(b"{") {
        return BTreeMap::new();
    }
    form_urlencoded::parse(body).into_owned().collect()
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

/// The access key id that signed a request (SigV4's `Credential=KEY/date/region/...`).
fn access_key(parts: &hyper::http::request::Parts) -> Option<&str> {
    parts
        .headers
        .get("authorization")?
        .to_str()
        .ok()?
        .split("Credential=")
        .nth(1)?
        .split('/')
        .next()
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let end = text[start..].find(close)? + start;
    Some(&text[start..end])
}

/// The Account API's GetRegionOptStatus, from [`Proxy::set_region_statuses`].
fn region_opt_status(
    parts: &hyper::http::request::Parts,
    body: &[u8],
    state: &Arc<Mutex<State>>,
) -> Response<Full<Bytes>> {
    let region = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["RegionName"].as_str().map(str::to_string))
        .unwrap_or_default();
    let mut st = state.lock().unwrap();
    let account = account_call(
        parts,
        &mut st,
        "GetRegionOptStatus",
        &[("RegionName", &region)],
    );
    let status = match st
        .region_statuses
        .get_mut(&(account.clone(), region.clone()))
    {
        Some(list) if list.len() > 1 => list.remove(0),
        Some(list) => list[0].clone(),
        None => return account_denied("GetRegionOptStatus", &account),
    };
    account_answer(serde_json::json!({"RegionName": region, "RegionOptStatus": status}).to_string())
}

/// An Account API call, recorded as the proxy records every request; returns the account
/// whose assumed-role credentials signed it.
fn account_call(
    parts: &hyper::http::request::Parts,
    st: &mut State,
    operation: &str,
    params: &[(&str, &str)],
) -> String {
    let key = access_key(parts).unwrap_or("");
    let account = st.keys.get(key).cloned().unwrap_or_default();
    st.seen.push(Seen {
        operation: operation.into(),
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        headers: vec![],
        region: String::new(),
        service: "account".into(),
        account: account.clone(),
        path: parts.uri.path().to_string(),
        response: String::new(),
    });
    account
}

/// The Account API's AccessDeniedException, for an account no answer was set for.
fn account_denied(operation: &str, account: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({"message": format!("no {operation} answer set for account {account:?}")}).to_string();
    Response::builder()
        .status(403)
        .header("x-amzn-errortype", "AccessDeniedException")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

/// The Account API's answer.
fn account_answer(body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

/// Account ListRegions, as the Account API answers it, for the account whose assumed-role
/// credentials signed the request. Each region is listed as ENABLED_BY_DEFAULT or ENABLED.
fn list_regions(
    parts: &hyper::http::request::Parts,
    state: &Arc<Mutex<State>>,
) -> Response<Full<Bytes>> {
    let mut st = state.lock().unwrap();
    let account = account_call(parts, &mut st, "ListRegions", &[]);
    let Some(regions) = st.enabled_regions.get(&account) else {
        return account_denied("ListRegions", &account);
    };
    let items: Vec<String> = regions
        .iter()
        .map(|r| {
            let opt_in = [
                "af-south-1",
                "ap-east-1",
                "me-south-1",
                "eu-south-1",
                "ap-southeast-3",
                "il-central-1",
            ]
            .contains(&r.as_str());
            let status = if opt_in {
                "ENABLED"
            } else {
                "ENABLED_BY_DEFAULT"
            };
            format!("{{\"RegionName\":\"{r}\",\"RegionOptStatus\":\"{status}\"}}")
        })
        .collect();
    account_answer(format!("{{\"Regions\":[{}]}}", items.join(",")))
}
