//! `discover` (an inventory from AWS Organizations) and `report merge` (shard reports joined).

use super::run::session_options;
use super::sinks::Ended;
use crate::aws::session::Session;
use crate::cli::{DiscoverArgs, ReportCommand};
use crate::discover;
use crate::error::InputError;
use crate::report::csv::{self as report_csv, CsvReport};
use crate::target::{AccountId, Region};

/// `discover`: the organization as an inventory file.
pub async fn discover(args: &DiscoverArgs) -> Result<Ended, InputError> {
    let mut regions = vec![];
    for name in &args.regions {
        regions.push(Region::parse(name).map_err(|e| InputError::Usage(format!("-r: {e}")))?);
    }
    if let Some(path) = &args.output {
        // Fail on an unwritable path before asking AWS anything.
        std::fs::write(path, "")
            .map_err(|e| InputError::Usage(format!("cannot write {}: {e}", path.display())))?;
    }
    let session = Session::new(&session_options(&args.aws), &[]).await;
    let found =
        match discover::walk(&session.organizations(), &args.ous, args.include_management).await {
            Ok(found) => found,
            Err(e) => {
                eprintln!(
                    "error: cannot read the organization: {}: {}",
                    e.code, e.message
                );
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
                .map(|id| session.role_arn(&args.aws.role_name, &id))
                .unwrap_or_default()
        },
        &regions,
        &source,
    );
    match &args.output {
        Some(path) => {
            std::fs::write(path, yaml)
                .map_err(|e| InputError::Usage(format!("cannot write {}: {e}", path.display())))?;
            eprintln!(
                "discover: {} ACTIVE accounts written to {} ({} SUSPENDED left out)",
                found.accounts.len(),
                path.display(),
                found.suspended.len()
            );
        }
        None => print!("{yaml}"),
    }
    Ok(Ended::Success)
}

/// `report merge`: the shard reports as one.
pub fn report(cmd: &ReportCommand) -> Result<Ended, InputError> {
    let ReportCommand::Merge(args) = cmd;
    let rows = report_csv::merge(&args.reports)?;
    let mut out = CsvReport::create(&args.output)
        .map_err(|e| InputError::Usage(format!("cannot create {}: {e}", args.output.display())))?;
    for row in &rows {
        out.write(row).map_err(|e| {
            InputError::Usage(format!("cannot write {}: {e}", args.output.display()))
        })?;
    }
    println!(
        "merged {} reports: {} targets into {}",
        args.reports.len(),
        rows.len(),
        args.output.display()
    );
    Ok(Ended::Success)
}
