//! `audit`: every target read, read-only, and held to the preferences.

use crate::error::InputError;
use crate::model::Command;
use crate::run::{Audit, Prepared, RunOutcome, Start};
use crate::settings::{Caller, RunSettings};
use crate::terminal::printer::Printer;

pub(crate) async fn audit(
    printer: &Printer,
    args: &RunSettings,
    caller: &Caller,
) -> Result<RunOutcome, InputError> {
    let (p, csv) = match Prepared::start(printer, args, Command::Audit, caller).await? {
        Start::Run(p, csv) => (p, csv),
        Start::Ended(outcome) => return Ok(outcome),
    };
    let step = Audit {
        job: &p.job,
        session: &p.run.session,
    };
    Ok(p.run.execute(csv, p.items(), &step).await)
}
