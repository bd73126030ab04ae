//! The CSV report (docs/report.md "The report"): one row per target, written and flushed as
//! each target finishes; read back for `rollback --from` and `--retry-failed`, and joined by
//! `report merge`.
//!
//! No cell is a formula to a spreadsheet (OWASP "CSV Injection"): a text cell whose first
//! character is `=`, `+`, `-`, `@`, a tab, a carriage return or `'` is written with a leading
//! `'`, and read back with exactly one leading `'` removed, so every value reads back as it was.
//! Numeric columns are written as they are.

mod guard;

use std::fs::File;
use std::path::{Path, PathBuf};

use self::guard::Guarded;
use crate::files::Replacement;
use crate::model::{COLUMNS, Command, ReportRow};
use crate::target::{AccountId, Region};

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
        writer.write_record(*COLUMNS)?;
        writer.flush()?;
        Ok(Self {
            path: path.to_path_buf(),
            writer,
        })
    }

    pub fn write(&mut self, row: &ReportRow) -> std::io::Result<()> {
        self.writer.serialize(Guarded(row))?;
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
        writer.write_record(*COLUMNS)?;
        for row in rows {
            writer.serialize(Guarded(row))?;
        }
        writer.flush()?;
    }
    out.commit()
}

/// A record as read, each guarded cell's one leading `'` removed.
fn unguarded(record: &csv::StringRecord) -> csv::StringRecord {
    record
        .iter()
        .map(|cell| cell.strip_prefix('\'').unwrap_or(cell))
        .collect()
}

/// `reports/<command>-<UTC timestamp>.csv`
pub fn default_path(command: &str) -> PathBuf {
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let stamp: String = stamp
        .chars()
        .take(19)
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .collect();
    PathBuf::from("reports").join(format!("{command}-{stamp}Z.csv"))
}

/// The node check's columns, the report's last: older reports end before them.
const NODE_COLUMNS: [&str; 2] = ["nodes", "nodes_at_risk"];

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
    // Reports written before the node check's columns (the last two) read back without them.
    let before_nodes = &COLUMNS[..COLUMNS.len() - NODE_COLUMNS.len()];
    if header != *COLUMNS && header != before_nodes {
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
                    format!("damaged report row: {}", damage(&e)),
                ));
            }
        }
    }
    if !problems.is_empty() {
        return Err(InputError::Problems(problems));
    }
    Ok(rows)
}

/// What is wrong with a row that does not read as a [`ReportRow`]: why, after the column
/// where the csv crate knows it (`column attempts: invalid digit found in string`); an
/// account id's or a region's own message names what it is (`unknown region "us-east-9"`).
fn damage(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Deserialize { err, .. } => match err.field() {
            Some(i) => format!(
                "column {}: {}",
                COLUMNS.get(i as usize).unwrap_or(&"?"),
                err.kind()
            ),
            None => err.to_string(),
        },
        _ => e.to_string(),
    }
}

