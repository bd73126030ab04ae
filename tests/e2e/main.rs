//! The one integration-test binary: a module per area (each extra tests/*.rs file would link
//! the whole SDK again).

// The one-printer rule is the tool's; tests print their own measurements.
#![allow(clippy::print_stdout, clippy::print_stderr)]
// `unreachable_pub` guards the library's boundary; the test support shared with the
// examples is `pub` on purpose.
#![allow(unreachable_pub)]

#[path = "../support/mod.rs"]
mod support;

mod audit;
mod ci_outputs;
mod cli;
mod deploy;
mod events;
mod examples;
mod faults;
mod harness;
mod html;
mod lambda;
mod lifecycle;
mod new_user;
mod nodes;
mod objects;
mod org;
mod preflight;
mod report_cells;
mod rollout;
mod safety;
mod scp;
mod security_hub;
mod setup;
mod stand_in;
mod toolbox;
mod validate;
mod waves;
mod who;
