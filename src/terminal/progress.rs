//! Live progress, the only user of indicatif's bars: on a terminal an overall bar (position,
//! rate, ETA, counts per status) and a bar per region; elsewhere a plain line every few
//! seconds. The printer prints every other line around the bars, so they never tear.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use crate::model::RunStats;
use crate::settings::Verbosity;
use crate::terminal::printer::Printer;
use crate::words::plural;

enum Mode {
    Bars {
        multi: MultiProgress,
        overall: ProgressBar,
        regions: BTreeMap<String, ProgressBar>,
        region_style: ProgressStyle,
        last_update: Instant,
    },
    Plain {
        last: Instant,
        started: Instant,
        label: String,
    },
    Silent,
}

pub(crate) struct Progress {
    mode: Mode,
    printer: Printer,
}

const PLAIN_EVERY: Duration = Duration::from_secs(5);
/// The bars' redraw rate: indicatif formats a bar on every update, drawn or not, so the bars
/// are advanced at most this often rather than once per target.
const BARS_EVERY: Duration = Duration::from_millis(100);

impl Progress {
    /// Bars only when stderr is a terminal and they are wanted.
    pub(crate) fn new(
        label: &str,
        region_totals: &BTreeMap<String, usize>,
        total: usize,
        printer: &Printer,
        no_bars: bool,
    ) -> Self {
        let mode = if printer.verbosity() == Verbosity::Quiet {
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
            printer.set_bars(Some(multi.clone()));
            Mode::Bars {
                multi,
                overall,
                regions,
                region_style,
                last_update: Instant::now(),
            }
        };
        Self {
            mode,
            printer: printer.clone(),
        }
    }

    /// More targets arrived (`--org`'s walk streams them): the bars lengthen to `total`, and
    /// to `by_region` (asked only when the bars are redrawn), a region's bar added as its
    /// first target arrives.
    pub(crate) fn grow(
        &mut self,
        total: usize,
        by_region: impl FnOnce() -> BTreeMap<String, usize>,
    ) {
        if let Mode::Bars {
            multi,
            overall,
            regions,
            region_style,
            last_update,
        } = &mut self.mode
        {
            overall.set_length(total as u64);
            if last_update.elapsed() < BARS_EVERY {
                return;
            }
            for (region, n) in by_region() {
                let bar = regions.entry(region.clone()).or_insert_with(|| {
                    multi.add(
                        ProgressBar::new(0)
                            .with_style(region_style.clone())
                            .with_prefix(region),
                    )
                });
                bar.set_length(n as u64);
            }
        }
    }

    /// One more target finished: advance the bars to the stats.
    pub(crate) fn finished(&mut self, stats: &RunStats) {
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
                    self.printer.note(&format!(
                        "{label}: {}/{} {} ({:.1}/s): {}",
                        stats.finished,
                        stats.total,
                        plural(stats.total, "target"),
                        stats.finished as f64 / secs.max(0.001),
                        stats.counts_line()
                    ));
                }
            }
            Mode::Silent => {}
        }
    }

    /// Removes the bars so the summary prints on a clean screen.
    pub(crate) fn finish(self) {
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
            self.printer.set_bars(None);
        }
    }
}
