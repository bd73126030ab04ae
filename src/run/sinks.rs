//! What a run reports to: the CSV report, progress, change summary, HTML page and JUnit file
//! fed per target (and audit's Security Hub findings, src/run/findings.rs), the run's events,
//! and at the end the summary and the summary JSON, from the same stats the run's end
//! (src/model/ending.rs) is decided by.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::fanout::Control;
use super::inputs::region_totals;
use super::items::Arrived;
use crate::error::InputError;
use crate::files;
use crate::model::{
    Action, Command, Ended, OrgWalk, Outcome, ReportRow, RunEvent, RunMeta, RunStats, Status,
    rfc3339,
};
use crate::report::csv::{CsvReport, default_path};
use crate::report::json::{self, RunSummary};
use crate::report::{html, junit};
use crate::settings::Verbosity;
use crate::settings::{Destination, Output};
use crate::target::Target;
use crate::terminal::events::EventLog;
use crate::terminal::printer::Printer;
use crate::terminal::progress::Progress;
use crate::terminal::summary::{self, ChangeSummary, FindingSummary, WaveSummary};
use crate::waves::WavePlan;
use crate::words::count;

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

/// How a run ended: its end (for the exit code) and, where the run got as far as its
/// reports, its summary — the summary JSON's struct, whether or not a file was asked for.
#[derive(Debug)]
pub(crate) struct RunOutcome {
    pub(crate) ended: Ended,
    pub(crate) summary: Option<RunSummary>,
}

impl RunOutcome {
    /// An end with no summary (a run declined at its prompt, a command that is not a run).
    pub(crate) fn bare(ended: Ended) -> RunOutcome {
        RunOutcome {
            ended,
            summary: None,
        }
    }
}

/// What every sink is told when the run is over.
pub(crate) struct End<'a> {
    pub(crate) meta: &'a RunMeta,
    pub(crate) stats: &'a RunStats,
    /// The CSV report's path (empty without one).
    pub(crate) report: &'a Path,
    /// Whether the CSV report was written (the JUnit file reads its rows back from it).
    pub(crate) csv_written: bool,
    pub(crate) elapsed: Duration,
    pub(crate) printer: &'a Printer,
    /// How the outputs' paths are shown.
    pub(crate) out: &'a Output,
    /// The summary, once every other sink is done (the summary JSON's sink only).
    pub(crate) summary: Option<&'a RunSummary>,
}

/// One of a run's reporters: fed each row as its target ends, told once when the run ends.
pub(crate) trait Sink {
    /// A target's row, stamped with its command (and wave), already in `stats`.
    fn row(&mut self, _row: &ReportRow, _stats: &RunStats) {}
    /// The run is over: what the sink writes at the end; the run's problem if it could not.
    fn finish(self: Box<Self>, end: &End<'_>) -> Result<(), String>;
}

/// The CSV report, written row by row; a write that fails is said once, and the report is
/// then incomplete (one of the run's problems).
pub(crate) struct CsvSink {
    report: CsvReport,
    error: Option<std::io::Error>,
    printer: Printer,
}

impl Sink for CsvSink {
    fn row(&mut self, row: &ReportRow, _: &RunStats) {
        if let Err(e) = self.report.write(row) {
            if self.error.is_none() {
                self.printer.error(&format!(
                    "cannot write the report {}: {e}",
                    self.report.path().display()
                ));
            }
            self.error.get_or_insert(e);
        }
    }

    fn finish(self: Box<Self>, end: &End<'_>) -> Result<(), String> {
        match &self.error {
            None => Ok(()),
            Some(e) => {
                end.printer.error(&format!(
                    "the report {} is incomplete: {e}",
                    end.report.display()
                ));
                Err("the report is incomplete".into())
            }
        }
    }
}

/// Live progress, cleared before the summary.
pub(crate) struct ProgressSink(Progress);

impl Sink for ProgressSink {
    fn row(&mut self, _: &ReportRow, stats: &RunStats) {
        self.0.finished(stats);
    }

    fn finish(self: Box<Self>, _: &End<'_>) -> Result<(), String> {
        self.0.finish();
        Ok(())
    }
}

/// `--html`: the page's rows gathered as targets finish (compact), the page written at the end.
pub(crate) struct HtmlSink {
    path: PathBuf,
    page: html::PageRows,
}

impl Sink for HtmlSink {
    fn row(&mut self, row: &ReportRow, _: &RunStats) {
        self.page.add(row);
    }

