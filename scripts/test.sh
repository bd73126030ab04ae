#!/usr/bin/env bash
# Installs what the tests need and runs every check: the formatting and lint gates, unit tests
# beside the code, and tests/e2e against moto's server, which the tests start on a free loopback
# port and stop themselves. What this machine lacks is installed only as root on Debian/Ubuntu;
# elsewhere the script names it and stops (scripts/prerequisites.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prerequisites.sh
source scripts/emulator-env.sh
# No real AWS: the tests send everything to 127.0.0.1, and these keep stray SDK lookups local.
export AWS_EC2_METADATA_DISABLED=true
# The gates first: they fail in seconds where the tests take minutes.
cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked "$@"
