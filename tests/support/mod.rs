//! Test support: the emulator, the counting proxy, fixtures, a fleet of accounts on the
//! emulator and a way to run the real binary.

#![allow(dead_code)]

pub mod emulator;
pub mod fixtures;
pub mod fleet;
pub mod proxy;
pub mod stand_in;
