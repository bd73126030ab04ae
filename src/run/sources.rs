//! Where a run's accounts come from — an inventory file, the organization (`--org`), or
//! EventBridge events alone (`--event`) — resolved to the run's checked inputs, or to the
//! end of a run that has nothing to do.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use super::inputs::{Inputs, Resolved, check_retry_report, fetch_preferences, read_files, resolve};
use super::org_found::{account_of, say_found, say_walk};
use super::tags_cache;
use super::walking::{self, FoundBy, Walk, Walking};
use crate::aws::organizations::{self, Discovery, VAR_TAG, WalkError, WalkOptions};
use crate::aws::session::{Session, SessionOptions};
use crate::error::{InputError, Problem};
use crate::inventory::{self, EventBridgeEvents, Inventory, Selection, Strictness};
use crate::model::{Ended, OrgWalk};
use crate::preferences::{Preferences, VarsFrom};
use crate::settings::{OrgTagsCache, RunSettings};
use crate::target::{Account, AccountId};
use crate::terminal::printer::Printer;
use crate::words::count;

/// The inputs of a run, or why it ends before it starts.
// One per run, moved once: its size costs nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Sourced {
    Run(Inputs),
    /// `--org`, its accounts run as the walk finds them: the inputs checked with the first
    /// one found (every account's targets pass the same checks: src/run/walking.rs).
    Walking(Inputs, Walking),
    /// Nothing to do (exit 0), or the organization could not be read (exit 1), and why (the
    /// line said, for the summary JSON).
    Ended(Ended, String),
}

/// The run's inputs: files read and checked first (exit 2, before any AWS call), then the
/// organization walked where `--org` asks.
pub(crate) async fn inputs(printer: &Printer, args: &RunSettings) -> Result<Sourced, InputError> {
    let source = &args.source;
    let fetched = fetch_preferences(&args.prefs, &args.aws.session).await?;
    let (mut prefs, inv, events) = read_files(
        printer,
        &args.prefs,
        fetched,
        source.inventory.as_deref(),
        source.events.as_deref(),
    )?;
    prefs.vars_from = match (&inv, &source.org, &args.invoked) {
        (Some(_), _, _) => VarsFrom::Inventory,
        (None, _, Some(_)) => VarsFrom::Function,
        (None, _, None) => VarsFrom::Organization,
    };
    if let Some(why) = events.as_ref().and_then(|e| nothing_to_do(printer, e)) {
        return Ok(Sourced::Ended(Ended::Success, why));
    }
    let alone = inv.is_none() && source.org.is_none();
    regions_given(args, alone, events.as_ref())?;
    // Checked before the organization is read: bad input makes no call.
    let retry = args
        .retry_failed
        .as_deref()
        .map(|report| check_retry_report(report, &args.prefs.document_name))
        .transpose()?;
    let selection = Selection {
        strictness: match (&events, alone) {
            (None, _) => Strictness::Strict,
            (Some(_), false) => Strictness::EmptyOk,
            (Some(_), true) => Strictness::Lenient,
        },
        ..args.select.clone()
    };
    let mut walk = None;
    let tags_read = tags_needed(&prefs, &selection);
    let inv = match (inv, &source.org, &events) {
        (Some(inv), _, _) => inv,
        (None, Some(ous), _) => {
            let streams = events.is_none() && walking::streams(args, &prefs, tags_read);
            let walked = match streams {
                true => walk_streaming(printer, args, ous, &prefs).await?,
                false => Streams::Walk,
            };
            let walked = match walked {
                Streams::Yes(inv, walking) => {
                    // The first account checks the inputs for all, whether left out or not:
                    // the accounts left out were checked against the organization itself.
                    let checks = Selection {
                        not_accounts: vec![],
                        ..selection.clone()
                    };
                    return Ok(match resolve(printer, prefs, &inv, &checks, None)? {
                        Resolved::Targets(inputs) => Sourced::Walking(inputs, walking),
                        Resolved::Nothing(why) => Sourced::Ended(Ended::Success, why),
                    });
                }
                Streams::No(walked) => walked,
                Streams::Walk => {
                    walk_org(printer, args, ous, &prefs, &selection, events.as_ref()).await?
                }
            };
            match walked {
                Ok((inv, walked)) => {
                    walk = Some(walked);
                    inv
                }
                Err(why) => return Ok(Sourced::Ended(Ended::Failures, why)),
            }
        }
        (None, None, Some(events)) => {
            let mut inv = events.inventory();
            // One base session for both: naming the accounts and knowing the caller's own.
            let session = Session::new(&args.aws.session, &[]).await;
            // Asked of Organizations: the accounts the selection keeps, whatever their tags
            // (-t selects by the tags read here).
            let untagged = Selection {
                tags: vec![],
                ..selection.clone()
            };
            let kept = selected_accounts(&inv, &untagged);
            name_from_organizations(printer, &session, &mut inv, &prefs, &kept).await;
            if tags_needed(&prefs, &selection) {
                let cache = source.org_tags.as_ref();
                tags_from_organizations(printer, &session, &mut inv, &kept, cache).await;
            }
            caller_on_base_credentials(printer, &session, &mut inv).await;
            inv
        }
        (None, None, None) => unreachable!("clap requires -i, --org or --event"),
    };
    Ok(
        match resolve(printer, prefs, &inv, &selection, events.as_ref())? {
            Resolved::Targets(inputs) => Sourced::Run(Inputs {
                retry,
                walk,
                ..inputs
            }),
            Resolved::Nothing(why) => Sourced::Ended(Ended::Success, why),
        },
    )
}

