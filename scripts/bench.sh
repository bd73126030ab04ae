#!/usr/bin/env bash
# Benchmarks ssm-prefs against the local emulator, side by side with the alternatives, in one run:
#
#   scripts/bench.sh [--latency MS] [--concurrency N] [--cli-sample N] [--emulators N] [ACCOUNTS] [REGIONS]
#   scripts/bench.sh --scale            # 1,000 accounts x 17 regions, ssm-prefs only (minutes)
#   scripts/bench.sh --stand-in [--latency MS] [--scale] [--boto3-sample ACCOUNTS] [--stand-in-threads N] ...
#   scripts/bench.sh --throttle [--rate R --burst B --sts-rate R --sts-burst B] ...  # AWS-like buckets
#   scripts/bench.sh --stand-in --huge [--baseline BIN]  # 10,000 x 20 beside 1,000 x 17, AWS-like
#   scripts/bench.sh --stand-in --huge --org [--org-ous N] [--org-tags-deadline 14m] [--org-untagged]
#   scripts/bench.sh --stand-in --scale --nodes N [--baseline BIN]  # preflight's node check's cost
#
# Defaults: 200 accounts x 5 regions = 1,000 targets, concurrency 32, a CLI sample of 20,
# 2 emulators; BENCH_TIMEOUT (seconds, default 3600) bounds each contender.
# Contenders, each on a FRESH emulator (moto) behind a counting proxy (examples/bench_proxy.rs).
# One moto process answers ~180 requests/s on one core, less than ssm-prefs asks of it: with
# --emulators N the proxy splits the accounts between N moto processes (every request of an
# account to the same one), as AWS serves each account and region independently. Every
# contender gets the same N.
#   1. ssm-prefs apply --yes on a fresh fleet (creates), 2. apply again (unchanged),
#   3. ssm-prefs audit, then audit --security-hub -- 1 to 3 in sequence on one emulator, as
#      they need its state;
#   4. bench/baseline_boto3.py (ThreadPoolExecutor, same concurrency), fresh emulator;
#   5. bench/aws_cli_loop.sh (the AWS page's commands in a loop) on a sample, fresh emulator.
# --stand-in puts examples/stand_in.rs (tests/support/stand_in.rs as a process: STS and SSM in
# memory, thousands of requests/s) in place of moto and the proxy, so the client is what is
# measured; contenders 1-4 only (no preflight, as the baselines check nothing; --nodes below
# measures preflight, which the stand-in answers too). --throttle is
# --stand-in with its token buckets on (SSM per account and region, default 5/s burst 10; all
# STS calls, default 20/s burst 50) and 100 ms latency unless --latency says otherwise.
# --huge is --throttle at an organization's largest (10,000 accounts x 20 regions, three of them
# opt-in, which the stand-in says every account enabled; STS at 600/s, -c 1024) beside the
# 17,000-target fleet (1,000 x 17), so the curve shows: apply (fresh), audit and audit
# --security-hub, ssm-prefs only; --baseline BIN runs another ssm-prefs binary (an older
# commit's release build) as a contender in the same run, for ratios within the run.
# --huge --org measures apply (fresh) of the 10,000 x 20 fleet three times, each on a fresh
# stand-in whose Organizations holds those 10,000 accounts in --org-ous OUs (default 50),
# throttled (10/s burst 20 per caller, 4 requests in progress at most; --org-rate, --org-burst,
# --org-in-flight): from the inventory, from --org without a tag placeholder, and from --org
# with one ({log_bucket} filled by each account's tag ssm-prefs:log_bucket; --deadline 14m, as
# a Lambda invocation, since its walk reads each account's tags; --org-tags-deadline changes it),
# and with it again from a tags cache (--org-tags-cache, filled first by this binary on an
# unthrottled stand-in, as earlier runs would leave it), reading the stalest 500 again, under
# --deadline 14m as the function runs it; --org-untagged: the first two alone.
# --nodes N (with --stand-in) measures what preflight and its node check cost: apply --yes
# (fresh) with preflight on, then audit of what it wrote (preflight on too), the bench's preferences with kmsKeyId set, on a fresh stand-in
# answering N online EC2 nodes per account and region (their role may do everything) and
# preflight's S3, CloudWatch Logs and KMS reads; with --baseline BIN, the same run by another
# binary (a release build from before the node check) beside it, and bench/nodes.py prints
# the ratios (CPU per target, makespan, requests per target) and appends to bench/nodes.csv.
# Everything goes to 127.0.0.1 with fake credentials: never to AWS. Prints a table and appends
# to bench/results.csv; see bench/README.md for the columns.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

