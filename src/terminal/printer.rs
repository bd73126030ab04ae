//! The one way output leaves the tool, with the verbosity rules in one place: what `-q`,
//! the default and `-v` print, lines that never tear the progress bars, a screenful of
//! per-target lines at fleet scale, and a closed pipe that silences output instead of a panic.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use indicatif::MultiProgress;

use crate::model::{ReportRow, Status};
use crate::settings::Verbosity;
use crate::words::plural;

/// Per-target lines the default verbosity prints before it points at the report instead.
pub(crate) const TARGET_LINES: usize = 20;

/// A cheap handle: every part of a run (and the interrupt listener's task) prints through a
/// clone of the same printer.
#[derive(Clone)]
pub struct Printer {
    inner: Arc<Inner>,
}

struct Inner {
    verbosity: Verbosity,
    /// The bars on screen, which every line is printed around.
    bars: Mutex<Option<MultiProgress>>,
    target_lines: AtomicUsize,
    held_back: AtomicUsize,
    stdout_closed: AtomicBool,
    stderr_closed: AtomicBool,
    /// `--summary-json -`: stdout holds only the product, so every other line goes to stderr.
    stdout_for_product: AtomicBool,
}

#[derive(Clone, Copy)]
enum Stream {
    Out,
    Err,
}

impl Printer {
    /// A printer at `verbosity`: every line of the run goes through it, or a clone of it.
    pub fn new(verbosity: Verbosity) -> Self {
        Self {
            inner: Arc::new(Inner {
                verbosity,
                bars: Mutex::new(None),
                target_lines: AtomicUsize::new(0),
                held_back: AtomicUsize::new(0),
                stdout_closed: AtomicBool::new(false),
                stderr_closed: AtomicBool::new(false),
                stdout_for_product: AtomicBool::new(false),
            }),
        }
    }

    pub(crate) fn verbosity(&self) -> Verbosity {
        self.inner.verbosity
    }

    /// Keeps stdout for [`Printer::product`] alone (`--summary-json -`, whose JSON must parse):
    /// from now on, what would go to stdout (the header, the plan, the summary, `-q`'s line)
    /// goes to stderr.
    pub fn keep_stdout_for_product(&self) {
        self.inner.stdout_for_product.store(true, Ordering::Relaxed);
    }

    fn quiet(&self) -> bool {
        self.inner.verbosity == Verbosity::Quiet
    }

    /// A result or summary on stdout (lines end in `\n`); nothing with `-q`.
    pub(crate) fn out(&self, text: &str) {
        if !self.quiet() {
            self.write(Stream::Out, text);
        }
    }

