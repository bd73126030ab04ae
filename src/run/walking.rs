//! `--org` streamed into the run: each account's targets start as soon as the walk finds the
//! account, so that the walk's time overlaps the targets' instead of coming first
//! (docs/inputs.md "The accounts run as the walk finds them").

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use futures::channel::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;

use super::fanout::Control;
use super::items::{Arrival, Arrived, Items, Walked};
use super::org_found::{account_of, say_found, say_walk};
use super::regions::resolve_regions;
use crate::aws::organizations::{self, Discovery, Found, Gate, WalkError, WalkOptions};
use crate::aws::retry::Stop;
use crate::aws::session::Session;
use crate::inventory::Regions;
use crate::model::{OrgWalk, TargetError};
use crate::preferences::Preferences;
use crate::settings::{Deadline, RunSettings};
use crate::steps::Job;
use crate::target::{Account, AccountId, Region, Target};
use crate::terminal::printer::Printer;

/// Whether `--org`'s accounts run as the walk finds them. Only where an account alone decides
/// its targets, so that nothing found later could make the run bad input (exit 2) after its
/// first target started: no tag read (a tag may fill a placeholder or select), no account
/// named by `-a` or by name in `--not-accounts` (each must be in the organization; an id left
/// out is asked of Organizations before the walk: [`left_out`]), no `--shard` (it weighs
/// every account), no `{account_name}` where a name's rules hold (a bucket, a log group, a
/// key, a user: an account's name may not fit there), no waves (they split every account), no
/// `--retry-failed`, no `--wait-ready`, no events, and one OU at most (an account under two
/// OUs given is one, under the longer path).
/// Otherwise the walk ends before the first target starts, as it always did.
pub(crate) fn streams(args: &RunSettings, prefs: &Preferences, tags_read: bool) -> bool {
    let s = &args.source;
    let select = &args.select;
    s.org.as_ref().is_some_and(|ous| ous.len() <= 1)
        && !tags_read
        && s.events.is_none()
        && select.accounts.is_empty()
        && select
            .not_accounts
            .iter()
            .all(|a| AccountId::parse(a).is_ok())
        && select.tags.is_empty()
        && select.shard.is_none()
        && !prefs.names_with("account_name")
        && args.waves.is_none()
        && args.retry_failed.is_none()
        && args.wait_ready.is_zero()
}

/// How long a walk the run's stop ended is waited for before it is given up.
const WALK_ENDS: std::time::Duration = std::time::Duration::from_secs(1);

/// The walk started: streaming (an account found, the walk going on), or already over (it
/// found no account, or failed first), with what it answered.
pub(crate) enum Walk {
    Streaming(Walking),
    Whole(Result<Discovery, WalkError>),
}

/// The walk going on, its first account found.
pub(crate) struct Walking {
    /// The run's session: the walk's, and the one the accounts found are added to.
    pub(crate) session: Arc<Session>,
    pub(crate) first: Found,
    rest: UnboundedReceiver<Found>,
    walk: JoinHandle<Result<Discovery, WalkError>>,
    /// Tells the walk the run gave it up.
    give_up: tokio::sync::watch::Sender<bool>,
    gate: Arc<Gate>,
    started: Instant,
    /// What the accounts found are taken with (set once the walk has started).
    pub(crate) found_by: FoundBy,
}

/// What each account found is taken with, and how the walk's lines name where they are.
#[derive(Default)]
pub(crate) struct FoundBy {
    /// The caller's own account, reached with the base credentials.
    pub(crate) caller: Option<AccountId>,
    /// How the lines name where the accounts are.
    pub(crate) place: String,
    /// `--not-accounts`: left out as the walk finds them.
    pub(crate) left_out: Vec<AccountId>,
}

