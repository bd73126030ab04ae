//! The checked inputs of a run: preferences, inventory, selection (and `--retry-failed`)
//! resolved to targets before any AWS call.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{InputError, Problem};
use crate::inventory::{self, Selection};
use crate::model::Status;
use crate::preferences::{self, Preferences};
use crate::report::csv as report_csv;
use crate::report::printer::Printer;
use crate::settings::PrefsOptions;
use crate::target::{Account, Region, Target};

pub(super) fn warn_all(printer: &Printer, warnings: &[Problem]) {
    for w in warnings {
        printer.warn(&w.to_string());
    }
}

/// The checked inputs of a run: preferences, and the targets the selection resolves to.
pub(super) struct Inputs {
    pub(super) prefs: Preferences,
    pub(super) targets: Vec<Target>,
    /// `-r all`: accounts whose regions are listed when the run starts.
    pub(super) all_regions: Vec<Arc<Account>>,
    pub(super) inventory_path: PathBuf,
}

pub(super) fn load_inputs(
    printer: &Printer,
    prefs: &PrefsOptions,
    inventory: &Path,
    selection: &Selection,
) -> Result<Inputs, InputError> {
    // Both files are checked before either error is reported, so one run shows every problem.
    let prefs = preferences::load(&prefs.path);
    let inv = inventory::load(inventory);
    let (prefs, inv) = match (prefs, inv) {
        (Ok(p), Ok(i)) => (p, i),
        (Err(InputError::Problems(mut a)), Err(InputError::Problems(b))) => {
            a.extend(b);
            return Err(InputError::Problems(a));
        }
        (Err(e), _) | (_, Err(e)) => return Err(e),
    };
    warn_all(printer, &prefs.warnings);
    warn_all(printer, &inv.warnings);
    let selected = inventory::select(&inv, selection)?;
    // Placeholders depend on the account, not the region: an `-r all` account is checked
    // through a stand-in target.
    let mut check = selected.targets.clone();
    let stand_in = Region::parse("us-east-1").expect("a known region");
    check.extend(selected.all_regions.iter().map(|a| Target {
        account: a.clone(),
        region: stand_in.clone(),
    }));
    let mut problems = prefs.unfillable(&check);
    // Only the accounts' own regions: an `-r all` account's stand-in region fills no name.
    problems.extend(prefs.invalid_names(&selected.targets));
    if !problems.is_empty() {
        return Err(InputError::Problems(problems));
    }
    Ok(Inputs {
        prefs,
        targets: selected.targets,
        all_regions: selected.all_regions,
        inventory_path: inv.path,
    })
}

pub(super) fn region_totals(targets: &[Target]) -> BTreeMap<String, usize> {
    let mut totals = BTreeMap::new();
    for t in targets {
        *totals.entry(t.region.to_string()).or_insert(0) += 1;
    }
    totals
}

pub(super) fn unique_accounts(targets: &[Target]) -> Vec<Arc<Account>> {
    let mut seen = std::collections::HashSet::new();
    targets
        .iter()
        .filter(|t| seen.insert(t.account_id().clone()))
        .map(|t| t.account.clone())
        .collect()
}

/// `--retry-failed`: keeps the targets whose status was failed, skipped or blocked (by
/// preflight, since fixed perhaps) in an earlier report.
pub(super) fn retry_only(
    printer: &Printer,
    report: &Path,
    targets: Vec<Target>,
    document: &str,
) -> Result<Vec<Target>, InputError> {
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
    let wanted: HashSet<(String, String)> = rows
        .iter()
        .filter(|r| matches!(r.status, Status::Failed | Status::Skipped | Status::Blocked))
        .map(|r| (r.account_id.clone(), r.region.clone()))
        .collect();
    if wanted.is_empty() {
        return Err(InputError::one(
            report,
            None,
            "no target failed, was skipped or was blocked in this report: nothing to retry",
        ));
    }
    let selected: Vec<Target> = targets
        .into_iter()
        .filter(|t| wanted.contains(&(t.account_id().to_string(), t.region.to_string())))
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