/// The events alone: each account whose name the event does not give (Organizations redacts
/// it in `CreateAccountResult`; a region event has none) is named by Organizations'
/// `DescribeAccount`. Where that read fails the name stays unknown, said in a line: its
/// targets are blocked where the preferences need `{account_name}`, never written with a guess.
/// Only the `kept` accounts are asked.
async fn name_from_organizations(
    printer: &Printer,
    session: &Session,
    inv: &mut Inventory,
    prefs: &Preferences,
    kept: &HashSet<AccountId>,
) {
    if !inv
        .accounts
        .iter()
        .any(|a| a.name_unknown.is_some() && kept.contains(&a.id))
    {
        return;
    }
    let org = session.organizations();
    let gate = session.organizations_gate();
    let endpoint = session.endpoint("Organizations", None);
    let needed = prefs.uses("account_name");
    for account in &mut inv.accounts {
        if account.name_unknown.is_none() || !kept.contains(&account.id) {
            continue;
        }
        let a = Arc::make_mut(account);
        match organizations::name(&org, &gate, &endpoint, &a.id).await {
            Ok(name) => {
                a.name = name;
                a.name_unknown = None;
            }
            Err(e) => {
                let why = format!(
                    "{}, and Organizations DescribeAccount failed: {}: {}",
                    a.name_unknown.take().unwrap_or_default(),
                    e.reason,
                    e.message
                );
                printer.warn(&format!(
                    "account {}: its name is not known: {why} ({})",
                    a.id,
                    if needed {
                        "its targets are blocked: the preferences fill {account_name} with it"
                    } else {
                        "the report names it by its id"
                    }
                ));
                a.name_unknown = Some(why);
            }
        }
    }
}

/// The accounts of the events the selection keeps. A selection that is bad input keeps none
/// here: `resolve` reports it, before any target runs.
fn selected_accounts(inv: &Inventory, selection: &Selection) -> HashSet<AccountId> {
    let Ok(selected) = inventory::select(inv, selection) else {
        return HashSet::new();
    };
    selected
        .targets
        .iter()
        .map(|t| t.account.id.clone())
        .chain(selected.all_regions.iter().map(|a| a.id.clone()))
        .collect()
}

/// The events alone, where a tag may fill a placeholder: each account's Organizations tags,
/// read now (an event says they changed, or names a new account), never from the tags cache;
/// the cache, where given, keeps what was read. Where a read fails, the account's tags are
/// unknown, said in a line: its targets are blocked, never written with another value. Only
/// the `kept` accounts are asked.
async fn tags_from_organizations(
    printer: &Printer,
    session: &Session,
    inv: &mut Inventory,
    kept: &HashSet<AccountId>,
    cache: Option<&OrgTagsCache>,
) {
    let org = session.organizations();
    let gate = session.organizations_gate();
    let endpoint = session.endpoint("Organizations", None);
    let mut read = vec![];
    for account in &mut inv.accounts {
        if !kept.contains(&account.id) {
            continue;
        }
        let a = Arc::make_mut(account);
        match organizations::account_tags(&org, &gate, &endpoint, &a.id).await {
            Ok(pairs) => {
                (a.tags, a.vars) = organizations::tag_values(&pairs);
                read.push((a.id.to_string(), pairs));
            }
            Err(e) => {
                let why = format!(
                    "Organizations ListTagsForResource failed: {}: {}",
                    e.reason, e.message
                );
                printer.warn(&format!(
                    "account {}: its tags are not known: {why} (its targets are blocked: a tag may fill a placeholder of the preferences)",
                    a.id
                ));
                a.tags_unknown = Some(why);
            }
        }
    }
    if let Some(cache) = cache {
        tags_cache::update(printer, session, cache, read).await;
    }
}

