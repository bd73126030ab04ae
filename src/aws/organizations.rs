//! AWS Organizations: the walk from the roots (or the given OUs) to every account, with its
//! name, OU path, state and, where they are needed, its tags; every call through one gate
//! that paces Organizations' calls and bounds those in flight, and no call after the run's
//! stop time.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_sdk_organizations::Client;
use aws_sdk_organizations::config::http::HttpResponse;
use aws_sdk_organizations::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_organizations::operation::{
    list_accounts_for_parent::ListAccountsForParentOutput,
    list_organizational_units_for_parent::ListOrganizationalUnitsForParentOutput,
    list_tags_for_resource::ListTagsForResourceOutput,
};
use aws_sdk_organizations::types::{Account, AccountState, AccountStatus, OrganizationalUnit, Tag};
use futures::StreamExt;
use futures::stream::FuturesUnordered;

use crate::aws::credentials::Pacer;
use crate::aws::error::target_error;
use crate::aws::retry::{self, Backoff, Kind};
use crate::aws::session::Session;
use crate::model::{OrgWalk, Reason, TargetError};
use crate::preferences::is_placeholder_name;
use crate::target::AccountId;

/// The most accounts `ListAccountsForParent` answers in one page (and OUs
/// `ListOrganizationalUnitsForParent`).
const PAGE: i32 = 20;
/// Calls in flight at the start, and at the most: Organizations answers "another request is
/// already in progress" to a caller with too many at once, and publishes no number.
const IN_FLIGHT_START: usize = 4;
const IN_FLIGHT_MAX: usize = 16;
/// The walk's reads (a listing, or an account's tags) started at once: enough to keep the most
/// calls in flight busy, few enough that each waits little for the gate.
const READS_STARTED: usize = 2 * IN_FLIGHT_MAX;
/// A failure that may pass (a timeout, a 5xx): tried again from 100 ms, at most 5 s apart.
const RETRY: Backoff =
    Backoff::new(Duration::from_millis(100), Duration::from_secs(5)).jittered(0.5);

impl Session {
    /// An Organizations client with the base credentials (the caller is in the management or
    /// a delegated administrator account), making one attempt per call: the gate retries, so
    /// every attempt is paced and every throttle seen.
    pub(crate) fn organizations(&self) -> Client {
        let conf = aws_sdk_organizations::config::Builder::from(self.base())
            .retry_config(RetryConfig::standard().with_max_attempts(1))
            .build();
        Client::from_conf(conf)
    }

    /// The gate every Organizations call of this session goes through.
    pub(crate) fn organizations_gate(&self) -> Gate {
        let base = self.base();
        Gate::new(
            base.retry_config().map_or(3, |r| r.max_attempts()),
            base.timeout_config()
                .and_then(|t| t.operation_timeout())
                .unwrap_or(Duration::from_secs(60)),
        )
    }
}

/// Organizations throttles each management account, shared with every other tool that reads
/// it, at rates it does not publish, and answers `TooManyRequestsException` both to calls too
/// fast ("too many requests") and to too many at once ("another request is already in
/// progress"). One gate per walk: the pace is the STS pacer's rule (unlimited until the first
/// throttle, then learnt); calls in flight start at [`IN_FLIGHT_START`], halve when
/// Organizations says a request is in progress, and grow by one after as many successes as
/// the bound. A throttled call is tried again for as long as `--operation-timeout`, so no
/// account is lost to a throttle; each try again is counted.
#[derive(Debug)]
pub(crate) struct Gate {
    pacer: Pacer,
    slots: Mutex<Slots>,
    freed: tokio::sync::Notify,
    calls: AtomicU64,
    retries: AtomicU64,
    max_attempts: u32,
    budget: Duration,
}

#[derive(Debug)]
struct Slots {
    in_flight: usize,
    limit: usize,
    /// Successes since the bound last changed.
    since: usize,
    last_cut: Instant,
}

