//! The one integration-test binary: a module per area (each extra tests/*.rs file would link
//! the whole SDK again).

#[path = "../support/mod.rs"]
mod support;

mod audit;
mod faults;
mod harness;
mod html;
mod org;
mod rollout;
mod validate;
