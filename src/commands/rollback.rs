//! `rollback --from`: undo an apply from its report.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Instant;

use super::inputs::warn_all;
use super::run::{INTERRUPT_GRACE, confirm_or_cancel, listen_for_interrupts, session_options};
use super::sinks::{Ended, Sinks, open_report};
use crate::aws::session::Session;
use crate::cli::RollbackArgs;
use crate::error::{InputError, Problem};
use crate::inventory;
use crate::report::csv::{self as report_csv, Status};
use crate::rollout::{self, Undo};
use crate::runner::{self, Control, StopReason};
use crate::target::{AccountId, Region, Target};

/// `rollback --from`: undo what an apply created or updated, where nobody changed it since.
pub async fn rollback(args: &RollbackArgs) -> Result<Ended, InputError> {
    if !args.yes && !std::io::stdin().is_terminal() {
        return Err(InputError::Usage(
            "rollback needs --yes when stdin is not a terminal (nothing was sent to AWS)".into(),
        ));
    }
    let rows = report_csv::read(&args.from)?;
    if let Some((i, r)) = rows.iter().enumerate().find(|(_, r)| {
        !matches!(
            r.status,
            Status::Created
                | Status::Updated
                | Status::Unchanged
                | Status::Failed
                | Status::Skipped
        )
    }) {
        return Err(InputError::one(
            &args.from,
            Some(i + 2),
            format!(
                "not an apply report: status {:?} comes from another command",
                r.status.as_str()
            ),
        ));
    }
    let inventory = args.inventory.as_deref().map(inventory::load).transpose()?;
    if let Some(inv) = &inventory {
        warn_all(&inv.warnings);
    }
    let mut accounts: HashMap<String, Arc<inventory::Account>> = HashMap::new();
    let mut undos = vec![];
    let mut problems = vec![];
    for (i, row) in rows.into_iter().enumerate() {
        if !matches!(row.status, Status::Created | Status::Updated) {
            continue;
        }
        let line = Some(i + 2);
        let account = match accounts.get(&row.account_id) {
            Some(a) => a.clone(),
            None => {
                let found = match &inventory {
                    Some(inv) => inv
                        .accounts
                        .iter()
                        .find(|a| a.id.as_str() == row.account_id)
                        .cloned()
                        .ok_or_else(|| {
                            format!(
                                "account {} is not in the inventory {}",
                                row.account_id,
                                inv.path.display()
                            )
                        }),
                    None => AccountId::parse(&row.account_id).map(|id| {
                        Arc::new(inventory::Account {
                            id,
                            name: row.account_name.clone(),
                            ..Default::default()
                        })
                    }),
                };
                match found {
                    Ok(a) => {
                        accounts.insert(row.account_id.clone(), a.clone());
                        a
                    }
                    Err(e) => {
                        problems.push(Problem::at(&args.from, line, e));
                        continue;
                    }
                }
            }
        };
        match Region::parse(&row.region) {
            Ok(region) => undos.push(Undo {
                target: Target { account, region },
                applied: row,
            }),
            Err(e) => problems.push(Problem::at(&args.from, line, e)),
        }
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
    let csv = open_report(&args.output, "rollback")?;
    let started = Instant::now();
    let session = Session::new(
        &session_options(&args.aws),
        &accounts.values().cloned().collect::<Vec<_>>(),
    )
    .await;
    let deletes = undos
        .iter()
        .filter(|u| u.applied.status == Status::Created)
        .count();
    println!(
        "rollback: {} targets: {} to restore their previous default version, {deletes} to delete (created by that apply)",
        undos.len(),
        undos.len() - deletes
    );
    let csv = if args.yes {
        csv
    } else {
        match confirm_or_cancel("rollback", "Roll back", undos.len(), csv).await {
            Ok(csv) => csv,
            Err(ended) => return Ok(ended),
        }
    };
    let targets: Vec<Target> = undos.iter().map(|u| u.target.clone()).collect();
    let control = Arc::new(Control::default());
    let mut sinks = Sinks::new("rollback", &targets, &args.output, Some(csv));
    let listener =
        listen_for_interrupts(control.clone(), sinks.progress.printer(), INTERRUPT_GRACE);
    runner::run(
        undos,
        args.aws.concurrency as usize,
        &control,
        |u| {
            let client = session.client(&u.target);
            rollout::rollback(u, client)
        },
        |u, reason| u.stopped(reason, false),
        |u| u.stopped(StopReason::Interrupted, true),
        |o| sinks.record(&o),
    )
    .await;
    listener.abort();
    Ok(sinks.finish("rollback", started.elapsed(), &control, None))
}
