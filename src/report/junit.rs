//! The JUnit XML file (`--junit`), for CI test reporters: one `<testcase>` per target.
//!
//! The shape CI tools read (the Jenkins/Ant JUnit schema): `<testsuites>` around one
//! `<testsuite name="ssm-prefs COMMAND">` with `tests`, `failures`, `errors` (always 0),
//! `skipped`, `time` and `timestamp`, its `<properties>` (the run's metadata), and a
//! `<testcase classname="ACCOUNT" name="REGION" time="SECONDS">` per target, sorted by account id
//! then region. `classname` is `name (id)` (`payments-prod (111122223333)`), or the id alone
//! when the account has no name of its own. A row the failure rule counts as not done is a
//! `<failure message="CODE: message" type="STATUS">` (failed, drifted, missing, blocked, and a
//! done-looking row with a blocking preflight finding); a skipped row is `<skipped>`, whatever
//! its reason (a region the account has not enabled too); every other row passes.
//!
//! Every value is escaped (account names are user data), and characters XML 1.0 cannot hold
//! are replaced with U+FFFD, so the file always parses.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use crate::files;
use crate::model::{ReportRow, RunMeta, Status};

/// What the file says about one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Passed,
    Failure,
    Skipped,
}

fn verdict(row: &ReportRow) -> Verdict {
    match row.status {
        Status::Skipped => Verdict::Skipped,
        Status::Failed | Status::Drifted | Status::Missing | Status::Blocked => Verdict::Failure,
        _ if row.is_failure() => Verdict::Failure,
        _ => Verdict::Passed,
    }
}

/// The suite the file describes, besides its rows.
pub struct Suite<'a> {
    pub meta: &'a RunMeta,
    /// The CSV report.
    pub report: &'a Path,
    /// The run's time (apply: without the confirmation prompt).
    pub elapsed: Duration,
}

/// Writes the file whole (a temporary file renamed into place).
pub fn write(path: &Path, run: &Suite, rows: &[ReportRow]) -> std::io::Result<()> {
    files::replace(path, render(run, rows).as_bytes())
}

/// The account as a test reporter's class: `name (id)`, or the id alone.
pub fn classname(row: &ReportRow) -> String {
    if row.account_name.is_empty() || row.account_name == row.account_id.as_str() {
        row.account_id.to_string()
    } else {
        format!("{} ({})", row.account_name, row.account_id)
    }
}

/// The failure's or skip's one-line message, what decided the status first: `CODE: message`
/// when the row's error did (failed, skipped, blocked), else what its status says (`drifted:
/// s3BucketName, kmsKeyId`), followed by a note or a warning's `CODE: message`.
fn message(row: &ReportRow) -> String {
    let error = row
        .error_code
        .as_ref()
        .map(|code| format!("{code}: {}", row.error_message));
    let status = match &error {
        Some(error) if row.error_decides() => return error.clone(),
        _ if row.status == Status::Missing => {
            format!("missing: no document {} in this target", row.document_name)
        }
        _ if !row.changed_inputs.is_empty() => format!(
            "{}: {}",
            row.status.as_str(),
            row.changed_inputs.replace(';', ", ")
        ),
        Some(error) => return error.clone(),
        None => row.status.as_str().to_string(),
    };
    match error {
        Some(error) => format!("{status}; {error}"),
        None => status,
    }
}

/// The row's cells a reader needs, one per line (empty ones left out).
fn details(row: &ReportRow) -> String {
    let wave = row.wave.map(|w| w.to_string()).unwrap_or_default();
    let findings = row.findings.to_string();
    let code = row.code();
    let pruned = row
        .pruned_versions
        .map(|n| n.to_string())
        .unwrap_or_default();
    let cells = [
        ("status", row.status.as_str()),
        ("action", row.action.as_str()),
        ("document_name", row.document_name.as_str()),
        ("previous_version", row.previous_version.as_str()),
        ("document_version", row.document_version.as_str()),
        ("changed_inputs", row.changed_inputs.as_str()),
        ("error_code", code.as_str()),
        ("error_message", row.error_message.as_str()),
        ("findings", findings.as_str()),
        ("started_at", row.started_at.as_str()),
        ("wave", wave.as_str()),
        ("version_created_at", row.version_created_at.as_str()),
        ("version_author", row.version_author.as_str()),
        ("pruned_versions", pruned.as_str()),
    ];
    let mut s = String::new();
    for (name, value) in cells.into_iter().filter(|(_, v)| !v.is_empty()) {
        let _ = writeln!(s, "{name}: {value}");
    }
    s
}