    fn finish(self: Box<Self>, end: &End<'_>) -> Result<(), String> {
        let result = html::write(&self.path, end.meta, &self.page);
        said(end, "html", "the HTML report", &self.path, result)
    }
}

/// `--junit`: a test case per target, from the finished CSV report (every row kept here only
/// when there is none): a run's memory does not grow by a row per target
/// (docs/operations.md).
pub(crate) struct JunitSink {
    path: PathBuf,
    rows: Option<Vec<ReportRow>>,
}

impl Sink for JunitSink {
    fn row(&mut self, row: &ReportRow, _: &RunStats) {
        if let Some(rows) = self.rows.as_mut() {
            rows.push(row.clone());
        }
    }

    fn finish(self: Box<Self>, end: &End<'_>) -> Result<(), String> {
        let suite = junit::Suite {
            meta: end.meta,
            report: end.report,
            elapsed: end.elapsed,
        };
        let rows = match (end.csv_written, self.rows) {
            (false, Some(rows)) => Ok(rows),
            _ => crate::report::csv::read(end.report)
                .map_err(|e| std::io::Error::other(format!("the report cannot be read back: {e}"))),
        };
        let result = rows.and_then(|rows| junit::write(&self.path, &suite, &rows));
        said(end, "junit", "the JUnit file", &self.path, result)
    }
}

/// `--summary-json FILE|-`: the summary, written once every other sink is done.
pub(crate) struct JsonSink(Destination);

impl Sink for JsonSink {
    fn finish(self: Box<Self>, end: &End<'_>) -> Result<(), String> {
        let summary = end.summary.expect("the summary JSON's sink finishes last");
        if write_summary(end.printer, &self.0, summary, end.out) {
            Ok(())
        } else {
            Err("the summary JSON could not be written".into())
        }
    }
}

/// Where a file went, in a line, or that it could not be written: one of the run's problems.
fn said(
    end: &End<'_>,
    label: &str,
    what: &str,
    path: &Path,
    result: std::io::Result<()>,
) -> Result<(), String> {
    match result {
        Ok(()) => {
            end.printer
                .out(&format!("  {label}: {}\n", end.out.shown(path)));
            Ok(())
        }
        Err(e) => {
            end.printer
                .error(&format!("cannot write {what} {}: {e}", path.display()));
            Err(format!("{what} could not be written"))
        }
    }
}

/// The reporters of one phase: the stats, the terminal's lines and summaries, and each sink
/// (CSV, progress, Security Hub, HTML, JUnit, summary JSON), fed per outcome.
pub(crate) struct Sinks {
    /// What the run is, for every renderer that heads its output with it.
    meta: RunMeta,
    /// The run's events, shared with every phase and the interrupt listener.
    log: EventLog,
    stats: RunStats,
    progress: ProgressSink,
    csv: Option<CsvSink>,
    /// The report's path, as the summary names it (empty without a report).
    report: PathBuf,
    /// The step's own (audit's Security Hub findings), `--html` and `--junit`, in that order.
    others: Vec<Box<dyn Sink>>,
    json: Option<JsonSink>,
    changes: ChangeSummary,
    findings: FindingSummary,
    /// With `--waves`: the plan that stamps each row's wave, and each wave's counts.
    waves: Option<(Arc<WavePlan>, WaveSummary)>,
    printer: Printer,
    /// How the outputs' paths are shown (Lambda mode: their S3 URIs).
    out: Output,
    /// `--org`, streamed: the targets as they arrive.
    arrived: Option<Arc<Arrived>>,
}

/// What apply's reading phase leaves for its plan: the counts, the changes and the findings.
pub(crate) struct Preview {
    pub(crate) stats: RunStats,
    pub(crate) changes: ChangeSummary,
    pub(crate) findings: FindingSummary,
}

impl Sinks {
    /// The reporters of a phase over `targets`; `csv`: the report (none while apply reads).
    pub(crate) fn new(
        label: &str,
        targets: &[Target],
        out: &Output,
        printer: &Printer,
        csv: Option<CsvReport>,
        (meta, log): (RunMeta, EventLog),
    ) -> Self {
        let report = csv
            .as_ref()
            .map(|c| c.path().to_path_buf())
            .unwrap_or_default();
        Self {
            meta,
            log,
            stats: RunStats::new(targets.len()),
            progress: ProgressSink(Progress::new(
                label,
                &region_totals(targets),
                targets.len(),
                printer,
                out.no_progress,
            )),
            csv: csv.map(|report| CsvSink {
                report,
                error: None,
                printer: printer.clone(),
            }),
            report,
            others: vec![],
            json: None,
            changes: ChangeSummary::default(),
            findings: FindingSummary::default(),
            waves: None,
            printer: printer.clone(),
            out: out.clone(),
            arrived: None,
        }
    }