/// A call in flight: its slot is given back when dropped.
struct Slot<'a>(&'a Gate);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.slots.lock().expect("gate lock").in_flight -= 1;
        self.0.freed.notify_waiters();
    }
}

impl Gate {
    pub(crate) fn new(max_attempts: u32, budget: Duration) -> Self {
        Gate {
            pacer: Pacer::default(),
            slots: Mutex::new(Slots {
                in_flight: 0,
                limit: IN_FLIGHT_START,
                since: 0,
                last_cut: Instant::now(),
            }),
            freed: tokio::sync::Notify::new(),
            calls: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            max_attempts: max_attempts.max(1),
            budget,
        }
    }

    /// Calls made (every attempt), and throttled or failed attempts tried again.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (
            self.calls.load(Ordering::Relaxed),
            self.retries.load(Ordering::Relaxed),
        )
    }

    /// Waits for a slot under the bound.
    async fn slot(&self) -> Slot<'_> {
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            {
                let mut s = self.slots.lock().expect("gate lock");
                if s.in_flight < s.limit {
                    s.in_flight += 1;
                    return Slot(self);
                }
            }
            freed.await;
        }
    }

    fn succeeded(&self) {
        self.pacer.succeeded();
        let mut s = self.slots.lock().expect("gate lock");
        s.since += 1;
        if s.since >= s.limit && s.limit < IN_FLIGHT_MAX {
            s.limit += 1;
            s.since = 0;
            drop(s);
            self.freed.notify_waiters();
        }
    }

    /// "Another request is already in progress": fewer at once, at most one cut a second
    /// (the calls in flight at the cut may answer the same).
    fn crowded(&self) {
        let mut s = self.slots.lock().expect("gate lock");
        let now = Instant::now();
        if now.duration_since(s.last_cut) >= Duration::from_secs(1) {
            s.limit = (s.limit / 2).max(1);
            s.since = 0;
            s.last_cut = now;
        }
    }

    /// One call, as `send` makes it, through the gate: tried again while throttled (within
    /// the budget) or failing in a way that may pass (within `--max-attempts`).
    pub(crate) async fn call<T, E, F, Fut>(&self, send: F) -> Result<T, SdkError<E, HttpResponse>>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata,
    {
        let started = Instant::now();
        let mut failures = 0;
        loop {
            let slot = self.slot().await;
            self.pacer.acquire().await;
            self.calls.fetch_add(1, Ordering::Relaxed);
            let err = match send().await {
                Ok(answer) => {
                    self.succeeded();
                    return Ok(answer);
                }
                Err(e) => e,
            };
            drop(slot);
            match retry::of_call(&err) {
                Kind::Throttled if started.elapsed() < self.budget => {
                    self.retries.fetch_add(1, Ordering::Relaxed);
                    self.pacer.throttled();
                    if in_progress(&err) {
                        self.crowded();
                    }
                }
                Kind::Transient if failures + 1 < self.max_attempts => {
                    self.retries.fetch_add(1, Ordering::Relaxed);
                    failures += 1;
                    tokio::time::sleep(RETRY.wait(failures)).await;
                }
                _ => return Err(err),
            }
        }
    }
}

/// Whether a throttle says too many calls are in flight, rather than too many a second.
fn in_progress<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    err.message()
        .is_some_and(|m| m.contains("already in progress"))
}

/// One account found, with where it sits in the organization.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Found {
    pub id: String,
    pub name: String,
    pub email: String,
    /// `Root/Production/Payments`
    pub ou_path: String,
    pub tags: Vec<String>,
    /// Its tags `ssm-prefs:KEY` = VALUE: the values of the preferences' `{KEY}`.
    pub vars: BTreeMap<String, String>,
    /// Its tags as read by this walk (key, value), for the tags cache; `None` where they were
    /// not read (not needed, or taken from the cache).
    pub tags_read: Option<Vec<(String, String)>>,
}

/// The tag key prefix that makes an Organizations tag a placeholder's value.
pub(crate) const VAR_TAG: &str = "ssm-prefs:";