usage() {
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

latency=0 scale=0 concurrency=32 cli_sample=20 emulators=2 contender_timeout="${BENCH_TIMEOUT:-3600}"
stand_in=0 throttle=0 latency_given=0 boto3_sample="" stand_in_threads=1
ssm_rate=5 ssm_burst=10 sts_rate=20 sts_burst=50
huge=0 baseline_bin="" concurrency_given=0 sts_rate_given=0 nodes=0
org=0 org_untagged=0 org_ous=50 org_rate=10 org_burst=20 org_in_flight=4 org_tags_deadline=14m
positional=()
while (($#)); do
  case "$1" in
    --latency) latency="${2:?--latency takes milliseconds}"; latency_given=1; shift 2 ;;
    --latency=*) latency="${1#*=}"; latency_given=1; shift ;;
    --stand-in) stand_in=1; shift ;;
    --throttle) throttle=1 stand_in=1; shift ;;
    --boto3-sample) boto3_sample="${2:?--boto3-sample takes a number of accounts}"; shift 2 ;;
    --stand-in-threads) stand_in_threads="${2:?--stand-in-threads takes a number}"; shift 2 ;;
    --rate) ssm_rate="${2:?--rate takes requests per second}"; shift 2 ;;
    --burst) ssm_burst="${2:?--burst takes a number of requests}"; shift 2 ;;
    --sts-rate) sts_rate="${2:?--sts-rate takes requests per second}"; sts_rate_given=1; shift 2 ;;
    --sts-burst) sts_burst="${2:?--sts-burst takes a number of requests}"; shift 2 ;;
    --scale) scale=1; shift ;;
    --huge) huge=1 throttle=1 stand_in=1; shift ;;
    --nodes) nodes="${2:?--nodes takes a number of nodes per target}"; shift 2 ;;
    --baseline) baseline_bin="${2:?--baseline takes an ssm-prefs binary}"; shift 2 ;;
    --org) org=1; shift ;;
    --org-ous) org_ous="${2:?--org-ous takes a number of OUs}"; shift 2 ;;
    --org-rate) org_rate="${2:?--org-rate takes requests per second}"; shift 2 ;;
    --org-burst) org_burst="${2:?--org-burst takes a number of requests}"; shift 2 ;;
    --org-in-flight) org_in_flight="${2:?--org-in-flight takes a number of requests}"; shift 2 ;;
    --org-untagged) org_untagged=1; shift ;;
    --org-tags-deadline) org_tags_deadline="${2:?--org-tags-deadline takes a duration (14m)}"; shift 2 ;;
    --concurrency | -c) concurrency="${2:?--concurrency takes a number}"; concurrency_given=1; shift 2 ;;
    --cli-sample) cli_sample="${2:?--cli-sample takes a number}"; shift 2 ;;
    --emulators) emulators="${2:?--emulators takes a number}"; shift 2 ;;
    -h | --help) usage ;;
    -*) echo "bench.sh: unknown option $1" >&2; usage ;;
    *) positional+=("$1"); shift ;;
  esac
done
accounts="${positional[0]:-200}" regions="${positional[1]:-5}"
if ((scale)); then accounts=1000 regions=17; fi
# The largest organizations: 10,000 accounts in 20 regions, the hub's STS quota, -c 1024.
if ((nodes)); then
  ((stand_in && !huge && !org)) || { echo "bench.sh: --nodes goes with --stand-in (not --huge)" >&2; exit 2; }
fi
if ((huge)); then
  accounts=10000 regions=20
  ((concurrency_given)) || concurrency=1024
  ((sts_rate_given)) || sts_rate=600
fi
if ((org)); then
  ((huge)) || { echo "bench.sh: --org goes with --huge" >&2; exit 2; }
  [[ -z "$baseline_bin" ]] || { echo "bench.sh: --org measures one binary: leave out --baseline" >&2; exit 2; }
fi
if [[ -n "$baseline_bin" ]]; then
  ((huge || nodes)) || { echo "bench.sh: --baseline goes with --huge or --nodes" >&2; exit 2; }
  [[ -x "$baseline_bin" ]] || { echo "bench.sh: --baseline $baseline_bin is not an executable" >&2; exit 2; }
  baseline_bin="$(cd "$(dirname "$baseline_bin")" && pwd)/$(basename "$baseline_bin")"
fi
# AWS-like: every request costs a round trip, unless --latency says how long.
if ((throttle && !latency_given)); then latency=100; fi
# boto3 at 17,000 targets takes many minutes of its own CPU: a sample of the accounts.
if [[ -z "$boto3_sample" ]]; then boto3_sample=$accounts; ((scale && stand_in)) && boto3_sample=100; fi
for n in "$latency" "$concurrency" "$cli_sample" "$emulators" "$accounts" "$regions" "$contender_timeout" \
  "$boto3_sample" "$stand_in_threads" "$org_ous" "$org_in_flight" "$nodes"; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "bench.sh: '$n' is not a whole number" >&2; exit 2; }
