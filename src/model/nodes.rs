//! One managed node as the nodes report (`--nodes-report`, docs/report.md "The nodes report")
//! lists it: what it is, its role, and what fails for it and why.

use serde::Serialize;

/// A row of the nodes report; its fields are the columns, in this order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct NodeLine {
    pub account_id: String,
    pub region: String,
    pub instance_id: String,
    /// `Online`, `ConnectionLost`, `Inactive`.
    pub ping_status: String,
    pub platform: String,
    pub agent_version: String,
    /// The role's ARN, or why it is not known.
    pub role: String,
    /// The finding codes that concern the node, `;`-separated; empty when it can serve the
    /// preferences.
    pub fails: String,
    /// Why, `; `-separated in the same order.
    pub why: String,
}

impl NodeLine {
    /// Adds a finding's code and why (once each).
    pub(crate) fn fail(&mut self, code: &str, why: &str) {
        if self.fails.split(';').any(|c| c == code) && self.why.contains(why) {
            return;
        }
        for (cell, text, sep) in [(&mut self.fails, code, ";"), (&mut self.why, why, "; ")] {
            if !cell.is_empty() {
                cell.push_str(sep);
            }
            cell.push_str(text);
        }
    }
}