/// The events alone: an event for the caller's own account (a region the management account
/// opted in, delivered to that account's own bus) is written with the base credentials, as
/// `--org` writes it: no member role is deployed there (a service-managed StackSet never
/// reaches the management account).
async fn caller_on_base_credentials(printer: &Printer, session: &Session, inv: &mut Inventory) {
    let Some(caller) = session.caller_account().await else {
        printer.warn(
            "--event: STS GetCallerIdentity failed, so the caller's own account is not known: every account the events name is reached through --role-name",
        );
        return;
    };
    if let Some(account) = inv.accounts.iter_mut().find(|a| a.id == caller) {
        Arc::make_mut(account).base_credentials = true;
        printer.note(&format!(
            "--event: {caller} (the caller's) with the base credentials"
        ));
    }
}

/// The organization walked with the base credentials (`discover`, `--org`): an OU it does not
/// hold is bad input (exit 2, naming it); a walk that fails is said in a line, which is the
/// `Err` (the run fails).
pub(crate) async fn read_organization(
    printer: &Printer,
    session: &Session,
    opts: &WalkOptions<'_>,
) -> Result<Result<Discovery, String>, InputError> {
    let endpoint = session.endpoint("Organizations", None);
    let gate = session.organizations_gate();
    let answered = organizations::walk(&session.organizations(), &gate, &endpoint, opts).await;
    walk_answered(printer, answered)
}

/// What the walk answered: an OU the organization does not hold is bad input; a failure is
/// said in a line, the `Err`.
fn walk_answered(
    printer: &Printer,
    answered: Result<Discovery, WalkError>,
) -> Result<Result<Discovery, String>, InputError> {
    match answered {
        Ok(found) => Ok(Ok(found)),
        Err(WalkError::UnknownOu(ou)) => Err(InputError::flag(
            "--ou",
            format!("no OU {ou} in the organization the base credentials read"),
        )),
        Err(WalkError::Failed(e)) => {
            let why = format!(
                "cannot read the organization: {}: {} (it needs organizations:List* and Describe* in the management account or a delegated administrator)",
                e.reason, e.message
            );
            printer.error(&why);
            Ok(Err(why))
        }
    }
}

/// `--org`: whether the walk reads each account's tags (one `ListTagsForResource` per
/// account): only when a tag may fill a placeholder the preferences hold (any but the
/// built-ins: `--var` gives a value only where the account's tags give none), or `-t`
/// selects by a tag other than the walk's own `ou:PATH`.
fn tags_needed(prefs: &Preferences, selection: &Selection) -> bool {
    !prefs.tag_placeholders().is_empty() || selection.tags.iter().any(|t| !t.starts_with("ou:"))
}

/// `--org`: the accounts' Organizations tags `ssm-prefs:KEY` fill `{KEY}`, said in a line per
/// key. Not where `{KEY}` stands in a sensitive input (`shellProfile`, `runAsDefaultUser`):
/// whoever may tag accounts would choose the commands every session runs, or its user, and
/// only the reviewed preferences file, an inventory and the command line may (exit 2).
fn check_tag_vars(
    printer: &Printer,
    accounts: &[Arc<Account>],
    prefs: &Preferences,
) -> Result<(), InputError> {
    let sensitive = prefs.sensitive_placeholders();
    let mut used: BTreeMap<&str, usize> = BTreeMap::new();
    let mut problems = vec![];
    for a in accounts {
        for key in a.vars.keys().filter(|k| prefs.uses(k)) {
            if sensitive.contains(key) {
                problems.push(Problem::flag(
                    "--org",
                    format!(
                        "account {}: its Organizations tag {VAR_TAG}{key} would fill {{{key}}} in a sensitive input (shellProfile, runAsDefaultUser): those come only from the preferences file, an inventory or --var",
                        a.id
                    ),
                ));
            }
            *used.entry(key).or_default() += 1;
        }
    }
    if !problems.is_empty() {
        return Err(InputError::Problems(problems));
    }
    for (key, n) in used {
        printer.note(&format!(
            "--org: {} fill {{{key}}} from the Organizations tag {VAR_TAG}{key}",
            count(n, "account")
        ));
    }
    Ok(())
}