done
for n in "$ssm_rate" "$ssm_burst" "$sts_rate" "$sts_burst" "$org_rate" "$org_burst"; do
  [[ "$n" =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "bench.sh: '$n' is not a number" >&2; exit 2; }
done
((boto3_sample >= 1 && boto3_sample <= accounts)) || boto3_sample=$accounts
all_regions=(us-east-1 us-east-2 us-west-1 us-west-2 ca-central-1 sa-east-1 eu-west-1 eu-west-2
  eu-west-3 eu-central-1 eu-north-1 ap-south-1 ap-northeast-1 ap-northeast-2 ap-northeast-3
  ap-southeast-1 ap-southeast-2)
# --huge's three opt-in regions (the stand-in says every account enabled them).
opted_in=(af-south-1 ap-east-1 me-south-1)
((huge)) && all_regions+=("${opted_in[@]}")
if ((regions < 1 || regions > ${#all_regions[@]} || accounts < 1 || accounts > 99999 || concurrency < 1 || emulators < 1 || emulators > 8)); then
  echo "bench.sh: ACCOUNTS must be 1..99999, REGIONS 1..${#all_regions[@]}, concurrency >= 1, emulators 1..8" >&2
  exit 2
fi
mode=default
((latency > 0)) && mode=latency
((scale)) && mode=scale
if ((stand_in)); then
  mode=stand-in
  ((latency > 0)) && mode=stand-in-latency
  ((scale)) && mode=stand-in-scale
  ((throttle)) && mode=throttle
  ((huge)) && mode=huge
  ((nodes)) && mode=nodes
fi

# --- tools --------------------------------------------------------------------------------
source scripts/emulator-env.sh
py="$root/.venv/bin/python"
if ((!scale && !stand_in)) && ! "$root/.venv/bin/aws" --version >/dev/null 2>&1; then
  # The pin on the installed botocore keeps moto's botocore as it is (newer awscli vendor their own).
  echo "installing awscli into .venv for the CLI contender" >&2
  "$root/.venv/bin/pip" install --quiet --disable-pip-version-check awscli \
    "botocore==$("$py" -c 'import botocore; print(botocore.__version__)')" >&2
fi
if [[ ! -x /usr/bin/time ]]; then
  if [[ "$(id -u)" == 0 ]]; then
    echo "installing Debian's time package for /usr/bin/time -v" >&2
    (apt-get install -y -qq time >&2 || { apt-get update -qq >&2 && apt-get install -y -qq time >&2; })
  else
    echo "bench.sh: /usr/bin/time is missing: apt-get install time (as root)" >&2
    exit 2
  fi
fi
if ((stand_in)); then
  echo "building ssm-prefs and the stand-in (release)" >&2
  cargo build --release --locked --quiet --bin ssm-prefs --example stand_in
else
  echo "building ssm-prefs and the bench proxy (release)" >&2
  cargo build --release --locked --quiet --bin ssm-prefs --example bench_proxy
fi
bin="$root/target/release/ssm-prefs"
proxy_bin="$root/target/release/examples/bench_proxy"
stand_in_bin="$root/target/release/examples/stand_in"

# --- the run's sandbox, and the trap that stops everything started here --------------------
work="$(mktemp -d "${TMPDIR:-/tmp}/ssm-prefs-bench.XXXXXX")"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  # BENCH_KEEP=1 keeps the run's files (logs, reports, the servers' output) to look into.
  if [[ -n "${BENCH_KEEP:-}" ]]; then echo "bench.sh: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Fake credentials and no config files: nothing can reach or authenticate to real AWS.
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 \
  AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/nonexistent \
  AWS_SHARED_CREDENTIALS_FILE=/nonexistent NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE \
  HTTP_PROXY HTTPS_PROXY http_proxy https_proxy ALL_PROXY all_proxy

# --- the fleet ----------------------------------------------------------------------------
inventory="$work/fleet.yml" prefs="$work/preferences.json"
write_inventory() { # FILE ACCOUNTS [REGIONS]
  local i n="${3:-$regions}"
  {
    echo "# generated by scripts/bench.sh: $2 accounts x $n regions"
    printf 'regions: [%s]\n' "$(IFS=,; echo "${all_regions[*]:0:n}" | sed 's/,/, /g')"
    # For scripts/demo_seed.py world: the bucket each account's preferences name.
    echo 'vars: {log_bucket: "bench-logs-{account_id}"}'
    echo "accounts:"
    for ((i = 1; i <= $2; i++)); do
      printf '  - account_id: "%012d"\n    name: bench-%05d\n' $((200000000000 + i)) "$i"
    done
  } > "$1"
}
write_inventory "$inventory" "$accounts"
boto3_inventory="$inventory"
if ((boto3_sample < accounts)); then
  boto3_inventory="$work/fleet-boto3.yml"
  write_inventory "$boto3_inventory" "$boto3_sample"
fi
cat > "$prefs" <<'JSON'
{
  "schemaVersion": "1.0",
  "description": "Document to hold regional settings for Session Manager",
  "sessionType": "Standard_Stream",
  "inputs": {
    "s3BucketName": "bench-logs-{account_id}",
    "s3KeyPrefix": "session-logs/{account_id}/{region}",
    "s3EncryptionEnabled": true,
    "cloudWatchLogGroupName": "/aws/ssm/session-logs",
    "cloudWatchEncryptionEnabled": true,
    "cloudWatchStreamingEnabled": true,
    "kmsKeyId": "",
    "runAsEnabled": false,
    "runAsDefaultUser": "",
    "idleSessionTimeout": "20",
    "maxSessionDuration": "480"
  }
}
JSON
targets=$((accounts * regions))
"$bin" validate -p "$prefs" -i "$inventory" >&2

# --- emulator + proxy (or the stand-in) per contender ---------------------------------------
stack=0
emu_pids=() emu_fds=() proxy_pid="" proxy_url="" control_url="" server_pid=""
bucket_args=()
if ((throttle)); then
  bucket_args=(--rate "$ssm_rate" --burst "$ssm_burst" --sts-rate "$sts_rate" --sts-burst "$sts_burst")
fi
((huge)) && bucket_args+=(--opted-in "$(IFS=,; echo "${opted_in[*]}")")

# Waits (bounded) for a `ready ...` line in a file; prints the line.
wait_ready() {
  local file="$1" what="$2" i line
  for ((i = 0; i < 600; i++)); do
    if line="$(grep -m1 '^ready ' "$file" 2>/dev/null)"; then
      echo "$line"
      return 0
    fi
    sleep 0.1
  done
  echo "bench.sh: $what did not start within 60 s:" >&2
  cat "$file" "$file.err" >&2 2>/dev/null || true
  return 1
}

# moto imports a service's code on its first request (about 1.5 s for SSM): pay that here, on
# an account outside the fleet and past the proxy, so no contender is timed on it. The fleet's
# accounts stay empty. moto checks no signature, only the scope (the service) of this header.
warm_up() {
  local url="$1" service body
  local -a calls=(
    "sts|Action=AssumeRole&Version=2011-06-15&RoleSessionName=warm-up&RoleArn=arn%3Aaws%3Aiam%3A%3A999999999999%3Arole%2Fwarm-up"
    "ssm|GetDocument|{\"Name\":\"bench-warm-up\"}"
    "ssm|CreateDocument|{\"Name\":\"bench-warm-up\",\"DocumentType\":\"Session\",\"DocumentFormat\":\"JSON\",\"Content\":\"{\\\"schemaVersion\\\":\\\"1.0\\\",\\\"description\\\":\\\"warm-up\\\",\\\"sessionType\\\":\\\"Standard_Stream\\\",\\\"inputs\\\":{}}\"}"
    "ssm|DescribeDocument|{\"Name\":\"bench-warm-up\"}"
    "ssm|GetDocument|{\"Name\":\"bench-warm-up\"}"
  )
  for call in "${calls[@]}"; do
    service="${call%%|*}"
    local -a headers=(-H "Authorization: AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/$service/aws4_request, SignedHeaders=host, Signature=0")
    if [[ "$service" == sts ]]; then
      headers+=(-H "content-type: application/x-www-form-urlencoded")
      body="${call#*|}"
    else
      local op="${call#*|}"
      body="${op#*|}" op="${op%%|*}"
      headers+=(-H "content-type: application/x-amz-json-1.1" -H "x-amz-target: AmazonSSM.$op")
    fi
    curl --noproxy '*' -s -o /dev/null --max-time 60 -X POST "${headers[@]}" --data-raw "$body" "$url/"
  done
}

# The stand-in in place of emulators and proxy: it counts requests itself, on its own port.
# Arguments: more of the stand-in's own (its organization).
start_stand_in() {
  stack=$((stack + 1))
  local d="$work/stack$stack"
  mkdir -p "$d"
  "$stand_in_bin" --latency-ms "$latency" --threads "$stand_in_threads" "${bucket_args[@]}" "$@" \
    > "$d/stand-in.out" 2> "$d/stand-in.out.err" &
  server_pid=$!
  pids+=("$server_pid")
  read -r _ proxy_url control_url < <(wait_ready "$d/stand-in.out" stand-in)
  echo "stack $stack: $(cat "$d/stand-in.out.err"), at $proxy_url" >&2
}

start_stack() {
  if ((stand_in)); then start_stand_in "$@"; return; fi
  stack=$((stack + 1))
  local d="$work/stack$stack" port e fd
  local -a upstreams=() urls=()
  mkdir -p "$d"
  emu_pids=() emu_fds=()
  for ((e = 1; e <= emulators; e++)); do
    mkfifo "$d/emulator$e.in"
    # emulator.py exits when its stdin closes: this script holds the fifo's write end.
    "$py" tests/support/emulator.py < "$d/emulator$e.in" > "$d/emulator$e.out" 2> "$d/emulator$e.out.err" &
    emu_pids+=("$!")
    pids+=("$!")
    exec {fd}> "$d/emulator$e.in"
    emu_fds+=("$fd")
  done
  for ((e = 1; e <= emulators; e++)); do
    port="$(wait_ready "$d/emulator$e.out" emulator | cut -d' ' -f2)"
    warm_up "http://127.0.0.1:$port"
    upstreams+=(--upstream "http://127.0.0.1:$port")
    urls+=("127.0.0.1:$port")
  done
  "$proxy_bin" "${upstreams[@]}" --latency-ms "$latency" \
    > "$d/proxy.out" 2> "$d/proxy.out.err" &
  proxy_pid=$!
  pids+=("$proxy_pid")
  read -r _ proxy_url control_url < <(wait_ready "$d/proxy.out" proxy)
  echo "stack $stack: $emulators emulator(s) (${urls[*]}), proxy $proxy_url (+${latency} ms)" >&2
}

stop_stack() {
  local fd
  if ((stand_in)); then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    return
  fi
  kill "$proxy_pid" 2>/dev/null || true
  for fd in "${emu_fds[@]}"; do exec {fd}>&-; done
  kill "${emu_pids[@]}" 2>/dev/null || true
  wait "$proxy_pid" "${emu_pids[@]}" 2>/dev/null || true
}

control() { # METHOD PATH
  curl --noproxy '*' -fsS --max-time 30 -X "$1" "$control_url$2"
}

# The stand-in's CPU seconds so far (user + system, from /proc), to show it is not the limit.
clk_tck="$(getconf CLK_TCK 2>/dev/null || echo 100)"
server_cpu() {
  if [[ -n "$server_pid" && -r "/proc/$server_pid/stat" ]]; then
    # The fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
    sed 's/^.*) //' "/proc/$server_pid/stat" | awk -v hz="$clk_tck" '{ printf "%.3f", ($12 + $13) / hz }'
  else
    echo ""
  fi
}

# Rows of a report CSV (`-o FILE` among the contender's arguments) whose status is failed.
failed_in() {
  local prev="" a report=""
  for a in "$@"; do [[ "$prev" == -o ]] && report="$a"; prev="$a"; done
  [[ -n "$report" && -f "$report" ]] || { echo ""; return; }
  "$py" -c 'import csv, sys; print(sum(r.get("status") == "failed" for r in csv.DictReader(open(sys.argv[1]))))' "$report"
}

# measure NAME TARGETS ACCOUNTS CONCURRENCY -- COMMAND...: one contender, timed and counted.
measure() {
  local name="$1" n="$2" accts="$3" conc="$4" slug rc t0 t1 wall counts user sys rss cpu0 cpu1 server failed
  shift 5
  slug="$(printf '%s' "$name" | tr -c 'a-z0-9' '-')"
  control POST /__bench/reset > /dev/null
  cpu0="$(server_cpu)"
  echo "running: $name ($n targets)" >&2
  t0="$(date +%s%N)"
  set +e
  # Bounded: a contender that hangs is killed (exit 124) and reported, not waited on forever.
  /usr/bin/time -v -o "$work/$slug.time" timeout -k 10 "$contender_timeout" "$@" > "$work/$slug.log" 2>&1
  rc=$?
  set -e
  t1="$(date +%s%N)"
  wall="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')"
  if ! counts="$(control GET /__bench/counts)"; then
    echo "bench.sh: the counts after $name could not be read; the servers' output:" >&2
    tail -n 20 "$work/stack$stack/"*.err >&2 || true
    [[ -n "$server_pid" ]] && { kill -0 "$server_pid" 2>/dev/null && echo "(the stand-in is still running)" >&2 || echo "(the stand-in has exited)" >&2; }
    tail -n 15 "$work/$slug.log" | sed 's/^/    /' >&2
    exit 1
  fi
  cpu1="$(server_cpu)"
  server=""
  [[ -n "$cpu0" && -n "$cpu1" ]] && server="$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.3f", b - a }')"
  failed="$(failed_in "$@")"
  user="$(awk -F': ' '/User time \(seconds\)/ { print $2 }' "$work/$slug.time")"
  sys="$(awk -F': ' '/System time \(seconds\)/ { print $2 }' "$work/$slug.time")"
  rss="$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/$slug.time")"
  if ((rc != 0)); then
    echo "  $name exited $rc; the last lines of its output:" >&2
    tail -n 15 "$work/$slug.log" | sed 's/^/    /' >&2
  else
    tail -n 3 "$work/$slug.log" | sed 's/^/    /' >&2
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$n" "$accts" "$conc" "$wall" \
    "${user:-0}" "${sys:-0}" "${rss:-0}" "$rc" "$counts" "$failed" "$server" >> "$work/results.tsv"
}


: > "$work/results.tsv"
run_id="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
# The code measured: its commit, marked -dirty when the sources differ from it.
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null)" ]]; then commit+="-dirty"; fi
served_by="$emulators emulator(s)"
((stand_in)) && served_by="the stand-in"
echo "benchmark $run_id: $accounts accounts x $regions regions = $targets targets, concurrency $concurrency, $served_by, mode $mode" >&2

if ((huge && org)); then
  # The same 200,000 targets three ways, each on a fresh stand-in holding the organization:
  # the inventory, --org, and --org filling {log_bucket} from each account's tag. The
  # management account (the caller's own, in the root) is left out: the targets are the
  # inventory's.
  prefs_tags="$work/preferences-tags.json"
  sed 's/"bench-logs-{account_id}"/"{log_bucket}"/' "$prefs" > "$prefs_tags"
  grep -q '{log_bucket}' "$prefs_tags"
  org_args=(--org-accounts "$accounts" --org-ous "$org_ous" --org-rate "$org_rate" --org-burst "$org_burst"
    --org-in-flight "$org_in_flight")
  regions_flag="$(IFS=,; echo "${all_regions[*]:0:regions}")"
  variants=("inventory|" "--org|" "--org tags|--org-tags" "--org tags cached|--org-tags")
  # --org-untagged: the inventory and --org alone (the walk's cost beside the same targets).
  ((org_untagged)) && variants=("${variants[@]:0:2}")
  for variant in "${variants[@]}"; do
    IFS='|' read -r how extra <<< "$variant"
    if [[ "$how" == "--org tags cached" ]]; then
      # The cache as earlier runs leave it: filled by this binary from the same organization,
      # on a stand-in whose Organizations does not throttle (not measured), one region.
      start_stack --org-accounts "$accounts" --org-ous "$org_ous" --org-rate 100000 --org-burst 100000 \
        --org-in-flight 64 --org-tags
      "$bin" plan --org -r us-east-1 --not-accounts 123456789012 -p "$prefs_tags" --endpoint-url "$proxy_url" \
        -c "$concurrency" --no-progress --no-preflight -q --org-tags-cache "$work/org-tags.json" \
        -o "$work/fill-cache.csv" > "$work/fill-cache.log" 2>&1 \
        || { echo "bench.sh: filling the tags cache failed:" >&2; tail -n 5 "$work/fill-cache.log" >&2; exit 1; }
      stop_stack
    fi
    start_stack "${org_args[@]}" ${extra:+"$extra"}
    common=(-p "$prefs" --endpoint-url "$proxy_url" -c "$concurrency" --no-progress --no-preflight)
    case "$how" in
      inventory) source_args=(-i "$inventory") ;;
      # The management account left out by its id: each account's targets still start as the
      # walk finds it (docs/inputs.md).
      --org) source_args=(--org -r "$regions_flag" --not-accounts 123456789012) ;;
      # One call per account for its tags: bounded as a Lambda invocation is (15 minutes),
      # to show how far one gets.
      "--org tags") source_args=(--org -r "$regions_flag" --not-accounts 123456789012 --deadline "$org_tags_deadline")
         common=(-p "$prefs_tags" "${common[@]:2}") ;;
      # A day's run with the cache, as the function makes it: the stalest 500 accounts' tags
      # read again (the default), under the invocation's deadline (its run's stop at 14m).
      *) source_args=(--org -r "$regions_flag" --not-accounts 123456789012 --deadline 14m
           --org-tags-cache "$work/org-tags.json")
         common=(-p "$prefs_tags" "${common[@]:2}") ;;
    esac
    slug="$(printf '%s' "$how" | tr -c 'a-z0-9' '-')"
    measure "ssm-prefs apply (fresh) 200k $how" "$targets" "$accounts" "$concurrency" -- \
      "$bin" apply --yes "${source_args[@]}" "${common[@]}" -o "$work/apply-$slug.csv" \
      --summary-json "$work/apply-$slug.json"
    # The walk's own figures (calls, retries, time, how far it got), from the summary JSON.
    "$py" -c 'import json, sys; w = json.load(open(sys.argv[1])).get("organization"); print("    walk:", json.dumps(w) if w else "none (the inventory)")' \
      "$work/apply-$slug.json" >&2 || true
    stop_stack
  done
  "$py" bench/huge.py --tsv "$work/results.tsv" --csv bench/huge.csv --run "$run_id" --commit "$commit" \
    --latency-ms "$latency" --buckets "$ssm_rate,$ssm_burst,$sts_rate,$sts_burst" \
    --org "$org_rate,$org_burst,$org_in_flight,$org_ous"
  exit 0
