//! The checked inputs of a run: preferences, inventory, selection (and `--retry-failed`)
//! resolved to targets before any AWS call.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::aws::objects;
use crate::aws::session::{Session, SessionOptions};
use crate::error::{InputError, Problem};
use crate::inventory::{self, EventBridgeEvents, Inventory, Selection};
use crate::model::{OrgWalk, ReportRow, Status};
use crate::preferences::{self, Preferences};
use crate::report::csv as report_csv;
use crate::settings::PrefsOptions;
use crate::target::{Account, AccountId, Region, Target};
use crate::terminal::printer::Printer;

pub(crate) fn warn_all(printer: &Printer, warnings: &[Problem]) {
    for w in warnings {
        printer.warn(&w.to_string());
    }
}

/// A selection resolved: its targets, or why there is nothing to do.
// One per run, moved once: its size costs nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Resolved {
    Targets(Inputs),
    Nothing(String),
}

/// The checked inputs of a run: preferences, and the targets the selection resolves to.
pub(crate) struct Inputs {
    pub(crate) prefs: Preferences,
    pub(crate) targets: Vec<Target>,
    /// `-r all`: accounts whose regions are listed when the run starts.
    pub(crate) all_regions: Vec<Arc<Account>>,
    /// Where the accounts came from, as lines name it.
    pub(crate) inventory_path: PathBuf,
    /// `--retry-failed`: the earlier report's rows, read and checked with the other inputs.
    pub(crate) retry: Option<Vec<ReportRow>>,
    /// `--org`: how the walk of the organization went, for the summary.
    pub(crate) walk: Option<OrgWalk>,
}

/// The files of a run read, before any AWS call: preferences, and the inventory and events
/// where given. Every file is checked before any error is reported, so one run shows every
/// problem.
pub(crate) fn read_files(
    printer: &Printer,
    prefs: &PrefsOptions,
    fetched: Option<Vec<u8>>,
    inventory: Option<&Path>,
    events: Option<&Path>,
) -> Result<(Preferences, Option<Inventory>, Option<EventBridgeEvents>), InputError> {
    let vars = prefs.vars.clone();
    let prefs = match fetched {
        Some(bytes) => preferences::load_bytes(&prefs.path, bytes),
        None => preferences::load(&prefs.path),
    }
    .map(|p| Preferences { vars, ..p });
    let inv = inventory.map(inventory::load).transpose();
    let events = events.map(inventory::load_events).transpose();
    let mut problems = vec![];
    let mut other = None;
    let mut keep = |e: InputError| match e {
        InputError::Problems(p) => problems.extend(p),
        e => other = other.take().or(Some(e)),
    };
    let prefs = prefs.map_err(&mut keep).ok();
    let inv = inv.map_err(&mut keep).ok();
    let events = events.map_err(&mut keep).ok();
    if let Some(e) = other {
        return Err(e);
    }
    let (Some(prefs), Some(inv), Some(events)) = (prefs, inv, events) else {
        return Err(InputError::Problems(problems));
    };
    warn_all(printer, &prefs.warnings);
    if let Some(inv) = &inv {
        warn_all(printer, &inv.warnings);
    }
    Ok((prefs, inv, events))
}

/// `-p s3://BUCKET/KEY`: the object, read with the base credentials (one GetObject, before the
/// files are checked); `None` for a local file. An object that cannot be read is one line
/// naming it (exit 2), as a file that cannot be read is.
pub(crate) async fn fetch_preferences(
    prefs: &PrefsOptions,
    opts: &SessionOptions,
) -> Result<Option<Vec<u8>>, InputError> {
    let text = prefs.path.to_string_lossy();
    let Some((bucket, key)) = objects::s3_uri(&text) else {
        return Ok(None);
    };
    let session = Session::new(opts, &[]).await;
    let endpoint = session.endpoint("S3", None);
    objects::read(&session.objects(), &endpoint, bucket, key)
        .await
        .map(Some)
        .map_err(|e| {
            InputError::one(
                &prefs.path,
                None,
                format!(
                    "cannot read the preferences object: {}: {} (it needs s3:GetObject on it)",
                    e.reason, e.message
                ),
            )
        })
}

