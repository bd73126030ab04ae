//! `man`: the man page (roff), generated from the parser's own command (`Cli::command()`), so
//! it names exactly the flags the binary takes.

use std::io;

use clap::CommandFactory;
use clap_mangen::Man;
use clap_mangen::roff::{Roff, roman};

use super::completions::{BIN, product};
use crate::cli::Cli;
use crate::error::InputError;
use crate::model::Ended;
use crate::terminal::printer::Printer;

/// `man`: the page (roff) on stdout.
pub(crate) fn man(printer: &Printer) -> Result<Ended, InputError> {
    match man_page() {
        Ok(page) => Ok(product(printer, &page, "the man page")),
        Err(e) => {
            printer.error(&format!("cannot render the man page: {e}"));
            Ok(Ended::Failures)
        }
    }
}

/// One page for the whole tool, ssm-prefs(1): NAME, SYNOPSIS, DESCRIPTION, OPTIONS, the list
/// of COMMANDS, then a section per command (`SSM-PREFS APPLY`, …, `SSM-PREFS REPORT MERGE`)
/// with its description, synopsis, options and notes, then the tool's NOTES and VERSION.
pub(super) fn man_page() -> io::Result<String> {
    let mut cmd = value_names(Cli::command().disable_help_subcommand(true));
    // Built once here, so every subcommand knows its full name (`ssm-prefs report merge`).
    cmd.build();
    let top = Man::new(cmd.clone());
    // The preamble every rendering starts with (a string holding an apostrophe), once; and the
    // title written here, as clap_mangen's leaves the empty date out and shifts the source
    // into its place.
    let mut page = Roff::new().render();
    page.push_str(&format!(
        ".TH {} 1 \"\" \"{BIN} {}\" \"User Commands\"\n",
        BIN.to_uppercase(),
        env!("CARGO_PKG_VERSION")
    ));
    // Left-aligned and unhyphenated: a flag is never split across lines (`--ac-counts`).
    page.push_str(".ad l\n.nh\n");
    for section in [
        Man::render_name_section,
        Man::render_synopsis_section,
        Man::render_description_section,
        Man::render_options_section,
    ] {
        page.push_str(&body(&rendered(|w| section(&top, w))?));
    }

    let mut list = Roff::new();
    list.control("SH", ["COMMANDS"]);
    for (name, sub) in commands(&cmd) {
        list.control("TP", []);
        list.text([clap_mangen::roff::bold(name)]);
        if let Some(about) = sub.get_about() {
            list.text([roman(about.to_string())]);
        }
    }
    page.push_str(&body(&list.render()));

    for (name, sub) in commands(&cmd) {
        let mut head = Roff::new();
        head.control("SH", [name.to_uppercase().as_str()]);
        paragraphs(&mut head, sub.get_long_about().or(sub.get_about()));
        page.push_str(&body(&head.render()));
        let man = Man::new(sub.clone());
        page.push_str(&demoted(&rendered(|w| man.render_synopsis_section(w))?));
        if sub.get_arguments().any(|a| !a.is_hide_set()) {
            page.push_str(&demoted(&rendered(|w| man.render_options_section(w))?));
        }
        page.push_str(&body(&notes(sub, "SS", "Notes").render()));
    }

    page.push_str(&body(&notes(&cmd, "SH", "NOTES").render()));
    page.push_str(&body(&rendered(|w| top.render_version_section(w))?));
    Ok(ascii(&page))
}

/// Every character outside ASCII (the help's `—`, `×`) as groff's `\[uXXXX]`: the page then
/// reads the same in every roff, whatever input encoding it assumes.
fn ascii(roff: &str) -> String {
    let mut out = String::with_capacity(roff.len());
    for c in roff.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            out.push_str(&format!("\\[u{:04X}]", u32::from(c)));
        }
    }
    out
}

/// `<command>` in the synopsis of a command that has subcommands (clap_mangen would say
/// `<subcommands>`).
fn value_names(cmd: clap::Command) -> clap::Command {
    if cmd.has_subcommands() {
        cmd.subcommand_value_name("COMMAND")
            .mut_subcommands(value_names)
    } else {
        cmd
    }
}

