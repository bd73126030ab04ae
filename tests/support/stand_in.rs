//! A fast stand-in for AWS: STS (AssumeRole, GetCallerIdentity) and the SSM document calls,
//! answered in the services' wire shapes from state held in memory, per (account, region,
//! document). moto serves ~180 requests/s per process; this serves thousands on one core, so
//! a benchmark measures the client, not the emulator. Optionally AWS-like: a fixed latency per
//! request and token buckets (one per account and region for SSM, one for the hub's STS calls)
//! that answer throttling as the services do. Signatures are not checked, as moto does not.
//! CloudTrail's LookupEvents answers from the document calls it records as CloudTrail would
//! (who, which call, when; never the content), with its 2-per-second bucket per account and
//! region in the AWS-like mode. moto has no LookupEvents. The Account API's ListRegions and
//! GetRegionOptStatus answer as AWS does for an account that has the default regions and the
//! opt-in regions of `Options::opted_in` (moto lacks that API too). Security Hub's GetFindings
//! and BatchImportFindings answer as a hub holding no finding yet that takes every finding
//! sent (nothing is kept: `audit --security-hub` is measured, not checked, against it).
//! Organizations answers the walk's calls (DescribeOrganization, ListRoots,
//! ListOrganizationalUnitsForParent, ListAccountsForParent in pages of at most 20,
//! ListTagsForResource, DescribeAccount, DescribeOrganizationalUnit) for an organization of
//! `Options::org`'s shape, throttled as AWS's is: a token bucket per caller and a bound on the
//! caller's requests in progress, each answered `TooManyRequestsException`.
//! Preflight's node check is answered for `Options::nodes_per_target` online EC2 nodes in
//! every account and region, each with the instance profile `NodeProfile` of role `NodeRole`,
//! which may do everything (SSM DescribeInstanceInformation and GetServiceSetting, EC2
//! DescribeIamInstanceProfileAssociations, IAM GetInstanceProfile and SimulatePrincipalPolicy),
//! and KMS's DescribeKey and GetKeyPolicy for any key (enabled, symmetric, its policy
//! delegating to the account); and the rest of preflight's reads: S3's HeadBucket (any bucket
//! exists, in us-east-1, the caller's own), ListBuckets (the caller's buckets: any name asked
//! for) and GetBucketEncryption (SSE-KMS with the account's key `stand-in-bucket` there), and
//! CloudWatch Logs' DescribeLogGroups (any group exists, encrypted), so a run with preflight
//! on can be measured.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;

/// The account of base (non-assumed-role) credentials, as moto's default.
pub const DEFAULT_ACCOUNT: &str = "123456789012";

/// A token bucket's refill rate and size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

/// SSM's bucket per (account, region) in the AWS-like mode.
pub const SSM_RATE: Rate = Rate {
    per_second: 5.0,
    burst: 10.0,
};

/// The one bucket all of the hub's STS calls share in the AWS-like mode: tight on purpose, so
/// a rollout's AssumeRoles (one per account) are what contends.
pub const STS_RATE: Rate = Rate {
    per_second: 20.0,
    burst: 50.0,
};

#[derive(Debug, Clone)]
pub struct Options {
    /// Every request waits this long before it is answered (a round trip to AWS).
    pub latency: Duration,
    /// SSM's token bucket per (account, region); none: never throttled.
    pub ssm_rate: Option<Rate>,
    /// The bucket of all STS calls; none: never throttled.
    pub sts_rate: Option<Rate>,
    /// Worker threads of the server's runtime.
    pub threads: usize,
    /// The opt-in regions every account has ENABLED (the others are DISABLED); the default
    /// regions are ENABLED_BY_DEFAULT, as AWS lists them.
    pub opted_in: Vec<String>,
    /// The organization Organizations answers for; none: an organization of the base
    /// credentials' account alone.
    pub org: OrgShape,
    /// Organizations' token bucket per caller; none: never throttled for its rate.
    pub org_rate: Option<Rate>,
    /// The most Organizations requests one caller may have in progress; more are answered
    /// "another request is already in progress". None: no bound.
    pub org_in_flight: Option<usize>,
    /// Online managed nodes in every account and region (the node check's calls).
    pub nodes_per_target: usize,
    /// The last OU's `ListAccountsForParent` answers only once SSM has answered this many
    /// requests (at most [`ORG_HOLD_MAX`] later): a run whose targets wait for the walk's end
    /// would wait that long, and [`StandIn::held_too_long`] says so.
    pub org_hold: Option<u64>,
    /// S3 calls answered `AccessDenied` (403), as S3 answers a caller its policy does not let.
    pub s3_denied: Vec<&'static str>,
}

/// How long the last OU's accounts are held back at most (`org_hold`): less than a call's
/// attempt timeout, so a run that does not stream still ends.
pub const ORG_HOLD_MAX: Duration = Duration::from_secs(15);

/// The stand-in's organization: the base credentials' account ([`DEFAULT_ACCOUNT`]) manages
/// it from the root; `accounts` members, `2000000000NN`-style ids from `first`, named
/// `bench-00001`…, dealt in turn into `ous` OUs under the root (none: all in the root).
/// With `tags`, each member has the tags `env` = `bench` and `ssm-prefs:log_bucket` =
/// `bench-logs-ID`.
#[derive(Debug, Clone, Default)]
pub struct OrgShape {
    pub accounts: usize,
    pub ous: usize,
    pub first: u64,
    pub tags: bool,
}

/// Organizations' bucket per caller in the AWS-like mode. AWS publishes no rate: this one is
/// an assumption (the bench's `--org-rate` changes it), tight enough that a walk of 10,000
/// accounts is throttled.
pub const ORG_RATE: Rate = Rate {
    per_second: 10.0,
    burst: 20.0,
};

/// Organizations' requests in progress per caller in the AWS-like mode.
pub const ORG_IN_FLIGHT: usize = 4;

/// The id of the stand-in organization's root.
pub const ORG_ROOT: &str = "r-stnd";

impl OrgShape {
    /// The member accounts' ids, in order.
    pub fn ids(&self) -> impl Iterator<Item = String> + '_ {
        (1..=self.accounts as u64).map(|i| format!("{:012}", self.first + i))
    }

    fn ou_id(n: usize) -> String {
        format!("ou-stnd-{n:08}")
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            latency: Duration::ZERO,
            ssm_rate: None,
            sts_rate: None,
            threads: 1,
            opted_in: vec![],
            org: OrgShape::default(),
            org_rate: None,
            org_in_flight: None,
            nodes_per_target: 0,
            org_hold: None,
            s3_denied: vec![],
        }
    }
}

impl Options {
    /// AWS-like: this latency and the default buckets.
    pub fn aws_like(latency: Duration) -> Options {
        Options {
            latency,
            ssm_rate: Some(SSM_RATE),
            sts_rate: Some(STS_RATE),
            org_rate: Some(ORG_RATE),
            org_in_flight: Some(ORG_IN_FLIGHT),
            ..Options::default()
        }
    }
}

/// The operations counted in fixed slots (no lock on the hot path); others by name.
const OPS: &[&str] = &[
    "AssumeRole",
    "GetCallerIdentity",
    "GetDocument",
    "CreateDocument",
    "UpdateDocument",
    "DescribeDocument",
    "UpdateDocumentDefaultVersion",
    "DeleteDocument",
    "AddTagsToResource",
    "ListTagsForResource",
    "RemoveTagsFromResource",
    "ListDocumentVersions",
    "LookupEvents",
    "ListRegions",
    "GetRegionOptStatus",
];

const SHARDS: usize = 64;

struct Counter {
    requests: [AtomicU64; OPS.len()],
    throttled: [AtomicU64; OPS.len()],
    /// Operations outside OPS: name → (requests, throttled).
    other: Mutex<BTreeMap<String, (u64, u64)>>,
}

impl Counter {
    fn add(&self, op: &str, throttled: bool) {
        match OPS.iter().position(|o| *o == op) {
            Some(i) => {
                let slot = if throttled {
                    &self.throttled[i]
                } else {
                    &self.requests[i]
                };
                slot.fetch_add(1, Ordering::Relaxed);
            }
            None => {
                let mut other = self.other.lock().unwrap();
                let e = other.entry(op.to_string()).or_default();
                if throttled { e.1 += 1 } else { e.0 += 1 }
            }
        }
    }
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn full(rate: Rate) -> Bucket {
        Bucket {
            tokens: rate.burst,
            last: Instant::now(),
        }
    }