fi

if ((nodes)); then
  # Preflight on, and with it the node check (the code measured; the baseline, built before
  # it, checks the bucket, the log group and the key only): each binary on a fresh stand-in.
  prefs_nodes="$work/preferences-nodes.json"
  sed 's|"kmsKeyId": ""|"kmsKeyId": "alias/session-manager"|' "$prefs" > "$prefs_nodes"
  grep -q 'alias/session-manager' "$prefs_nodes"
  bins=("ssm-prefs|$bin")
  [[ -n "$baseline_bin" ]] && bins+=("baseline|$baseline_bin")
  for b in "${bins[@]}"; do
    who="${b%%|*}" exe="${b#*|}"
    start_stack --nodes-per-target "$nodes"
    measure "$who apply (fresh) preflight" "$targets" "$accounts" "$concurrency" -- \
      "$exe" apply --yes -i "$inventory" -p "$prefs_nodes" --endpoint-url "$proxy_url" -c "$concurrency" \
      --no-progress -o "$work/$who-apply-preflight.csv"
    measure "$who audit preflight" "$targets" "$accounts" "$concurrency" -- \
      "$exe" audit -i "$inventory" -p "$prefs_nodes" --endpoint-url "$proxy_url" -c "$concurrency" \
      --no-progress -o "$work/$who-audit-preflight.csv"
    stop_stack
  done
  "$py" bench/nodes.py --tsv "$work/results.tsv" --csv bench/nodes.csv --run "$run_id" --commit "$commit" \
    --baseline "${baseline_bin:+$(git -C "$(dirname "$baseline_bin")" rev-parse --short HEAD 2>/dev/null || basename "$baseline_bin")}" \
    --latency-ms "$latency" --nodes "$nodes"
  exit 0
