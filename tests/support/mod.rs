//! Test support: the emulator, the counting proxy, fixtures, a fleet of accounts on the
//! emulator and ways to run the real binary (on a pseudo-terminal too).

#![allow(dead_code)]

pub mod emulator;
pub mod fixtures;
pub mod fleet;
pub mod lambda_api;
pub mod org;
pub mod proxy;
pub mod stand_in;
pub mod terminal;
