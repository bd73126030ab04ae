//! The CSV report (docs/report.md "The report"): one row per target, written and flushed as
//! each target finishes; read back for `rollback --from` and `--retry-failed`, and joined by
//! `report merge`.
//!
//! No cell is a formula to a spreadsheet (OWASP "CSV Injection"): a text cell whose first
//! character is `=`, `+`, `-`, `@`, a tab, a carriage return or `'` is written with a leading
//! `'`, and read back with exactly one leading `'` removed, so every value reads back as it was.
//! Numeric columns are written as they are.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::files::Replacement;
use crate::model::{COLUMNS, Command, ReportRow};

/// Appends rows to the report file, flushing each one so a crash loses no finished target.
pub struct CsvReport {
    path: PathBuf,
    writer: csv::Writer<File>,
}

impl CsvReport {
    pub fn create(path: &Path) -> std::io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = File::create(path)?;
        // The buffer holds a whole row, so each flush is a single write: no torn rows.
        let mut writer = csv::WriterBuilder::new()
            .has_headers(false)
            .buffer_capacity(64 * 1024)
            .from_writer(file);
        writer.write_record(COLUMNS)?;
        writer.flush()?;
        Ok(Self {
            path: path.to_path_buf(),
            writer,
        })
    }

    pub fn write(&mut self, row: &ReportRow) -> std::io::Result<()> {
        self.writer.write_record(&guarded(row)?)?;
        self.writer.flush()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Writes `rows` as the whole report at `path`: complete, or the file is left as it was.
pub fn write_whole(path: &Path, rows: &[ReportRow]) -> std::io::Result<()> {
    let mut out = Replacement::create(path)?;
    {
        let mut writer = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(out.file());
        writer.write_record(COLUMNS)?;
        for row in rows {
            writer.write_record(&guarded(row)?)?;
        }
        writer.flush()?;
    }
    out.commit()
}

/// The columns that hold numbers: never prefixed, whatever they hold.
const NUMERIC: [&str; 6] = [
    "previous_version",
    "document_version",
    "attempts",
    "duration_ms",
    "wave",
    "pruned_versions",
];

/// Whether a text cell starting so would be a formula (or data) to a spreadsheet; `'` is in
/// the list so that the prefix can always be taken off again.
fn needs_guard(cell: &str) -> bool {
    cell.starts_with(['=', '+', '-', '@', '\t', '\r', '\''])
}

fn is_text(column: usize) -> bool {
    !NUMERIC.contains(&COLUMNS[column])
}

/// The row as the cells written, in [`COLUMNS`] order, each as serde writes it (a unit test
/// holds the two equal), each text cell guarded. Built directly: going through serde and
/// reading the record back cost ~25 µs a row (docs/operations.md, "Performance").
fn guarded(row: &ReportRow) -> std::io::Result<csv::StringRecord> {
    fn opt<T: ToString>(v: &Option<T>) -> String {
        v.as_ref().map(T::to_string).unwrap_or_default()
    }
    let cells: [std::borrow::Cow<'_, str>; COLUMNS.len()] = [
        row.account_id.as_str().into(),
        row.account_name.as_str().into(),
        row.region.as_str().into(),
        row.document_name.as_str().into(),
        row.action.as_str().into(),
        row.status.as_str().into(),
        row.previous_version.as_str().into(),
        row.document_version.as_str().into(),
        row.content_sha256.as_str().into(),
        row.changed_inputs.as_str().into(),
        opt(&row.error_code).into(),
        row.error_message.as_str().into(),
        row.attempts.to_string().into(),
        row.started_at.as_str().into(),
        row.duration_ms.to_string().into(),
        row.findings.to_string().into(),
        opt(&row.wave).into(),
        row.version_created_at.as_str().into(),
        row.version_author.as_str().into(),
        opt(&row.pruned_versions).into(),
        opt(&row.command).into(),
        row.changed_by.as_str().into(),
        row.changed_at.as_str().into(),
        row.security_hub.as_str().into(),
    ];
    let mut record = csv::StringRecord::with_capacity(256, COLUMNS.len());
    for (i, cell) in cells.iter().enumerate() {
        if is_text(i) && needs_guard(cell) {
            record.push_field(&format!("'{cell}"));
        } else {
            record.push_field(cell);
        }
    }
    Ok(record)
}

/// A record as read, each guarded text cell's one leading `'` removed.
fn unguarded(record: &csv::StringRecord) -> csv::StringRecord {
    record
        .iter()
        .enumerate()
        .map(|(i, cell)| match cell.strip_prefix('\'') {
            Some(rest) if is_text(i) => rest,
            _ => cell,
        })
        .collect()
}

/// `reports/<command>-<UTC timestamp>.csv`
pub fn default_path(command: &str) -> PathBuf {
    let stamp = aws_sdk_ssm::primitives::DateTime::from(std::time::SystemTime::now())
        .fmt(aws_sdk_ssm::primitives::DateTimeFormat::DateTime)
        .unwrap_or_default();
    let stamp: String = stamp
        .chars()
        .take(19)
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .collect();
    PathBuf::from("reports").join(format!("{command}-{stamp}Z.csv"))
}

/// Reads a report this tool wrote (for `rollback --from` and `--retry-failed`). Anything
/// else — another tool's CSV, a damaged row — is an input error naming the file and line.
pub fn read(path: &Path) -> Result<Vec<ReportRow>, crate::error::InputError> {
    use crate::error::{InputError, Problem};
    let mut reader = csv::Reader::from_path(path).map_err(|e| match e.into_kind() {
        csv::ErrorKind::Io(source) => InputError::read(path, source),
        other => InputError::one(path, None, format!("cannot read the report: {other:?}")),
    })?;
    let headers = reader.headers().map_err(|e| {
        InputError::one(
            path,
            Some(1),
            format!("cannot read the report's header: {e}"),
        )
    })?;
    let header: Vec<&str> = headers.iter().collect();
    if header != COLUMNS {
        return Err(InputError::one(
            path,
            Some(1),
            "not an ssm-prefs report: the header differs from account_id,account_name,region,…,findings",
        ));
    }
    let headers = headers.clone();
    let mut rows = vec![];
    let mut problems = vec![];
    for (i, record) in reader.records().enumerate() {
        let row = record.and_then(|r| {
            let mut plain = unguarded(&r);
            plain.set_position(r.position().cloned());
            plain.deserialize::<ReportRow>(Some(&headers))
        });
        match row {
            Ok(r) => rows.push(r),
            Err(e) => {
                let line = e.position().map(|p| p.line() as usize).unwrap_or(i + 2);
                problems.push(Problem::at(
                    path,
                    Some(line),
                    format!("damaged report row: {e}"),
                ));
            }
        }
    }
    if !problems.is_empty() {
        return Err(InputError::Problems(problems));
    }
    Ok(rows)
}

/// Joins shard reports: every target once, all of one kind of run and one document, sorted
/// by account and region.
pub fn merge(paths: &[PathBuf]) -> Result<Vec<ReportRow>, crate::error::InputError> {
    use crate::error::{InputError, Problem};
    let mut rows: Vec<ReportRow> = vec![];
    let mut seen: std::collections::HashMap<(String, String), &Path> =
        std::collections::HashMap::new();
    let mut possible: Vec<Command> = vec![
        Command::Apply,
        Command::Plan,
        Command::Audit,
        Command::Rollback,
    ];
    let mut problems = vec![];
    for path in paths {
        for (i, row) in read(path)?.into_iter().enumerate() {
            let line = Some(i + 2);
            let key = (row.account_id.clone(), row.region.clone());
            if let Some(first) = seen.get(&key) {
                problems.push(Problem::at(
                    path,
                    line,
                    format!(
                        "{}/{} is also in {}: shards must not overlap",
                        key.0,
                        key.1,
                        first.display()
                    ),
                ));
                continue;
            }
            seen.insert(key, path);
            // The command each row records decides; the statuses only back it up.
            if let Some(first) = rows.first().filter(|f| f.command != row.command) {
                let name = |c: Option<Command>| c.map(Command::as_str).unwrap_or("unknown");
                problems.push(Problem::at(
                    path,
                    line,
                    format!(
                        "this row's command is {}, the rows before it are from {}: merge the shards of one run",
                        name(row.command),
                        name(first.command)
                    ),
                ));
            }
            let before = possible.clone();
            possible.retain(|k| row.status.commands().contains(k));
            if possible.is_empty() {
                problems.push(Problem::at(
                    path,
                    line,
                    format!(
                        "status {:?} is not from the same kind of run as the rows before it ({})",
                        row.status.as_str(),
                        before
                            .iter()
                            .map(|c| c.as_str())
                            .collect::<Vec<_>>()
                            .join(" or ")
                    ),
                ));
                possible = before;
            }
            if let Some(first) = rows
                .first()
                .filter(|f| f.document_name != row.document_name)
            {
                problems.push(Problem::at(
                    path,
                    line,
                    format!(
                        "document {:?} differs from {:?}: these reports are of different runs",
                        row.document_name, first.document_name
                    ),
                ));
            }
            rows.push(row);
        }
    }
    if !problems.is_empty() {
        return Err(InputError::Problems(problems));
    }
    rows.sort_by(|a, b| (&a.account_id, &a.region).cmp(&(&b.account_id, &b.region)));
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Action, Status, rfc3339};

    #[test]
    fn header_matches_the_row_fields() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let mut report = CsvReport::create(&path).unwrap();
        let row = ReportRow {
            account_id: "012345678901".into(),
            account_name: "a".into(),
            region: "us-east-1".into(),
            document_name: "SSM-SessionManagerRunShell".into(),
            action: Action::Create,
            status: Status::Created,
            previous_version: String::new(),
            document_version: "1".into(),
            content_sha256: "ab".into(),
            changed_inputs: "s3BucketName".into(),
            error_code: None,
            error_message: String::new(),
            attempts: 2,
            started_at: rfc3339(std::time::SystemTime::UNIX_EPOCH),
            duration_ms: 5,
            findings: Default::default(),
            wave: None,
            version_created_at: "2026-01-02T03:04:05.000Z".into(),
            version_author: "not reported".into(),
            pruned_versions: Some(3),
            command: Some(Command::Apply),
            changed_by: "arn:aws:sts::012345678901:assumed-role/Admin/jo".into(),
            changed_at: "2026-01-02T03:04:05.000Z".into(),
            security_hub: "SecurityHubNotEnabled: not subscribed".into(),
        };
        report.write(&row).unwrap();
        let mut r = csv::Reader::from_path(&path).unwrap();
        assert_eq!(r.headers().unwrap().iter().collect::<Vec<_>>(), COLUMNS);
        let back: ReportRow = r.deserialize().next().unwrap().unwrap();
        assert_eq!(back, row);
        assert_eq!(back.started_at, "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn no_text_cell_is_a_formula_and_every_value_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let row = ReportRow {
            account_id: "111122223333".into(),
            account_name: "=HYPERLINK(\"http://x.example\",\"a\")".into(),
            region: "us-east-1".into(),
            document_name: "SSM-SessionManagerRunShell".into(),
            error_message: "-2 is not a version".into(),
            changed_inputs: "+x".into(),
            version_author: "'already quoted".into(),
            content_sha256: "\tab".into(),
            started_at: "@now".into(),
            attempts: 3,
            previous_version: "1".into(),
            ..ReportRow::empty()
        };
        write_whole(&path, std::slice::from_ref(&row)).unwrap();
        let mut raw = csv::Reader::from_path(&path).unwrap();
        let cells = raw.records().next().unwrap().unwrap();
        for (i, cell) in cells.iter().enumerate() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{}: {cell:?}",
                COLUMNS[i]
            );
        }
        assert_eq!(&cells[1], "'=HYPERLINK(\"http://x.example\",\"a\")");
        assert_eq!(&cells[18], "''already quoted");
        assert_eq!(&cells[12], "3");
        assert_eq!(read(&path).unwrap(), vec![row]);
    }

    #[test]
    fn the_cells_written_are_serdes_for_every_column() {
        let row = ReportRow {
            account_id: "012345678901".into(),
            account_name: "a".into(),
            region: "us-east-1".into(),
            document_name: "D".into(),
            action: Action::Update,
            status: Status::Updated,
            previous_version: "1".into(),
            document_version: "2".into(),
            content_sha256: "ab".into(),
            changed_inputs: "x;y".into(),
            error_code: Some(crate::model::Reason::Aws("AccessDenied".into())),
            error_message: "m".into(),
            attempts: 3,
            started_at: "t".into(),
            duration_ms: 9,
            findings: crate::model::Findings(vec![crate::model::Finding {
                reason: crate::model::Reason::BucketNotFound,
                severity: crate::model::Severity::Blocking,
                subject: "b".into(),
                message: String::new(),
            }]),
            wave: Some(2),
            version_created_at: "c".into(),
            version_author: "v".into(),
            pruned_versions: Some(4),
            command: Some(Command::Apply),
            changed_by: "w".into(),
            changed_at: "z".into(),
            security_hub: "delivered".into(),
        };
        let mut serde_writer = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(vec![]);
        serde_writer.serialize(&row).unwrap();
        let mut direct = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(vec![]);
        direct.write_record(&guarded(&row).unwrap()).unwrap();
        assert_eq!(
            String::from_utf8(direct.into_inner().unwrap()).unwrap(),
            String::from_utf8(serde_writer.into_inner().unwrap()).unwrap()
        );
        // Every field is non-empty above, so a field added to ReportRow without a cell here
        // would show as a difference (or not compile: the array has COLUMNS.len() cells).
        assert_eq!(guarded(&row).unwrap().len(), COLUMNS.len());
    }
}
