//! The two tiers of errors: input/setup errors stop the run before any AWS call (exit 2);
//! per-target errors are data (`outcome::TargetError`): report rows that never stop the others.

use std::fmt;
use std::path::{Path, PathBuf};

/// One thing wrong with an input file, located as precisely as we can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl Problem {
    pub fn at(file: &Path, line: Option<usize>, message: impl Into<String>) -> Self {
        Self {
            file: file.to_path_buf(),
            line,
            column: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

/// Anything that must stop the run before the first AWS call. Exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// Every problem found in the input files, not just the first.
    #[error("{}", render_problems(.0))]
    Problems(Vec<Problem>),
    #[error("{0}")]
    Usage(String),
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl InputError {
    pub fn one(file: &Path, line: Option<usize>, message: impl Into<String>) -> Self {
        Self::Problems(vec![Problem::at(file, line, message)])
    }
}

fn render_problems(problems: &[Problem]) -> String {
    match problems {
        [one] => one.to_string(),
        many => {
            let mut files: Vec<String> =
                many.iter().map(|p| p.file.display().to_string()).collect();
            files.dedup();
            let mut s = format!("{} has {} problems:", files.join(", "), many.len());
            for p in many {
                s.push_str(&format!("\n  {p}"));
            }
            s
        }
    }
}