/// What the walk found: the accounts to list, what was left out, and how far it got.
#[derive(Debug, Default)]
pub(crate) struct Discovery {
    pub accounts: Vec<Found>,
    pub suspended: Vec<String>,
    pub management: Option<String>,
    pub walk: OrgWalk,
}

/// Why the walk stopped.
#[derive(Debug)]
pub(crate) enum WalkError {
    /// An OU given is not in the organization (bad input).
    UnknownOu(String),
    /// A call failed.
    Failed(TargetError),
}

impl From<TargetError> for WalkError {
    fn from(e: TargetError) -> Self {
        WalkError::Failed(e)
    }
}

/// What the walk reads, and until when.
#[derive(Debug, Clone, Default)]
pub(crate) struct WalkOptions<'a> {
    /// Only these OUs (and what is under them); none: the whole organization.
    pub ous: &'a [String],
    pub include_management: bool,
    /// Each account's tags (`ListTagsForResource`, one call per account): only where a tag
    /// may fill a placeholder or select an account.
    pub read_tags: bool,
    /// Accounts whose tags are known (the tags cache, less what is read again this run):
    /// taken as they are, with no call.
    pub known_tags: Option<&'a BTreeMap<String, Vec<(String, String)>>>,
    /// No call starts after this: the OUs and tags not read by then are counted, not read.
    pub stop_at: Option<Instant>,
    /// The calls still in flight are given up: the run's rows and reports come first.
    pub abandon_at: Option<Instant>,
    /// Set when the run gives the walk up (Ctrl-C): as at `abandon_at`, the calls in flight
    /// are given up and the walk ends with how far it got.
    pub given_up: Option<tokio::sync::watch::Receiver<bool>>,
    /// Each account found, sent as soon as it is, so that its targets start while the walk
    /// goes on (src/run/walking.rs). Only where no tag is read: an account whose tags are
    /// needed is known only once they are.
    pub found: Option<futures::channel::mpsc::UnboundedSender<Found>>,
}

type Tags = Vec<Tag>;

/// What one of the walk's concurrent reads answered: a parent's child OUs or accounts, or an
/// account's tags; each with whether every page was read before the stop time.
enum Read {
    Children(String, String, Vec<(String, String)>, bool),
    /// A page of a parent's accounts, whether it was the last, and the next page's token.
    Accounts(String, String, Vec<Account>, bool, Option<String>),
    Tags(usize, Tags, bool),
}

