//! `completions`: a shell's completion script, generated from the parser's own command
//! (`Cli::command()`), so it names exactly the flags the binary takes.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::error::InputError;
use crate::model::Ended;
use crate::terminal::printer::Printer;

/// The name the scripts complete and the man page is titled by.
pub(super) const BIN: &str = "ssm-prefs";

/// `completions SHELL`: the script on stdout.
pub(crate) fn completions(printer: &Printer, shell: Shell) -> Result<Ended, InputError> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), BIN, &mut script);
    let mut script = String::from_utf8_lossy(&script).into_owned();
    if shell == Shell::Bash {
        script = bash_fixed(&script);
    }
    Ok(product(printer, &script, "the completion script"))
}

/// clap_complete's bash script with the hyphen of `ssm-prefs` spelled one way in the states
/// it walks into (`ssm__prefs__subcmd__apply`) and another in the states' case arms
/// (`ssm__subcmd__prefs__subcmd__apply`), so no subcommand's options ever complete
/// (clap-rs/clap#6421, open in clap_complete 4.6.12): the arms spelled as the walk spells
/// them. Once fixed upstream, nothing matches and the script is left as it is.
fn bash_fixed(script: &str) -> String {
    script.replace(
        &format!("{}__subcmd__", BIN.replace('-', "__subcmd__")),
        &format!("{}__subcmd__", BIN.replace('-', "__")),
    )
}

/// Writes a generated text (a script, the page) to stdout; a closed pipe is a failure to say.
pub(super) fn product(printer: &Printer, text: &str, what: &str) -> Ended {
    match printer.product(text) {
        Ok(()) => Ended::Success,
        Err(e) => {
            printer.error(&format!("cannot write {what} to standard output: {e}"));
            Ended::Failures
        }
    }
}
