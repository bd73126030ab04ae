//! Nodes first (docs/report.md "Nodes"): what the preferences require of a target's managed
//! nodes (requirements), and whether its nodes can serve them.

pub(crate) mod requirements;