/// Walks the organization from its roots, or from the given OUs. Every OU's child OUs and its
/// accounts are listed as soon as the OU is found, and each account's tags (where asked) as
/// soon as the account is: all at once, as far as the gate lets calls through.
pub(crate) async fn walk(
    org: &Client,
    gate: &Gate,
    endpoint: &str,
    opts: &WalkOptions<'_>,
) -> Result<Discovery, WalkError> {
    let began = Instant::now();
    let management = gate
        .call(|| org.describe_organization().send())
        .await
        .map_err(|e| target_error(e, endpoint))?
        .organization
        .and_then(|o| o.master_account_id);
    let mut starts: Vec<(String, String)> = vec![];
    if opts.ous.is_empty() {
        let roots = gate
            .call(|| org.list_roots().send())
            .await
            .map_err(|e| target_error(e, endpoint))?;
        for root in roots.roots.unwrap_or_default() {
            starts.push((
                root.id.unwrap_or_default(),
                root.name.unwrap_or_else(|| "Root".into()),
            ));
        }
    } else {
        for ou in opts.ous {
            let described = match gate
                .call(|| {
                    org.describe_organizational_unit()
                        .organizational_unit_id(ou)
                        .send()
                })
                .await
            {
                Ok(d) => d,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_organizational_unit_not_found_exception()) =>
                {
                    return Err(WalkError::UnknownOu(ou.clone()));
                }
                Err(e) => return Err(target_error(e, endpoint).into()),
            };
            let name = described
                .organizational_unit
                .and_then(|o| o.name)
                .unwrap_or_else(|| ou.clone());
            starts.push((ou.clone(), name));
        }
    }
    let mut found = Discovery {
        management: management.clone(),
        ..Default::default()
    };
    // Where each account found is in `found.accounts`.
    let mut at: HashMap<String, usize> = HashMap::new();
    // Each OU found, by id and path (an OU given under another given OU is walked from
    // both): its listings read whole, two when walked.
    let mut whole: HashMap<(String, String), u8> = HashMap::new();
    // Accounts whose tags were asked for and not read (yet).
    let mut untagged: Vec<bool> = vec![];
    // Accounts whose tags came from the cache.
    let mut tags_cached = 0;
    let stop_at = opts.stop_at;
    let children = |parent: String, path: String| async move {
        let (ous, all) = every_page(gate, endpoint, stop_at, |token| {
            org.list_organizational_units_for_parent()
                .parent_id(&parent)
                .max_results(PAGE)
                .set_next_token(token)
                .send()
        })
        .await?;
        let ous = ous
            .into_iter()
            .map(|ou| (ou.id.unwrap_or_default(), ou.name.unwrap_or_default()))
            .collect();
        Ok::<_, TargetError>(Read::Children(parent, path, ous, all))
    };
    // A parent's accounts a page at a time, each page's accounts handled as it comes (a run
    // that streams them starts their targets): the next page is asked once this one is in.
    let accounts = |parent: String, path: String, token: Option<String>| async move {
        let send = |token: Option<String>| {
            org.list_accounts_for_parent()
                .parent_id(&parent)
                .max_results(PAGE)
                .set_next_token(token)
                .send()
        };
        let read = match one_page(gate, endpoint, stop_at, token, &send).await? {
            Some((page, next)) => Read::Accounts(parent.clone(), path, page, next.is_none(), next),
            None => Read::Accounts(parent.clone(), path, vec![], false, None),
        };
        Ok::<_, TargetError>(read)
    };
    let tags = |i: usize, id: String| async move {
        let listed = every_page(gate, endpoint, stop_at, |token| {
            org.list_tags_for_resource()
                .resource_id(&id)
                .set_next_token(token)
                .send()
        });
        let (tags, all) = listed.await?;
        Ok::<_, TargetError>(Read::Tags(i, tags, all))
    };
    // The reads started, at most READS_STARTED at once, and those waiting their turn, first
    // come first: a read started waits for the gate with few others, so a throttled call is
    // tried again within its budget however many accounts' tags are still to read.
    let mut reads = FuturesUnordered::new();
    let mut waiting: VecDeque<Pending<'_>> = VecDeque::new();
    for (id, path) in starts {
        whole.insert((id.clone(), path.clone()), 0);
        waiting.push_back(Box::pin(children(id.clone(), path.clone())));
        waiting.push_back(Box::pin(accounts(id, path, None)));
    }
    let mut given_up = opts.given_up.clone();
    let abandon = async {
        let at = async {
            match opts.abandon_at {
                Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
                None => std::future::pending().await,
            }
        };
        let told = async {
            match given_up.as_mut() {
                Some(told) => {
                    let _ = told.wait_for(|g| *g).await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = at => {}
            () = told => {}
        }
    };
    tokio::pin!(abandon);
    loop {
        while reads.len() < READS_STARTED
            && let Some(read) = waiting.pop_front()
        {
            reads.push(read);
        }
        if reads.is_empty() {
            break;
        }
        let read = tokio::select! {
            Some(read) = reads.next() => read?,
            // Whatever is still in flight or waiting is given up, and counted as not read.
            () = &mut abandon => break,
        };
        let (parent, path, listed, all) = match read {
            Read::Tags(i, tags, all) => {
                if all {
                    let pairs: Vec<(String, String)> =
                        tags.into_iter().map(|t| (t.key, t.value)).collect();
                    set_tags(&mut found.accounts[i], &pairs);
                    found.accounts[i].tags_read = Some(pairs);
                    untagged[i] = false;
                }
                continue;
            }
            Read::Children(parent, path, listed, all) => {
                for (id, name) in &listed {
                    let path = format!("{path}/{name}");
                    whole.insert((id.clone(), path.clone()), 0);
                    waiting.push_back(Box::pin(children(id.clone(), path.clone())));
                    waiting.push_back(Box::pin(accounts(id.clone(), path, None)));
                }
                *whole.entry((parent, path)).or_default() += u8::from(all);
                continue;
            }
            Read::Accounts(parent, path, listed, last, next) => {
                if let Some(token) = next {
                    waiting.push_back(Box::pin(accounts(
                        parent.clone(),
                        path.clone(),
                        Some(token),
                    )));
                }
                (parent, path, listed, last)
            }
        };
        *whole.entry((parent, path.clone())).or_default() += u8::from(all);
        for account in listed {
            let id = account.id.clone().unwrap_or_default();
            if !is_active(&account) {
                if !found.suspended.contains(&id) {
                    found.suspended.push(id);
                }
                continue;
            }
            if !opts.include_management && management.as_deref() == Some(id.as_str()) {
                continue;
            }
            // An OU given with one of its ancestors is walked from both: the account is one,
            // under the path from the outermost OU given (the longer one).
            if let Some(seen) = at.get(&id).map(|&i| &mut found.accounts[i]) {
                if path.len() > seen.ou_path.len() {
                    let ou_tag = format!("ou:{}", seen.ou_path);
                    for tag in seen.tags.iter_mut().filter(|t| **t == ou_tag) {
                        *tag = format!("ou:{path}");
                    }
                    seen.ou_path = path.clone();
                }
                continue;
            }
            let i = found.accounts.len();
            at.insert(id.clone(), i);
            let known = opts.known_tags.and_then(|k| k.get(&id));
            let read = opts.read_tags && known.is_none();
            if read {
                waiting.push_back(Box::pin(tags(i, id.clone())));
            }
            untagged.push(read);
            let mut account = Found {
                name: account.name.clone().unwrap_or_else(|| id.clone()),
                email: account.email.clone().unwrap_or_default(),
                id,
                ou_path: path.clone(),
                tags: vec![format!("ou:{path}")],
                vars: BTreeMap::new(),
                tags_read: None,
            };
            if let Some(known) = known.filter(|_| opts.read_tags) {
                set_tags(&mut account, known);
                tags_cached += 1;
            }
            if let Some(sent) = &opts.found {
                // The run gone (interrupted, or its last target done) wants no more.
                let _ = sent.unbounded_send(account.clone());
            }
            found.accounts.push(account);
        }
    }
    // An account whose tags were needed and not read is left out: its placeholders would be
    // filled without them.
    let mut keep = untagged.iter().map(|u| !u);
    found.accounts.retain(|_| keep.next().unwrap_or(true));
    found.accounts.sort_by(|a, b| a.id.cmp(&b.id));
    found.suspended.sort();
    let (calls, retries) = gate.counts();
    // An OU is walked when every walk of it was read whole.
    let mut ous: HashMap<&str, bool> = HashMap::new();
    for ((id, _), n) in &whole {
        *ous.entry(id).or_insert(true) &= *n == 2;
    }
    let ous_walked = ous.values().filter(|w| **w).count();
    found.walk = OrgWalk {
        accounts: found.accounts.len(),
        suspended: found.suspended.len(),
        ous_walked,
        ous_left: ous.len() - ous_walked,
        accounts_left: untagged.iter().filter(|u| **u).count(),
        tags_read: opts.read_tags,
        tags_cached,
        streamed: opts.found.is_some(),
        calls,
        retries,
        duration_ms: began.elapsed().as_millis() as u64,
        complete: false,
    };
    found.walk.complete = found.walk.ous_left == 0 && found.walk.accounts_left == 0;
    Ok(found)
}

/// A read of the walk in flight.
type Pending<'a> = std::pin::Pin<Box<dyn Future<Output = Result<Read, TargetError>> + Send + 'a>>;

/// An account's tags as the inventory holds them (`KEY:VALUE`, then its `ou:PATH`), and its
/// tags `ssm-prefs:KEY` as placeholders' values.
fn set_tags(a: &mut Found, tags: &[(String, String)]) {
    let ou = a.tags.pop();
    let (listed, vars) = tag_values(tags);
    a.vars = vars;
    a.tags = listed.into_iter().chain(ou).collect();
}

/// An account's tags (key, value) as an inventory holds them (`KEY:VALUE`), and its tags
/// `ssm-prefs:KEY` as placeholders' values.
pub(crate) fn tag_values(tags: &[(String, String)]) -> (Vec<String>, BTreeMap<String, String>) {
    // From the tag's own key and value: a value may hold `:` too.
    let vars = tags
        .iter()
        .filter_map(|(key, value)| Some((key.strip_prefix(VAR_TAG)?, value)))
        .filter(|(k, _)| is_placeholder_name(k))
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let listed = tags
        .iter()
        .map(|(key, value)| format!("{key}:{value}"))
        .collect();
    (listed, vars)
}

/// One account's tags (`ListTagsForResource`, every page): `--event` alone, where a tag may
/// fill a placeholder.
pub(crate) async fn account_tags(
    org: &Client,
    gate: &Gate,
    endpoint: &str,
    id: &AccountId,
) -> Result<Vec<(String, String)>, TargetError> {
    let (tags, _) = every_page(gate, endpoint, None, |token| {
        org.list_tags_for_resource()
            .resource_id(id.to_string())
            .set_next_token(token)
            .send()
    })
    .await?;
    Ok(tags.into_iter().map(|t| (t.key, t.value)).collect())
}

/// Every page of a listing through the gate (`send` asks for the page after the token), until
/// the stop time: the items of the pages read, and whether that was all of them.
async fn every_page<P, E, F, Fut>(
    gate: &Gate,
    endpoint: &str,
    stop_at: Option<Instant>,
    send: F,
) -> Result<(Vec<P::Item>, bool), TargetError>
where
    P: Page,
    F: Fn(Option<String>) -> Fut,
    Fut: Future<Output = Result<P, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let mut items = vec![];
    let mut token: Option<String> = None;
    loop {
        let Some((page, next)) = one_page(gate, endpoint, stop_at, token, &send).await? else {
            return Ok((items, false));
        };
        items.extend(page);
        match next {
            Some(next) => token = Some(next),
            None => return Ok((items, true)),
        }
    }
}

