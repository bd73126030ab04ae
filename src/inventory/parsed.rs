//! An inventory file being read: the accounts parsed so far, and every problem and warning
//! with its line, whichever format the file is in.

use std::path::PathBuf;

use crate::error::Problem;
use crate::target::Account;

pub(super) struct Parsed {
    pub(super) path: PathBuf,
    pub(super) accounts: Vec<Account>,
    pub(super) problems: Vec<Problem>,
    pub(super) warnings: Vec<Problem>,
}

impl Parsed {
    pub(super) fn problem(&mut self, line: usize, msg: impl Into<String>) {
        self.problems.push(Problem::at(&self.path, Some(line), msg));
    }
    pub(super) fn warn(&mut self, line: usize, msg: impl Into<String>) {
        self.warnings.push(Problem::at(&self.path, Some(line), msg));
    }
}
