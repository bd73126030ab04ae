//! `completions` and `man` through the real binary: each completion script accepted by its
//! shell (bash really completes a command and a flag), every script generated from the
//! parser's own flags, and the man page rendered by groff and man without a warning. zsh,
//! fish, groff and man are required: scripts/prerequisites.sh installs them.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::fixtures::*;

/// Fails the test, saying how to get it, unless `program` (Debian's `package`) is on PATH.
fn require(program: &str, package: &str) {
    assert!(
        installed(program),
        "{program} is missing: run scripts/prerequisites.sh or apt-get install {package}"
    );
}

/// Whether `program` is on PATH.
/// A tool's output, asserted to have succeeded with nothing on stderr: its stdout.
fn quietly_succeeds(out: std::process::Output, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.is_empty(),
        "{what}: {stderr}"
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn installed(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `ssm-prefs ARGS`, which must succeed with nothing on stderr; its stdout.
fn product(args: &[&str]) -> String {
    let run = ssm_prefs(args);
    assert_eq!(run.code, 0, "ssm-prefs {args:?}:\n{}", run.all());
    assert_eq!(run.stderr, "", "ssm-prefs {args:?} wrote to stderr");
    assert!(!run.stdout.is_empty(), "ssm-prefs {args:?} printed nothing");
    run.stdout
}

/// What bash's completion offers for `words` (the last one the word being completed, `""`
/// for a new one), with the script sourced into a clean bash: the function that
/// `complete -p ssm-prefs` names is called as bash calls it, with COMP_WORDS and COMP_CWORD.
fn bash_complete(script: &Path, words: &[&str]) -> Vec<String> {
    const CALL: &str = r#"
source "$1" || exit 3
spec=$(complete -p ssm-prefs) || exit 4
fn=${spec#* -F }; fn=${fn%% *}
COMP_WORDS=("${@:2}"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
prev=""; (( COMP_CWORD > 0 )) && prev=${COMP_WORDS[COMP_CWORD-1]}
"$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "$prev"
printf '%s\n' "${COMPREPLY[@]}"
"#;
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", CALL, "bash"])
        .arg(script)
        .args(words)
        .output()
        .expect("run bash");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.is_empty(),
        "completing {words:?}: {:?}\n{stderr}",
        out.status
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_bash_script_parses_and_completes_commands_and_flags() {
    let script = product(&["completions", "bash"]);
    let dir = Dir::new();
    let path = dir.write("ssm-prefs.bash", &script);
    let syntax = Command::new("bash").arg("-n").arg(&path).output().unwrap();
    assert!(
        syntax.status.success() && syntax.stderr.is_empty(),
        "bash -n: {}",
        String::from_utf8_lossy(&syntax.stderr)
    );

    let offered = bash_complete(&path, &["ssm-prefs", "ap"]);
    assert_eq!(offered, ["apply"], "ssm-prefs ap<TAB>");
    let offered = bash_complete(&path, &["ssm-prefs", "apply", "--wav"]);
    assert_eq!(
        offered,
        ["--waves", "--wave-wait"],
        "ssm-prefs apply --wav<TAB>"
    );
    // A subcommand's subcommand, and the flags it takes.
    let offered = bash_complete(&path, &["ssm-prefs", "report", "m"]);
    assert_eq!(offered, ["merge"], "ssm-prefs report m<TAB>");
    let offered = bash_complete(&path, &["ssm-prefs", "report", "merge", "--o"]);
    assert_eq!(offered, ["--output"], "ssm-prefs report merge --o<TAB>");
    // The shells `completions` takes, and the commands at the top.
    let offered = bash_complete(&path, &["ssm-prefs", "completions", ""]);
    for shell in ["bash", "zsh", "fish", "powershell"] {
        assert!(offered.iter().any(|o| o == shell), "{shell}: {offered:?}");
    }
    let offered = bash_complete(&path, &["ssm-prefs", ""]);
    for command in [
        "validate",
        "plan",
        "apply",
        "audit",
        "rollback",
        "completions",
        "man",
    ] {
        assert!(
            offered.iter().any(|o| o == command),
            "{command}: {offered:?}"
        );
    }
}

#[test]
fn the_zsh_and_fish_scripts_parse() {
    let dir = Dir::new();
    for (shell, file) in [("zsh", "_ssm-prefs"), ("fish", "ssm-prefs.fish")] {
        require(shell, shell);
        let path = dir.write(file, &product(&["completions", shell]));
        let out = Command::new(shell).arg("-n").arg(&path).output().unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{shell} -n: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn every_script_is_made_from_the_parsers_flags() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = product(&["completions", shell]);
        // Flags of a subcommand, of a subcommand's subcommand, and of a flattened group.
        for flag in [
            "wave-wait",
            "region-order",
            "max-failures",
            "retry-failed",
            "output",
        ] {
            assert!(script.contains(flag), "{shell}: no {flag}");
        }
        for command in ["validate", "rollback", "discover", "merge", "completions"] {
            assert!(script.contains(command), "{shell}: no {command}");
        }
    }
    let bad = ssm_prefs(["completions", "tcsh"]);
    assert_eq!(bad.code, 2, "{}", bad.all());
    assert!(bad.stderr.contains("possible values"), "{}", bad.all());
}

#[test]
fn the_man_page_renders_without_a_warning() {
    let page = product(&["man"]);
    assert!(page.contains(".TH SSM-PREFS 1"), "{page}");
    let dir = Dir::new();
    let path = dir.write("ssm-prefs.1", &page);
    require("groff", "groff");
    require("man", "man-db");
    let groff = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww"])
        .arg(&path)
        .output();
    quietly_succeeds(groff.unwrap(), "groff -man -Tutf8 -ww");
    // The text checked below is man's rendering.
    let man = Command::new("man")
        .arg("-l")
        .arg(&path)
        .env("MANWIDTH", "100")
        .env("MANPAGER", "cat")
        .output();
    let text = quietly_succeeds(man.unwrap(), "man -l");
    // mandoc's lint where it is installed: an extra check, not one the script installs.
    if installed("mandoc") {
        let out = Command::new("mandoc")
            .args(["-T", "lint", "-W", "warning"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mandoc -T lint: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Roff's escapes (`\-`, `\fB`) and line ends, undone: the text a reader sees.
    let text: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace(['\u{2212}', '\u{2010}'], "-");
    // One page: every command's section, with its own options.
    for seen in [
        "SSM-PREFS VALIDATE",
        "SSM-PREFS APPLY",
        "SSM-PREFS REPORT MERGE",
        "SSM-PREFS COMPLETIONS",
        "SSM-PREFS MAN",
        "--wave-wait <DURATION>",
        "--max-failures <N|N%>",
        "-o, --output <FILE>",
        "Exit codes: 0 every target succeeded",
        "Without a terminal on stdin (CI), --yes is required.",
    ] {
        assert!(text.contains(seen), "{seen:?} not in the page:\n{text}");
    }
}

#[test]
fn the_man_page_to_a_closed_stdout_is_no_error() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = ssm_prefs_command(["man"])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, "");
}
