//! `plan`: every target read and decided, nothing written; with `--waves`, the accounts of
//! each wave.

use crate::error::InputError;
use crate::model::Command;
use crate::run::{Plan, Prepared, Read, RunOutcome, Start};
use crate::settings::{Caller, RunSettings};
use crate::terminal::printer::Printer;

pub(crate) async fn plan(
    printer: &Printer,
    args: &RunSettings,
    caller: &Caller,
) -> Result<RunOutcome, InputError> {
    let (p, csv) = match Prepared::start(printer, args, Command::Plan, caller).await? {
        Start::Run(p, csv) => (p, csv),
        Start::Ended(outcome) => return Ok(outcome),
    };
    let step = Plan(Read {
        job: &p.job,
        session: &p.run.session,
    });
    Ok(p.run.execute(csv, p.items(), &step).await)
}
