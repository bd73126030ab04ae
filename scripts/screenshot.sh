#!/usr/bin/env bash
# Regenerates docs/img/audit-report.png, the README's picture of the HTML report: runs
# scripts/demo.sh (a debug build unless SSM_PREFS_DEMO_DEBUG=0) and takes a headless Chromium
# screenshot of the audit page it leaves in reports/demo/audit.html.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prerequisites.sh
SSM_PREFS_DEMO_DEBUG="${SSM_PREFS_DEMO_DEBUG:-1}" bash scripts/demo.sh > /dev/null
page="$PWD/reports/demo/audit.html"
out="docs/img/audit-report.png"
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
# No network, no first-run chrome; a laptop's window, 1,280 px wide, which the page's table fits
# (tests/e2e/html.rs measures it).
"$CHROME" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
  --user-data-dir="$profile" --window-size=1280,1000 --virtual-time-budget=3000 \
  --screenshot="$PWD/$out" "file://$page" 2> "$profile/chrome.log" ||
  { cat "$profile/chrome.log" >&2; exit 1; }
echo "wrote $out from $page"
