//! What a run reports to: the CSV report, progress, change summary, HTML page and JUnit file
//! fed per target, the run's events, and at the end the summary and the summary JSON, from
//! the same stats the run's end (src/model/ending.rs) is decided by.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::fanout::Control;
use super::inputs::region_totals;
use crate::error::InputError;
use crate::files;
use crate::model::{
    Action, Command, Ended, Outcome, ReportRow, RunEvent, RunMeta, RunStats, Status, rfc3339,
};
use crate::report::csv::{CsvReport, default_path};
use crate::report::{html, json, junit};
use crate::settings::Verbosity;
use crate::settings::{Destination, Output};
use crate::target::Target;
use crate::terminal::events::EventLog;
use crate::terminal::printer::Printer;
use crate::terminal::progress::Progress;
use crate::terminal::summary::{self, ChangeSummary, FindingSummary, WaveSummary};
use crate::waves::WavePlan;
use crate::words::count;

/// With --html, --junit or --summary-json: where each goes; the page's rows gathered as
/// targets finish (compact), and for the JUnit file every row only when there is no CSV
/// report to read them back from at the end.
pub(crate) struct RunFiles {
    html: Option<(PathBuf, html::PageRows)>,
    junit: Option<PathBuf>,
    summary_json: Option<Destination>,
    rows: Vec<ReportRow>,
}

pub(crate) fn open_report(out: &Output, command: Command) -> Result<CsvReport, InputError> {
    let path = out
        .report
        .clone()
        .unwrap_or_else(|| default_path(command.as_str()));
    CsvReport::create(&path).map_err(|source| InputError::Io {
        action: "create the report",
        path: path.clone(),
        source,
    })
}

/// The reporters of one phase: stats, CSV, progress and the change summary, fed per outcome.
pub(crate) struct Sinks {
    /// What the run is, for every renderer that heads its output with it.
    pub(crate) meta: RunMeta,
    /// The run's events, shared with every phase and the interrupt listener.
    pub(crate) log: EventLog,
    /// The files written whole at the end (--html, --junit, --summary-json).
    pub(crate) files: Option<RunFiles>,
    pub(crate) stats: RunStats,
    pub(crate) progress: Progress,
    pub(crate) csv: Option<CsvReport>,
    pub(crate) changes: ChangeSummary,
    pub(crate) findings: FindingSummary,
    /// With `--waves`: the plan that stamps each row's wave, and each wave's counts.
    pub(crate) waves: Option<(Arc<WavePlan>, WaveSummary)>,
    pub(crate) write_error: Option<std::io::Error>,
    pub(crate) printer: Printer,
    /// How the outputs' paths are shown (Lambda mode: their S3 URIs).
    pub(crate) out: Output,
}

impl Sinks {
    pub(crate) fn new(
        label: &str,
        targets: &[Target],
        out: &Output,
        printer: &Printer,
        csv: Option<CsvReport>,
        meta: RunMeta,
        log: EventLog,
    ) -> Self {
        Self {
            meta,
            log,
            stats: RunStats::new(targets.len()),
            progress: Progress::new(
                label,
                &region_totals(targets),
                targets.len(),
                printer,
                out.no_progress,
            ),
            csv,
            changes: ChangeSummary::default(),
            findings: FindingSummary::default(),
            waves: None,
            write_error: None,
            files: None,
            printer: printer.clone(),
            out: out.clone(),
        }
    }

    pub(crate) fn with_waves(mut self, waves: Option<Arc<WavePlan>>) -> Self {
        self.waves = waves.map(|w| (w, WaveSummary::default()));
        self
    }

    /// The files `out` asks for, written at the end.
    pub(crate) fn with_files(mut self, out: &Output) -> Self {
        if out.html.is_some() || out.junit.is_some() || out.summary_json.is_some() {
            self.files = Some(RunFiles {
                html: out.html.clone().map(|p| (p, html::PageRows::default())),
                junit: out.junit.clone(),
                summary_json: out.summary_json.clone(),
                rows: vec![],
            });
        }
        self
    }

    /// Renders an event of the run as a whole.
    pub(crate) fn event(&self, event: RunEvent) {
        self.log.emit(event);
    }