fi

if ((huge)); then
  # Each binary on a fresh stand-in per fleet: apply (fresh), then audit and audit
  # --security-hub, which read what the apply wrote. The 17,000-target fleet first.
  small="$work/fleet-17k.yml"
  write_inventory "$small" 1000 17
  bins=("ssm-prefs|$bin")
  [[ -n "$baseline_bin" ]] && bins+=("baseline|$baseline_bin")
  for fleet in "17k|$small|1000|17" "200k|$inventory|$accounts|$regions"; do
    IFS='|' read -r size inv accts regs <<< "$fleet"
    n=$((accts * regs))
    for b in "${bins[@]}"; do
      who="${b%%|*}" exe="${b#*|}"
      start_stack
      common=(-i "$inv" -p "$prefs" --endpoint-url "$proxy_url" -c "$concurrency" --no-progress --no-preflight)
      measure "$who apply (fresh) $size" "$n" "$accts" "$concurrency" -- \
        "$exe" apply --yes "${common[@]}" -o "$work/$who-apply-$size.csv"
      measure "$who audit $size" "$n" "$accts" "$concurrency" -- \
        "$exe" audit "${common[@]}" -o "$work/$who-audit-$size.csv"
      measure "$who audit --security-hub $size" "$n" "$accts" "$concurrency" -- \
        "$exe" audit "${common[@]}" --security-hub -o "$work/$who-audit-hub-$size.csv"
      stop_stack
    done
  done
  "$py" bench/huge.py --tsv "$work/results.tsv" --csv bench/huge.csv --run "$run_id" --commit "$commit" \
    --baseline "${baseline_bin:+$(basename "$baseline_bin")}" --latency-ms "$latency" \
    --buckets "$ssm_rate,$ssm_burst,$sts_rate,$sts_burst"
  exit 0