fn seconds_ms(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// `2026-01-01T12:00:00` (UTC) from the RFC 3339 time the tool writes: the form of the Ant
/// schema's `timestamp`, which has no zone or fraction.
fn timestamp(rfc3339: &str) -> String {
    rfc3339.chars().take(19).collect()
}

/// The whole file.
pub fn render(run: &Suite, rows: &[ReportRow]) -> String {
    let mut sorted: Vec<&ReportRow> = rows.iter().collect();
    sorted.sort_by(|a, b| (&a.account_id, &a.region).cmp(&(&b.account_id, &b.region)));
    let verdicts: Vec<Verdict> = sorted.iter().map(|r| verdict(r)).collect();
    let failures = verdicts.iter().filter(|v| **v == Verdict::Failure).count();
    let skipped = verdicts.iter().filter(|v| **v == Verdict::Skipped).count();
    let tests = sorted.len();
    let meta = run.meta;
    let name = format!("ssm-prefs {}", meta.command);
    let time = seconds_ms(run.elapsed.as_millis() as u64);

    let mut x = String::with_capacity(512 + rows.len() * 200);
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" time=\"{time}\">",
        attr(&name)
    );
    let _ = writeln!(
        x,
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{time}\" timestamp=\"{}\">",
        attr(&name),
        attr(&timestamp(&meta.started_at))
    );
    // A rollback's input is the apply report it undoes, as on the HTML page.
    let (input, input_sha) = if meta.command.reads_a_report() {
        ("apply_report", "apply_report_sha256")
    } else {
        ("preferences", "preferences_sha256")
    };
    let report = run.report.display().to_string();
    let properties = [
        ("command", meta.command.as_str()),
        ("command_line", meta.command_line.as_str()),
        ("document", meta.document_name.as_str()),
        (input, meta.input_path.as_str()),
        (input_sha, meta.input_sha256.as_str()),
        ("report", report.as_str()),
        ("tool_version", meta.tool_version.as_str()),
        ("started_at", meta.started_at.as_str()),
        ("ended_at", meta.ended_at.as_str()),
    ];
    x.push_str("    <properties>\n");
    for (name, value) in properties.into_iter().filter(|(_, v)| !v.is_empty()) {
        let _ = writeln!(
            x,
            "      <property name=\"{}\" value=\"{}\"/>",
            attr(name),
            attr(value)
        );
    }
    x.push_str("    </properties>\n");
    for (row, verdict) in sorted.iter().zip(&verdicts) {
        let _ = write!(
            x,
            "    <testcase classname=\"{}\" name=\"{}\" time=\"{}\"",
            attr(&classname(row)),
            attr(row.region.as_str()),
            seconds_ms(row.duration_ms)
        );
        match verdict {
            Verdict::Failure => {
                let _ = writeln!(
                    x,
                    ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>",
                    attr(&message(row)),
                    attr(row.status.as_str()),
                    text(&details(row))
                );
            }
            Verdict::Skipped => {
                let _ = writeln!(
                    x,
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                    attr(&message(row))
                );
            }
            // A note on a passing row (an unpromoted version, a warning) is still shown.
            Verdict::Passed if row.error_code.is_some() => {
                let _ = writeln!(
                    x,
                    ">\n      <system-out>{}</system-out>\n    </testcase>",
                    text(&details(row))
                );
            }
            Verdict::Passed => x.push_str("/>\n"),
        }
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

/// A character XML 1.0 can hold (Rust's `char` has no surrogates to rule out).
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Escaped for element content; a carriage return as a reference (parsers fold a raw one into
/// a newline).
fn text(s: &str) -> String {
    xml(s, &['\r'])
}

/// Escaped for a double-quoted attribute, and whitespace other than a space as a reference (a
/// parser turns a raw tab or newline in an attribute into a space).
fn attr(s: &str) -> String {
    xml(s, &['\t', '\n', '\r'])
}

/// Escaped by the HTML page's escaper (askama's: `&`, `<`, `>`, `"` and `'` as numeric
/// character references, which XML reads alike), once characters XML 1.0 cannot hold became
/// U+FFFD; `as_references` written as numeric references too.
fn xml(s: &str, as_references: &[char]) -> String {
    let held: String = s
        .chars()
        .map(|c| if xml_char(c) { c } else { '\u{FFFD}' })
        .collect();
    let Ok(escaped) = askama::filters::escape(&held, askama::filters::Html);
    let mut out = escaped.to_string();
    for c in as_references {
        if out.contains(*c) {
            out = out.replace(*c, &format!("&#{};", u32::from(*c)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Command, Reason, TargetError};

    fn row(account: &str, name: &str, region: &str, status: Status) -> ReportRow {
        ReportRow {
            account_id: account.parse().unwrap(),
            account_name: name.into(),
            region: region.parse().unwrap(),
            document_name: "SSM-SessionManagerRunShell".into(),
            status,
            duration_ms: 1234,
            ..ReportRow::empty()
        }
    }

    fn page(rows: &[ReportRow]) -> String {
        let meta = RunMeta {
            tool_version: "0.1.0".into(),
            command_line: "ssm-prefs audit --external-id <redacted>".into(),
            started_at: "2026-01-01T12:00:00.123Z".into(),
            ended_at: "2026-01-01T12:00:05.000Z".into(),
            document_name: "SSM-SessionManagerRunShell".into(),
            ..RunMeta::new(Command::Audit)
        };
        render(
            &Suite {
                meta: &meta,
                report: Path::new("audit.csv"),
                elapsed: Duration::from_millis(5000),
            },
            rows,
        )
    }

    #[test]
    fn counts_and_verdicts_follow_the_failure_rule() {
        let skipped = |reason: Reason| {
            row("111122223333", "x", "af-south-1", Status::Failed)
                .with_error(Status::Skipped, &TargetError::new(reason, "why"))
        };
        let rows = [
            row("111122223333", "x", "us-east-1", Status::Compliant),
            row("111122223333", "x", "eu-west-1", Status::Drifted),
            row("222233334444", "", "us-east-1", Status::Missing),
            row("222233334444", "", "eu-west-1", Status::Failed)
                .with_error(Status::Failed, &TargetError::new(Reason::Timeout, "slow")),
            skipped(Reason::RegionNotEnabled),
            skipped(Reason::Interrupted),
        ];
        let x = page(&rows);
        assert!(
            x.contains("tests=\"6\" failures=\"3\" errors=\"0\" skipped=\"2\" time=\"5.000\" timestamp=\"2026-01-01T12:00:00\""),
            "{x}"
        );
        assert!(x.contains("classname=\"x (111122223333)\" name=\"us-east-1\" time=\"1.234\"/>"));
        assert!(x.contains("classname=\"222233334444\" name=\"eu-west-1\""));
        assert!(x.contains("<failure message=\"Timeout: slow\" type=\"failed\">"));
        assert!(x.contains("<failure message=\"missing: no document SSM-SessionManagerRunShell in this target\" type=\"missing\">"));
        assert!(x.contains("<skipped message=\"RegionNotEnabled: why\"/>"));
        assert!(x.contains("<property name=\"command_line\" value=\"ssm-prefs audit --external-id &#60;redacted&#62;\"/>"));
        // Sorted by account, then region.
        let first = x.find("name=\"eu-west-1\"").unwrap();
        assert!(first < x.find("name=\"us-east-1\"").unwrap());
    }

    #[test]
    fn the_message_names_what_decided_the_status_first() {
        let warned = |status| ReportRow {
            changed_inputs: "idleSessionTimeout;kmsKeyId".into(),
            error_code: Some(Reason::BucketInOtherRegion),
            error_message: "far".into(),
            ..row("111122223333", "x", "eu-west-1", status)
        };
        assert_eq!(
            message(&warned(Status::Drifted)),
            "drifted: idleSessionTimeout, kmsKeyId; BucketInOtherRegion: far"
        );
        assert_eq!(message(&warned(Status::Failed)), "BucketInOtherRegion: far");
    }

    #[test]
    fn user_data_cannot_break_the_markup() {
        let evil = "a\"b'c<d>&e\u{1}\u{FFFE}\n";
        let x = page(&[row("111122223333", evil, "us-east-1", Status::Drifted)]);
        assert!(
            x.contains(
                "classname=\"a&#34;b&#39;c&#60;d&#62;&#38;e\u{FFFD}\u{FFFD}&#10; (111122223333)\""
            ),
            "{x}"
        );
        assert!(!x.contains('\u{1}'));
    }
}