    pub(crate) fn record(&mut self, o: &Outcome) {
        self.record_as(o, true);
    }

    /// Records an outcome; `log`: whether it gets its per-target line (not when an earlier
    /// phase printed it).
    pub(crate) fn record_as(&mut self, o: &Outcome, log: bool) {
        // Every row says which command's report it is in, and with --waves its wave.
        let mut stamped = o.clone();
        stamped.row.command = Some(self.meta.command);
        if let Some((plan, summary)) = &mut self.waves {
            stamped.row.wave = plan.wave_of(stamped.row.account_id.as_str());
            summary.add(&stamped.row);
        }
        let o = &stamped;
        self.stats.record(&o.row);
        self.findings.add(&o.row.findings);
        // The JUnit file reads the rows back from the finished CSV and the page keeps them
        // encoded: a run's memory does not grow by a row per target (docs/operations.md).
        if let Some(files) = self.files.as_mut() {
            if let Some((_, page)) = files.html.as_mut() {
                page.add(&o.row);
            }
            if files.junit.is_some() && self.csv.is_none() {
                files.rows.push(o.row.clone());
            }
        }
        match (o.row.action, o.row.status) {
            (_, Status::Failed | Status::Skipped | Status::Blocked) => {}
            (Action::Create, _) => self.changes.add_create(),
            (Action::Update, _) => self.changes.add_update(&o.changes),
            (Action::None | Action::Restore | Action::Delete, _) => {}
        }
        if let Some(csv) = self.csv.as_mut()
            && let Err(e) = csv.write(&o.row)
        {
            if self.write_error.is_none() {
                self.printer.error(&format!(
                    "cannot write the report {}: {e}",
                    csv.path().display()
                ));
            }
            self.write_error.get_or_insert(e);
        }
        if log {
            self.printer.target(&o.row);
        }
        self.progress.finished(&self.stats);
    }