    pub(crate) fn with_waves(mut self, waves: Option<Arc<WavePlan>>) -> Self {
        self.waves = waves.map(|w| (w, WaveSummary::default()));
        self
    }

    /// The files `out` asks for, written at the end.
    pub(crate) fn with_files(mut self, out: &Output) -> Self {
        if let Some(path) = &out.html {
            self.others.push(Box::new(HtmlSink {
                path: path.clone(),
                page: html::PageRows::default(),
            }));
        }
        if let Some(path) = &out.junit {
            self.others.push(Box::new(JunitSink {
                path: path.clone(),
                rows: self.csv.is_none().then(Vec::new),
            }));
        }
        self.json = out.summary_json.clone().map(JsonSink);
        self
    }

    /// `--org`, streamed: the targets' counts grow as they arrive.
    pub(crate) fn arriving(&mut self, arrived: Option<Arc<Arrived>>) {
        self.arrived = arrived;
    }

    /// The streamed walk ended: how it went, for the summary.
    pub(crate) fn walked(&mut self, walk: OrgWalk) {
        self.grow();
        self.stats.walk = Some(walk);
    }

    /// The targets arrived so far, where they stream in: the totals and the bars follow.
    fn grow(&mut self) {
        if let Some(arrived) = &self.arrived {
            let total = arrived.total();
            if total != self.stats.total {
                self.stats.total = total;
                self.progress.0.grow(total, || arrived.by_region());
            }
        }
    }

    /// The step's own sink (audit's Security Hub findings), finished before the files: its
    /// problem is the first the summary's `why` names after the targets'.
    pub(crate) fn with_step_sink(mut self, sink: Option<Box<dyn Sink>>) -> Self {
        self.others.splice(0..0, sink);
        self
    }

    /// With `--org`: how the walk went, for the summary.
    pub(crate) fn with_walk(mut self, walk: Option<OrgWalk>) -> Self {
        self.stats.walk = walk;
        self
    }

    /// Renders an event of the run as a whole.
    pub(crate) fn event(&self, event: RunEvent) {
        self.log.emit(event);
    }

    /// Targets failed so far.
    pub(crate) fn failed(&self) -> usize {
        self.stats.count(Status::Failed)
    }

    /// With `--waves`: wave `number`'s counts so far.
    pub(crate) fn wave_counts(&self, number: usize) -> String {
        self.waves
            .as_ref()
            .map(|(_, s)| s.counts(number))
            .unwrap_or_default()
    }

    pub(crate) fn record(&mut self, o: &Outcome) {
        self.record_as(o, true);
    }

    /// Records an outcome; `log`: whether it gets its per-target line (not when an earlier
    /// phase printed it).
    pub(crate) fn record_as(&mut self, o: &Outcome, log: bool) {
        // Every row says which command's report it is in, and with --waves its wave.
        let mut row = o.row.clone();
        row.command = Some(self.meta.command);
        if let Some((plan, summary)) = &mut self.waves {
            row.wave = plan.wave_of(row.account_id.as_str());
            summary.add(&row);
        }
        self.grow();
        self.stats.record(&row);
        self.findings.add(&row.findings);
        for sink in &mut self.others {
            sink.row(&row, &self.stats);
        }
        match (row.action, row.status) {
            (_, Status::Failed | Status::Skipped | Status::Blocked) => {}
            (Action::Create, _) => self.changes.add_create(),
            (Action::Update, _) => self.changes.add_update(&o.changes),
            (Action::None | Action::Restore | Action::Delete, _) => {}
        }
        if let Some(csv) = self.csv.as_mut() {
            csv.row(&row, &self.stats);
        }
        if log {
            self.printer.target(&row);
        }
        self.progress.row(&row, &self.stats);
    }

    /// Apply's reading phase over: the bars cleared, its counts, changes and findings kept.
    pub(crate) fn preview(self) -> Preview {
        self.progress.0.finish();
        Preview {
            stats: self.stats,
            changes: self.changes,
            findings: self.findings,
        }
    }