fi

if ((stand_in)); then
  # 1-3 on one stand-in (the second apply and the audit need the first's state), 4 on a fresh
  # one; nobody runs preflight, as the baselines check nothing (--nodes measures it).
  start_stack
  common=(-i "$inventory" -p "$prefs" --endpoint-url "$proxy_url" -c "$concurrency" --no-progress --no-preflight)
  measure "ssm-prefs apply (fresh)" "$targets" "$accounts" "$concurrency" -- \
    "$bin" apply --yes "${common[@]}" -o "$work/apply-fresh.csv"
  measure "ssm-prefs apply (unchanged)" "$targets" "$accounts" "$concurrency" -- \
    "$bin" apply --yes "${common[@]}" -o "$work/apply-unchanged.csv"
  measure "ssm-prefs audit" "$targets" "$accounts" "$concurrency" -- \
    "$bin" audit "${common[@]}" -o "$work/audit.csv"
  stop_stack
  start_stack
  measure "boto3 ThreadPool (fresh)" $((boto3_sample * regions)) "$boto3_sample" "$concurrency" -- \
    "$py" bench/baseline_boto3.py -i "$boto3_inventory" -p "$prefs" --endpoint-url "$proxy_url" \
    -c "$concurrency" -o "$work/boto3.csv"
  stop_stack
  extra=(--stand-in)
  ((throttle)) && extra+=(--buckets "$ssm_rate,$ssm_burst,$sts_rate,$sts_burst")
  # No emulator in these modes: the CSV's emulators column says 0.
  "$py" bench/summarize.py --tsv "$work/results.tsv" --csv bench/results.csv --run "$run_id" --commit "$commit" \
    --mode "$mode" --latency-ms "$latency" --accounts "$accounts" --regions "$regions" --emulators 0 "${extra[@]}"
  exit 0
