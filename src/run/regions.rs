//! Each account's regions resolved where `-r` needs it (`-r all`, an opt-in region): the
//! targets to run, and the rows of those that will not (a region not enabled, or not
//! listable); `--wait-ready` waits for a region still ENABLING.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;

use super::fanout::{self, Control};
use super::inputs::unique_accounts;
use crate::aws::regions;
use crate::aws::retry::{Stop, sleep_unless};
use crate::aws::session::Session;
use crate::model::{Outcome, Reason, RunEvent, TargetError};
use crate::steps::{self, Job};
use crate::target::{Account, AccountId, Region, Target};
use crate::terminal::events::EventLog;

/// Asks the accounts that need it which regions they have enabled: every `-r all` account,
/// and those with an opt-in region named explicitly. Returns the targets to run and the rows
/// of those that will not run (a region not enabled: skipped; a listing that failed: failed).
pub(crate) async fn resolve_regions(
    session: &Session,
    job: &Job,
    targets: Vec<Target>,
    all: &[Arc<Account>],
    concurrency: usize,
    ready: Option<&Ready<'_>>,
) -> (Vec<Target>, Vec<(Target, Outcome)>) {
    let mut ask: Vec<Arc<Account>> = all.to_vec();
    ask.extend(unique_accounts(
        &targets
            .iter()
            .filter(|t| t.region.opt_in())
            .cloned()
            .collect::<Vec<_>>(),
    ));
    if ask.is_empty() {
        return (targets, vec![]);
    }
    let enabled = list_enabled(session, ask, concurrency).await;
    let mut run = vec![];
    let mut pre = vec![];
    let mut not_listed = vec![];
    for t in targets {
        match enabled.get(t.account_id()) {
            Some(Ok(list)) if !list.iter().any(|r| r == t.region.as_str()) => match ready {
                Some(_) => not_listed.push(t),
                None => {
                    let o = steps::region_not_enabled(job, &t);
                    pre.push((t, o));
                }
            },
            Some(Err(e)) if t.region.opt_in() => {
                let o = steps::regions_unknown(job, &t, e);
                pre.push((t, o));
            }
            _ => run.push(t),
        }
    }
    if let Some(ready) = ready {
        wait_for_regions(
            session,
            job,
            not_listed,
            concurrency,
            ready,
            (&mut run, &mut pre),
        )
        .await;
    }
    for account in all {
        all_regions_of(
            session,
            job,
            account,
            &enabled[&account.id],
            (&mut run, &mut pre),
        );
    }
    (run, pre)
}

/// Each account's enabled regions, or why they could not be listed.
async fn list_enabled(
    session: &Session,
    ask: Vec<Arc<Account>>,
    concurrency: usize,
) -> HashMap<AccountId, Result<Vec<String>, TargetError>> {
    let mut enabled = HashMap::new();
    let endpoint = session.endpoint("Account API", None);
    let not_asked = |a: &Arc<Account>| {
        (
            a.id.clone(),
            Err(TargetError::new(Reason::Interrupted, "not asked")),
        )
    };
    fanout::run(
        futures::stream::iter(ask),
        concurrency,
        &Control::default(),
        |a| {
            let client = session.account_client(&a.id);
            let endpoint = endpoint.clone();
            async move { (a.id.clone(), regions::enabled(&client, &endpoint).await) }
        },
        |a, _| not_asked(&a),
        not_asked,
        |(id, r)| {
            enabled.insert(id, r);
        },
    )
    .await;
    enabled
}

/// `--wait-ready`: every region not listed yet asked at once (the wait is one wait, not one
/// per target), each then run or given its row.
async fn wait_for_regions(
    session: &Session,
    job: &Job,
    not_listed: Vec<Target>,
    concurrency: usize,
    ready: &Ready<'_>,
    (run, pre): (&mut Vec<Target>, &mut Vec<(Target, Outcome)>),
) {
    let asked = futures::stream::iter(not_listed)
        .map(|t| async move {
            let enabled = until_enabled(session, &t, ready).await;
            (t, enabled)
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await;
    for (t, enabled) in asked {
        let o = match enabled {
            Enabled::Yes => {
                run.push(t);
                continue;
            }
            Enabled::No => steps::region_not_enabled(job, &t),
            Enabled::NotYet => steps::region_not_ready(job, &t, ready.since.elapsed()),
            Enabled::Unknown(e) => steps::regions_unknown(job, &t, &e),
        };
        pre.push((t, o));
    }
}

/// `-r all`: an account's targets are the regions it has enabled in the run's partition.
fn all_regions_of(
    session: &Session,
    job: &Job,
    account: &Arc<Account>,
    enabled: &Result<Vec<String>, TargetError>,
    (run, pre): (&mut Vec<Target>, &mut Vec<(Target, Outcome)>),
) {
    let partition = session.partition();
    match enabled {
        Ok(list) => run.extend(
            Region::all()
                .filter(|r| r.partition() == partition && list.iter().any(|n| n == r.as_str()))
                .map(|region| Target {
                    account: account.clone(),
                    region,
                }),
        ),
        // Without the list, the account's regions are unknown: a failed row for each region
        // every account has, so the gap shows in the report instead of vanishing.
        Err(e) => {
            for region in Region::all().filter(|r| r.partition() == partition && !r.opt_in()) {
                let t = Target {
                    account: account.clone(),
                    region,
                };
                let o = steps::regions_unknown(job, &t, e);
                pre.push((t, o));
            }
        }
    }
}

/// `--wait-ready`: until when new accounts are waited for, since when, where the waits are
/// said, and the run's stop switch (Ctrl-C ends the wait).
pub(crate) struct Ready<'a> {
    pub(super) until: Instant,
    pub(super) since: Instant,
    pub(super) log: &'a EventLog,
    pub(super) control: &'a Control,
}

/// Whether an opt-in region is enabled, waited for while it is ENABLING.
enum Enabled {
    Yes,
    No,
    /// Still ENABLING when the wait ran out (or was interrupted).
    NotYet,
    /// Its status could not be read.
    Unknown(TargetError),
}

/// `--wait-ready`: asks the region's opt-in status until it is no longer ENABLING (backoff
/// from 2 s to 30 s) or the wait ends.
async fn until_enabled(session: &Session, t: &Target, ready: &Ready<'_>) -> Enabled {
    use aws_sdk_account::types::RegionOptStatus as S;
    let client = session.account_client(t.account_id());
    let endpoint = session.endpoint("Account API", None);
    let mut pause = std::time::Duration::from_secs(2);
    let mut told = false;
    loop {
        let left = ready.until.saturating_duration_since(Instant::now());
        match regions::status(&client, &endpoint, t.region.as_str()).await {
            Ok(S::Enabled | S::EnabledByDefault) => return Enabled::Yes,
            Ok(S::Enabling) if !left.is_zero() && ready.control.stopped().is_none() => {
                if !told {
                    told = true;
                    ready.log.emit(RunEvent::Waiting {
                        account: t.account.id.to_string(),
                        waiting_for: format!("region {} is still ENABLING", t.region),
                        seconds: left.as_secs(),
                    });
                }
                sleep_unless(pause.min(left), ready.control.until_stopped()).await;
                pause = (pause * 2).min(std::time::Duration::from_secs(30));
            }
            Ok(S::Enabling) => return Enabled::NotYet,
            Ok(_) => return Enabled::No,
            Err(e) => return Enabled::Unknown(e),
        }
    }
}
