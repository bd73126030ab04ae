//! `report merge`: shard reports (`--shard K/N`) joined into one, written whole or not at all.

use std::path::{Path, PathBuf};

use crate::error::InputError;
use crate::model::Ended;
use crate::report::csv as report_csv;
use crate::terminal::printer::Printer;
use crate::words::count;

/// `report merge`: the shard reports as one, written whole or not at all.
pub(crate) fn merge(
    printer: &Printer,
    reports: &[PathBuf],
    output: &Path,
) -> Result<Ended, InputError> {
    let rows = report_csv::merge(reports)?;
    report_csv::write_whole(output, &rows).map_err(|source| InputError::Io {
        action: "write",
        path: output.to_path_buf(),
        source,
    })?;
    printer.out(&format!(
        "merged {}: {} into {}\n",
        count(reports.len(), "report"),
        count(rows.len(), "target"),
        output.display()
    ));
    Ok(Ended::Success)
}
