#!/usr/bin/env bash
# Installs what the tests need (the pinned emulator in .venv/) and runs every test:
# unit tests beside the code, and tests/e2e against moto's server, which the tests start
# on a free loopback port and stop themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/emulator-env.sh
# No real AWS: the tests send everything to 127.0.0.1, and these keep stray SDK lookups local.
export AWS_EC2_METADATA_DISABLED=true
cargo test --locked "$@"