    /// Clears the bars, prints the summary and writes the files; the end follows from the
    /// same stats, and the summary states it.
    pub(crate) fn finish(
        self,
        elapsed: Duration,
        control: &Control,
        change_title: Option<&str>,
    ) -> RunOutcome {
        let Sinks {
            mut meta,
            log,
            stats,
            progress,
            csv,
            report,
            others,
            json,
            changes,
            findings,
            waves,
            printer,
            out,
            arrived: _,
        } = self;
        let shown = out.shown(&report);
        meta.ended_at = rfc3339(SystemTime::now());
        let mut end = End {
            meta: &meta,
            stats: &stats,
            report: &report,
            csv_written: csv.is_some(),
            elapsed,
            printer: &printer,
            out: &out,
            summary: None,
        };
        let _ = Box::new(progress).finish(&end);
        printer.held_back(&format!("the report {shown}"));
        say_summaries(&end, change_title, &changes, &findings, waves.as_ref());
        // What went wrong besides the targets, for the exit code and the summary JSON's why.
        let mut problems: Vec<String> = vec![];
        for sink in others {
            problems.extend(sink.finish(&end).err());
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
        if let Some(csv) = csv {
            problems.extend(Box::new(csv).finish(&end).err());
        }
        let ended = Ended::of(control.stopped(), &stats, !problems.is_empty());
        let html = out.html.as_ref().map(|p| out.shown(p));
        let why = why(ended, &stats, problems);
        let events = log.events();
        let summary = RunSummary::of(&json::Facts {
            meta: &meta,
            events: &events,
            stats: &stats,
            report: Path::new(&shown),
            html: html.as_deref().map(Path::new),
            junit: out.junit.as_deref(),
            exit_code: ended.exit_code(),
            why: &why,
            elapsed,
        });
        end.summary = Some(&summary);
        let written = json.is_none_or(|j| Box::new(j).finish(&end).is_ok());
        RunOutcome {
            ended: if written { ended } else { ended.with_problem() },
            summary: Some(summary),
        }
    }
}

/// The summary's text: the change and finding summaries (plan, audit), the waves, the counts.
fn say_summaries(
    end: &End<'_>,
    change_title: Option<&str>,
    changes: &ChangeSummary,
    findings: &FindingSummary,
    waves: Option<&(Arc<WavePlan>, WaveSummary)>,
) {
    let printer = end.printer;
    let shown = end.out.shown(end.report);
    if let (Some(title), false) = (change_title, changes.is_empty()) {
        printer.out(&format!("{title}:\n{}", changes.render(12)));
    }
    // Apply showed its findings with its plan, before it wrote (no change title).
    if change_title.is_some() && !findings.is_empty() {
        printer.out(&format!("{}:\n{}", findings.title(), findings.render(12)));
    }
    if let Some((plan, summary)) = waves {
        let sizes: Vec<usize> = plan.waves.iter().map(Vec::len).collect();
        printer.out(&format!(
            "waves ({}):\n{}",
            plan.spec,
            summary.render(&sizes)
        ));
    }
    let command = end.meta.command;
    if printer.verbosity() == Verbosity::Quiet {
        printer.summary_line(&format!(
            "{}; report: {shown}",
            summary::headline(end.stats, command, end.elapsed),
        ));
    } else {
        printer.out(&summary::render(
            end.stats,
            command,
            Path::new(&shown),
            end.elapsed,
        ));
    }
}

/// The summary's `why`: how the run ended, in a line.
fn why(ended: Ended, stats: &RunStats, problems: Vec<String>) -> String {
    if ended == Ended::Interrupted {
        return "interrupted".to_string();
    }
    let mut why: Vec<String> = stats.not_done_line().into_iter().collect();
    why.extend(problems);
    if why.is_empty() {
        "every target succeeded".to_string()
    } else {
        why.join("; ")
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
) -> RunOutcome {
    meta.ended_at = rfc3339(SystemTime::now());
    let summary = RunSummary::of(&json::Facts {
        meta: &meta,
        events: &[],
        stats: &RunStats::new(0),
        report: Path::new(""),
        html: None,
        junit: None,
        exit_code: ended.exit_code(),
        why,
        elapsed: Duration::ZERO,
    });
    let written = match &output.summary_json {
        Some(dest) => write_summary(printer, dest, &summary, output),
        None => true,
    };
    RunOutcome {
        ended: if written { ended } else { ended.with_problem() },
        summary: Some(summary),
    }
}

/// The summary JSON written to its destination, said in a line; `false` where it could not be.
fn write_summary(
    printer: &Printer,
    dest: &Destination,
    summary: &RunSummary,
    out: &Output,
) -> bool {
    let text = summary.render();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Reason;
    use crate::model::TargetError;
    use crate::target::Region;

    fn outcome(region: &str, status: Status) -> Outcome {
        let mut row = ReportRow {
            region: Region::parse(region).unwrap(),
            status,
            ..ReportRow::empty()
        };
        if status == Status::Failed {
            row = row.with_error(
                Status::Failed,
                &TargetError::new(Reason::Aws("AccessDenied".into()), "denied"),
            );
        }
        Outcome {
            row,
            changes: vec![],
            reused_version: false,
        }
    }

    fn output(dir: &Path) -> Output {
        Output {
            report: None,
            html: Some(dir.join("run.html")),
            junit: Some(dir.join("run.xml")),
            summary_json: Some(Destination::File(dir.join("run.json"))),
            no_progress: true,
            stored_at: None,
        }
    }

    /// A phase of an audit over two targets, with every file asked for.
    fn sinks(dir: &Path, csv: Option<CsvReport>) -> Sinks {
        let printer = Printer::new(Verbosity::Quiet);
        let out = output(dir);
        let meta = RunMeta::new(Command::Audit);
        let log = EventLog::new(&printer);
        let targets: Vec<Target> = vec![];
        Sinks::new("audit", &targets, &out, &printer, csv, (meta, log))
            .with_files(&out)
            .with_walk(None)
    }

    #[test]
    fn every_sink_gets_every_row_and_the_summary_is_the_json_written() {
        let dir = tempfile::tempdir().unwrap();
        let csv = CsvReport::create(&dir.path().join("run.csv")).unwrap();
        let mut sinks = sinks(dir.path(), Some(csv));
        sinks.record(&outcome("us-east-1", Status::Compliant));
        sinks.record(&outcome("eu-west-1", Status::Failed));
        assert_eq!(sinks.failed(), 1);
        let outcome = sinks.finish(Duration::from_millis(5), &Control::default(), None);
        assert_eq!(outcome.ended, Ended::Failures);
        let summary = outcome.summary.expect("a run's summary");
        let written = std::fs::read_to_string(dir.path().join("run.json")).unwrap();
        assert_eq!(
            written,
            summary.render(),
            "the file is the summary, as it is"
        );
        assert_eq!(
            serde_json::from_str::<RunSummary>(&written).unwrap(),
            summary
        );
        assert_eq!(summary.command, Command::Audit);
        assert_eq!(summary.counts[&Status::Failed], 1);
        assert_eq!(summary.exit_code, 1);
        // The CSV holds both rows, each stamped with its command.
        let rows = crate::report::csv::read(&dir.path().join("run.csv")).unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|r| r.command == Some(Command::Audit)));
        // The JUnit file read them back from it; the page was written.
        let junit = std::fs::read_to_string(dir.path().join("run.xml")).unwrap();
        assert!(junit.contains("tests=\"2\""), "{junit}");
        assert!(dir.path().join("run.html").exists());
    }