    fn take(&mut self, rate: Rate, now: Instant) -> bool {
        let refill = now.saturating_duration_since(self.last).as_secs_f64() * rate.per_second;
        self.tokens = (self.tokens + refill).min(rate.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// One (account, region): its SSM bucket and documents, and its CloudTrail.
struct Place {
    bucket: Option<Bucket>,
    /// SSM requests the bucket let through since the last clear.
    admitted: u64,
    docs: HashMap<String, Doc>,
    /// The document calls that changed something, oldest first, as CloudTrail records them.
    trail: Vec<TrailEvent>,
    /// LookupEvents' own bucket (2 per second) in the AWS-like mode.
    trail_bucket: Option<Bucket>,
}

/// One recorded call: CloudTrail keeps who made it and when, not the document's content.
struct TrailEvent {
    id: u64,
    name: &'static str,
    document: String,
    caller: String,
    user: String,
    time: f64,
}

/// The calls CloudTrail records here (the ones that change a document).
const RECORDED: [&str; 4] = [
    "CreateDocument",
    "UpdateDocument",
    "UpdateDocumentDefaultVersion",
    "DeleteDocument",
];

/// LookupEvents' limit per account and region.
pub const TRAIL_RATE: Rate = Rate {
    per_second: 2.0,
    burst: 2.0,
};

struct Version {
    content: String,
    hash: String,
    created: f64,
    format: String,
    schema_version: String,
    description: Option<String>,
}

struct Doc {
    doc_type: String,
    versions: BTreeMap<u32, Version>,
    default: u32,
    /// Insertion order, as SSM lists them.
    tags: Vec<(String, String)>,
}

impl Doc {
    fn latest(&self) -> u32 {
        self.versions.keys().next_back().copied().unwrap_or(0)
    }
}

/// Who an assumed-role access key belongs to, for GetCallerIdentity.
struct Principal {
    account: String,
    role: String,
    session: String,
}

struct Shared {
    options: Options,
    counter: Counter,
    places: Vec<Mutex<HashMap<(String, String), Place>>>,
    hasher: std::collections::hash_map::RandomState,
    sts_bucket: Mutex<Bucket>,
    sts_admitted: AtomicU64,
    /// The most SSM requests one (account, region) bucket let through since the last clear.
    ssm_admitted_max: AtomicU64,
    keys: Mutex<HashMap<String, Principal>>,
    serial: AtomicU64,
    /// Organizations' callers: each one's bucket and requests in progress.
    org_callers: Mutex<HashMap<String, OrgCaller>>,
    /// Organizations requests the buckets let through since the last clear.
    org_admitted: AtomicU64,
    /// SSM requests answered (`org_hold`), and who waits for them.
    ssm_answered: AtomicU64,
    ssm_answer: tokio::sync::Notify,
    /// `org_hold`s that ran out before SSM had answered enough.
    held_too_long: AtomicU64,
}

struct OrgCaller {
    bucket: Option<Bucket>,
    in_flight: usize,
}

pub struct StandIn {
    pub url: String,
    shared: Arc<Shared>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl StandIn {
    /// No latency, no throttling.
    pub fn start() -> StandIn {
        Self::start_with(Options::default())
    }

    /// Listens on a free loopback port, on a thread and runtime of its own, so tests of any
    /// flavour can use it; it stops when dropped.
    pub fn start_with(options: Options) -> StandIn {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        Self::serve(listener, options)
    }

    pub fn serve(listener: std::net::TcpListener, options: Options) -> StandIn {
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let sts_rate = options.sts_rate.unwrap_or(STS_RATE);
        let threads = options.threads.max(1);
        let shared = Arc::new(Shared {
            counter: Counter {
                requests: std::array::from_fn(|_| AtomicU64::new(0)),
                throttled: std::array::from_fn(|_| AtomicU64::new(0)),
                other: Mutex::default(),
            },
            places: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: Default::default(),
            sts_bucket: Mutex::new(Bucket::full(sts_rate)),
            sts_admitted: AtomicU64::new(0),
            ssm_admitted_max: AtomicU64::new(0),
            keys: Mutex::default(),
            serial: AtomicU64::new(0),
            org_callers: Mutex::default(),
            org_admitted: AtomicU64::new(0),
            ssm_answered: AtomicU64::new(0),
            ssm_answer: tokio::sync::Notify::new(),
            held_too_long: AtomicU64::new(0),
            options,
        });
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let sh = shared.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads)
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
                    // Small answers on kept-alive connections: never wait on Nagle.
                    let _ = stream.set_nodelay(true);
                    let sh = sh.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req| handle(req, sh.clone()));
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
            runtime.shutdown_background();
        });
        StandIn {
            url,
            shared,
            _stop: stop,
        }
    }

    /// Requests per operation since the last clear, throttled ones included.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.shared.counts(false)
    }

    /// Requests per operation answered with throttling since the last clear.
    pub fn throttled(&self) -> BTreeMap<String, u64> {
        self.shared.counts(true)
    }

    /// `org_hold`s that ran out before SSM had answered enough: the run's targets waited for
    /// the walk's end.
    pub fn held_too_long(&self) -> u64 {
        self.shared.held_too_long.load(Ordering::Relaxed)
    }

    pub fn count(&self, operation: &str) -> u64 {
        self.counts().get(operation).copied().unwrap_or(0)
    }

    /// What the benchmark's control endpoint answers: requests per operation, then
    /// `throttled:OP` per operation, `bucket:sts` (STS requests let through) and
    /// `bucket:ssm-max` (the most SSM requests one (account, region) let through).
    pub fn bench_counts(&self) -> BTreeMap<String, u64> {
        self.shared.bench_counts()
    }

    /// Forgets the counts and fills every bucket again, so each benchmark contender starts as
    /// a fresh client would; the documents stay.
    pub fn clear(&self) {
        self.shared.clear()
    }
}

impl Shared {
    fn counts(&self, throttled: bool) -> BTreeMap<String, u64> {
        let c = &self.counter;
        let slots = if throttled { &c.throttled } else { &c.requests };
        let mut out = BTreeMap::new();
        for (op, n) in OPS.iter().zip(slots) {
            let n = n.load(Ordering::Relaxed);
            if n > 0 {
                out.insert(op.to_string(), n);
            }
        }
        for (op, (req, thr)) in c.other.lock().unwrap().iter() {
            let n = if throttled { *thr } else { *req };
            if n > 0 {
                out.insert(op.clone(), n);
            }
        }
        if !throttled {
            // A throttled request is a request too.
            for (op, n) in self.counts(true) {
                *out.entry(op).or_insert(0) += n;
            }
        }
        out
    }

    fn bench_counts(&self) -> BTreeMap<String, u64> {
        let mut out = self.counts(false);
        for (op, n) in self.counts(true) {
            out.insert(format!("throttled:{op}"), n);
        }
        out.insert(
            "bucket:sts".into(),
            self.sts_admitted.load(Ordering::Relaxed),
        );
        out.insert(
            "bucket:ssm-max".into(),
            self.ssm_admitted_max.load(Ordering::Relaxed),
        );
        // Only where Organizations was asked: the other modes' counts stay as they were.
        match self.org_admitted.load(Ordering::Relaxed) {
            0 => {}
            n => {
                out.insert("bucket:org".into(), n);
            }
        }
        out
    }

    fn clear(&self) {
        let c = &self.counter;
        for n in c.requests.iter().chain(&c.throttled) {
            n.store(0, Ordering::Relaxed);
        }
        c.other.lock().unwrap().clear();
        self.sts_admitted.store(0, Ordering::Relaxed);
        self.ssm_admitted_max.store(0, Ordering::Relaxed);
        self.org_admitted.store(0, Ordering::Relaxed);
        self.org_callers.lock().unwrap().clear();
        if let Some(rate) = self.options.sts_rate {
            *self.sts_bucket.lock().unwrap() = Bucket::full(rate);
        }
        for shard in &self.places {
            for place in shard.lock().unwrap().values_mut() {
                place.admitted = 0;
                place.bucket = self.options.ssm_rate.map(Bucket::full);
                place.trail_bucket = self.options.ssm_rate.map(|_| Bucket::full(TRAIL_RATE));
            }
        }
    }

