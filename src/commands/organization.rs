//! `discover` (an inventory from AWS Organizations) and `report merge` (shard reports joined).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::sinks::Ended;
use crate::aws::session::Session;
use crate::config;
use crate::discover;
use crate::error::InputError;
use crate::files::Replacement;
use crate::report::csv as report_csv;
use crate::report::printer::Printer;
use crate::target::AccountId;
use crate::words::count;

/// `discover`: the organization as an inventory file.
pub async fn discover(printer: &Printer, args: &config::Discover) -> Result<Ended, InputError> {
    // The file is replaced only once the whole organization was read: a failed read leaves
    // the inventory that was there. Opened now, so an unwritable path fails before any call.
    let mut out = match &args.output {
        Some(path) => Some(
            Replacement::create(path)
                .map_err(|e| InputError::Usage(format!("cannot write {}: {e}", path.display())))?,
        ),
        None => None,
    };
    let session = Session::new(&args.aws.session, &[]).await;
    let endpoint = session.endpoint("Organizations", None);
    let found = match discover::walk(
        &session.organizations(),
        &endpoint,
        &args.ous,
        args.include_management,
    )
    .await
    {
        Ok(found) => found,
        Err(e) => {
            printer.error(&format!(
                "cannot read the organization: {}: {}",
                e.reason, e.message
            ));
            return Ok(Ended::Failures);
        }
    };
    let source = if args.ous.is_empty() {
        "the whole organization".to_string()
    } else {
        format!("OUs {}", args.ous.join(", "))
    };
    let yaml = discover::to_yaml(
        &found,
        |id| {
            AccountId::parse(id)
                .map(|id| session.role_arn(&args.role_name, &id))
                .unwrap_or_default()
        },
        &args.regions,
        &source,
    );
    match (out.take(), &args.output) {
        (Some(mut file), Some(path)) => {
            file.file()
                .write_all(yaml.as_bytes())
                .and_then(|()| file.commit())
                .map_err(|e| InputError::Usage(format!("cannot write {}: {e}", path.display())))?;
            printer.note(&format!(
                "discover: {} written to {} ({} SUSPENDED left out)",
                count(found.accounts.len(), "ACTIVE account"),
                path.display(),
                found.suspended.len()
            ));
        }
        _ => {
            if let Err(e) = printer.product(&yaml) {
                printer.error(&format!(
                    "cannot write the inventory to standard output: {e}"
                ));
                return Ok(Ended::Failures);
            }
        }
    }
    Ok(Ended::Success)
}

/// `report merge`: the shard reports as one, written whole or not at all.
pub fn merge(printer: &Printer, reports: &[PathBuf], output: &Path) -> Result<Ended, InputError> {
    let rows = report_csv::merge(reports)?;
    report_csv::write_whole(output, &rows)
        .map_err(|e| InputError::Usage(format!("cannot write {}: {e}", output.display())))?;
    printer.out(&format!(
        "merged {}: {} into {}\n",
        count(reports.len(), "report"),
        count(rows.len(), "target"),
        output.display()
    ));
    Ok(Ended::Success)
}