/// Starts the walk on a task of its own and waits for its first account (or its end).
pub(crate) async fn start(
    session: Arc<Session>,
    gate: Arc<Gate>,
    ous: &[String],
    deadline: Option<Deadline>,
) -> Walk {
    let (found, mut rest) = mpsc::unbounded();
    let (give_up, given_up) = tokio::sync::watch::channel(false);
    let ous = ous.to_vec();
    let (walker, walk_gate) = (session.clone(), gate.clone());
    let started = Instant::now();
    let walk = tokio::spawn(async move {
        // The walk shares the run's time: it stops where the run stops starting targets.
        let opts = WalkOptions {
            ous: &ous,
            include_management: true,
            read_tags: false,
            known_tags: None,
            stop_at: deadline.map(|d| d.stop_at),
            abandon_at: deadline.map(|d| d.stop_at),
            given_up: Some(given_up),
            found: Some(found),
        };
        let org = walker.organizations();
        let endpoint = walker.endpoint("Organizations", None);
        organizations::walk(&org, &walk_gate, &endpoint, &opts).await
    });
    match rest.next().await {
        Some(first) => Walk::Streaming(Walking {
            session,
            first,
            rest,
            walk,
            give_up,
            gate,
            started,
            found_by: FoundBy::default(),
        }),
        None => Walk::Whole(walk.await.unwrap_or_else(|e| {
            std::panic::resume_unwind(e.into_panic());
        })),
    }
}

/// What each account found turns into targets with: the run's job, its regions (`-r`), where
/// lines go, when to stop, and how many accounts are made ready at once.
pub(crate) struct Streamed {
    pub(crate) job: Arc<Job>,
    /// `-r`: the regions of every account.
    pub(crate) regions: Option<Regions>,
    pub(crate) printer: Printer,
    pub(crate) control: Arc<Control>,
    /// Accounts made ready (role assumed, regions listed) at once.
    pub(crate) in_flight: usize,
}

/// `--not-accounts`, streamed: each id asked of Organizations (`DescribeAccount`) before the
/// walk, so that one the organization does not hold is bad input (exit 2) before any target
/// runs, as the walk-first run finds it. `Ok(None)` where an answer could not be had: the run
/// then walks first.
pub(crate) async fn left_out(
    session: &Session,
    gate: &Gate,
    ids: &[String],
) -> Result<Option<Vec<AccountId>>, crate::error::InputError> {
    let org = session.organizations();
    let endpoint = session.endpoint("Organizations", None);
    let mut out = vec![];
    for id in ids {
        let Ok(account) = AccountId::parse(id) else {
            return Ok(None);
        };
        match organizations::holds(&org, gate, &endpoint, &account).await {
            Ok(true) => out.push(account),
            Ok(false) => {
                return Err(crate::error::InputError::flag(
                    "--not-accounts",
                    format!("no account {id:?} in the organization the base credentials read"),
                ));
            }
            Err(_) => return Ok(None),
        }
    }
    Ok(Some(out))
}

/// The targets of each account found, as they arrive: each account added to the session, its
/// role assumed ahead (as the prefetch does) and its regions listed where `-r` needs it, then
/// its targets sent. When the walk ends, its lines are said and its figures kept.
pub(crate) fn stream(walking: Walking, how: Streamed) -> Items<Target> {
    let (sent, arriving) = mpsc::unbounded();
    let arrived = Arc::new(Arrived::default());
    let counts = arrived.clone();
    let end = tokio::spawn(async move {
        let Walking {
            session,
            first,
            rest,
            mut walk,
            give_up,
            gate,
            started,
            found_by,
        } = walking;
        let mut rest = rest;
        let found = futures::stream::once(std::future::ready(first)).chain(&mut rest);
        let accounts = std::sync::atomic::AtomicUsize::new(0);
        let ready = |f| {
            accounts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            ready_account(&session, &how, &found_by, f, &sent, &counts)
        };
        found
            .take_until(how.control.until_stopped())
            .map(ready)
            .buffer_unordered(how.in_flight.max(1))
            .for_each(|()| std::future::ready(()))
            .await;
        // The run stopped (or the walk ended): the walk gives up its calls in flight and ends
        // with how far it got; one that does not end at once is cut off.
        if how.control.is_stopped() {
            give_up.send_replace(true);
        }
        let answered = match tokio::time::timeout(WALK_ENDS, &mut walk).await {
            Ok(ended) => Some(ended.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))),
            Err(_) => {
                walk.abort();
                None
            }
        };
        // The accounts found before the walk ended and not yet made ready: each still gets its
        // rows (skipped: the run stopped), with no call.
        while let Some(f) = rest.next().await {
            ready(f).await;
        }
        let accounts_found = accounts.load(std::sync::atomic::Ordering::Relaxed);
        walked(&how, &found_by, accounts_found, answered, &gate, started)
    });
    Items {
        arriving: arriving.boxed(),
        walked: Some(Walked { arrived, end }),
    }
}

