//! The terminal's summaries: the end-of-run summary (from the run's stats), the plan's change
//! summary, each wave's counts and the preflight findings, grouped across targets.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::model::{Change, Command, Findings, Reason, ReportRow, RunStats, Severity, Status};
use crate::terminal::printer::visible;
use crate::waves::WavePlan;
use crate::words::count;

/// The summary in one line: how many targets, how long, the counts per status.
pub(crate) fn headline(stats: &RunStats, command: Command, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        stats.finished as f64 / secs
    } else {
        0.0
    };
    let quietly = match stats.blocked_quietly {
        0 => String::new(),
        n => format!(" ({n} of them not done: a blocking preflight finding)"),
    };
    format!(
        "{command}: {} in {secs:.1}s ({rate:.1}/s): {}{quietly}",
        count(stats.finished, "target"),
        stats.counts_line()
    )
}

/// The end-of-run summary: the headline, counts per status and region, the commonest
/// errors, and where the report is.
pub(crate) fn render(
    stats: &RunStats,
    command: Command,
    report: &Path,
    elapsed: Duration,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "\n{}", headline(stats, command, elapsed));
    let statuses: Vec<Status> = stats.by_status.keys().copied().collect();
    if stats.by_region.len() > 1 {
        let _ = write!(s, "  {:<16}", "region");
        for st in &statuses {
            let _ = write!(s, " {:>12}", st.as_str());
        }
        s.push('\n');
        for (region, counts) in &stats.by_region {
            let _ = write!(s, "  {region:<16}");
            for st in &statuses {
                let _ = write!(s, " {:>12}", counts.get(st).copied().unwrap_or(0));
            }
            s.push('\n');
        }
    }
    if !stats.errors.is_empty() {
        let _ = writeln!(s, "  most common error codes and notes:");
        for (code, n, msg) in stats.ranked_errors().into_iter().take(5) {
            let _ = writeln!(s, "  {n:>6} × {code}: {}", truncate(msg, 120));
        }
    }
    let n = &stats.nodes;
    if n.targets_checked > 0 {
        let _ = writeln!(
            s,
            "  managed nodes: {} online in {}, {} at risk of losing sessions{}",
            n.online,
            count(n.targets_checked, "target"),
            n.at_risk,
            match n.targets_at_risk {
                0 => String::new(),
                t => format!(" (in {})", count(t, "target")),
            }
        );
    }
    if let Some(line) = stats.delivery_line() {
        let _ = writeln!(s, "  security hub: {line}");
        for (code, (n, msg)) in &stats.undelivered {
            let _ = writeln!(s, "  {n:>6} × {code}: {}", truncate(msg, 120));
        }
    }
    let _ = writeln!(s, "  report: {}", report.display());
    s
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

/// Groups identical changes across targets: "412 targets: s3BucketName DOC-EXAMPLE-BUCKET → org-session-logs".
#[derive(Debug, Default)]
pub(crate) struct ChangeSummary {
    creates: usize,
    groups: HashMap<(String, String, String), usize>,
}

impl ChangeSummary {
    pub(crate) fn add_create(&mut self) {
        self.creates += 1;
    }

    pub(crate) fn add_update(&mut self, changes: &[Change]) {
        for c in changes {
            *self
                .groups
                .entry((c.key.clone(), show(&c.from), show(&c.to)))
                .or_default() += 1;
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.creates == 0 && self.groups.is_empty()
    }

    pub(crate) fn render(&self, max_lines: usize) -> String {
        let mut s = String::new();
        if self.creates > 0 {
            let n = self.creates;
            let _ = writeln!(s, "  {}: no document yet → create it", count(n, "target"));
        }
        let mut groups: Vec<_> = self.groups.iter().collect();
        groups.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for ((key, from, to), n) in groups.iter().take(max_lines) {
            let _ = writeln!(s, "  {}: {key} {from} → {to}", count(**n, "target"));
        }
        if groups.len() > max_lines {
            let _ = writeln!(
                s,
                "  … and {} more distinct changes (see the report's changed_inputs)",
                groups.len() - max_lines
            );
        }
        s
    }
}

/// Each wave's counts: "wave 2 of 3 (9 accounts, 27 targets): created 27".
#[derive(Debug, Default)]
pub(crate) struct WaveSummary {
    waves: BTreeMap<usize, BTreeMap<Status, usize>>,
}

impl WaveSummary {
    pub(crate) fn add(&mut self, row: &ReportRow) {
        if let Some(w) = row.wave {
            *self
                .waves
                .entry(w)
                .or_default()
                .entry(row.status)
                .or_default() += 1;
        }
    }

    /// "created 3 · failed 1" for one wave.
    pub(crate) fn counts(&self, wave: usize) -> String {
        self.waves
            .get(&wave)
            .map(|c| {
                c.iter()
                    .map(|(st, n)| format!("{} {n}", st.as_str()))
                    .collect::<Vec<_>>()
                    .join(" · ")
            })
            .unwrap_or_default()
    }

