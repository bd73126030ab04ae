//! The confirmation prompt before a write (apply, rollback, `--pause` between waves): yes,
//! no, or Ctrl-C/SIGTERM at the question.

use std::io::BufRead;

use crate::error::InputError;
use crate::model::{Command, Ended, RunEvent};
use crate::report::csv::CsvReport;
use crate::settings::Caller;
use crate::terminal::events;
use crate::terminal::printer::Printer;
use crate::words::count;

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Confirmed {
    Yes,
    No,
    Interrupted,
}

/// Before anything else: `command` asks before it writes, so with no terminal to ask on
/// (CI), `--yes` must have answered already.
pub(crate) fn yes_or_terminal(
    command: Command,
    yes: bool,
    caller: &Caller,
) -> Result<(), InputError> {
    match yes || caller.interactive {
        true => Ok(()),
        false => Err(InputError::usage(format!(
            "{command} needs --yes when stdin is not a terminal (nothing was sent to AWS)"
        ))),
    }
}

/// Asks before `command` writes; on any answer but yes, removes its report (no row was
/// written), says so and gives the run's end: declined (exit 1) or interrupted (130).
pub(crate) async fn confirm_or_cancel(
    printer: &Printer,
    command: Command,
    what: &str,
    n: usize,
    csv: CsvReport,
) -> Result<CsvReport, Ended> {
    let answer = confirm(printer, what, n).await;
    if answer == Confirmed::Yes {
        return Ok(csv);
    }
    let path = csv.path().to_path_buf();
    drop(csv);
    let _ = std::fs::remove_file(path);
    events::show(printer, &RunEvent::Cancelled { command });
    Err(if answer == Confirmed::Interrupted {
        Ended::Interrupted
    } else {
        Ended::Failures
    })
}

/// Asks on the terminal; anything but y/yes declines, and Ctrl-C at the prompt interrupts.
pub(crate) async fn confirm(printer: &Printer, what: &str, n: usize) -> Confirmed {
    printer.ask(&format!("{what} {}? [y/N] ", count(n, "target")));
    let read = tokio::task::spawn_blocking(|| {
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map(|_| answer)
    });
    // SIGTERM (a cancelled CI job, a `kill`) ends the question as Ctrl-C does: once the run
    // listens for it, its default action no longer ends the process.
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        answer = read => match answer {
            Ok(Ok(a)) if matches!(a.trim().to_ascii_lowercase().as_str(), "y" | "yes") => Confirmed::Yes,
            _ => Confirmed::No,
        },
        _ = tokio::signal::ctrl_c() => {
            printer.ask("\n");
            Confirmed::Interrupted
        }
        _ = term => {
            printer.ask("\n");
            Confirmed::Interrupted
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_terminal_only_yes_lets_a_write_start() {
        let ci = Caller::new(false, ["ssm-prefs"]);
        let at_a_terminal = Caller::new(true, ["ssm-prefs"]);
        for command in [Command::Apply, Command::Rollback] {
            assert!(yes_or_terminal(command, true, &ci).is_ok());
            assert!(yes_or_terminal(command, false, &at_a_terminal).is_ok());
            let refused = yes_or_terminal(command, false, &ci)
                .unwrap_err()
                .to_string();
            assert!(
                refused.contains(&format!(
                    "{command} needs --yes when stdin is not a terminal"
                )),
                "{refused}"
            );
        }
    }
}