fi

# 1-3: ssm-prefs on one fresh emulator (the second apply and the audit need the first's state).
# The baselines check nothing before they write, so these run without preflight; its cost is
# measured on its own below, as the requests a plan makes with and without it.
start_stack
common=(-i "$inventory" -p "$prefs" --endpoint-url "$proxy_url" -c "$concurrency" --no-progress)
if ((!scale)); then
  # What the preferences name, in every account and region (through the proxy, uncounted).
  "$py" scripts/demo_seed.py world --endpoint-url "$proxy_url" --inventory "$inventory" >&2
  control POST /__bench/reset > /dev/null
  measure "ssm-prefs plan (no preflight)" "$targets" "$accounts" "$concurrency" -- \
    "$bin" plan "${common[@]}" --no-preflight -o "$work/plan-no-preflight.csv"
  measure "ssm-prefs plan (preflight)" "$targets" "$accounts" "$concurrency" -- \
    "$bin" plan "${common[@]}" -o "$work/plan-preflight.csv"
fi
measure "ssm-prefs apply (fresh)" "$targets" "$accounts" "$concurrency" -- \
  "$bin" apply --yes "${common[@]}" --no-preflight -o "$work/apply-fresh.csv"
measure "ssm-prefs apply (unchanged)" "$targets" "$accounts" "$concurrency" -- \
  "$bin" apply --yes "${common[@]}" --no-preflight -o "$work/apply-unchanged.csv"