/// The targets of a run: the selection applied to the accounts, narrowed to what the events
/// name, and every target's placeholders checked.
/// `Nothing` when the events name nothing in the selection: nothing to do, said in a line.
pub(crate) fn resolve(
    printer: &Printer,
    prefs: Preferences,
    inv: &Inventory,
    selection: &Selection,
    events: Option<&EventBridgeEvents>,
) -> Result<Resolved, InputError> {
    let mut selected = inventory::select(inv, selection)?;
    if let Some(events) = events {
        selected = inventory::narrow(selected, events);
        if selected.targets.is_empty() && selected.all_regions.is_empty() {
            let named: Vec<String> = events.named().iter().map(|a| a.to_string()).collect();
            let why = format!(
                "{}: the accounts and regions the events name ({}) are not in the selection from {}: nothing to do",
                events.path.display(),
                named.join(", "),
                inv.path.display()
            );
            printer.say(&why);
            return Ok(Resolved::Nothing(why));
        }
    }
    // Placeholders depend on the account, not the region: an `-r all` account is checked
    // through a stand-in target.
    let mut check = selected.targets.clone();
    let stand_in = Region::parse("us-east-1").expect("a known region");
    check.extend(selected.all_regions.iter().map(|a| Target {
        account: a.clone(),
        region: stand_in.clone(),
    }));
    warn_vars_overridden(printer, &prefs, &check);
    let mut problems = prefs.unfillable(&check);
    // Only the accounts' own regions: an `-r all` account's stand-in region fills no name.
    problems.extend(prefs.invalid_names(&selected.targets));
    if !problems.is_empty() {
        return Err(InputError::Problems(problems));
    }
    Ok(Resolved::Targets(Inputs {
        prefs,
        targets: selected.targets,
        all_regions: selected.all_regions,
        inventory_path: inv.path.clone(),
        retry: None,
        walk: None,
    }))
}

/// A `--var` that accounts give a value of their own for is not theirs: said once per key,
/// so the operator is not left believing the command line decided.
fn warn_vars_overridden(printer: &Printer, prefs: &Preferences, targets: &[Target]) {
    for (key, value) in &prefs.vars {
        let own: HashSet<&str> = targets
            .iter()
            .filter(|t| t.account.vars.get(key).is_some_and(|v| v != value))
            .map(|t| t.account.id.as_str())
            .collect();
        if !own.is_empty() {
            let (n, verb) = match own.len() {
                1 => ("1 account".to_string(), "gives"),
                n => (format!("{n} accounts"), "give"),
            };
            printer.warn(&format!(
                "--var {key}: {n} {verb} {{{key}}} a value of its own (the inventory's vars, or the Organizations tag ssm-prefs:{key}), which is kept"
            ));
        }
    }
}

/// `validate`'s inputs: the preferences and an inventory file, with no event.
pub(crate) fn load_inputs(
    printer: &Printer,
    prefs: &PrefsOptions,
    inventory: &Path,
    selection: &Selection,
) -> Result<Inputs, InputError> {
    let (prefs, inv, _) = read_files(printer, prefs, None, Some(inventory), None)?;
    let inv = inv.expect("an inventory path was given");
    match resolve(printer, prefs, &inv, selection, None)? {
        Resolved::Targets(inputs) => Ok(inputs),
        Resolved::Nothing(_) => unreachable!("only events narrow a selection to nothing"),
    }
}

pub(crate) fn region_totals(targets: &[Target]) -> BTreeMap<String, usize> {
    let mut totals = BTreeMap::new();
    for t in targets {
        *totals.entry(t.region.to_string()).or_insert(0) += 1;
    }
    totals
}

pub(crate) fn unique_accounts(targets: &[Target]) -> Vec<Arc<Account>> {
    let mut seen = std::collections::HashSet::new();
    targets
        .iter()
        .filter(|t| seen.insert(t.account_id().clone()))
        .map(|t| t.account.clone())
        .collect()
}

/// `--retry-failed`: keeps the targets whose status was failed, skipped or blocked (by
/// preflight, since fixed perhaps) in an earlier report.
pub(crate) fn retry_only(
    printer: &Printer,
    report: &Path,
    rows: &[ReportRow],
    targets: Vec<Target>,
) -> Result<Vec<Target>, InputError> {
    let wanted: HashSet<(&AccountId, &Region)> = rows
        .iter()
        .filter(|r| matches!(r.status, Status::Failed | Status::Skipped | Status::Blocked))
        .map(|r| (&r.account_id, &r.region))
        .collect();
    let selected: Vec<Target> = targets
        .into_iter()
        .filter(|t| wanted.contains(&(t.account_id(), &t.region)))
        .collect();
    if selected.len() < wanted.len() {
        printer.warn(&format!(
            "{}: {} of its {} failed, skipped or blocked targets are outside the inventory and selection given",
            report.display(),
            wanted.len() - selected.len(),
            wanted.len()
        ));
    }
    if selected.is_empty() {
        return Err(InputError::one(
            report,
            None,
            "none of its failed, skipped or blocked targets is in the inventory and selection given",
        ));
    }
    Ok(selected)
}

/// `--retry-failed`'s report, read and checked: of this document, with something to retry.
pub(crate) fn check_retry_report(
    report: &Path,
    document: &str,
) -> Result<Vec<ReportRow>, InputError> {
    let rows = report_csv::read(report)?;
    if let Some(other) = rows.iter().find(|r| r.document_name != document) {
        return Err(InputError::one(
            report,
            None,
            format!(
                "the report is for document {:?}, not {document:?}: pass --document-name {}",
                other.document_name, other.document_name
            ),
        ));
    }
    if !rows
        .iter()
        .any(|r| matches!(r.status, Status::Failed | Status::Skipped | Status::Blocked))
    {
        return Err(InputError::one(
            report,
            None,
            "no target failed, was skipped or was blocked in this report: nothing to retry",
        ));
    }
    Ok(rows)
}