    fn shard(&self, account: &str, region: &str) -> &Mutex<HashMap<(String, String), Place>> {
        &self.places[self.hasher.hash_one((account, region)) as usize % SHARDS]
    }

    /// The ARN and user name CloudTrail records for calls made with this access key.
    fn caller(&self, key: &str) -> (String, String) {
        match self.keys.lock().unwrap().get(key) {
            Some(p) => (
                format!(
                    "arn:aws:sts::{}:assumed-role/{}/{}",
                    p.account, p.role, p.session
                ),
                p.session.clone(),
            ),
            None => (
                format!("arn:aws:iam::{DEFAULT_ACCOUNT}:user/stand-in"),
                "stand-in".into(),
            ),
        }
    }

    fn request_id(&self) -> String {
        let n = self.serial.fetch_add(1, Ordering::Relaxed);
        format!("5ea1d0c0-0000-4000-8000-{n:012x}")
    }
}

type Answer = Response<Full<Bytes>>;

async fn handle(req: Request<Incoming>, sh: Arc<Shared>) -> Result<Answer, Infallible> {
    let (parts, body) = req.into_parts();
    if parts.uri.path().starts_with("/__bench/") {
        return Ok(control(&parts, &sh));
    }
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    // SigV4's credential scope: Credential=KEY/20260101/eu-west-1/ssm/aws4_request
    let scope: Vec<&str> = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split("Credential=").nth(1))
        .map(|c| {
            c.split([',', ' '])
                .next()
                .unwrap_or("")
                .split('/')
                .collect()
        })
        .unwrap_or_default();
    let key = scope.first().copied().unwrap_or("");
    let region = scope.get(2).copied().unwrap_or("us-east-1");
    let service = scope.get(3).copied().unwrap_or("");
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let rid = sh.request_id();
    let answer = if let Some(op) = target.strip_prefix("AWSOrganizationsV20161128.") {
        organizations(&sh, op, &body, &account_of(key), &rid).await
    } else if let Some(op) = target
        .strip_prefix("AmazonSSM.")
        .filter(|op| NODE_OPS.contains(op))
    {
        pause(&sh).await;
        sh.counter.add(op, false);
        node_ssm(&sh, op, &account_of(key), region, &rid)
    } else if let Some(op) = target.strip_prefix("Logs_20140328.") {
        pause(&sh).await;
        sh.counter.add(op, false);
        logs(op, &body, &account_of(key), region, &rid)
    } else if service == "s3" {
        let op = match (parts.method.as_str(), parts.uri.query().unwrap_or("")) {
            ("HEAD", _) => "HeadBucket",
            ("GET", q) if q.contains("encryption") => "GetBucketEncryption",
            ("GET", _) if parts.uri.path() == "/" => "ListBuckets",
            _ => "S3",
        };
        pause(&sh).await;
        sh.counter.add(op, false);
        if sh.options.s3_denied.contains(&op) {
            return Ok(answer(
                403,
                "application/xml",
                format!(
                    "<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>{rid}</RequestId></Error>"
                ),
                &rid,
            ));
        }
        s3(op, &parts.uri, &account_of(key), &rid)
    } else if let Some(op) = target.strip_prefix("TrentService.") {
        pause(&sh).await;
        sh.counter.add(op, false);
        kms(op, &body, &account_of(key), region, &rid)
    } else if service == "ec2" || service == "iam" {
        let params: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
        let op = params.get("Action").map_or("", String::as_str);
        pause(&sh).await;
        sh.counter.add(op, false);
        node_query(&sh, op, &params, &account_of(key), region, &rid)
    } else if let Some(op) = target.strip_prefix("AmazonSSM.") {
        pause(&sh).await;
        let answer = ssm(&sh, op, &body, key, region, &rid);
        if sh.options.org_hold.is_some() {
            sh.ssm_answered.fetch_add(1, Ordering::Relaxed);
            sh.ssm_answer.notify_waiters();
        }
        answer
    } else if let Some(op) = target
        .strip_prefix("CloudTrail_20131101.")
        .or_else(|| target.strip_prefix("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."))
    {
        pause(&sh).await;
        cloudtrail(&sh, op, &body, &account_of(key), region, &rid)
    } else if let Some(op) = match parts.uri.path() {
        "/listRegions" => Some("ListRegions"),
        "/getRegionOptStatus" => Some("GetRegionOptStatus"),
        _ => None,
    } {
        pause(&sh).await;
        sh.counter.add(op, false);
        account_api(&sh, op, &body, &rid)
    } else if let Some(op) = match (service, parts.uri.path()) {
        ("securityhub", "/findings") => Some("GetFindings"),
        ("securityhub", "/findings/import") => Some("BatchImportFindings"),
        _ => None,
    } {
        pause(&sh).await;
        sh.counter.add(op, false);
        security_hub(op, &body, &rid)
    } else if service == "sts" || (target.is_empty() && body.starts_with(b"Action=")) {
        let params: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
        let op = params.get("Action").map_or("", String::as_str);
        pause(&sh).await;
        let admitted = sh
            .options
            .sts_rate
            .is_none_or(|rate| sh.sts_bucket.lock().unwrap().take(rate, Instant::now()));
        sh.counter.add(op, !admitted);
        if admitted {
            sh.sts_admitted.fetch_add(1, Ordering::Relaxed);
            sts(&sh, op, &params, key, &rid)
        } else {
            xml(400, sts_error("Throttling", "Rate exceeded", &rid), &rid)
        }
    } else {
        let op = target.rsplit('.').next().filter(|o| !o.is_empty());
        sh.counter.add(
            op.unwrap_or(&format!("{} {}", parts.method, parts.uri.path())),
            false,
        );
        pause(&sh).await;
        json_error(
            "UnknownOperationException",
            &format!("the stand-in does not serve {target:?} of service {service:?}"),
            &rid,
        )
    };
    Ok(answer)
}

/// SSM's calls of the node check, answered apart from the document calls (no bucket).
const NODE_OPS: [&str; 2] = ["DescribeInstanceInformation", "GetServiceSetting"];

/// The instance id of node `n` of an account and region (the same in every node call).
fn node_id(account: &str, n: usize) -> String {
    format!("i-{account}{n:05}")
}

fn node_ssm(sh: &Shared, op: &str, account: &str, region: &str, rid: &str) -> Answer {
    let body = match op {
        "DescribeInstanceInformation" => {
            let nodes: Vec<Value> = (0..sh.options.nodes_per_target)
                .map(|n| {
                    json!({
                        "InstanceId": node_id(account, n),
                        "PingStatus": "Online",
                        "AgentVersion": "3.3.1142.0",
                        "PlatformType": "Linux",
                        "ResourceType": "EC2Instance",
                        "IsLatestVersion": true,
                    })
                })
                .collect();
            json!({"InstanceInformationList": nodes})
        }
        _ => json!({"ServiceSetting": {
            "SettingId": "/ssm/managed-instance/default-ec2-instance-management-role",
            "SettingValue": "$None",
            "Status": "Default",
            "ARN": format!("arn:aws:ssm:{region}:{account}:servicesetting/ssm/managed-instance/default-ec2-instance-management-role"),
        }}),
    };
    json_answer(200, body.to_string(), rid)
}

/// CloudWatch Logs: any log group exists, encrypted with the account's key of its region.
fn logs(op: &str, body: &[u8], account: &str, region: &str, rid: &str) -> Answer {
    let input: Value = serde_json::from_slice(body).unwrap_or_default();
    match op {
        "DescribeLogGroups" => {
            let name = input["logGroupNamePrefix"].as_str().unwrap_or("stand-in");
            let out = json!({"logGroups": [{
                "logGroupName": name,
                "arn": format!("arn:aws:logs:{region}:{account}:log-group:{name}:*"),
                "kmsKeyId": format!("arn:aws:kms:{region}:{account}:key/stand-in-logs"),
            }]});
            json_answer(200, out.to_string(), rid)
        }
        _ => json_error(
            "UnknownOperationException",
            &format!("the stand-in does not serve CloudWatch Logs {op}"),
            rid,
        ),
    }
}

