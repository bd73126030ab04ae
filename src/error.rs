//! The two tiers of errors: input/setup errors stop the run before any AWS call (exit 2);
//! per-target errors are data (`model::TargetError`): report rows that never stop the others.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where a problem is: a file (with a line where known), or a flag of the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// An input file.
    File(PathBuf),
    /// A flag, as typed (`--concurrency`).
    Flag(&'static str),
    /// An environment variable the tool checks (`AWS_ENDPOINT_URL_SSM`, say).
    Variable(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(path) => write!(f, "{}", path.display()),
            Origin::Flag(flag) => f.write_str(flag),
            Origin::Variable(name) => f.write_str(name),
        }
    }
}

/// One thing wrong with an input, located as precisely as we can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file or flag.
    pub origin: Origin,
    /// The file's line, 1-based, where known.
    pub line: Option<usize>,
    /// The line's column, 1-based, where known.
    pub column: Option<usize>,
    /// What is wrong, a lowercase fragment.
    pub message: String,
}

impl Problem {
    /// A problem in `file`, at `line` if known.
    pub(crate) fn at(file: &Path, line: Option<usize>, message: impl Into<String>) -> Self {
        Self {
            origin: Origin::File(file.to_path_buf()),
            line,
            column: None,
            message: message.into(),
        }
    }

    /// A problem with a flag's value.
    /// An environment variable's value is wrong.
    pub(crate) fn env(name: &str, message: impl Into<String>) -> Self {
        Self {
            origin: Origin::Variable(name.to_string()),
            line: None,
            column: None,
            message: message.into(),
        }
    }

    pub(crate) fn flag(flag: &'static str, message: impl Into<String>) -> Self {
        Self {
            origin: Origin::Flag(flag),
            line: None,
            column: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
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
    /// Every problem found in the inputs, not just the first.
    #[error("{}", render_problems(.0))]
    Problems(Vec<Problem>),
    /// A flag's value, or flags that do not go together (`flag`: the one to fix, if one is).
    #[error("{}{message}", flag.map(|f| format!("{f}: ")).unwrap_or_default())]
    Usage {
        /// The flag to fix, if one is.
        flag: Option<&'static str>,
        /// What is wrong.
        message: String,
    },
    /// A file the run could not read or create before its first call.
    #[error("cannot {action} {}: {source}", .path.display())]
    Io {
        /// What was tried: "read", "create the report", "write".
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
}

impl InputError {
    /// One problem in `file`, at `line` if known.
    pub(crate) fn one(file: &Path, line: Option<usize>, message: impl Into<String>) -> Self {
        Self::Problems(vec![Problem::at(file, line, message)])
    }

    /// Flags that do not go together, or a run that cannot start as asked.
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self::Usage {
            flag: None,
            message: message.into(),
        }
    }

    /// A flag's value is wrong.
    pub(crate) fn flag(flag: &'static str, message: impl Into<String>) -> Self {
        Self::Usage {
            flag: Some(flag),
            message: message.into(),
        }
    }

    /// A file that could not be read.
    pub(crate) fn read(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        }
    }
}

fn render_problems(problems: &[Problem]) -> String {
    match problems {
        [one] => one.to_string(),
        many => {
            let mut origins: Vec<String> = many.iter().map(|p| p.origin.to_string()).collect();
            origins.dedup();
            let mut s = format!("{} has {} problems:", origins.join(", "), many.len());
            for p in many {
                s.push_str(&format!("\n  {p}"));
            }
            s
        }
    }
}