/// Every visible command under `cmd`, depth first, with its full name (`ssm-prefs report
/// merge`).
fn commands(cmd: &clap::Command) -> Vec<(String, &clap::Command)> {
    let mut out = vec![];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub
            .get_bin_name()
            .map(str::to_string)
            .unwrap_or_else(|| format!("{BIN} {}", sub.get_name()));
        out.push((name, sub));
        out.extend(commands(sub));
    }
    out
}

/// A text as roff paragraphs, one per block of lines.
fn paragraphs(roff: &mut Roff, text: Option<&clap::builder::StyledStr>) {
    let Some(text) = text else { return };
    for line in text.to_string().lines() {
        if line.trim().is_empty() {
            roff.control("PP", []);
        } else {
            roff.text([roman(line)]);
        }
    }
}

/// The command's after-help under a heading, each line kept as a line (the examples' columns
/// stay aligned) and still wrapped where it is too long.
fn notes(cmd: &clap::Command, macro_: &str, heading: &str) -> Roff {
    let mut roff = Roff::new();
    let Some(text) = cmd.get_after_long_help().or(cmd.get_after_help()) else {
        return roff;
    };
    roff.control(macro_, [heading]);
    for line in text.to_string().lines() {
        if line.trim().is_empty() {
            roff.control("PP", []);
        } else {
            roff.text([roman(line)]);
            roff.control("br", []);
        }
    }
    roff
}

fn rendered(render: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> io::Result<String> {
    let mut out = Vec::new();
    render(&mut out)?;
    String::from_utf8(out).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// A rendering without the preamble the page already has.
fn body(roff: &str) -> String {
    let preamble = Roff::new().render();
    roff.strip_prefix(&preamble).unwrap_or(roff).to_string()
}

/// A command's section as a subsection of its command's part of the page: `.SH SYNOPSIS`
/// becomes `.SS Synopsis`, `.SH OPTIONS` `.SS Options`.
fn demoted(roff: &str) -> String {
    let mut out = String::new();
    for line in body(roff).lines() {
        match line.strip_prefix(".SH ") {
            Some(heading) => {
                let heading = heading.trim_matches('"').to_lowercase();
                let mut chars = heading.chars();
                let title: String = chars
                    .next()
                    .map(|c| c.to_uppercase().chain(chars).collect())
                    .unwrap_or_default();
                out.push_str(&format!(".SS \"{title}\"\n"));
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_has_every_command_and_option_once() {
        let page = man_page().unwrap();
        assert!(page.starts_with(&Roff::new().render()), "{page}");
        assert_eq!(page.matches(".ds Aq").count(), 2, "one preamble:\n{page}");
        assert!(page.contains(".TH SSM-PREFS 1 \"\" \"ssm-prefs "), "{page}");
        for heading in [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH COMMANDS",
            ".SH \"SSM-PREFS APPLY\"",
            ".SH \"SSM-PREFS REPORT MERGE\"",
            ".SH \"SSM-PREFS COMPLETIONS\"",
            ".SH \"SSM-PREFS MAN\"",
            ".SH NOTES",
            ".SH VERSION",
        ] {
            assert_eq!(page.matches(heading).count(), 1, "{heading}:\n{page}");
        }
        // The subcommands' own sections are subsections, not a second SYNOPSIS or OPTIONS.
        assert_eq!(page.matches(".SH OPTIONS").count(), 1, "{page}");
        assert!(page.contains(".SS \"Options\""), "{page}");
        assert!(page.contains("\\-\\-wave\\-wait"), "{page}");
        assert!(page.contains("\\fBssm\\-prefs apply\\fR"), "{page}");
        assert!(!page.contains("SSM-PREFS HELP"), "{page}");
        assert!(page.is_ascii(), "{page}");
    }

    #[test]
    fn characters_outside_ascii_are_escaped() {
        assert_eq!(ascii("a — b × c"), "a \\[u2014] b \\[u00D7] c");
    }

    #[test]
    fn demoting_turns_headings_into_subsections() {
        assert_eq!(
            demoted(".SH OPTIONS\n.TP\n.SH \"AWS ACCESS\"\n"),
            ".SS \"Options\"\n.TP\n.SS \"Aws access\"\n"
        );
    }
}