    /// Clears the bars and prints the summary; the outcome follows from the same stats.
    pub(crate) fn finish(
        self,
        elapsed: Duration,
        control: &Control,
        change_title: Option<&str>,
    ) -> Ended {
        let Sinks {
            mut meta,
            log,
            stats,
            progress,
            changes,
            findings,
            waves,
            write_error,
            csv,
            files: outputs,
            printer,
            out,
        } = self;
        progress.finish();
        let report = csv
            .as_ref()
            .map(|c| c.path().to_path_buf())
            .unwrap_or_default();
        let shown = out.shown(&report);
        printer.held_back(&format!("the report {shown}"));
        if let (Some(title), false) = (change_title, changes.is_empty()) {
            printer.out(&format!("{title}:\n{}", changes.render(12)));
        }
        // Apply showed its findings with its plan, before it wrote (no change title).
        if change_title.is_some() && !findings.is_empty() {
            printer.out(&format!("{}:\n{}", findings.title(), findings.render(12)));
        }
        if let Some((plan, summary)) = &waves {
            let sizes: Vec<usize> = plan.waves.iter().map(Vec::len).collect();
            printer.out(&format!(
                "waves ({}):\n{}",
                plan.spec,
                summary.render(&sizes)
            ));
        }
        if printer.verbosity() == Verbosity::Quiet {
            printer.summary_line(&format!(
                "{}; report: {shown}",
                summary::headline(&stats, meta.command, elapsed),
            ));
        } else {
            printer.out(&summary::render(
                &stats,
                meta.command,
                Path::new(&shown),
                elapsed,
            ));
        }
        // What went wrong besides the targets, for the exit code and the summary JSON's why.
        let mut problems: Vec<String> = vec![];
        let mut outputs = outputs;
        meta.ended_at = rfc3339(SystemTime::now());
        if let Some(f) = outputs.as_mut() {
            // Where each file went, or that it could not be written: one of the run's problems.
            let mut written =
                |label: &str, what: &str, path: &Path, result: std::io::Result<()>| match result {
                    Ok(()) => printer.out(&format!("  {label}: {}\n", out.shown(path))),
                    Err(e) => {
                        printer.error(&format!("cannot write {what} {}: {e}", path.display()));
                        problems.push(format!("{what} could not be written"));
                    }
                };
            if let Some((path, page)) = &f.html {
                let result = html::write(path, &meta, page);
                written("html", "the HTML report", path, result);
            }
            if let Some(path) = &f.junit {
                let run = junit::Suite {
                    meta: &meta,
                    report: &report,
                    elapsed,
                };
                // Read back from the finished CSV; kept as they came only without one.
                let rows = match &csv {
                    Some(_) => crate::report::csv::read(&report).map_err(|e| {
                        std::io::Error::other(format!("the report cannot be read back: {e}"))
                    }),
                    None => Ok(std::mem::take(&mut f.rows)),
                };
                let result = rows.and_then(|rows| junit::write(path, &run, &rows));
                written("junit", "the JUnit file", path, result);
            }
        }
        // A walk of the organization cut short left accounts without a row: not a success.
        if let Some(walk) = stats.walk.as_ref().filter(|w| !w.complete) {
            problems.push(format!(
                "the walk of the organization stopped before its end ({} of {} OUs read, {} left out for their tags)",
                walk.ous_walked,
                walk.ous_walked + walk.ous_left,
                count(walk.accounts_left, "account")
            ));
        }
        if let Some(e) = &write_error {
            printer.error(&format!(
                "the report {} is incomplete: {e}",
                report.display()
            ));
            problems.push("the report is incomplete".into());
        }
        let mut ended = Ended::of(control.stopped(), &stats, !problems.is_empty());
        if let Some(f) = &outputs
            && let Some(dest) = &f.summary_json
        {
            let why = match ended {
                Ended::Interrupted => "interrupted".to_string(),
                _ => {
                    let mut why: Vec<String> = stats.not_done_line().into_iter().collect();
                    if stats.undelivered() > 0 {
                        why.extend(stats.delivery_line());
                    }
                    why.extend(problems);
                    if why.is_empty() {
                        "every target succeeded".to_string()
                    } else {
                        why.join("; ")
                    }
                }
            };
            let events = log.events();
            let html = f.html.as_ref().map(|(p, _)| out.shown(p));
            let facts = json::Facts {
                meta: &meta,
                events: &events,
                stats: &stats,
                report: Path::new(&shown),
                html: html.as_deref().map(Path::new),
                junit: f.junit.as_deref(),
                exit_code: ended.exit_code(),
                why: &why,
                elapsed,
            };
            if !write_summary(&printer, dest, &facts, &out) {
                ended = ended.with_problem();
            }
        }
        ended
    }
}

/// A run that ended before its targets (nothing to do, or the organization could not be
/// read): its summary JSON still says how and why, so that a job (or Lambda mode) reading it
/// learns the cause, not only the exit code. No report: no target ran.
pub(crate) fn ended_early(
    printer: &Printer,
    output: &Output,
    mut meta: RunMeta,
    ended: Ended,
    why: &str,
) -> Ended {
    let Some(dest) = &output.summary_json else {
        return ended;
    };
    meta.ended_at = rfc3339(SystemTime::now());
    let facts = json::Facts {
        meta: &meta,
        events: &[],
        stats: &RunStats::new(0),
        report: Path::new(""),
        html: None,
        junit: None,
        exit_code: ended.exit_code(),
        why,
        elapsed: Duration::ZERO,
    };
    if write_summary(printer, dest, &facts, output) {
        ended
    } else {
        ended.with_problem()
    }
}

/// The summary JSON written to its destination, said in a line; `false` where it could not be.
fn write_summary(printer: &Printer, dest: &Destination, facts: &json::Facts, out: &Output) -> bool {
    let text = json::render(facts);
    let written = match dest {
        Destination::Stdout => printer.product(&text),
        Destination::File(path) => files::replace(path, text.as_bytes())
            .map(|()| printer.out(&format!("  summary json: {}\n", out.shown(path)))),
    };
    if let Err(e) = &written {
        let name = match dest {
            Destination::Stdout => "to stdout".to_string(),
            Destination::File(path) => path.display().to_string(),
        };
        printer.error(&format!("cannot write the summary JSON {name}: {e}"));
    }
    written.is_ok()
}