/// S3 (path-style, as the SDK asks an endpoint override): every bucket exists in us-east-1,
/// owned by the caller's account, SSE-KMS with that account's key `stand-in-bucket`.
fn s3(op: &str, uri: &hyper::Uri, account: &str, rid: &str) -> Answer {
    let bucket = uri
        .path()
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("");
    let ok = |body: String| {
        let mut a = answer(200, "application/xml", body, rid);
        a.headers_mut().insert(
            "x-amz-bucket-region",
            hyper::header::HeaderValue::from_static("us-east-1"),
        );
        a
    };
    match op {
        "HeadBucket" => ok(String::new()),
        "GetBucketEncryption" => ok(format!(
            "<ServerSideEncryptionConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Rule>\
             <ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm>\
             <KMSMasterKeyID>arn:aws:kms:us-east-1:{account}:key/stand-in-bucket</KMSMasterKeyID>\
             </ApplyServerSideEncryptionByDefault><BucketKeyEnabled>true</BucketKeyEnabled></Rule>\
             </ServerSideEncryptionConfiguration>"
        )),
        "ListBuckets" => {
            // The caller's own buckets: whatever the prefix asks for.
            let prefix = uri
                .query()
                .and_then(|q| {
                    form_urlencoded::parse(q.as_bytes())
                        .find(|(k, _)| k == "prefix")
                        .map(|(_, v)| v.into_owned())
                })
                .unwrap_or_else(|| "stand-in".to_string());
            ok(format!(
                "<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
                 <Owner><ID>{account}</ID></Owner><Buckets><Bucket><Name>{}</Name>\
                 <CreationDate>2026-01-01T00:00:00.000Z</CreationDate><BucketRegion>us-east-1</BucketRegion>\
                 </Bucket></Buckets></ListAllMyBucketsResult>",
                escape(&prefix)
            ))
        }
        _ => answer(
            400,
            "application/xml",
            format!(
                "<Error><Code>NotImplemented</Code><Message>the stand-in does not serve this S3 call on {}</Message><RequestId>{rid}</RequestId></Error>",
                escape(bucket)
            ),
            rid,
        ),
    }
}

/// KMS: any key exists, enabled and symmetric, its policy delegating to the account's IAM.
fn kms(op: &str, body: &[u8], account: &str, region: &str, rid: &str) -> Answer {
    let input: Value = serde_json::from_slice(body).unwrap_or_default();
    let id = input["KeyId"].as_str().unwrap_or("stand-in");
    let arn = if id.starts_with("arn:") {
        id.to_string()
    } else {
        format!(
            "arn:aws:kms:{region}:{account}:key/stand-in-{}",
            id.trim_start_matches("alias/")
        )
    };
    let out = match op {
        "DescribeKey" => json!({"KeyMetadata": {
            "KeyId": arn.rsplit('/').next().unwrap_or(""),
            "Arn": arn,
            "KeyState": "Enabled",
            "KeySpec": "SYMMETRIC_DEFAULT",
            "KeyUsage": "ENCRYPT_DECRYPT",
            "Enabled": true,
        }}),
        "GetKeyPolicy" => json!({"PolicyName": "default", "Policy": json!({
            "Version": "2012-10-17",
            "Statement": [{"Sid": "Enable IAM User Permissions", "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
                "Action": "kms:*", "Resource": "*"}],
        }).to_string()}),
        _ => {
            return json_error(
                "UnsupportedOperationException",
                &format!("the stand-in does not serve KMS {op}"),
                rid,
            );
        }
    };
    json_answer(200, out.to_string(), rid)
}

/// EC2's and IAM's Query calls of the node check: every node has the profile `NodeProfile`
/// of the role `NodeRole`, which may do everything asked.
fn node_query(
    sh: &Shared,
    op: &str,
    params: &HashMap<String, String>,
    account: &str,
    region: &str,
    rid: &str,
) -> Answer {
    let profile = format!("arn:aws:iam::{account}:instance-profile/NodeProfile");
    let role = format!("arn:aws:iam::{account}:role/NodeRole");
    let body = match op {
        "DescribeIamInstanceProfileAssociations" => {
            let items: String = (0..sh.options.nodes_per_target)
                .map(|n| {
                    format!(
                        "<item><associationId>iip-assoc-{n}</associationId><instanceId>{}</instanceId>\
                         <iamInstanceProfile><arn>{profile}</arn><id>AIPA{n}</id></iamInstanceProfile>\
                         <state>associated</state></item>",
                        node_id(account, n)
                    )
                })
                .collect();
            format!(
                "<DescribeIamInstanceProfileAssociationsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\
                 <requestId>{rid}</requestId><iamInstanceProfileAssociationSet>{items}</iamInstanceProfileAssociationSet>\
                 </DescribeIamInstanceProfileAssociationsResponse>"
            )
        }
        "GetInstanceProfile" => format!(
            "<GetInstanceProfileResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><GetInstanceProfileResult>\
             <InstanceProfile><InstanceProfileName>NodeProfile</InstanceProfileName><Arn>{profile}</Arn>\
             <Roles><member><RoleName>NodeRole</RoleName><Arn>{role}</Arn></member></Roles></InstanceProfile>\
             </GetInstanceProfileResult><ResponseMetadata><RequestId>{rid}</RequestId></ResponseMetadata></GetInstanceProfileResponse>"
        ),
        "SimulatePrincipalPolicy" => {
            let list = |prefix: &str| -> Vec<&String> {
                let mut keys: Vec<(usize, &String)> = params
                    .iter()
                    .filter_map(|(k, v)| Some((k.strip_prefix(prefix)?.parse().ok()?, v)))
                    .collect();
                keys.sort();
                keys.into_iter().map(|(_, v)| v).collect()
            };
            let mut results = String::new();
            for action in list("ActionNames.member.") {
                for resource in list("ResourceArns.member.") {
                    results.push_str(&format!(
                        "<member><EvalActionName>{}</EvalActionName><EvalResourceName>{}</EvalResourceName>\
                         <EvalDecision>allowed</EvalDecision></member>",
                        escape(action),
                        escape(resource)
                    ));
                }
            }
            format!(
                "<SimulatePrincipalPolicyResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
                 <SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated><EvaluationResults>{results}</EvaluationResults>\
                 </SimulatePrincipalPolicyResult><ResponseMetadata><RequestId>{rid}</RequestId></ResponseMetadata>\
                 </SimulatePrincipalPolicyResponse>"
            )
        }
        _ => {
            return xml(
                400,
                sts_error(
                    "InvalidAction",
                    &format!("the stand-in does not serve {op} ({region})"),
                    rid,
                ),
                rid,
            );
        }
    };
    xml(200, body, rid)
}

async fn pause(sh: &Shared) {
    if !sh.options.latency.is_zero() {
        tokio::time::sleep(sh.options.latency).await;
    }
}

fn place<'a>(
    shard: &'a mut HashMap<(String, String), Place>,
    sh: &Shared,
    account: &str,
    region: &str,
) -> &'a mut Place {
    shard
        .entry((account.to_string(), region.to_string()))
        .or_insert_with(|| Place {
            bucket: sh.options.ssm_rate.map(Bucket::full),
            admitted: 0,
            docs: HashMap::new(),
            trail: vec![],
            trail_bucket: sh.options.ssm_rate.map(|_| Bucket::full(TRAIL_RATE)),
        })
}

/// The account of an access key: assumed-role keys carry it (`ASIA` + 12 digits + 4 more),
/// anything else is the base credentials' account.
fn account_of(key: &str) -> String {
    match key.strip_prefix("ASIA") {
        Some(rest) if rest.len() == 16 && rest[..12].bytes().all(|b| b.is_ascii_digit()) => {
            rest[..12].to_string()
        }
        _ => DEFAULT_ACCOUNT.to_string(),
    }
}