/// The page of a listing after `token`, through the gate, and the next page's token; none
/// once the stop time has come.
async fn one_page<P, E, F, Fut>(
    gate: &Gate,
    endpoint: &str,
    stop_at: Option<Instant>,
    token: Option<String>,
    send: &F,
) -> Result<Option<(Vec<P::Item>, Option<String>)>, TargetError>
where
    P: Page,
    F: Fn(Option<String>) -> Fut,
    Fut: Future<Output = Result<P, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    if stop_at.is_some_and(|at| Instant::now() >= at) {
        return Ok(None);
    }
    let page = gate
        .call(|| send(token.clone()))
        .await
        .map_err(|e| target_error(e, endpoint))?;
    let next = page.next().map(str::to_string);
    Ok(Some((page.items(), next)))
}

/// A page of a listing: its items, and the token of the next page, if any.
trait Page {
    type Item;
    fn next(&self) -> Option<&str>;
    fn items(self) -> Vec<Self::Item>;
}

macro_rules! page {
    ($($output:ty => $field:ident: $item:ty),* $(,)?) => {$(
        impl Page for $output {
            type Item = $item;
            fn next(&self) -> Option<&str> {
                self.next_token.as_deref()
            }
            fn items(self) -> Vec<$item> {
                self.$field.unwrap_or_default()
            }
        }
    )*};
}

