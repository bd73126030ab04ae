#!/usr/bin/env bash
# Creates .venv/ with the pinned emulator (moto's server), the JUnit XML reader the tests
# check --junit files with (junitparser) and the JSON Schema checker they check the GitHub
# Actions example and the release workflow with (check-jsonschema), and the CloudFormation
# linter the templates of deploy/cloudformation/ must pass (cfn-lint), and checkov beside it,
# unless they are already there.
# Sourced by test.sh, demo.sh and bench.sh; prints the path of moto_server.
set -euo pipefail
MOTO_VERSION="5.2.5"
JUNITPARSER_VERSION="5.0.3"
CHECK_JSONSCHEMA_VERSION="0.39.0"
CFN_LINT_VERSION="1.58.0"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
if ! "$venv/bin/moto_server" --help >/dev/null 2>&1 || ! "$venv/bin/python" -c "import moto,sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null \
  || ! "$venv/bin/python" -c "import importlib.metadata as m,sys; sys.exit(m.version('junitparser') != '$JUNITPARSER_VERSION')" 2>/dev/null \
  || ! "$venv/bin/python" -c "import importlib.metadata as m,sys; sys.exit(m.version('check-jsonschema') != '$CHECK_JSONSCHEMA_VERSION')" 2>/dev/null \
  || ! "$venv/bin/check-jsonschema" --version >/dev/null 2>&1 \
  || ! "$venv/bin/python" -c "import importlib.metadata as m,sys; sys.exit(m.version('cfn-lint') != '$CFN_LINT_VERSION')" 2>/dev/null \
  || ! "$venv/bin/cfn-lint" --version >/dev/null 2>&1; then
  echo "setting up the emulator: moto[server]==$MOTO_VERSION, junitparser==$JUNITPARSER_VERSION, check-jsonschema==$CHECK_JSONSCHEMA_VERSION and cfn-lint==$CFN_LINT_VERSION in $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" "junitparser==$JUNITPARSER_VERSION" "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" "cfn-lint==$CFN_LINT_VERSION" >&2
fi
export MOTO_SERVER="$venv/bin/moto_server"
# checkov, the scanner security teams run on what they deploy, holds deploy/cloudformation/
# to its checks (tests/e2e/deploy.rs): in a venv of its own, since it pins its own versions
# of packages moto uses too.
CHECKOV_VERSION="3.3.30"
checkov_venv="$venv/checkov"
if ! "$checkov_venv/bin/python" -c "import importlib.metadata as m,sys; sys.exit(m.version('checkov') != '$CHECKOV_VERSION')" 2>/dev/null \
  || ! "$checkov_venv/bin/checkov" --version >/dev/null 2>&1; then
  echo "setting up checkov==$CHECKOV_VERSION in $checkov_venv" >&2
  python3 -m venv "$checkov_venv"
  "$checkov_venv/bin/pip" install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION" >&2
fi
export CHECKOV="$checkov_venv/bin/checkov"