fn control(parts: &hyper::http::request::Parts, sh: &Shared) -> Answer {
    let (status, body) = match (parts.method.as_str(), parts.uri.path()) {
        ("GET", "/__bench/counts") => (200, serde_json::to_string(&sh.bench_counts()).unwrap()),
        ("POST", "/__bench/reset") => {
            sh.clear();
            (200, "{}".to_string())
        }
        _ => (404, "{\"error\":\"unknown path\"}".to_string()),
    };
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

// --- STS (query protocol, XML) ----------------------------------------------------------

const STS_NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

fn sts(sh: &Shared, op: &str, params: &HashMap<String, String>, key: &str, rid: &str) -> Answer {
    match op {
        "AssumeRole" => assume_role(sh, params, rid),
        "GetCallerIdentity" => {
            let (user_id, account, arn) = match sh.keys.lock().unwrap().get(key) {
                Some(p) => (
                    format!("{}:{}", role_id(&p.account, &p.role), p.session),
                    p.account.clone(),
                    format!(
                        "arn:aws:sts::{}:assumed-role/{}/{}",
                        p.account, p.role, p.session
                    ),
                ),
                None => (
                    "AIDASTANDIN000000001".to_string(),
                    DEFAULT_ACCOUNT.to_string(),
                    format!("arn:aws:iam::{DEFAULT_ACCOUNT}:user/stand-in"),
                ),
            };
            xml(
                200,
                format!(
                    "<GetCallerIdentityResponse xmlns=\"{STS_NS}\"><GetCallerIdentityResult>\
                     <UserId>{}</UserId><Account>{account}</Account><Arn>{}</Arn>\
                     </GetCallerIdentityResult><ResponseMetadata><RequestId>{rid}</RequestId>\
                     </ResponseMetadata></GetCallerIdentityResponse>",
                    escape(&user_id),
                    escape(&arn)
                ),
                rid,
            )
        }
        _ => xml(
            400,
            sts_error(
                "InvalidAction",
                &format!("Could not find operation {op} for version 2011-06-15"),
                rid,
            ),
            rid,
        ),
    }
}

fn assume_role(sh: &Shared, params: &HashMap<String, String>, rid: &str) -> Answer {
    let arn = params.get("RoleArn").map_or("", String::as_str);
    let session = params.get("RoleSessionName").map_or("", String::as_str);
    // arn:PARTITION:iam::ACCOUNT:role/PATH/NAME
    let fields: Vec<&str> = arn.splitn(6, ':').collect();
    let role = fields
        .get(5)
        .and_then(|r| r.strip_prefix("role/"))
        .map(|r| r.rsplit('/').next().unwrap_or(r));
    let (Some(role), Some(account)) = (
        role.filter(|r| !r.is_empty()),
        fields
            .get(4)
            .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())),
    ) else {
        return xml(
            400,
            sts_error("ValidationError", &format!("{arn} is invalid"), rid),
            rid,
        );
    };
    if session.is_empty() || session.len() > 64 {
        return xml(
            400,
            sts_error(
                "ValidationError",
                "1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint",
                rid,
            ),
            rid,
        );
    }
    let duration: u64 = params
        .get("DurationSeconds")
        .and_then(|d| d.parse().ok())
        .unwrap_or(3600);
    let n = sh.serial.fetch_add(1, Ordering::Relaxed);
    let key = format!("ASIA{account}{:04X}", n & 0xFFFF);
    let secret = format!("standInSecret{n:027}");
    let token = format!("StandInSessionToken/{account}/{n:016x}");
    let expiration = iso8601(SystemTime::now() + Duration::from_secs(duration));
    sh.keys.lock().unwrap().insert(
        key.clone(),
        Principal {
            account: account.to_string(),
            role: role.to_string(),
            session: session.to_string(),
        },
    );
    let partition = fields.get(1).copied().unwrap_or("aws");
    xml(
        200,
        format!(
            "<AssumeRoleResponse xmlns=\"{STS_NS}\"><AssumeRoleResult><Credentials>\
             <AccessKeyId>{key}</AccessKeyId><SecretAccessKey>{secret}</SecretAccessKey>\
             <SessionToken>{}</SessionToken><Expiration>{expiration}</Expiration></Credentials>\
             <AssumedRoleUser><AssumedRoleId>{}:{}</AssumedRoleId>\
             <Arn>arn:{}:sts::{account}:assumed-role/{}/{}</Arn></AssumedRoleUser>\
             </AssumeRoleResult><ResponseMetadata><RequestId>{rid}</RequestId></ResponseMetadata>\
             </AssumeRoleResponse>",
            escape(&token),
            role_id(account, role),
            escape(session),
            escape(partition),
            escape(role),
            escape(session)
        ),
        rid,
    )
}

/// A role's unique id (AROA + 17 characters), stable per account and role.
fn role_id(account: &str, role: &str) -> String {
    let digest = Sha256::digest(format!("{account}/{role}").as_bytes());
    let id: String = digest
        .iter()
        .take(17)
        .map(|b| (b'A' + b % 26) as char)
        .collect();
    format!("AROA{id}")
}

fn sts_error(code: &str, message: &str, rid: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"{STS_NS}\"><Error><Type>Sender</Type><Code>{code}</Code>\
         <Message>{}</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>",
        escape(message)
    )
}

fn xml(status: u16, body: String, rid: &str) -> Answer {
    answer(status, "text/xml", body, rid)
}