    /// One line a wave, `accounts` giving each wave's number of accounts.
    pub(crate) fn render(&self, accounts: &[usize]) -> String {
        let mut s = String::new();
        for (i, n) in accounts.iter().enumerate() {
            let counts = self.waves.get(&(i + 1));
            let targets: usize = counts.map(|c| c.values().sum()).unwrap_or(0);
            let line = self.counts(i + 1);
            let _ = writeln!(
                s,
                "  wave {} of {} ({}, {}): {line}",
                i + 1,
                accounts.len(),
                count(*n, "account"),
                count(targets, "target")
            );
        }
        s
    }
}

/// Groups identical preflight findings across targets: "212 targets: BucketNotEncrypted
/// (blocking) org-session-logs"; the node check's count their nodes too: "NodeRoleDenied
/// (blocking) kms:Decrypt denied to role NodeRole on …: 14 nodes in 3 targets".
#[derive(Debug, Default)]
pub(crate) struct FindingSummary {
    /// Each finding's targets and nodes.
    groups: HashMap<(Severity, Reason, String), (usize, u64)>,
}

impl FindingSummary {
    pub(crate) fn add(&mut self, findings: &Findings) {
        for f in &findings.0 {
            let group = self
                .groups
                .entry((f.severity, f.reason.clone(), f.subject.clone()))
                .or_default();
            group.0 += 1;
            group.1 += u64::from(f.nodes);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The block's heading: `--existing refuse`'s verdicts and documents of another kind are
    /// findings, not preflight's.
    pub(crate) fn title(&self) -> String {
        let has = |r: Reason| self.groups.keys().any(|(_, reason, _)| *reason == r);
        let mut parts = vec!["preflight"];
        if has(Reason::UnmanagedDocument) {
            parts.push("--existing refuse");
        }
        if has(Reason::WrongDocumentKind) {
            parts.push("document kind");
        }
        match parts.len() {
            1 => "preflight findings".to_string(),
            _ => format!("findings ({})", parts.join(", ")),
        }
    }

    /// Blocking first, then the most common.
    pub(crate) fn render(&self, max_lines: usize) -> String {
        let mut groups: Vec<_> = self.groups.iter().collect();
        groups.sort_by(|a, b| a.0.0.cmp(&b.0.0).then(b.1.cmp(a.1)).then(a.0.cmp(b.0)));
        let mut s = String::new();
        for ((severity, reason, subject), (n, nodes)) in groups.iter().take(max_lines) {
            let severity = severity.as_str();
            let _ = match nodes {
                0 => writeln!(
                    s,
                    "  {}: {reason} ({severity}) {subject}",
                    count(*n, "target")
                ),
                _ => writeln!(
                    s,
                    "  {reason} ({severity}) {subject}: {} in {}",
                    count(*nodes as usize, "node"),
                    count(*n, "target")
                ),
            };
        }
        if groups.len() > max_lines {
            let _ = writeln!(
                s,
                "  … and {} more distinct findings (see the report's findings)",
                groups.len() - max_lines
            );
        }
        s
    }
}

/// A value as a person reads it: strings bare, absent as "(unset)".
fn show(v: &Option<Value>) -> String {
    match v {
        None => "(unset)".into(),
        Some(Value::String(s)) if s.is_empty() => "\"\"".into(),
        Some(Value::String(s)) => truncate(&visible(s), 60),
        Some(other) => truncate(&other.to_string(), 60),
    }
}

/// Which accounts each wave holds, for `plan --waves`: the first few names of each.
pub(crate) fn wave_accounts(plan: &WavePlan) -> String {
    const NAMES: usize = 8;
    let n = plan.waves.len();
    let mut s = format!("the waves apply would write ({}):\n", plan.spec);
    for (i, wave) in plan.waves.iter().enumerate() {
        let names: Vec<String> = wave
            .iter()
            .take(NAMES)
            .map(|a| format!("{} ({})", visible(&a.name), a.id))
            .collect();
        let more = match wave.len().saturating_sub(NAMES) {
            0 => String::new(),
            m => format!(", … and {m} more"),
        };
        s.push_str(&format!(
            "  wave {} of {n}, {}: {}{more}\n",
            i + 1,
            count(wave.len(), "account"),
            names.join(", ")
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuse_verdicts_are_not_called_preflight_findings() {
        let finding = |reason: Reason| crate::model::Finding {
            reason,
            severity: Severity::Blocking,
            subject: "x".into(),
            message: String::new(),
            nodes: 0,
        };
        let mut f = FindingSummary::default();
        f.add(&Findings::of(vec![finding(Reason::BucketNotFound)]));
        assert_eq!(f.title(), "preflight findings");
        f.add(&Findings::of(vec![finding(Reason::UnmanagedDocument)]));
        assert_eq!(f.title(), "findings (preflight, --existing refuse)");
    }

    #[test]
    fn groups_identical_changes() {
        let mut cs = ChangeSummary::default();
        let c = Change {
            key: "s3BucketName".into(),
            from: Some(Value::String("DOC-EXAMPLE-BUCKET".into())),
            to: Some(Value::String("org-session-logs".into())),
        };
        for _ in 0..412 {
            cs.add_update(std::slice::from_ref(&c));
        }
        cs.add_create();
        let text = cs.render(10);
        assert!(
            text.contains("412 targets: s3BucketName DOC-EXAMPLE-BUCKET → org-session-logs"),
            "{text}"
        );
        assert!(text.contains("1 target: no document yet"), "{text}");
    }
}