/// One account found: added to the session, made ready, its targets (and the rows decided
/// for those that cannot run) sent.
async fn ready_account(
    session: &Session,
    how: &Streamed,
    by: &FoundBy,
    found: Found,
    sent: &UnboundedSender<Arrival<Target>>,
    arrived: &Arrived,
) {
    let Some(account) = account_of(&found, by.caller.as_ref()) else {
        return;
    };
    if by.left_out.contains(&account.id) {
        return;
    }
    session.add(std::slice::from_ref(&account));
    let (targets, all) = match &how.regions {
        Some(Regions::List(regions)) => (targets_in(&account, regions.iter().cloned()), vec![]),
        _ => (vec![], vec![account.clone()]),
    };
    // Its role assumed ahead, as the prefetch does for a listed run (a failure is left for the
    // targets' own calls to report), then its regions listed where `-r` needs it.
    let ready = async {
        if let Some((_, role)) = session.assumed(std::slice::from_ref(&account.id)).pop() {
            let _ = role.fetch().await;
        }
        resolve_regions(session, &how.job, targets.clone(), &all, 1, None).await
    };
    // The run's stop ends this where it is, with no call after it: the targets are sent as
    // they are, to be reported skipped (an `-r all` account's, with its regions not known,
    // are those every account has).
    let (run, decided) = tokio::select! {
        biased;
        () = how.control.until_stopped() => match all.is_empty() {
            true => (targets, vec![]),
            false => {
                let partition = session.partition();
                let every = Region::all().filter(|r| r.partition() == partition && !r.opt_in());
                (targets_in(&account, every), vec![])
            }
        },
        resolved = ready => resolved,
    };
    // The node check asks once for all the account's regions.
    if let Some(preflight) = &how.job.preflight {
        preflight.plan(&run);
    }
    for t in run {
        arrived.add(&t);
        let _ = sent.unbounded_send(Arrival::Run(t));
    }
    for (t, row) in decided {
        arrived.add(&t);
        let _ = sent.unbounded_send(Arrival::Decided(t, Box::new(row)));
    }
}

/// The account's targets in these regions.
fn targets_in(account: &Arc<Account>, regions: impl Iterator<Item = Region>) -> Vec<Target> {
    regions
        .map(|region| Target {
            account: account.clone(),
            region,
        })
        .collect()
}

/// The walk's end said, as a run that walked first says it; its figures for the summary. A
/// walk that failed after its first account, or that the run's stop cut, is incomplete: the
/// run then fails, as a walk cut short does.
fn walked(
    how: &Streamed,
    by: &FoundBy,
    accounts_found: usize,
    answered: Option<Result<Discovery, WalkError>>,
    gate: &Gate,
    started: Instant,
) -> OrgWalk {
    let printer = &how.printer;
    match answered {
        Some(Ok(found)) => {
            say_walk(printer, &found.walk);
            let accounts: Vec<Arc<Account>> = found
                .accounts
                .iter()
                .filter_map(|f| account_of(f, by.caller.as_ref()))
                .collect();
            say_found(printer, &accounts, &by.place, found.suspended.len());
            found.walk
        }
        failed => {
            let why = match failed {
                Some(Err(WalkError::Failed(e))) => e,
                Some(Err(WalkError::UnknownOu(ou))) => TargetError::internal(&format!(
                    "the OU {ou} was not found after the walk began"
                )),
                _ => TargetError::new(
                    crate::model::Reason::Interrupted,
                    "the run stopped before the walk ended",
                ),
            };
            printer.error(&format!(
                "the walk of the organization stopped before its end: {}: {} (the accounts it found have their rows; those it did not find have none)",
                why.reason, why.message
            ));
            let (calls, retries) = gate.counts();
            OrgWalk {
                accounts: accounts_found,
                calls,
                retries,
                duration_ms: started.elapsed().as_millis() as u64,
                complete: false,
                streamed: true,
                ..OrgWalk::default()
            }
        }
    }
}