/// An answer with this status, content type, body and request id (the SDK reads the id).
fn answer(status: u16, content_type: &str, body: String, rid: &str) -> Answer {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("x-amzn-requestid", rid)
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

fn escape(s: &str) -> String {
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return s.to_string();
    }
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// `2026-12-01T09:08:24Z`: the civil date of a Unix time (Howard Hinnant's days-to-civil).
fn iso8601(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

// --- SSM (JSON 1.1) -----------------------------------------------------------------------

/// An SSM error as the service answers it.
struct Fault(&'static str, String);

fn fault(code: &'static str, message: impl Into<String>) -> Fault {
    Fault(code, message.into())
}

fn no_document() -> Fault {
    fault("InvalidDocument", "The specified document does not exist.")
}

/// An opt-in region's status in every account: ENABLED where `Options::opted_in` has it.
fn opt_status(sh: &Shared, region: &ssm_prefs::target::Region) -> &'static str {
    if !region.opt_in() {
        "ENABLED_BY_DEFAULT"
    } else if sh.options.opted_in.iter().any(|r| r == region.as_str()) {
        "ENABLED"
    } else {
        "DISABLED"
    }
}

/// The Account API (REST-JSON, `POST /listRegions` and `/getRegionOptStatus`) as its API
/// reference answers: ListRegions pages of `MaxResults` (1 to 50, 20 when not given) filtered
/// by `RegionOptStatusContains`, a `NextToken` while more remain; an unknown region is a
/// ValidationException.
fn account_api(sh: &Shared, op: &str, body: &[u8], rid: &str) -> Answer {
    let input: Value = serde_json::from_slice(body).unwrap_or(json!({}));
    let regions = ssm_prefs::target::Region::all().filter(|r| r.partition() == "aws");
    if op == "GetRegionOptStatus" {
        let name = text(&input, "RegionName").unwrap_or_default();
        return match ssm_prefs::target::Region::all().find(|r| r.as_str() == name) {
            Some(r) => json_answer(
                200,
                json!({"RegionName": name, "RegionOptStatus": opt_status(sh, &r)}).to_string(),
                rid,
            ),
            None => json_error(
                "ValidationException",
                &format!("unknown region {name:?}"),
                rid,
            ),
        };
    }
    let wanted: Vec<&str> = input["RegionOptStatusContains"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let listed: Vec<Value> = regions
        .map(|r| (r.as_str().to_string(), opt_status(sh, &r)))
        .filter(|(_, s)| wanted.is_empty() || wanted.contains(s))
        .map(|(name, s)| json!({"RegionName": name, "RegionOptStatus": s}))
        .collect();
    let page = input["MaxResults"].as_u64().unwrap_or(20).clamp(1, 50) as usize;
    let start: usize = text(&input, "NextToken")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let end = (start + page).min(listed.len());
    let mut out = json!({"Regions": listed.get(start..end).unwrap_or_default()});
    if end < listed.len() {
        out["NextToken"] = json!(end.to_string());
    }
    json_answer(200, out.to_string(), rid)
}

/// The walk's Organizations calls (JSON 1.1), counted as `Organizations.OP`: the caller's
/// requests in progress first ("another request is already in progress" past the bound),
/// then its bucket ("too many requests"), both `TooManyRequestsException` as AWS answers them.
async fn organizations(sh: &Shared, op: &str, body: &[u8], caller: &str, rid: &str) -> Answer {
    let counted = format!("Organizations.{op}");
    let crowded = {
        let mut callers = sh.org_callers.lock().unwrap();
        let c = callers
            .entry(caller.to_string())
            .or_insert_with(|| OrgCaller {
                bucket: sh.options.org_rate.map(Bucket::full),
                in_flight: 0,
            });
        let crowded = sh.options.org_in_flight.is_some_and(|n| c.in_flight >= n);
        c.in_flight += 1;
        crowded
    };
    pause(sh).await;
    let admitted = !crowded && {
        let mut callers = sh.org_callers.lock().unwrap();
        let c = callers.get_mut(caller).expect("entered above");
        match (&mut c.bucket, sh.options.org_rate) {
            (Some(b), Some(rate)) => b.take(rate, Instant::now()),
            _ => true,
        }
    };
    if let Some(c) = sh.org_callers.lock().unwrap().get_mut(caller) {
        c.in_flight -= 1;
    }
    sh.counter.add(&counted, !admitted);
    if !admitted {
        let message = if crowded {
            "AWS Organizations can't complete your request because another request is already in progress. Try again later."
        } else {
            "You have sent too many requests in too short a period of time. The quota helps protect against denial-of-service attacks. Try again later."
        };
        return json_answer(
            400,
            json!({"__type": "TooManyRequestsException", "Message": message, "Type": "TooManyRequests"})
                .to_string(),
            rid,
        );
    }
    sh.org_admitted.fetch_add(1, Ordering::Relaxed);
    let input: Value = serde_json::from_slice(body).unwrap_or(json!({}));
    if op == "ListAccountsForParent" {
        hold_the_last_ou(sh, &input).await;
    }
    match org_op(&sh.options.org, op, &input) {
        Ok(out) => json_answer(200, out.to_string(), rid),
        Err(Fault(code, message)) => json_answer(
            400,
            json!({"__type": code, "Message": message}).to_string(),
            rid,
        ),
    }
}

/// `org_hold`: the last OU's accounts wait until SSM has answered enough requests.
async fn hold_the_last_ou(sh: &Shared, input: &Value) {
    let (Some(enough), k) = (sh.options.org_hold, sh.options.org.ous) else {
        return;
    };
    if k == 0 || text(input, "ParentId") != Some(OrgShape::ou_id(k - 1).as_str()) {
        return;
    }
    let answered = async {
        loop {
            let more = sh.ssm_answer.notified();
            if sh.ssm_answered.load(Ordering::Relaxed) >= enough {
                return;
            }
            more.await;
        }
    };
    if tokio::time::timeout(ORG_HOLD_MAX, answered).await.is_err() {
        sh.held_too_long.fetch_add(1, Ordering::Relaxed);
    }
}

/// One Organizations operation on the stand-in's organization (which never changes).
fn org_op(shape: &OrgShape, op: &str, input: &Value) -> Result<Value, Fault> {
    let org_id = "o-stndin0001";
    let arn = |kind: &str, id: &str| {
        format!("arn:aws:organizations::{DEFAULT_ACCOUNT}:{kind}/{org_id}/{id}")
    };
    let account = |i: usize| {
        let id = format!("{:012}", shape.first + i as u64);
        json!({
            "Id": id,
            "Arn": arn("account", &id),
            "Email": format!("bench-{i:05}@example.com"),
            "Name": format!("bench-{i:05}"),
            "Status": "ACTIVE",
            "State": "ACTIVE",
            "JoinedMethod": "CREATED",
            "JoinedTimestamp": 1.7e9,
        })
    };
    let management = json!({
        "Id": DEFAULT_ACCOUNT,
        "Arn": arn("account", DEFAULT_ACCOUNT),
        "Email": "management@example.com",
        "Name": "management",
        "Status": "ACTIVE",
        "State": "ACTIVE",
        "JoinedMethod": "CREATED",
        "JoinedTimestamp": 1.7e9,
    });
    // Which member an id is (1-based), if any.
    let member = |id: &str| -> Option<usize> {
        let n: u64 = id.parse().ok().filter(|_| id.len() == 12)?;
        let i = n.checked_sub(shape.first)? as usize;
        (1..=shape.accounts).contains(&i).then_some(i)
    };
    let ou = |n: usize| {
        let id = OrgShape::ou_id(n);
        json!({"Id": id, "Arn": arn("ou", &id), "Name": format!("OU-{n:03}")})
    };
    let is_ou = |id: &str| {
        id.strip_prefix("ou-stnd-")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n < shape.ous)
    };
    // A page of `items` from NextToken (an offset), of MaxResults (1 to 20, as the API
    // reference allows; 20 when not given).
    // Only the page's items are built: a listing of 10,000 accounts is read 20 at a time.
    let page = |key: &str, len: usize, item: &dyn Fn(usize) -> Value| -> Result<Value, Fault> {
        let size = match input.get("MaxResults") {
            None => 20,
            Some(v) => match v.as_u64() {
                Some(n @ 1..=20) => n as usize,
                _ => {
                    return Err(fault(
                        "InvalidInputException",
                        format!("MaxResults {v} is not between 1 and 20"),
                    ));
                }
            },
        };
        let start: usize = match text(input, "NextToken") {
            None => 0,
            Some(t) => t
                .strip_prefix("next:")
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| fault("InvalidInputException", "the NextToken is not valid"))?,
        };
        let end = (start + size).min(len);
        let items: Vec<Value> = (start.min(end)..end).map(item).collect();
        let mut out = json!({ key: items });
        if end < len {
            out["NextToken"] = json!(format!("next:{end}"));
        }
        Ok(out)
    };
    let parent = || -> Result<&str, Fault> {
        let p = text(input, "ParentId").unwrap_or_default();
        if p == ORG_ROOT || is_ou(p).is_some() {
            Ok(p)
        } else {
            Err(fault("ParentNotFoundException", format!("no parent {p:?}")))
        }
    };
    match op {
        "DescribeOrganization" => Ok(json!({"Organization": {
            "Id": org_id,
            "Arn": format!("arn:aws:organizations::{DEFAULT_ACCOUNT}:organization/{org_id}"),
            "FeatureSet": "ALL",
            "MasterAccountArn": arn("account", DEFAULT_ACCOUNT),
            "MasterAccountId": DEFAULT_ACCOUNT,
            "MasterAccountEmail": "management@example.com",
        }})),
        "ListRoots" => page(
            "Roots",
            1,
            &|_| json!({"Id": ORG_ROOT, "Arn": arn("root", ORG_ROOT), "Name": "Root", "PolicyTypes": []}),
        ),
        "ListOrganizationalUnitsForParent" => {
            let len = match parent()? {
                ORG_ROOT => shape.ous,
                _ => 0,
            };
            page("OrganizationalUnits", len, &ou)
        }
        "ListAccountsForParent" => {
            // Members are dealt in turn: OU n holds n + 1, n + 1 + OUs, ...; the root holds
            // the management account, and every member when there is no OU.
            let p = parent()?;
            match (p, shape.ous) {
                (ORG_ROOT, 0) => page("Accounts", shape.accounts + 1, &|j| match j {
                    0 => management.clone(),
                    j => account(j),
                }),
                (ORG_ROOT, _) => page("Accounts", 1, &|_| management.clone()),
                (_, k) => {
                    let n = is_ou(p).expect("a parent checked above");
                    let len = shape.accounts.saturating_sub(n).div_ceil(k);
                    page("Accounts", len, &|j| account(n + 1 + j * k))
                }
            }
        }
        "DescribeAccount" => {
            let id = text(input, "AccountId").unwrap_or_default();
            match (id == DEFAULT_ACCOUNT, member(id)) {
                (true, _) => Ok(json!({"Account": management})),
                (_, Some(i)) => Ok(json!({"Account": account(i)})),
                _ => Err(fault(
                    "AccountNotFoundException",
                    format!("no account {id:?}"),
                )),
            }
        }
        "DescribeOrganizationalUnit" => {
            let id = text(input, "OrganizationalUnitId").unwrap_or_default();
            match is_ou(id) {
                Some(n) => Ok(json!({"OrganizationalUnit": ou(n)})),
                None => Err(fault(
                    "OrganizationalUnitNotFoundException",
                    format!("no OU {id:?}"),
                )),
            }
        }
        "ListTagsForResource" => {
            let id = text(input, "ResourceId").unwrap_or_default();
            let tags = match member(id) {
                Some(_) if shape.tags => vec![
                    json!({"Key": "env", "Value": "bench"}),
                    json!({"Key": "ssm-prefs:log_bucket", "Value": format!("bench-logs-{id}")}),
                ],
                Some(_) => vec![],
                None if id == DEFAULT_ACCOUNT || id == ORG_ROOT || is_ou(id).is_some() => vec![],
                None => {
                    return Err(fault(
                        "TargetNotFoundException",
                        format!("no resource {id:?}"),
                    ));
                }
            };
            page("Tags", tags.len(), &|j| tags[j].clone())
        }
        _ => Err(fault(
            "UnknownOperationException",
            format!("the stand-in does not serve AWSOrganizationsV20161128.{op}"),
        )),
    }
}

/// Security Hub (REST JSON): no finding is there yet, and every finding sent is taken.
fn security_hub(op: &str, body: &[u8], rid: &str) -> Answer {
    let body = if op == "GetFindings" {
        json!({"Findings": []})
    } else {
        let input: Value = serde_json::from_slice(body).unwrap_or(json!({}));
        let sent = input["Findings"].as_array().map_or(0, Vec::len);
        json!({"FailedCount": 0, "SuccessCount": sent, "FailedFindings": []})
    };
    answer(200, "application/json", body.to_string(), rid)
}

fn json_error(code: &str, message: &str, rid: &str) -> Answer {
    json_answer(
        400,
        json!({"__type": code, "message": message}).to_string(),
        rid,
    )
}

fn json_answer(status: u16, body: String, rid: &str) -> Answer {
    answer(status, "application/x-amz-json-1.1", body, rid)
}

/// One SSM request: its (account, region) bucket, then the operation, under one lock.
fn ssm(sh: &Shared, op: &str, body: &[u8], key: &str, region: &str, rid: &str) -> Answer {
    let account = &account_of(key);
    let input: Option<Value> = serde_json::from_slice(body).ok().filter(Value::is_object);
    let recorded = RECORDED.iter().find(|r| **r == op);
    let (caller, user) = match recorded {
        Some(_) => sh.caller(key),
        None => (String::new(), String::new()),
    };
    let result = {
        let mut shard = sh.shard(account, region).lock().unwrap();
        let place = place(&mut shard, sh, account, region);
        let admitted = match (sh.options.ssm_rate, place.bucket.as_mut()) {
            (Some(rate), Some(b)) => b.take(rate, Instant::now()),
            _ => true,
        };
        if admitted {
            place.admitted += 1;
            sh.ssm_admitted_max
                .fetch_max(place.admitted, Ordering::Relaxed);
            input.map(|input| {
                let out = ssm_op(op, &input, &mut place.docs, account);
                if let (Ok(_), Some(name)) = (&out, recorded) {
                    place.trail.push(TrailEvent {
                        id: sh.serial.fetch_add(1, Ordering::Relaxed),
                        name,
                        document: text(&input, "Name").unwrap_or("").to_string(),
                        caller: caller.clone(),
                        user: user.clone(),
                        time: now_secs(),
                    });
                }
                out
            })
        } else {
            Some(Err(fault("ThrottlingException", "Rate exceeded")))
        }
    };
    let throttled = matches!(&result, Some(Err(Fault("ThrottlingException", _))));
    sh.counter.add(op, throttled);
    match result {
        Some(Ok(out)) => json_answer(200, out.to_string(), rid),
        Some(Err(Fault(code, message))) => json_error(code, &message, rid),
        None => json_error(
            "SerializationException",
            "the body is not a JSON object",
            rid,
        ),
    }
}

/// LookupEvents by `ResourceName`: the recorded calls on that document, newest first, 50 (or
/// `MaxResults`) a page, `NextToken` the offset of the next page.
fn cloudtrail(
    sh: &Shared,
    op: &str,
    body: &[u8],
    account: &str,
    region: &str,
    rid: &str,
) -> Answer {
    if op != "LookupEvents" {
        sh.counter.add(op, false);
        return json_error(
            "UnknownOperationException",
            &format!("the stand-in does not serve CloudTrail's {op}"),
            rid,
        );
    }
    let input: Value = serde_json::from_slice(body).unwrap_or_default();
    let name = input["LookupAttributes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["AttributeKey"] == "ResourceName")
        .and_then(|a| a["AttributeValue"].as_str())
        .unwrap_or("")
        .to_string();
    let since = input["StartTime"].as_f64().unwrap_or(0.0);
    let size = input["MaxResults"].as_u64().unwrap_or(50).clamp(1, 50) as usize;
    let from: usize = input["NextToken"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let answer = {
        let mut shard = sh.shard(account, region).lock().unwrap();
        let place = place(&mut shard, sh, account, region);
        let admitted = place
            .trail_bucket
            .as_mut()
            .is_none_or(|b| b.take(TRAIL_RATE, Instant::now()));
        if admitted {
            let found: Vec<&TrailEvent> = place
                .trail
                .iter()
                .rev()
                .filter(|e| e.document == name && e.time >= since)
                .collect();
            let events: Vec<Value> = found
                .iter()
                .skip(from)
                .take(size)
                .map(|e| {
                    let record = json!({
                        "eventName": e.name,
                        "eventSource": "ssm.amazonaws.com",
                        "userIdentity": {"arn": e.caller},
                        "requestParameters": {"name": e.document},
                    });
                    json!({
                        "EventId": format!("{:08x}-0000-4000-8000-000000000000", e.id),
                        "EventName": e.name,
                        "EventTime": e.time,
                        "EventSource": "ssm.amazonaws.com",
                        "Username": e.user,
                        "Resources": [{"ResourceType": "AWS::SSM::Document", "ResourceName": e.document}],
                        "CloudTrailEvent": record.to_string(),
                    })
                })
                .collect();
            let mut out = json!({"Events": events});
            if from + size < found.len() {
                out["NextToken"] = json!((from + size).to_string());
            }
            Some(out)
        } else {
            None
        }
    };
    sh.counter.add(op, answer.is_none());
    match answer {
        Some(out) => json_answer(200, out.to_string(), rid),
        None => json_error("ThrottlingException", "Rate exceeded", rid),
    }
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

fn text<'a>(input: &'a Value, field: &str) -> Option<&'a str> {
    input.get(field).and_then(Value::as_str)
}

fn name_of(input: &Value) -> Result<&str, Fault> {
    let name = text(input, "Name").unwrap_or("");
    let valid = (3..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
    if valid {
        Ok(name)
    } else {
        Err(fault(
            "ValidationException",
            format!("Invalid document name {name}"),
        ))
    }
}

fn ssm_op(
    op: &str,
    input: &Value,
    docs: &mut HashMap<String, Doc>,
    account: &str,
) -> Result<Value, Fault> {
    match op {
        "GetDocument" => {
            let name = name_of(input)?;
            let doc = docs.get(name).ok_or_else(no_document)?;
            let (n, v) = pick(doc, text(input, "DocumentVersion"))?;
            Ok(json!({
                "Name": name,
                "DocumentVersion": n.to_string(),
                "Status": "Active",
                "Content": v.content,
                "DocumentType": doc.doc_type,
                "DocumentFormat": v.format,
            }))
        }
        "CreateDocument" => {
            let name = name_of(input)?;
            if ["aws-", "amazon", "amzn"]
                .iter()
                .any(|p| name.starts_with(p))
            {
                return Err(fault(
                    "ValidationException",
                    format!("Invalid document name {name}"),
                ));
            }
            let doc_type = text(input, "DocumentType").unwrap_or("Command");
            const TYPES: &[&str] = &[
                "Command",
                "Policy",
                "Automation",
                "Session",
                "Package",
                "ApplicationConfiguration",
                "ApplicationConfigurationSchema",
                "DeploymentStrategy",
                "ChangeCalendar",
            ];
            if !TYPES.contains(&doc_type) {
                return Err(fault(
                    "InvalidDocumentType",
                    format!("Invalid document type {doc_type}"),
                ));
            }
            let version = new_version(input)?;
            if docs.contains_key(name) {
                return Err(fault(
                    "DocumentAlreadyExists",
                    "The specified document already exists.",
                ));
            }
            let tags: Vec<(String, String)> = tag_list(input.get("Tags"));
            let doc = Doc {
                doc_type: doc_type.to_string(),
                versions: BTreeMap::from([(1, version)]),
                default: 1,
                tags,
            };
            let out = json!({"DocumentDescription": describe(name, &doc, 1, account)});
            docs.insert(name.to_string(), doc);
            Ok(out)
        }
        "UpdateDocument" => {
            let name = name_of(input)?;
            let version = new_version(input)?;
            let doc = docs.get_mut(name).ok_or_else(no_document)?;
            let latest = doc.latest();
            match text(input, "DocumentVersion") {
                None | Some("$LATEST") => {}
                Some(v) if v == latest.to_string() => {}
                Some(_) => {
                    return Err(fault(
                        "InvalidDocumentVersion",
                        "The document version is not valid or does not exist.",
                    ));
                }
            }
            if doc.versions.values().any(|v| v.content == version.content) {
                return Err(fault(
                    "DuplicateDocumentContent",
                    "The content of the association document matches another document. \
                     Change the content of the document and try again.",
                ));
            }
            let n = latest + 1;
            doc.versions.insert(n, version);
            Ok(json!({"DocumentDescription": describe(name, doc, n, account)}))
        }
        "DescribeDocument" => {
            let name = name_of(input)?;
            let doc = docs.get(name).ok_or_else(no_document)?;
            let (n, _) = pick(doc, text(input, "DocumentVersion"))?;
            Ok(json!({"Document": describe(name, doc, n, account)}))
        }
        "UpdateDocumentDefaultVersion" => {
            let name = name_of(input)?;
            let doc = docs.get_mut(name).ok_or_else(no_document)?;
            let n = text(input, "DocumentVersion")
                .and_then(|v| v.parse::<u32>().ok())
                .filter(|n| doc.versions.contains_key(n))
                .ok_or_else(no_document)?;
            doc.default = n;
            Ok(json!({"Description": {"Name": name, "DefaultVersion": n.to_string()}}))
        }
        "DeleteDocument" => {
            let name = name_of(input)?;
            let doc = docs.get_mut(name).ok_or_else(no_document)?;
            match text(input, "DocumentVersion") {
                None => {
                    docs.remove(name);
                }
                Some(v) => {
                    let (n, _) = pick(doc, Some(v))?;
                    if n == doc.default {
                        return Err(fault(
                            "InvalidDocumentOperation",
                            "Default version of the document can't be deleted.",
                        ));
                    }
                    doc.versions.remove(&n);
                }
            }
            Ok(json!({}))
        }
        "AddTagsToResource" | "ListTagsForResource" | "RemoveTagsFromResource" => {
            let kind = text(input, "ResourceType").unwrap_or("");
            if kind != "Document" {
                return Err(fault(
                    "InvalidResourceType",
                    format!("the stand-in tags only documents, not {kind:?}"),
                ));
            }
            let id = text(input, "ResourceId").unwrap_or("");
            let doc = docs
                .get_mut(id)
                .ok_or_else(|| fault("InvalidResourceId", "Invalid Resource Id"))?;
            match op {
                "AddTagsToResource" => {
                    for (k, v) in tag_list(input.get("Tags")) {
                        match doc.tags.iter_mut().find(|(key, _)| *key == k) {
                            Some(t) => t.1 = v,
                            None => doc.tags.push((k, v)),
                        }
                    }
                    Ok(json!({}))
                }
                "RemoveTagsFromResource" => {
                    let keys: Vec<&str> = input
                        .get("TagKeys")
                        .and_then(Value::as_array)
                        .map(|a| a.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    doc.tags.retain(|(k, _)| !keys.contains(&k.as_str()));
                    Ok(json!({}))
                }
                _ => Ok(json!({"TagList": tags_json(&doc.tags)})),
            }
        }
        "ListDocumentVersions" => {
            let name = name_of(input)?;
            let doc = docs.get(name).ok_or_else(no_document)?;
            let versions: Vec<Value> = doc
                .versions
                .iter()
                .map(|(n, v)| {
                    json!({
                        "Name": name,
                        "DocumentVersion": n.to_string(),
                        "CreatedDate": v.created,
                        "IsDefaultVersion": *n == doc.default,
                        "DocumentFormat": v.format,
                        "Status": "Active",
                    })
                })
                .collect();
            Ok(json!({"DocumentVersions": versions}))
        }
        _ => Err(fault(
            "UnknownOperationException",
            format!("the stand-in does not serve AmazonSSM.{op}"),
        )),
    }
}

/// The version a request names: a number, `$LATEST`, `$DEFAULT`, or the default when none.
fn pick<'a>(doc: &'a Doc, version: Option<&str>) -> Result<(u32, &'a Version), Fault> {
    let n = match version {
        None | Some("$DEFAULT") => Some(doc.default),
        Some("$LATEST") => Some(doc.latest()),
        Some(v) => v.parse::<u32>().ok(),
    };
    n.and_then(|n| doc.versions.get(&n).map(|v| (n, v)))
        .ok_or_else(no_document)
}

/// A version from a create or update request's Content and DocumentFormat, checked as SSM
/// checks it: the content parses and names a schemaVersion.
fn new_version(input: &Value) -> Result<Version, Fault> {
    let content = text(input, "Content").unwrap_or("");
    if content.is_empty() {
        return Err(fault("ValidationException", "Content is required"));
    }
    let format = text(input, "DocumentFormat").unwrap_or("JSON");
    let invalid = || {
        fault(
            "InvalidDocumentContent",
            "The content for the document is not valid.",
        )
    };
    let (schema_version, description) = match format {
        "JSON" => {
            let parsed: Value = serde_json::from_str(content).map_err(|_| invalid())?;
            let schema = match parsed.get("schemaVersion") {
                Some(Value::String(s)) => s.clone(),
                Some(other @ Value::Number(_)) => other.to_string(),
                _ => return Err(invalid()),
            };
            let description = text(&parsed, "description").map(String::from);
            (schema, description)
        }
        // Enough YAML for a document's two top-level scalars; the bench writes JSON.
        "YAML" => {
            let top = |key: &str| {
                content.lines().find_map(|l| {
                    l.strip_prefix(key)
                        .and_then(|r| r.strip_prefix(':'))
                        .map(|v| v.trim().trim_matches(['"', '\'']).to_string())
                })
            };
            (
                top("schemaVersion").ok_or_else(invalid)?,
                top("description"),
            )
        }
        other => {
            return Err(fault(
                "ValidationException",
                format!("Invalid document format {other}"),
            ));
        }
    };
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    Ok(Version {
        hash: hex(&Sha256::digest(content.as_bytes())),
        content: content.to_string(),
        created: millis as f64 / 1000.0,
        format: format.to_string(),
        schema_version,
        description,
    })
}

fn describe(name: &str, doc: &Doc, n: u32, account: &str) -> Value {
    let v = &doc.versions[&n];
    let mut d = json!({
        "Hash": v.hash,
        "HashType": "Sha256",
        "Name": name,
        "Owner": account,
        "CreatedDate": v.created,
        "Status": "Active",
        "DocumentVersion": n.to_string(),
        "PlatformTypes": ["Windows", "Linux", "MacOS"],
        "DocumentType": doc.doc_type,
        "SchemaVersion": v.schema_version,
        "LatestVersion": doc.latest().to_string(),
        "DefaultVersion": doc.default.to_string(),
        "DocumentFormat": v.format,
    });
    if let Some(desc) = &v.description {
        d["Description"] = json!(desc);
    }
    if !doc.tags.is_empty() {
        d["Tags"] = tags_json(&doc.tags);
    }
    d
}

fn tag_list(tags: Option<&Value>) -> Vec<(String, String)> {
    tags.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|t| Some((text(t, "Key")?.to_string(), text(t, "Value")?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn tags_json(tags: &[(String, String)]) -> Value {
    tags.iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(iso8601(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_796_112_506);
        assert_eq!(iso8601(t), "2026-12-01T08:08:26Z");
    }
}