measure "ssm-prefs audit" "$targets" "$accounts" "$concurrency" -- \
  "$bin" audit "${common[@]}" --no-preflight -o "$work/audit.csv"
# 3a: the same audit sending each verdict to Security Hub (the emulator's): two requests more
# per target, GetFindings and BatchImportFindings. Not in --stand-in, which serves no Security Hub.
measure "ssm-prefs audit --security-hub" "$targets" "$accounts" "$concurrency" -- \
  "$bin" audit "${common[@]}" --no-preflight --security-hub -o "$work/audit-security-hub.csv"
stop_stack

if ((!scale)); then
  # 3b: the same fresh apply in waves, each read back: one request more per written target.
  start_stack
  common=(-i "$inventory" -p "$prefs" --endpoint-url "$proxy_url" -c "$concurrency" --no-progress)
  measure "ssm-prefs apply (waves)" "$targets" "$accounts" "$concurrency" -- \
    "$bin" apply --yes "${common[@]}" --no-preflight --waves 1,10%,100% -o "$work/apply-waves.csv"
  stop_stack

  # 4: what a Python engineer would write, same fleet and concurrency, fresh emulator.
  start_stack
  measure "boto3 ThreadPool (fresh)" "$targets" "$accounts" "$concurrency" -- \
    "$py" bench/baseline_boto3.py -i "$inventory" -p "$prefs" --endpoint-url "$proxy_url" -c "$concurrency"
  stop_stack

  # 5: the AWS page's commands in a loop, on the first CLI_SAMPLE targets (account-major).
  sample=()
  for ((i = 1; i <= accounts && ${#sample[@]} < cli_sample; i++)); do
    for ((r = 0; r < regions && ${#sample[@]} < cli_sample; r++)); do
      sample+=("$(printf '%012d' $((200000000000 + i))):${all_regions[r]}")
    done
  done
  sample_accounts="$(printf '%s\n' "${sample[@]}" | cut -d: -f1 | sort -u | wc -l)"
  start_stack
  measure "aws cli loop (fresh)" "${#sample[@]}" "$sample_accounts" 1 -- \
    env AWS_CLI="$root/.venv/bin/aws" bash bench/aws_cli_loop.sh "$proxy_url" "$prefs" "${sample[@]}"
  stop_stack
fi

"$py" bench/summarize.py --tsv "$work/results.tsv" --csv bench/results.csv --run "$run_id" --commit "$commit" \
  --mode "$mode" --latency-ms "$latency" --accounts "$accounts" --regions "$regions" --emulators "$emulators"