page!(
    ListOrganizationalUnitsForParentOutput => organizational_units: OrganizationalUnit,
    ListAccountsForParentOutput => accounts: Account,
    ListTagsForResourceOutput => tags: Tag,
);

/// An account's name, as Organizations holds it (`DescribeAccount`).
pub(crate) async fn name(
    org: &Client,
    gate: &Gate,
    endpoint: &str,
    id: &AccountId,
) -> Result<String, TargetError> {
    gate.call(|| org.describe_account().account_id(id.to_string()).send())
        .await
        .map_err(|e| target_error(e, endpoint))?
        .account
        .and_then(|a| a.name)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| TargetError::new(Reason::ServiceError, "the answer names no account"))
}

/// Whether the organization holds the account (`DescribeAccount`): `false` where it answers
/// that it does not.
pub(crate) async fn holds(
    org: &Client,
    gate: &Gate,
    endpoint: &str,
    id: &AccountId,
) -> Result<bool, TargetError> {
    match gate
        .call(|| org.describe_account().account_id(id.to_string()).send())
        .await
    {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_account_not_found_exception()) =>
        {
            Ok(false)
        }
        Err(e) => Err(target_error(e, endpoint)),
    }
}

/// ACTIVE by the newer `State` where the API sends it, else by the older `Status`.
fn is_active(a: &Account) -> bool {
    match (a.state(), a.status()) {
        (Some(state), _) => *state == AccountState::Active,
        (None, Some(status)) => *status == AccountStatus::Active,
        (None, None) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_gate_halves_its_calls_in_flight_when_crowded_and_grows_back_one_at_a_time() {
        let gate = Gate::new(3, Duration::from_secs(5));
        let limit = |g: &Gate| g.slots.lock().unwrap().limit;
        assert_eq!(limit(&gate), IN_FLIGHT_START);
        // A round of successes (as many as the bound) adds one.
        for _ in 0..IN_FLIGHT_START {
            gate.succeeded();
        }
        let grown = IN_FLIGHT_START + 1;
        assert_eq!(limit(&gate), grown);
        // "Already in progress": halved, once a second however many calls answer so.
        gate.slots.lock().unwrap().last_cut -= Duration::from_secs(1);
        gate.crowded();
        gate.crowded();
        assert_eq!(limit(&gate), grown / 2);
        // Never below one, never above the most.
        for _ in 0..10 {
            gate.slots.lock().unwrap().last_cut -= Duration::from_secs(1);
            gate.crowded();
        }
        assert_eq!(limit(&gate), 1);
        for _ in 0..1000 {
            gate.succeeded();
        }
        assert_eq!(limit(&gate), IN_FLIGHT_MAX);
        // A slot is held while a call is in flight and given back after.
        let held: Vec<Slot<'_>> = futures::future::join_all((0..3).map(|_| gate.slot())).await;
        assert_eq!(gate.slots.lock().unwrap().in_flight, 3);
        drop(held);
        assert_eq!(gate.slots.lock().unwrap().in_flight, 0);
    }

    #[test]
    fn an_accounts_tags_keep_its_ou_path_last_and_fill_only_placeholder_names() {
        let tag = |k: &str, v: &str| (k.to_string(), v.to_string());
        let mut a = Found {
            id: "111111111111".into(),
            name: "a".into(),
            email: String::new(),
            ou_path: "Root/Prod".into(),
            tags: vec!["ou:Root/Prod".into()],
            vars: BTreeMap::new(),
            tags_read: None,
        };
        set_tags(
            &mut a,
            &[
                tag("env", "prod"),
                tag("ssm-prefs:log_bucket", "b:1"),
                tag("ssm-prefs:not a name", "x"),
            ],
        );
        assert_eq!(
            a.tags,
            [
                "env:prod",
                "ssm-prefs:log_bucket:b:1",
                "ssm-prefs:not a name:x",
                "ou:Root/Prod"
            ]
        );
        assert_eq!(
            a.vars,
            BTreeMap::from([("log_bucket".to_string(), "b:1".to_string())])
        );
    }
}
