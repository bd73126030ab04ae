//! What the unit tests' properties share: how many cases each runs, how an editor counts a
//! file's lines, and the check that every problem names its file on a line the file has.

use std::path::Path;

use proptest::prelude::*;

use crate::error::{Origin, Problem};

/// Cases per property.
pub(crate) fn config() -> ProptestConfig {
    ProptestConfig::with_cases(256)
}

/// Lines an editor shows: each LF, CRLF or lone CR ends one (and the empty line after a
/// final line end counts too).
pub(crate) fn lines_in(text: &str) -> usize {
    1 + text.replace("\r\n", "\n").matches(['\n', '\r']).count()
}

/// Every problem is about `file`, says so first when printed, and points at a line of the
/// `lines` the file has (a `file:line` that opens nowhere helps nobody).
pub(crate) fn problems_name_the_file(
    problems: &[Problem],
    file: &Path,
    lines: usize,
) -> Result<(), TestCaseError> {
    prop_assert!(!problems.is_empty(), "an error with no problem in it");
    for p in problems {
        prop_assert_eq!(&p.origin, &Origin::File(file.to_path_buf()));
        let shown = p.to_string();
        prop_assert!(
            shown.starts_with(&format!("{}:", file.display())),
            "{}",
            shown
        );
        if let Some(line) = p.line {
            prop_assert!(
                (1..=lines).contains(&line),
                "line {} of {}: {}",
                line,
                lines,
                shown
            );
        }
    }
    Ok(())
}

/// YAML's syntax, token by token: what a soup of YAML is made of, beside a file's own words.
pub(crate) const YAML_SYNTAX: &[&str] = &[
    "\n",
    "\r\n",
    "  ",
    "    ",
    "\t",
    "- ",
    "-",
    ": ",
    ":",
    "[",
    "]",
    "{",
    "}",
    ",",
    "'",
    "\"",
    "#",
    "---",
    "...",
    "|",
    "|-",
    ">",
    "? ",
    "&a ",
    "&b ",
    "*a",
    "*b",
    "*c",
    "!!str ",
    "!!map ",
    "!tag ",
    "%YAML 1.2\n",
    "%TAG ! x\n",
    "~",
    "é",
    "\u{feff}",
    "\\",
    "<<: *a",
];

/// Up to `most` of `tokens` glued at random: mostly invalid text that reaches deeper into a
/// parser than random characters do (unclosed strings, bad escapes, BOMs).
pub(crate) fn soup(tokens: Vec<&'static str>, most: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(tokens), 0..most).prop_map(|t| t.concat())
}

/// Any text: random characters, or random bytes read as UTF-8 (with replacement characters
/// where they are not), as a file read from disk may hold.
pub(crate) fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        prop::collection::vec(any::<u8>(), 0..256)
            .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
    ]
}
