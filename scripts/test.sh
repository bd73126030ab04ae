#!/usr/bin/env bash
# Installs what the tests need and runs every check: the formatting and lint gates, the oldest
# toolchain the manifest promises, unit tests beside the code, and tests/e2e against moto's
# server, which the tests start on a free loopback port and stop themselves. What this machine
# lacks is installed only as root on Debian/Ubuntu; elsewhere the script names it and stops
# (scripts/prerequisites.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# The gates first, before anything is installed: they fail in seconds where the rest takes
# minutes.
cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
# `rust-version` in Cargo.toml is a promise: the oldest toolchain it names must build the crate
# (in its own target directory, so the main build is not thrown away).
msrv="$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' Cargo.toml)"
if ! command -v rustup >/dev/null; then
  echo "scripts/test.sh: rustup is missing: it installs Rust $msrv (rust-version) to check the crate builds with it; see https://rustup.rs" >&2
  exit 1
fi
if ! rustup run "$msrv" cargo --version >/dev/null 2>&1; then
  rustup toolchain install "$msrv" --profile minimal >&2
fi
cargo "+$msrv" check --locked --all-targets --target-dir target/msrv
source scripts/prerequisites.sh
source scripts/emulator-env.sh
# No real AWS: the tests send everything to 127.0.0.1, and these keep stray SDK lookups local.
export AWS_EC2_METADATA_DISABLED=true
cargo test --locked "$@"
