//! Live progress, the only user of indicatif: on a terminal an overall bar (position, rate,
//! ETA, counts per status) and a bar per region; elsewhere a plain line every few seconds.
//! Every other line printed during a run goes through here so bars never tear.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use crate::report::csv::ReportRow;
use crate::report::summary::RunStats;

/// How much to print while the run goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

enum Mode {
    Bars {
        multi: MultiProgress,
        overall: ProgressBar,
        regions: BTreeMap<String, ProgressBar>,
        last_update: Instant,
    },
    Plain {
        last: Instant,
        started: Instant,
        label: String,
    },
    Silent,
}

pub struct Progress {
    mode: Mode,
    verbosity: Verbosity,
}

const PLAIN_EVERY: Duration = Duration::from_secs(5);
/// The bars' redraw rate: indicatif formats a bar on every update, drawn or not, so the bars
/// are advanced at most this often rather than once per target.
const BARS_EVERY: Duration = Duration::from_millis(100);

impl Progress {
    /// Bars only when stderr is a terminal and they are wanted.
    pub fn new(
        label: &str,
        region_totals: &BTreeMap<String, usize>,
        total: usize,
        verbosity: Verbosity,
        no_bars: bool,
    ) -> Self {
        let mode = if verbosity == Verbosity::Quiet {
            Mode::Silent
        } else if no_bars || !std::io::stderr().is_terminal() {
            Mode::Plain {
                last: Instant::now(),
                started: Instant::now(),
                label: label.to_string(),
            }
        } else {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(
                (1000 / BARS_EVERY.as_millis()) as u8,
            ));
            let style = ProgressStyle::with_template(
                "{prefix:>15.bold} [{bar:30.cyan/blue}] {pos}/{len} {rate:>9} ETA {eta:>4} {msg}",
            )
            .expect("valid template")
            .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.1}/s", s.per_sec());
            })
            .progress_chars("=> ");
            let overall = multi.add(
                ProgressBar::new(total as u64)
                    .with_style(style)
                    .with_prefix(label.to_string()),
            );
            let region_style = ProgressStyle::with_template("{prefix:>15} [{bar:30}] {pos}/{len}")
                .expect("valid template")
                .progress_chars("=> ");
            let regions = region_totals
                .iter()
                .map(|(r, n)| {
                    let bar = multi.add(
                        ProgressBar::new(*n as u64)
                            .with_style(region_style.clone())
                            .with_prefix(r.clone()),
                    );
                    (r.clone(), bar)
                })
                .collect();
            Mode::Bars {
                multi,
                overall,
                regions,
                last_update: Instant::now(),
            }
        };
        Self { mode, verbosity }
    }

    /// One target finished: advance the bars, and log it if it failed (or always, with -v).
    pub fn finished(&mut self, row: &ReportRow, stats: &RunStats) {
        let failed = row.is_failure();
        if self.verbosity == Verbosity::Verbose || (failed && self.verbosity != Verbosity::Quiet) {
            let mut line = format!(
                "{} {}/{} ({})",
                row.status.as_str(),
                row.account_id,
                row.region,
                row.account_name
            );
            if !row.error_code.is_empty() {
                line.push_str(&format!(": {}: {}", row.error_code, row.error_message));
            } else if !row.changed_inputs.is_empty() {
                line.push_str(&format!(": {}", row.changed_inputs));
            }
            self.println(&line);
        }
        match &mut self.mode {
            Mode::Bars {
                overall,
                regions,
                last_update,
                ..
            } => {
                // The bars show the stats, which already counted this row.
                if last_update.elapsed() >= BARS_EVERY || stats.finished == stats.total {
                    *last_update = Instant::now();
                    overall.set_position(stats.finished as u64);
                    overall.set_message(stats.counts_line());
                    for (region, counts) in &stats.by_region {
                        let done = counts.values().sum::<usize>() as u64;
                        if let Some(bar) = regions.get(region)
                            && bar.position() != done
                        {
                            bar.set_position(done);
                        }
                    }
                }
            }
            Mode::Plain {
                last,
                started,
                label,
            } => {
                if last.elapsed() >= PLAIN_EVERY {
                    *last = Instant::now();
                    let secs = started.elapsed().as_secs_f64();
                    eprintln!(
                        "{label}: {}/{} targets ({:.1}/s): {}",
                        stats.finished,
                        stats.total,
                        stats.finished as f64 / secs.max(0.001),
                        stats.counts_line()
                    );
                }
            }
            Mode::Silent => {}
        }
    }

    /// A log line that does not tear the bars.
    pub fn println(&self, line: &str) {
        self.printer().println(line)
    }

    /// A handle that prints through the bars from another task (the interrupt listener).
    pub fn printer(&self) -> Printer {
        Printer(match &self.mode {
            Mode::Bars { multi, .. } => Some(multi.clone()),
            _ => None,
        })
    }

    /// Removes the bars so the summary prints on a clean screen.
    pub fn finish(self) {
        if let Mode::Bars {
            multi,
            overall,
            regions,
            ..
        } = self.mode
        {
            overall.finish_and_clear();
            regions.values().for_each(ProgressBar::finish_and_clear);
            let _ = multi.clear();
        }
    }
}

/// Prints a line above the bars, or plainly when there are none.
#[derive(Clone)]
pub struct Printer(Option<MultiProgress>);

impl Printer {
    pub fn println(&self, line: &str) {
        match &self.0 {
            Some(multi) => multi.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }
}