    #[test]
    fn without_a_report_the_junit_file_keeps_the_rows_itself() {
        let dir = tempfile::tempdir().unwrap();
        let mut sinks = sinks(dir.path(), None);
        sinks.record(&outcome("us-east-1", Status::Compliant));
        let outcome = sinks.finish(Duration::ZERO, &Control::default(), None);
        assert_eq!(outcome.ended, Ended::Success);
        assert_eq!(outcome.summary.unwrap().why, "every target succeeded");
        let junit = std::fs::read_to_string(dir.path().join("run.xml")).unwrap();
        assert!(junit.contains("tests=\"1\""), "{junit}");
    }

    #[test]
    fn a_file_that_cannot_be_written_is_a_problem_of_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let mut out = output(dir.path());
        // A directory where the page would go.
        out.html = Some(dir.path().to_path_buf());
        let printer = Printer::new(Verbosity::Quiet);
        let mut sinks = Sinks::new(
            "audit",
            &[],
            &out,
            &printer,
            None,
            (RunMeta::new(Command::Audit), EventLog::new(&printer)),
        )
        .with_files(&out);
        sinks.record(&outcome("us-east-1", Status::Compliant));
        let outcome = sinks.finish(Duration::ZERO, &Control::default(), None);
        assert_eq!(outcome.ended, Ended::Failures);
        assert_eq!(
            outcome.summary.unwrap().why,
            "the HTML report could not be written"
        );
    }

    #[test]
    fn a_run_ended_early_has_its_summary_with_no_target() {
        let dir = tempfile::tempdir().unwrap();
        let printer = Printer::new(Verbosity::Quiet);
        let out = output(dir.path());
        let o = ended_early(
            &printer,
            &out,
            RunMeta::new(Command::Plan),
            Ended::Success,
            "nothing to do",
        );
        let summary = o.summary.unwrap();
        assert_eq!(
            (summary.total_targets, summary.why.as_str()),
            (0, "nothing to do")
        );
        let written = std::fs::read_to_string(dir.path().join("run.json")).unwrap();
        assert_eq!(written, summary.render());
    }
}
