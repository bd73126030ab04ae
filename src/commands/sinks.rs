//! What a run reports to and how it ends: the CSV report, progress, change summary and
//! HTML page fed per target, and the summary and exit outcome derived from the same stats.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::inputs::region_totals;
use crate::config::Output;
use crate::error::InputError;
use crate::outcome::{Action, Outcome, ReportRow, Status, StopReason, rfc3339};
use crate::report::csv::{CsvReport, default_path};
use crate::report::html::{self, RunMeta};
use crate::report::printer::{Printer, Verbosity};
use crate::report::progress::Progress;
use crate::report::summary::{ChangeSummary, FindingSummary, RunStats, WaveSummary};
use crate::runner::Control;
use crate::target::Target;
use crate::waves::WavePlan;

/// How a command ended, when its input was good.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// Every target succeeded (exit 0).
    Success,
    /// At least one target failed or was skipped, or the operator declined (exit 1).
    Failures,
    /// Ctrl-C (exit 130).
    Interrupted,
}

pub(super) fn open_report(out: &Output, command: &str) -> Result<CsvReport, InputError> {
    let path = out.report.clone().unwrap_or_else(|| default_path(command));
    CsvReport::create(&path)
        .map_err(|e| InputError::Usage(format!("cannot create the report {}: {e}", path.display())))
}

/// The reporters of one phase: stats, CSV, progress and the change summary, fed per outcome.
pub(super) struct Sinks {
    /// With --html: where, the run's metadata, and every row (the page needs them all).
    pub(super) html: Option<(PathBuf, RunMeta, Vec<ReportRow>)>,
    pub(super) stats: RunStats,
    pub(super) progress: Progress,
    pub(super) csv: Option<CsvReport>,
    pub(super) changes: ChangeSummary,
    pub(super) findings: FindingSummary,
    /// With `--waves`: the plan that stamps each row's wave, and each wave's counts.
    pub(super) waves: Option<(Arc<WavePlan>, WaveSummary)>,
    pub(super) write_error: Option<std::io::Error>,
    pub(super) printer: Printer,
}

impl Sinks {
    pub(super) fn new(
        label: &str,
        targets: &[Target],
        out: &Output,
        printer: &Printer,
        csv: Option<CsvReport>,
    ) -> Self {
        Self {
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
            html: None,
            printer: printer.clone(),
        }
    }

    pub(super) fn with_waves(mut self, waves: Option<Arc<WavePlan>>) -> Self {
        self.waves = waves.map(|w| (w, WaveSummary::default()));
        self
    }

    pub(super) fn with_html(mut self, path: Option<&PathBuf>, meta: Option<RunMeta>) -> Self {
        if let (Some(path), Some(meta)) = (path, meta) {
            self.html = Some((path.clone(), meta, vec![]));
        }
        self
    }

    pub(super) fn record(&mut self, o: &Outcome) {
        self.record_as(o, true);
    }

    /// Records an outcome; `log`: whether it gets its per-target line (not when an earlier
    /// phase printed it).
    pub(super) fn record_as(&mut self, o: &Outcome, log: bool) {
        let stamped;
        let o = match &mut self.waves {
            Some((plan, summary)) => {
                let mut copy = o.clone();
                copy.row.wave = plan.wave_of(&copy.row.account_id);
                summary.add(&copy.row);
                stamped = copy;
                &stamped
            }
            None => o,
        };
        self.stats.record(&o.row);
        self.findings.add(&o.row.findings);
        if let Some((_, _, rows)) = self.html.as_mut() {
            rows.push(o.row.clone());
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
    pub(super) fn finish(
        self,
        command: &str,
        elapsed: Duration,
        control: &Control,
        change_title: Option<&str>,
    ) -> Ended {
        let Sinks {
            stats,
            progress,
            changes,
            findings,
            waves,
            write_error,
            csv,
            html,
            printer,
        } = self;
        progress.finish();
        let report = csv
            .as_ref()
            .map(|c| c.path().to_path_buf())
            .unwrap_or_default();
        printer.held_back(&format!("the report {}", report.display()));
        if let (Some(title), false) = (change_title, changes.is_empty()) {
            printer.out(&format!("{title}:\n{}", changes.render(12)));
        }
        // Apply showed its findings with its plan, before it wrote (no change title).
        if change_title.is_some() && !findings.is_empty() {
            printer.out(&format!("preflight findings:\n{}", findings.render(12)));
        }
        if let Some((plan, summary)) = &waves {
            let sizes: Vec<usize> = plan.waves.iter().map(Vec::len).collect();
            printer.out(&format!(
                "waves (--waves {}):\n{}",
                plan.spec,
                summary.render(&sizes)
            ));
        }
        if printer.verbosity() == Verbosity::Quiet {
            printer.summary_line(&format!(
                "{}; report: {}",
                stats.headline(command, elapsed),
                report.display()
            ));
        } else {
            printer.out(&stats.render(command, &report, elapsed));
        }
        let mut html_error = false;
        if let Some((path, mut meta, rows)) = html {
            meta.ended_at = rfc3339(SystemTime::now());
            match html::write(&path, &meta, &rows) {
                Ok(()) => printer.out(&format!("  html: {}\n", path.display())),
                Err(e) => {
                    printer.error(&format!(
                        "cannot write the HTML report {}: {e}",
                        path.display()
                    ));
                    html_error = true;
                }
            }
        }
        if let Some(e) = &write_error {
            printer.error(&format!(
                "the report {} is incomplete: {e}",
                report.display()
            ));
        }
        match control.stopped() {
            Some(StopReason::Interrupted) => Ended::Interrupted,
            _ if stats.any_failure() || write_error.is_some() || html_error => Ended::Failures,
            _ => Ended::Success,
        }
    }
}