    /// What a command exists to print (an inventory to stdout): printed even with `-q`. A
    /// closed pipe is the reader's choice (`| head`); any other failure means the output is
    /// incomplete, and the command must say so.
    pub(crate) fn product(&self, text: &str) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e),
            _ => Ok(()),
        }
    }

    /// The one line `-q` keeps: the run's final summary.
    pub(crate) fn summary_line(&self, line: &str) {
        self.write(Stream::Out, &format!("{line}\n"));
    }

    /// A message about the run on stderr (progress, interrupts); nothing with `-q`.
    pub(crate) fn note(&self, line: &str) {
        if !self.quiet() {
            self.write(Stream::Err, &format!("{line}\n"));
        }
    }

    /// The run's own turns on stderr, printed even with `-q`: an interrupt and what the
    /// next Ctrl-C does, a stop, a cancelled prompt.
    pub(crate) fn say(&self, line: &str) {
        self.write(Stream::Err, &format!("{line}\n"));
    }

    /// A problem that does not stop the run: always printed.
    pub(crate) fn warn(&self, line: &str) {
        self.write(Stream::Err, &format!("warning: {line}\n"));
    }

    /// A problem of the run itself: always printed.
    pub fn error(&self, line: &str) {
        self.write(Stream::Err, &format!("error: {line}\n"));
    }

    /// A question on stderr, the answer typed on the same line.
    pub(crate) fn ask(&self, question: &str) {
        self.write(Stream::Err, question);
    }

    /// One finished target: with `-v` every target; by default the first [`TARGET_LINES`]
    /// failed ones (the rest are counted for [`Printer::held_back`]); with `-q` none.
    pub(crate) fn target(&self, row: &ReportRow) {
        let failed = row.is_failure();
        match self.inner.verbosity {
            Verbosity::Quiet => return,
            Verbosity::Default if !failed => return,
            Verbosity::Default
                if self.inner.target_lines.fetch_add(1, Ordering::Relaxed) >= TARGET_LINES =>
            {
                self.inner.held_back.fetch_add(1, Ordering::Relaxed);
                return;
            }
            _ => {}
        }
        let mut line = format!(
            "{} {}/{} ({})",
            row.status.as_str(),
            row.account_id,
            row.region,
            visible(&row.account_name)
        );
        // What decided the status first: a failed, skipped or blocked target's error; else the
        // inputs that differ (or the missing document), and a note or a warning after them.
        let cause = match row.status {
            _ if row.error_decides() => None,
            Status::Missing => Some(format!("no document {}", visible(&row.document_name))),
            _ if !row.changed_inputs.is_empty() => Some(visible(&row.changed_inputs)),
            _ => None,
        };
        let error = row.error_code.as_ref().map(|code| {
            format!(
                "{}: {}",
                visible(&code.to_string()),
                visible(&row.error_message)
            )
        });
        let said: Vec<String> = cause.into_iter().chain(error).collect();
        if !said.is_empty() {
            line.push_str(&format!(": {}", said.join("; ")));
        }
        self.note(&line);
    }

    /// Says how many per-target lines were held back, once, pointing at where they are.
    pub(crate) fn held_back(&self, where_: &str) {
        let n = self.inner.held_back.swap(0, Ordering::Relaxed);
        if n > 0 {
            self.note(&format!(
                "… and {n} more {} not done: see {where_} (-v prints every target)",
                plural(n, "target")
            ));
        }
    }

    /// The bars now on screen (`None` once cleared): lines are printed around them.
    pub(crate) fn set_bars(&self, bars: Option<MultiProgress>) {
        // Poisoned by a panic mid-line: the bars are still whole, and a panic's own line is
        // printed through here.
        *self
            .inner
            .bars
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = bars;
    }

    /// Writes and flushes; a stream that fails (a closed pipe: `| head`) is not written again,
    /// and the run goes on to finish its report.
    fn write(&self, stream: Stream, text: &str) {
        // Names, messages and values come from inventories, documents and AWS: none may drive
        // the terminal (an escape sequence) or rewrite a line (a carriage return).
        let text = &escape_controls(text, true);
        let stream = match stream {
            Stream::Out if self.inner.stdout_for_product.load(Ordering::Relaxed) => Stream::Err,
            other => other,
        };
        let closed = match stream {
            Stream::Out => &self.inner.stdout_closed,
            Stream::Err => &self.inner.stderr_closed,
        };
        if closed.load(Ordering::Relaxed) {
            return;
        }
        let put = || -> std::io::Result<()> {
            match stream {
                Stream::Out => {
                    let mut out = std::io::stdout().lock();
                    out.write_all(text.as_bytes())?;
                    out.flush()
                }
                Stream::Err => {
                    let mut err = std::io::stderr().lock();
                    err.write_all(text.as_bytes())?;
                    err.flush()
                }
            }
        };
        let bars = self
            .inner
            .bars
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let result = match bars {
            Some(multi) => multi.suspend(put),
            None => put(),
        };
        // Where output cannot go (a closed pipe, a full disk) it is not written again: the
        // run goes on, and the report holds every row.
        if result.is_err() {
            closed.store(true, Ordering::Relaxed);
        }
    }
}

/// Other people's text inside one line: every control character shown escaped, newlines too.
pub(crate) fn visible(text: &str) -> String {
    escape_controls(text, false).into_owned()
}

/// `text` with its control characters shown as `\n`, `\r`, `\t`, `\x1b`, …; `keep_newlines`
/// leaves the line breaks (and tabs) the tool's own multi-line output is made of.
fn escape_controls(text: &str, keep_newlines: bool) -> std::borrow::Cow<'_, str> {
    let kept = |c: char| keep_newlines && (c == '\n' || c == '\t');
    if !text.chars().any(|c| c.is_control() && !kept(c)) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if !c.is_control() || kept(c) => out.push(c),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_holds_back_failures_past_a_screenful() {
        let p = Printer::new(Verbosity::Default);
        let failed = ReportRow {
            account_id: "012345678901".parse().unwrap(),
            region: "us-east-1".parse().unwrap(),
            ..ReportRow::empty()
        };
        for _ in 0..TARGET_LINES + 7 {
            p.target(&failed);
        }
        assert_eq!(p.inner.held_back.load(Ordering::Relaxed), 7);
    }

    #[test]
    fn control_characters_are_shown_not_sent() {
        assert_eq!(visible("a\nb\x1b]0;pwned\x07"), "a\\nb\\x1b]0;pwned\\x07");
        assert_eq!(escape_controls("one\ttwo\n", true), "one\ttwo\n");
        assert_eq!(escape_controls("\x1b[2J\r", true), "\\x1b[2J\\r");
        assert!(matches!(
            escape_controls("plain", true),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