/// `--event`: each event that is not a success said; none a success is nothing to do (why).
fn nothing_to_do(printer: &Printer, events: &EventBridgeEvents) -> Option<String> {
    for line in &events.idle {
        printer.say(line);
    }
    events.is_idle().then(|| {
        let why = format!(
            "{}: no event is a success (SUCCEEDED, ENABLED): nothing to do",
            events.path.display()
        );
        printer.say(&why);
        why
    })
}

/// The events alone name accounts, not regions: a new account's come from -r. The
/// organization's accounts have none either.
fn regions_given(
    args: &RunSettings,
    alone: bool,
    events: Option<&EventBridgeEvents>,
) -> Result<(), InputError> {
    let source = &args.source;
    let new_accounts = events.is_some_and(|e| !e.accounts.is_empty());
    if args.select.regions.is_some() || !(source.org.is_some() || (alone && new_accounts)) {
        return Ok(());
    }
    let whose = if source.org.is_some() {
        "the organization's accounts'"
    } else {
        "a new account's"
    };
    Err(InputError::Problems(vec![Problem::flag(
        "-r",
        format!(
            "{whose} regions come from -r: pass -r LIST, or -r all for the regions each account has enabled"
        ),
    )]))
}

/// `--org` where its accounts may run as the walk finds them: streaming once the walk found
/// one, or the whole walk where it found none (or failed) before.
// One per run, moved once: its size costs nothing.
#[allow(clippy::large_enum_variant)]
enum Streams {
    Yes(Inventory, Walking),
    No(Result<(Inventory, OrgWalk), String>),
    /// The walk goes first after all (an account left out could not be asked about).
    Walk,
}

/// `--org`, streamed: the walk started on the run's session; the first account found, as an
/// inventory of one, checks the inputs for all (src/run/walking.rs).
async fn walk_streaming(
    printer: &Printer,
    args: &RunSettings,
    ous: &[String],
    prefs: &Preferences,
) -> Result<Streams, InputError> {
    let session = Arc::new(Session::new(&args.aws.session, &[]).await);
    // One gate for the run's Organizations calls: the walk's figures count them all.
    let gate = Arc::new(session.organizations_gate());
    let not_accounts = &args.select.not_accounts;
    let Some(left_out) = walking::left_out(&session, &gate, not_accounts).await? else {
        return Ok(Streams::Walk);
    };
    let (walk, caller) = tokio::join!(
        walking::start(session.clone(), gate, ous, args.deadline()),
        caller_account(printer, &session)
    );
    let mut walking = match walk {
        Walk::Streaming(walking) => walking,
        Walk::Whole(answered) => {
            return Ok(Streams::No(match walk_answered(printer, answered)? {
                // No account was found while it went on: none ran beside it.
                Ok(mut found) => {
                    found.walk.streamed = false;
                    found_inventory(printer, found, caller, ous, prefs)?
                }
                Err(why) => Err(why),
            }));
        }
    };
    let first = account_of(&walking.first, caller.as_ref()).ok_or_else(|| {
        InputError::usage(format!(
            "--org: an account id {:?} that is not 12 digits",
            walking.first.id
        ))
    })?;
    walking.found_by = FoundBy {
        caller,
        place: place(ous),
        left_out,
    };
    printer.note(&format!(
        "--org: each account of {} runs as the walk finds it",
        walking.found_by.place
    ));
    let inv = Inventory {
        path: walking.found_by.place.clone().into(),
        accounts: vec![first],
        warnings: vec![],
    };
    Ok(Streams::Yes(inv, walking))
}

/// `--org`: the walk, bounded by the deadline, its tags from the cache where one is kept.
async fn walk_org(
    printer: &Printer,
    args: &RunSettings,
    ous: &[String],
    prefs: &Preferences,
    selection: &Selection,
    events: Option<&EventBridgeEvents>,
) -> Result<Result<(Inventory, OrgWalk), String>, InputError> {
    // Under a deadline the walk has half the time to the run's stop: the accounts it found
    // are run in the other half, rather than a walk too long for the deadline (tags read one
    // call per account) leaving no time to run any.
    let now = std::time::Instant::now();
    let deadline = args.deadline();
    let opts = WalkOptions {
        ous,
        include_management: true,
        read_tags: tags_needed(prefs, selection),
        known_tags: None,
        stop_at: deadline.map(|d| now + d.stop_at.saturating_duration_since(now) / 2),
        abandon_at: deadline.map(|d| d.stop_at),
        given_up: None,
        found: None,
    };
    let cache = args.source.org_tags.as_ref().filter(|_| opts.read_tags);
    // An account whose tags an event says changed is read again, never taken from the cache.
    let fresh: Vec<String> = events
        .iter()
        .flat_map(|e| e.retagged.iter().map(|a| a.to_string()))
        .collect();
    let cached = cache.map(|c| (c, fresh.as_slice()));
    org_inventory(printer, &args.aws.session, &opts, cached, prefs).await
}

