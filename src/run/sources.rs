//! Where a run's accounts come from — an inventory file, the organization (`--org`), or
//! EventBridge events alone (`--event`) — resolved to the run's checked inputs, or to the
//! end of a run that has nothing to do.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use super::inputs::{Inputs, check_retry_report, fetch_preferences, read_files, resolve};
use crate::aws::organizations::{self, Discovery, VAR_TAG, WalkError, WalkOptions};
use crate::aws::session::{Session, SessionOptions};
use crate::error::{InputError, Problem};
use crate::inventory::{self, Inventory, Selection, Strictness};
use crate::model::{Ended, OrgWalk};
use crate::preferences::{BUILTIN_PLACEHOLDERS, Preferences};
use crate::settings::RunSettings;
use crate::target::{Account, AccountId};
use crate::terminal::printer::Printer;
use crate::words::count;

/// The inputs of a run, or why it ends before it starts.
// One per run, moved once: its size costs nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Sourced {
    Run(Inputs),
    /// Nothing to do (exit 0), or the organization could not be read (exit 1).
    Ended(Ended),
}

/// The run's inputs: files read and checked first (exit 2, before any AWS call), then the
/// organization walked where `--org` asks.
pub(crate) async fn inputs(printer: &Printer, args: &RunSettings) -> Result<Sourced, InputError> {
    let source = &args.source;
    let fetched = fetch_preferences(&args.prefs, &args.aws.session).await?;
    let (prefs, inv, events) = read_files(
        printer,
        &args.prefs,
        fetched,
        source.inventory.as_deref(),
        source.events.as_deref(),
    )?;
    if let Some(events) = &events {
        for line in &events.idle {
            printer.say(line);
        }
        if events.is_idle() {
            printer.say(&format!(
                "{}: no event is a success (SUCCEEDED, ENABLED): nothing to do",
                events.path.display()
            ));
            return Ok(Sourced::Ended(Ended::Success));
        }
    }
    // The events alone name accounts, not regions: a new account's come from -r. The
    // organization's accounts have none either.
    let alone = inv.is_none() && source.org.is_none();
    let new_accounts = events.as_ref().is_some_and(|e| !e.accounts.is_empty());
    if args.select.regions.is_none() && (source.org.is_some() || (alone && new_accounts)) {
        let whose = if source.org.is_some() {
            "the organization's accounts'"
        } else {
            "a new account's"
        };
        return Err(InputError::Problems(vec![Problem::flag(
            "-r",
            format!(
                "{whose} regions come from -r: pass -r LIST, or -r all for the regions each account has enabled"
            ),
        )]));
    }
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
    let inv = match (inv, &source.org, &events) {
        (Some(inv), _, _) => inv,
        (None, Some(ous), _) => {
            // Under a deadline the walk has half the time to the run's stop: the accounts it
            // found are run in the other half, rather than a walk too long for the deadline
            // (tags read one call per account) leaving no time to run any.
            let now = std::time::Instant::now();
            let deadline = args.deadline();
            let opts = WalkOptions {
                ous,
                include_management: true,
                read_tags: tags_needed(&prefs, &selection),
                stop_at: deadline.map(|d| now + d.stop_at.saturating_duration_since(now) / 2),
                abandon_at: deadline.map(|d| d.stop_at),
            };
            match org_inventory(printer, &args.aws.session, &opts, &prefs).await? {
                Some((inv, walked)) => {
                    walk = Some(walked);
                    inv
                }
                None => return Ok(Sourced::Ended(Ended::Failures)),
            }
        }
        (None, None, Some(events)) => {
            let mut inv = events.inventory();
            name_from_organizations(printer, &args.aws.session, &mut inv, &prefs, &selection).await;
            inv
        }
        (None, None, None) => unreachable!("clap requires -i, --org or --event"),
    };
    let narrowing = events.as_ref().map(|e| (e, alone));
    Ok(
        match resolve(printer, prefs, &inv, &selection, narrowing)? {
            Some(inputs) => Sourced::Run(Inputs {
                retry,
                walk,
                ..inputs
            }),
            None => Sourced::Ended(Ended::Success),
        },
    )
}

