//! `rollback --from`: undo an apply from its report.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::{InputError, Problem};
use crate::inventory::{self, Inventory};
use crate::model::{Command, ReportRow, Status};
use crate::report::csv as report_csv;
use crate::run::{
    Items, Run, RunOutcome, Starting, confirm_or_cancel, open_report, warn_all, yes_or_terminal,
};
use crate::settings::{self, Caller};
use crate::steps::Undo;
use crate::target::{Account, AccountId, Target};
use crate::terminal::printer::Printer;
use crate::words::count;

/// `rollback --from`: undo what an apply created or updated, where nobody changed it since.
pub(crate) async fn rollback(
    printer: &Printer,
    args: &settings::Rollback,
    caller: &Caller,
) -> Result<RunOutcome, InputError> {
    yes_or_terminal(Command::Rollback, args.yes, caller)?;
    // Hashed as read, before anything can change it: the page names exactly this file.
    let from_sha256 = std::fs::read(&args.from)
        .map(|bytes| crate::preferences::sha256_hex(&bytes))
        .map_err(|source| InputError::read(&args.from, source))?;
    let (undos, accounts) = undos(printer, args)?;
    let csv = open_report(&args.output, Command::Rollback)?;
    let start = Starting::now(printer, &args.aws, &args.output, &accounts, None).await;
    let deletes = undos
        .iter()
        .filter(|u| u.applied.status == Status::Created)
        .count();
    printer.out(&format!(
        "rollback: {}: {} to restore their previous default version, {deletes} to delete (created by that apply)\n",
        count(undos.len(), "target"),
        undos.len() - deletes
    ));
    let csv = if args.yes {
        csv
    } else {
        match confirm_or_cancel(printer, Command::Rollback, "Roll back", undos.len(), csv).await {
            Ok(csv) => csv,
            Err(ended) => return Ok(RunOutcome::bare(ended)),
        }
    };
    // The page names what was undone: the apply report's path stands where a run over an
    // inventory names its preferences file.
    let document = undos
        .first()
        .map(|u| u.applied.document_name.as_str())
        .unwrap_or_default();
    let input = (args.from.display().to_string(), from_sha256);
    let run = Run {
        listed: undos.iter().map(|u| u.target.clone()).collect(),
        ..start.run(Command::Rollback, caller, input, document).await
    };
    let step = crate::run::Rollback {
        session: &run.session,
    };
    Ok(run.execute(csv, Items::listed(undos), &step).await)
}

/// The apply report read: each target it created or updated, to undo, and their accounts
/// (from `-i`, or as the report names them).
fn undos(
    printer: &Printer,
    args: &settings::Rollback,
) -> Result<(Vec<Undo>, Vec<Arc<Account>>), InputError> {
    let rows = report_csv::read(&args.from)?;
    if let Some((i, r)) = rows.iter().enumerate().find(|(_, r)| {
        r.command != Some(Command::Apply) || !r.status.commands().contains(&Command::Apply)
    }) {
        let what = match r.command {
            Some(c) if c != Command::Apply => format!("it is a {c} report"),
            _ => format!("status {:?} comes from another command", r.status.as_str()),
        };
        return Err(InputError::one(
            &args.from,
            Some(i + 2),
            format!("not an apply report: {what}"),
        ));
    }
    let inventory = args.inventory.as_deref().map(inventory::load).transpose()?;
    if let Some(inv) = &inventory {
        warn_all(printer, &inv.warnings);
    }
    let mut accounts: HashMap<AccountId, Arc<Account>> = HashMap::new();
    let mut undos = vec![];
    let mut problems = vec![];
    for (i, row) in rows.into_iter().enumerate() {
        if !matches!(row.status, Status::Created | Status::Updated) {
            continue;
        }
        let account = match accounts.get(&row.account_id) {
            Some(a) => a.clone(),
            None => match account_of(&row, inventory.as_ref()) {
                Ok(a) => {
                    accounts.insert(row.account_id.clone(), a.clone());
                    a
                }
                Err(e) => {
                    problems.push(Problem::at(&args.from, Some(i + 2), e));
                    continue;
                }
            },
        };
        undos.push(Undo {
            target: Target {
                account,
                region: row.region.clone(),
            },
            applied: row,
        });
    }
    if !problems.is_empty() {
        return Err(InputError::Problems(problems));
    }
    if undos.is_empty() {
        return Err(InputError::one(
            &args.from,
            None,
            "nothing to roll back: that apply created or updated no target",
        ));
    }
    Ok((undos, accounts.into_values().collect()))
}

/// A row's account: from the inventory where one is given, else as the report names it.
fn account_of(row: &ReportRow, inventory: Option<&Inventory>) -> Result<Arc<Account>, String> {
    match inventory {
        Some(inv) => inv
            .accounts
            .iter()
            .find(|a| a.id == row.account_id)
            .cloned()
            .ok_or_else(|| {
                format!(
                    "account {} is not in the inventory {}",
                    row.account_id,
                    inv.path.display()
                )
            }),
        None => Ok(Arc::new(Account {
            name: row.account_name.clone(),
            ..Account::new(row.account_id.clone(), 0)
        })),
    }
}