/// Joins shard reports: every target once, all of one kind of run and one document, sorted
/// by account and region.
pub fn merge(paths: &[PathBuf]) -> Result<Vec<ReportRow>, crate::error::InputError> {
    use crate::error::{InputError, Problem};
    let mut rows: Vec<ReportRow> = vec![];
    let mut seen: std::collections::HashMap<(AccountId, Region), &Path> =
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

    #[test]
    fn reports_before_the_node_columns_read_back() {
        assert!(COLUMNS.ends_with(&NODE_COLUMNS));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.csv");
        let mut row = ReportRow::empty();
        row.nodes = Some(3);
        row.nodes_at_risk = Some(1);
        write_whole(&path, std::slice::from_ref(&row)).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        // The same report as an older ssm-prefs wrote it: without the last two columns.
        let old: String = text
            .lines()
            .map(|l| {
                let cut = l.rmatch_indices(',').nth(1).unwrap().0;
                format!("{}\n", &l[..cut])
            })
            .collect();
        std::fs::write(&path, old).unwrap();
        let back = read(&path).unwrap();
        assert_eq!(back[0].nodes, None);
        assert_eq!(back[0].account_id, row.account_id);
        write_whole(&path, &[row]).unwrap();
        let back = read(&path).unwrap();
        assert_eq!((back[0].nodes, back[0].nodes_at_risk), (Some(3), Some(1)));
    }
    use crate::model::{
        Action, Finding, Findings, HubDelivery, Reason, Severity, Status, TargetError, rfc3339,
    };

    /// A row with every field set and every kind of cell in it: each field spelled out, so
    /// that a new one is a compile error here until the tests below cover it.
    fn every_cell() -> ReportRow {
        ReportRow {
            account_id: "012345678901".parse().unwrap(),
            account_name: "a".into(),
            region: "us-east-1".parse().unwrap(),
            document_name: "SSM-SessionManagerRunShell".into(),
            action: Action::Update,
            status: Status::Updated,
            previous_version: "1".into(),
            document_version: "2".into(),
            content_sha256: "ab".into(),
            changed_inputs: "s3BucketName;x".into(),
            error_code: Some(Reason::Aws("AccessDenied".into())),
            error_message: "m".into(),
            attempts: 2,
            started_at: rfc3339(std::time::SystemTime::UNIX_EPOCH),
            duration_ms: 5,
            findings: Findings::of(vec![Finding {
                reason: Reason::BucketNotFound,
                severity: Severity::Blocking,
                subject: "b".into(),
                message: String::new(),
                nodes: 0,
            }]),
            wave: Some(2),
            version_created_at: "2026-01-02T03:04:05.000Z".into(),
            version_author: "not reported".into(),
            pruned_versions: Some(3),
            command: Some(Command::Apply),
            changed_by: "arn:aws:sts::012345678901:assumed-role/Admin/jo".into(),
            changed_at: "2026-01-02T03:04:05.000Z".into(),
            security_hub: HubDelivery::NotDelivered(TargetError::new(
                Reason::SecurityHubNotEnabled,
                "not subscribed",
            )),
            nodes: Some(14),
            nodes_at_risk: Some(2),
        }
    }

    #[test]
    fn header_matches_the_row_fields() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let mut report = CsvReport::create(&path).unwrap();
        let row = every_cell();
        report.write(&row).unwrap();
        let mut r = csv::Reader::from_path(&path).unwrap();
        assert_eq!(r.headers().unwrap().iter().collect::<Vec<_>>(), *COLUMNS);
        let back: ReportRow = r.deserialize().next().unwrap().unwrap();
        assert_eq!(back, row);
        assert_eq!(back.started_at, "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn no_text_cell_is_a_formula_and_every_value_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let row = ReportRow {
            account_id: "111122223333".parse().unwrap(),
            account_name: "=HYPERLINK(\"http://x.example\",\"a\")".into(),
            region: "us-east-1".parse().unwrap(),
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
    fn the_header_and_cells_are_the_csv_crates_own_from_serde() {
        let row = every_cell();
        // The csv crate writes the header from serde's field names itself.
        let mut serde_writer = csv::Writer::from_writer(vec![]);
        serde_writer.serialize(&row).unwrap();
        let mut ours = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(vec![]);
        ours.write_record(*COLUMNS).unwrap();
        ours.serialize(Guarded(&row)).unwrap();
        assert_eq!(
            String::from_utf8(ours.into_inner().unwrap()).unwrap(),
            String::from_utf8(serde_writer.into_inner().unwrap()).unwrap()
        );
        assert_eq!(COLUMNS.len(), 26);
    }

    /// Rows of every kind of cell, and the report's bytes as the tool wrote them before the
    /// columns were declared once (at f7b27d0), plus the node check's two columns at the end:
    /// the format is a contract.
    #[test]
    fn the_report_is_byte_for_byte_as_it_was() {
        fn cell<T: serde::de::DeserializeOwned>(text: &str) -> T {
            serde_json::from_value(serde_json::Value::String(text.into())).unwrap()
        }
        let rows = vec![
            ReportRow {
                account_id: cell("012345678901"),
                account_name: "=HYPERLINK(\"http://x.example\",\"a\")".into(),
                region: cell("eu-west-1"),
                document_name: "SSM-SessionManagerRunShell".into(),
                action: Action::Update,
                status: Status::Updated,
                previous_version: "3".into(),
                document_version: "12".into(),
                content_sha256: "ab".into(),
                changed_inputs: "s3BucketName;+x".into(),
                error_code: Some(cell("AccessDenied")),
                error_message: "-2, \"quoted\"\nnext".into(),
                attempts: 3,
                started_at: "2026-01-02T03:04:05.006Z".into(),
                duration_ms: 1234,
                findings: cell("BucketNotFound(blocking) b; KmsKeyNotFound(warning) @k"),
                wave: Some(2),
                version_created_at: "2026-01-02T03:04:05.000Z".into(),
                version_author: "'already quoted".into(),
                pruned_versions: Some(4),
                command: Some(Command::Audit),
                changed_by: "@arn".into(),
                changed_at: "\tz".into(),
                security_hub: HubDelivery::Delivered,
                nodes: None,
                nodes_at_risk: None,
            },
            ReportRow {
                account_id: cell("000000000001"),
                account_name: "plain".into(),
                region: cell("us-east-1"),
                document_name: "D".into(),
                security_hub: cell("SecurityHubNotEnabled: not, subscribed: x"),
                ..ReportRow::empty()
            },
            ReportRow {
                account_id: cell("000000000002"),
                account_name: "two".into(),
                region: cell("ap-south-1"),
                document_name: "D".into(),
                error_code: Some(cell("MaxFailuresExceeded")),
                security_hub: cell("=X: -y"),
                ..ReportRow::empty()
            },
        ];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        write_whole(&path, &rows).unwrap();
        let want = concat!(
            "account_id,account_name,region,document_name,action,status,previous_version,document_version,content_sha256,changed_inputs,error_code,error_message,attempts,started_at,duration_ms,findings,wave,version_created_at,version_author,pruned_versions,command,changed_by,changed_at,security_hub,nodes,nodes_at_risk\n",
            "012345678901,\"'=HYPERLINK(\"\"http://x.example\"\",\"\"a\"\")\",eu-west-1,SSM-SessionManagerRunShell,update,updated,3,12,ab,s3BucketName;+x,AccessDenied,\"'-2, \"\"quoted\"\"\n",
            "next\",3,2026-01-02T03:04:05.006Z,1234,BucketNotFound(blocking) b; KmsKeyNotFound(warning) @k,2,2026-01-02T03:04:05.000Z,''already quoted,4,audit,'@arn,'\tz,delivered,,\n",
            "000000000001,plain,us-east-1,D,none,failed,,,,,,,0,,0,,,,,,,,,\"SecurityHubNotEnabled: not, subscribed: x\",,\n",
            "000000000002,two,ap-south-1,D,none,failed,,,,,MaxFailuresExceeded,,0,,0,,,,,,,,,'=X: -y,,\n"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), want);
        assert_eq!(read(&path).unwrap(), rows);
        assert_eq!(
            rows[1].security_hub,
            HubDelivery::NotDelivered(TargetError::new(
                Reason::SecurityHubNotEnabled,
                "not, subscribed: x"
            ))
        );
    }

    #[test]
    fn a_malformed_account_id_or_unknown_region_names_the_file_and_line() {
        let good = ReportRow {
            account_id: "012345678901".parse().unwrap(),
            ..ReportRow::empty()
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        write_whole(&path, &[good.clone(), good.clone(), good]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text.replacen("012345678901", "12345678901", 2).replacen(
            "12345678901,,us-east-1",
            "012345678901,,us-east-9",
            1,
        );
        std::fs::write(&path, text).unwrap();
        let crate::error::InputError::Problems(problems) = read(&path).unwrap_err() else {
            panic!("not an input error")
        };
        let lines: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].contains("r.csv:2:")
                && lines[0].contains("damaged report row: unknown region \"us-east-9\""),
            "{lines:?}"
        );
        assert!(
            lines[1].contains("r.csv:3:")
                && lines[1].contains("account_id \"12345678901\" has 11 digits"),
            "{lines:?}"
        );
    }
}
