#!/usr/bin/env bash
# A full rollout against a local emulator (moto's server), no AWS account needed:
#   validate → plan → apply --yes → apply --yes again (everything unchanged) → audit,
# with five accounts first made to look as if someone had saved the AWS page's example
# preferences in the console. Reports go to reports/demo/.
#
# Needs: cargo, and python3 with venv (the emulator is installed into .venv/ on first run).
# SSM_PREFS_DEMO_DEBUG=1 uses a debug build (faster to build, slower to run).
# SSM_PREFS_DEMO_INVENTORY / SSM_PREFS_DEMO_PREFERENCES override the input files.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

inventory="${SSM_PREFS_DEMO_INVENTORY:-inventories/demo.yml}"
preferences="${SSM_PREFS_DEMO_PREFERENCES:-examples/preferences.json}"
reports="reports/demo"
seeded=5

if [[ -t 1 ]]; then
  say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
  say() { printf '\n== %s\n' "$*"; }
fi
die() { echo "demo: $*" >&2; exit 1; }

command -v cargo >/dev/null || die "cargo is missing: install Rust from https://rustup.rs"
# Python 3 with venv, for the emulator (installed only as root on Debian/Ubuntu; else named).
SSM_PREFS_NEED=python source scripts/prerequisites.sh
[[ -f "$inventory" ]] || die "$inventory is missing"
[[ -f "$preferences" ]] || die "$preferences is missing"

# (a) The pinned emulator in .venv/ (created on first run).
say "emulator: moto's server from .venv/"
source scripts/emulator-env.sh
python="$root/.venv/bin/python"

# (b) The binary.
if [[ "${SSM_PREFS_DEMO_DEBUG:-}" == 1 ]]; then
  say "building ssm-prefs (debug)"
  cargo build --locked --quiet
  bin="${CARGO_TARGET_DIR:-$root/target}/debug/ssm-prefs"
else
  say "building ssm-prefs (release; several minutes the first time, SSM_PREFS_DEMO_DEBUG=1 is quicker)"
  cargo build --release --locked --quiet
  bin="${CARGO_TARGET_DIR:-$root/target}/release/ssm-prefs"
fi
[[ -x "$bin" ]] || die "the build did not produce $bin"

# (c) Start the emulator. Its stdin is a fifo whose only writer is this shell (fd 3): when
# this script ends, however it ends (even by SIGKILL), the fifo closes and the emulator exits
# by itself. Commands started later get `3>&-` so none of them keeps the fifo open.
tmp="$(mktemp -d "${TMPDIR:-/tmp}/ssm-prefs-demo.XXXXXX")"
emulator_pid=""
cleanup() {
  exec 3>&- 2>/dev/null || true
  if [[ -n "$emulator_pid" ]]; then
    for _ in $(seq 50); do kill -0 "$emulator_pid" 2>/dev/null || break; sleep 0.1; done
    kill "$emulator_pid" 2>/dev/null || true
    wait "$emulator_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkfifo "$tmp/stdin"
"$python" tests/support/emulator.py <"$tmp/stdin" >"$tmp/stdout" 2>"$tmp/stderr" &
emulator_pid=$!
exec 3>"$tmp/stdin"
port=""
for _ in $(seq 600); do
  if read -r word value <"$tmp/stdout" 2>/dev/null && [[ "$word" == ready ]]; then
    port="$value"
    break
  fi
  kill -0 "$emulator_pid" 2>/dev/null || break
  sleep 0.1
done
if [[ -z "$port" ]]; then
  echo "demo: the emulator did not start; its stderr:" >&2
  cat "$tmp/stderr" >&2
  exit 1
fi
endpoint="http://127.0.0.1:$port"
echo "emulator listening on $endpoint (pid $emulator_pid)"

# (d) Fake credentials, and nothing from the user's AWS set-up: every call goes to $endpoint.
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_ROLE_ARN \
  AWS_WEB_IDENTITY_TOKEN_FILE AWS_CONTAINER_CREDENTIALS_RELATIVE_URI \
  AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_ENDPOINT_URL AWS_ENDPOINT_URL_SSM AWS_ENDPOINT_URL_STS
export AWS_ACCESS_KEY_ID=demo
export AWS_SECRET_ACCESS_KEY=demo
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE="$tmp/no-aws-config"
export AWS_SHARED_CREDENTIALS_FILE="$tmp/no-aws-credentials"

# (e) What the preferences name exists (preflight checks it in every target), and some
# accounts already hold preferences someone saved by hand.
say "the landing zone: the log bucket, and a KMS key and log group in every account and region"
"$python" scripts/demo_seed.py world --endpoint-url "$endpoint" --inventory "$inventory" 3>&-
say "seeding: the AWS page's example preferences in the first $seeded accounts of $inventory (us-east-1)"
"$python" scripts/demo_seed.py seed --endpoint-url "$endpoint" --inventory "$inventory" --count "$seeded" 3>&-

# (f) The rollout. A step that fails stops the demo with its exit code.
mkdir -p "$reports"
step() {
  local name="$1"
  shift
  say "ssm-prefs $*"
  local rc=0
  "$bin" "$@" 3>&- || rc=$?
  if [[ $rc -ne 0 ]]; then
    echo "demo: ssm-prefs $name exited $rc; reports so far are in $reports/" >&2
    exit "$rc"
  fi
}
aws=(-p "$preferences" -i "$inventory" --endpoint-url "$endpoint")
step validate validate -p "$preferences" -i "$inventory"
step plan plan "${aws[@]}" -o "$reports/plan.csv"
step apply apply "${aws[@]}" --yes -o "$reports/apply.csv"
step apply apply "${aws[@]}" --yes -o "$reports/apply-again.csv"
step audit audit "${aws[@]}" -o "$reports/audit.csv" --html "$reports/audit.html"

say "what the seeded accounts hold now (read back from the emulator)"
"$python" scripts/demo_seed.py show --endpoint-url "$endpoint" --inventory "$inventory" --count "$seeded" 3>&-

say "done"
echo "reports in $root/$reports/:"
echo "  plan.csv         what apply would do, per target (would-create / would-update / unchanged)"
echo "  apply.csv        what the first apply did (created / updated), with previous_version for each"
echo "  apply-again.csv  the second apply: every target unchanged, nothing written"
echo "  audit.csv        the read-only audit afterwards: every target compliant"
echo "  audit.html       the same audit as one self-contained page for an auditor (open it in a browser)"