/// The accounts the walk found, as the inventory's; the caller's own reached with the base
/// credentials.
fn accounts_found(found: &Discovery, caller: Option<&AccountId>) -> Vec<Arc<Account>> {
    found
        .accounts
        .iter()
        .filter_map(|f| account_of(f, caller))
        .collect()
}

/// `--org`: the organization's ACTIVE accounts (under the OUs, if any) as an inventory, with
/// the caller's own account — the management account or a delegated administrator, which
/// has no member role — reached with the base credentials. `Err` when the organization could
/// not be read (said in a line; the run fails); an unknown OU is bad input.
async fn org_inventory(
    printer: &Printer,
    opts: &SessionOptions,
    walk: &WalkOptions<'_>,
    cache: Option<(&OrgTagsCache, &[String])>,
    prefs: &Preferences,
) -> Result<Result<(Inventory, OrgWalk), String>, InputError> {
    let ous = walk.ous;
    let session = Session::new(opts, &[]).await;
    // Tags kept between runs: the walk reads only those it has not seen, the stalest, and
    // those an event says changed.
    let cached = match cache {
        Some((cache, _)) => Some(tags_cache::load(printer, &session, cache).await),
        None => None,
    };
    let known = cached
        .as_ref()
        .zip(cache)
        .map(|(t, (c, fresh))| tags_cache::known(t, c.refresh, fresh));
    let cache = cache.map(|(c, _)| c);
    let walk = &WalkOptions {
        known_tags: known.as_ref(),
        ..walk.clone()
    };
    let found = match read_organization(printer, &session, walk).await? {
        Ok(found) => found,
        Err(why) => return Ok(Err(why)),
    };
    if let (Some(cache), Some(tags)) = (cache, cached) {
        tags_cache::store(printer, &session, cache, tags, &found, ous.is_empty()).await;
    }
    let caller = caller_account(printer, &session).await;
    found_inventory(printer, found, caller, ous, prefs)
}

/// The caller's own account, said in a line where STS cannot tell it.
async fn caller_account(printer: &Printer, session: &Session) -> Option<AccountId> {
    let caller = session.caller_account().await;
    if caller.is_none() {
        printer.warn(
            "--org: STS GetCallerIdentity failed, so the caller's own account is not known: it is reached through --role-name like the others (leave it out with --not-accounts if it has no such role)",
        );
    }
    caller
}

/// Where `--org`'s accounts are, as lines name it.
fn place(ous: &[String]) -> String {
    if ous.is_empty() {
        "the organization".to_string()
    } else {
        format!("the organization's OUs {}", ous.join(", "))
    }
}

/// What the whole walk found, as an inventory: the walk's line, the accounts found (none is
/// bad input, or the walk's failure where the stop time came first), their tags' values
/// checked, and the line that counts them.
fn found_inventory(
    printer: &Printer,
    found: Discovery,
    caller: Option<AccountId>,
    ous: &[String],
    prefs: &Preferences,
) -> Result<Result<(Inventory, OrgWalk), String>, InputError> {
    say_walk(printer, &found.walk);
    let accounts = accounts_found(&found, caller.as_ref());
    let place = place(ous);
    if accounts.is_empty() && !found.walk.complete {
        let why = "--org: the run's stop time came before the walk found any account".to_string();
        printer.error(&why);
        return Ok(Err(why));
    }
    if accounts.is_empty() {
        return Err(InputError::usage(format!(
            "--org: {place} holds no ACTIVE account"
        )));
    }
    check_tag_vars(printer, &accounts, prefs)?;
    say_found(printer, &accounts, &place, found.suspended.len());
    Ok(Ok((
        Inventory {
            path: place.into(),
            accounts,
            warnings: vec![],
        },
        found.walk,
    )))
}
