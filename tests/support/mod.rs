//! Test support: the emulator, the counting proxy, fixtures and a way to run the real binary.

#![allow(dead_code)]

pub mod emulator;
pub mod fixtures;
pub mod proxy;
pub mod stand_in;
