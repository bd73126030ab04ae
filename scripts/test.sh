#!/usr/bin/env bash
# Installs what the tests need (the pinned emulator in .venv/) and runs every check: the
# formatting and lint gates, unit tests beside the code, and tests/e2e against moto's server,
# which the tests start on a free loopback port and stop themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/emulator-env.sh
# The HTML report's browser test opens pages in Debian's headless Chromium (CI runs this as root
# on a fresh machine; elsewhere, install it once yourself).
command -v chromium >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)
# No real AWS: the tests send everything to 127.0.0.1, and these keep stray SDK lookups local.
export AWS_EC2_METADATA_DISABLED=true
# The gates first: they fail in seconds where the tests take minutes.
cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked "$@"
