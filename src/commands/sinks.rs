//! What a run reports to and how it ends: the CSV report, progress, change summary, HTML
//! page and JUnit file fed per target, and the summary, the summary JSON and the exit outcome
//! derived from the same stats.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::inputs::region_totals;
use crate::config::{Destination, Output};
use crate::error::InputError;
use crate::files;
use crate::outcome::{Action, Outcome, ReportRow, Status, StopReason, rfc3339};
use crate::report::csv::{CsvReport, default_path};
use crate::report::html::{self, RunMeta};
use crate::report::printer::{Printer, Verbosity};
use crate::report::progress::Progress;
use crate::report::summary::{ChangeSummary, FindingSummary, RunStats, WaveSummary};
use crate::report::{json, junit};
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

impl Ended {
    /// The process's exit code (README "Exit codes").
    pub fn exit_code(&self) -> u8 {
        match self {
            Ended::Success => 0,
            Ended::Failures => 1,
            Ended::Interrupted => 130,
        }
    }
}

/// With --html, --junit or --summary-json: the run's metadata, where each goes, and (for the
/// page and the JUnit file, which list every target) every row.
pub(super) struct RunFiles {
    meta: RunMeta,
    html: Option<PathBuf>,
    junit: Option<PathBuf>,
    summary_json: Option<Destination>,
    rows: Vec<ReportRow>,
}

impl RunFiles {
    fn keeps_rows(&self) -> bool {
        self.html.is_some() || self.junit.is_some()
    }
}

pub(super) fn open_report(out: &Output, command: &str) -> Result<CsvReport, InputError> {
    let path = out.report.clone().unwrap_or_else(|| default_path(command));
    CsvReport::create(&path)
        .map_err(|e| InputError::Usage(format!("cannot create the report {}: {e}", path.display())))
}

/// The reporters of one phase: stats, CSV, progress and the change summary, fed per outcome.
pub(super) struct Sinks {
    /// The files written whole at the end (--html, --junit, --summary-json).
    pub(super) files: Option<RunFiles>,
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
            files: None,
            printer: printer.clone(),
        }
    }

    pub(super) fn with_waves(mut self, waves: Option<Arc<WavePlan>>) -> Self {
        self.waves = waves.map(|w| (w, WaveSummary::default()));
        self
    }

    /// The files `out` asks for, written at the end with `meta` (built when one is asked for).
    pub(super) fn with_files(mut self, out: &Output, meta: Option<RunMeta>) -> Self {
        if let Some(meta) = meta
            && (out.html.is_some() || out.junit.is_some() || out.summary_json.is_some())
        {
            self.files = Some(RunFiles {
                meta,
                html: out.html.clone(),
                junit: out.junit.clone(),
                summary_json: out.summary_json.clone(),
                rows: vec![],
            });
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
        if let Some(files) = self.files.as_mut()
            && files.keeps_rows()
        {
            files.rows.push(o.row.clone());
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
            files: outputs,
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
                "{}; report: {}",
                stats.headline(command, elapsed),
                report.display()
            ));
        } else {
            printer.out(&stats.render(command, &report, elapsed));
        }
        // What went wrong besides the targets, for the exit code and the summary JSON's why.
        let mut problems: Vec<String> = vec![];
        let mut outputs = outputs;
        if let Some(f) = outputs.as_mut() {
            f.meta.ended_at = rfc3339(SystemTime::now());
            if let Some(path) = &f.html {
                match html::write(path, &f.meta, &f.rows) {
                    Ok(()) => printer.out(&format!("  html: {}\n", path.display())),
                    Err(e) => {
                        printer.error(&format!(
                            "cannot write the HTML report {}: {e}",
                            path.display()
                        ));
                        problems.push("the HTML report could not be written".into());
                    }
                }
            }
            if let Some(path) = &f.junit {
                let run = junit::Run {
                    command,
                    meta: &f.meta,
                    report: &report,
                    elapsed,
                };
                match junit::write(path, &run, &f.rows) {
                    Ok(()) => printer.out(&format!("  junit: {}\n", path.display())),
                    Err(e) => {
                        printer.error(&format!(
                            "cannot write the JUnit file {}: {e}",
                            path.display()
                        ));
                        problems.push("the JUnit file could not be written".into());
                    }
                }
            }
        }
        if let Some(e) = &write_error {
            printer.error(&format!(
                "the report {} is incomplete: {e}",
                report.display()
            ));
            problems.push("the report is incomplete".into());
        }
        let mut ended = match control.stopped() {
            Some(StopReason::Interrupted) => Ended::Interrupted,
            _ if stats.any_failure() || !problems.is_empty() => Ended::Failures,
            _ => Ended::Success,
        };
        if let Some(f) = &outputs
            && let Some(dest) = &f.summary_json
        {
            let why = match ended {
                Ended::Interrupted => "interrupted".to_string(),
                _ => {
                    let mut why: Vec<String> = stats.not_done_line().into_iter().collect();
                    why.extend(problems);
                    if why.is_empty() {
                        "every target succeeded".to_string()
                    } else {
                        why.join("; ")
                    }
                }
            };
            let text = json::render(&json::Run {
                command,
                meta: &f.meta,
                stats: &stats,
                report: &report,
                html: f.html.as_deref(),
                junit: f.junit.as_deref(),
                exit_code: ended.exit_code(),
                why: &why,
                elapsed,
            });
            let written = match dest {
                Destination::Stdout => printer.product(&text),
                Destination::File(path) => files::replace(path, text.as_bytes())
                    .map(|()| printer.out(&format!("  summary json: {}\n", path.display()))),
            };
            if let Err(e) = written {
                let name = match dest {
                    Destination::Stdout => "to stdout".to_string(),
                    Destination::File(path) => path.display().to_string(),
                };
                printer.error(&format!("cannot write the summary JSON {name}: {e}"));
                if ended == Ended::Success {
                    ended = Ended::Failures;
                }
            }
        }
        ended
    }
}
