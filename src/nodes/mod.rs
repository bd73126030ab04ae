//! Nodes first (docs/report.md "Nodes"): what the preferences require of a target's managed
//! nodes (requirements), and whether its nodes can serve them.

mod check;
pub(crate) mod requirements;

pub(crate) use check::{AccountWide, NodeCheck};