/// The events alone: each account whose name the event does not give (Organizations redacts
/// it in `CreateAccountResult`; a region event has none) is named by Organizations'
/// `DescribeAccount`. Where that read fails the name stays unknown, said in a line: its
/// targets are blocked where the preferences need `{account_name}`, never written with a guess.
/// Only the accounts the selection keeps are asked.
async fn name_from_organizations(
    printer: &Printer,
    opts: &SessionOptions,
    inv: &mut Inventory,
    prefs: &Preferences,
    selection: &Selection,
) {
    // A selection that is bad input is reported by `resolve`, before any target runs.
    let Ok(selected) = inventory::select(inv, selection) else {
        return;
    };
    let kept: HashSet<AccountId> = selected
        .targets
        .iter()
        .map(|t| t.account.id.clone())
        .chain(selected.all_regions.iter().map(|a| a.id.clone()))
        .collect();
    if !inv
        .accounts
        .iter()
        .any(|a| a.name_unknown.is_some() && kept.contains(&a.id))
    {
        return;
    }
    let session = Session::new(opts, &[]).await;
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

/// The organization walked with the base credentials (`discover`, `--org`): an OU it does not
/// hold is bad input (exit 2, naming it); a walk that fails is said in a line and is `None`
/// (the run fails).
pub(crate) async fn read_organization(
    printer: &Printer,
    session: &Session,
    opts: &WalkOptions<'_>,
) -> Result<Option<Discovery>, InputError> {
    let endpoint = session.endpoint("Organizations", None);
    let gate = session.organizations_gate();
    match organizations::walk(&session.organizations(), &gate, &endpoint, opts).await {
        Ok(found) => Ok(Some(found)),
        Err(WalkError::UnknownOu(ou)) => Err(InputError::flag(
            "--ou",
            format!("no OU {ou} in the organization the base credentials read"),
        )),
        Err(WalkError::Failed(e)) => {
            printer.error(&format!(
                "cannot read the organization: {}: {} (it needs organizations:List* and Describe* in the management account or a delegated administrator)",
                e.reason, e.message
            ));
            Ok(None)
        }
    }
}

/// `--org`: whether the walk reads each account's tags (one `ListTagsForResource` per
/// account): only when a tag may fill a placeholder the preferences hold (any but the
/// built-ins: `--var` gives a value only where the account's tags give none), or `-t`
/// selects by a tag other than the walk's own `ou:PATH`.
fn tags_needed(prefs: &Preferences, selection: &Selection) -> bool {
    prefs
        .placeholders
        .iter()
        .any(|(name, _)| !BUILTIN_PLACEHOLDERS.contains(&name.as_str()))
        || selection.tags.iter().any(|t| !t.starts_with("ou:"))
}

/// The walk's figures as a line: its calls, the throttles tried again, and how far it got.
fn walk_line(walk: &OrgWalk) -> String {
    let mut line = format!(
        "--org: the walk made {} in {:.1} s ({} tried again after a throttle or a passing failure; {})",
        count(walk.calls as usize, "Organizations call"),
        walk.duration_ms as f64 / 1000.0,
        walk.retries,
        if walk.tags_read {
            "each account's tags read: a tag may fill a placeholder or -t selects by one"
        } else {
            "no account's tags read: no placeholder or -t needs them"
        }
    );
    if !walk.complete {
        line.push_str(&format!(
            "; stopped before its end, at half the time to the run's stop: {} of {} read, {}",
            count(walk.ous_walked, "OU"),
            walk.ous_walked + walk.ous_left,
            count(walk.accounts_left, "account"),
        ));
        line.push_str(" found whose tags were not read are left out, and every account under the OUs not read");
    }
    line
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

/// `--org`: the organization's ACTIVE accounts (under the OUs, if any) as an inventory, with
/// the caller's own account — the management account or a delegated administrator, which
/// has no member role — reached with the base credentials. `None` when the organization could
/// not be read (said in a line; the run fails); an unknown OU is bad input.
async fn org_inventory(
    printer: &Printer,
    opts: &SessionOptions,
    walk: &WalkOptions<'_>,
    prefs: &Preferences,
) -> Result<Option<(Inventory, OrgWalk)>, InputError> {
    let ous = walk.ous;
    let session = Session::new(opts, &[]).await;
    let Some(found) = read_organization(printer, &session, walk).await? else {
        return Ok(None);
    };
    if found.walk.complete {
        printer.note(&walk_line(&found.walk));
    } else {
        printer.warn(&walk_line(&found.walk));
    }
    let caller = session.caller_account().await;
    if caller.is_none() {
        printer.warn(
            "--org: STS GetCallerIdentity failed, so the caller's own account is not known: it is reached through --role-name like the others (leave it out with --not-accounts if it has no such role)",
        );
    }
    let accounts: Vec<Arc<Account>> = found
        .accounts
        .iter()
        .filter_map(|f| {
            let id = AccountId::parse(&f.id).ok()?;
            let mut a = Account::new(id, 0);
            a.name = f.name.clone();
            a.email = Some(f.email.clone()).filter(|e| !e.is_empty());
            a.tags = f.tags.clone();
            a.vars = f.vars.clone();
            a.base_credentials = caller.as_ref() == Some(&a.id);
            Some(Arc::new(a))
        })
        .collect();
    let place = if ous.is_empty() {
        "the organization".to_string()
    } else {
        format!("the organization's OUs {}", ous.join(", "))
    };
    if accounts.is_empty() && !found.walk.complete {
        printer.error("--org: the run's stop time came before the walk found any account");
        return Ok(None);
    }
    if accounts.is_empty() {
        return Err(InputError::usage(format!(
            "--org: {place} holds no ACTIVE account"
        )));
    }
    check_tag_vars(printer, &accounts, prefs)?;
    printer.note(&format!(
        "--org: {} in {place}{}{}",
        count(accounts.len(), "ACTIVE account"),
        match found.suspended.len() {
            0 => String::new(),
            n => format!(" ({n} SUSPENDED left out)"),
        },
        match accounts.iter().find(|a| a.base_credentials) {
            Some(a) => format!("; {} (the caller's) with the base credentials", a.id),
            None => String::new(),
        }
    ));
    Ok(Some((
        Inventory {
            path: place.into(),
            accounts,
            warnings: vec![],
        },
        found.walk,
    )))
}
