#!/usr/bin/env bash
# Sourced by test.sh (and demo.sh for Python): finds what the tests need on this machine —
# a Chromium or Chrome for the HTML report's browser test, poppler's pdftotext to read back
# the page it prints to PDF, zsh, fish, groff and man for the
# completion and man page tests, Python 3 with its venv module for the emulator — and exports
# CHROME. Installs Debian's packages only when it runs as root on Debian or Ubuntu; anywhere
# else it stops with one line naming what to install.
# SSM_PREFS_NEED=python limits it to Python (the demo needs no browser and no shells).

prerequisite_missing() { # WHAT INSTALL-HINT
  echo "scripts: $1 is missing: $2" >&2
  exit 1
}

# As root on Debian or Ubuntu, a missing package is installed; nowhere else.
can_apt() {
  [[ "$(id -u)" == 0 && -f /etc/debian_version ]] && command -v apt-get >/dev/null
}

apt_install() {
  if [[ -z "${apt_updated:-}" ]]; then
    apt-get update >&2
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" >&2
}

find_chrome() {
  if [[ -n "${CHROME:-}" ]]; then
    [[ -x "$CHROME" ]] || prerequisite_missing "CHROME=$CHROME" "it is not an executable file: point CHROME at a Chromium or Chrome binary"
    return
  fi
  local name
  for name in chromium chromium-browser google-chrome google-chrome-stable chrome; do
    if command -v "$name" >/dev/null; then
      CHROME="$(command -v "$name")"
      return
    fi
  done
  for name in "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome" \
    "/Applications/Chromium.app/Contents/MacOS/Chromium"; do
    if [[ -x "$name" ]]; then
      CHROME="$name"
      return
    fi
  done
  if can_apt; then
    apt_install chromium
    CHROME="$(command -v chromium)"
    return
  fi
  prerequisite_missing "Chromium or Chrome (the HTML report's browser test opens pages in it)" \
    "install one (Debian/Ubuntu: sudo apt-get install chromium; macOS: brew install --cask chromium), or set CHROME to its path"
}

# tests/e2e/toolbox.rs checks the zsh and fish completion scripts with those shells and
# renders the man page with groff and man; tests/e2e/html.rs reads the printed page back with
# pdftotext. Each fails where its tool is missing.
find_toolbox() {
  local tool missing=()
  for tool in zsh:zsh fish:fish groff:groff man:man-db pdftotext:poppler-utils; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
  done
  [[ ${#missing[@]} == 0 ]] && return
  if can_apt; then apt_install "${missing[@]}"; return; fi
  prerequisite_missing "what the completion script and man page tests run (${missing[*]})" \
    "install them (Debian/Ubuntu: sudo apt-get install ${missing[*]}; macOS: brew install zsh fish groff poppler)"
}

find_python_venv() {
  if ! command -v python3 >/dev/null; then
    if can_apt; then apt_install python3 python3-venv; return; fi
    prerequisite_missing "python3 (the emulator, moto, runs on it)" \
      "install Python 3.9 or later with its venv module (Debian/Ubuntu: sudo apt-get install python3 python3-venv; macOS: brew install python)"
  fi
  # Debian splits ensurepip, which `python3 -m venv` needs, into python3-venv.
  if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    if can_apt; then apt_install python3-venv; return; fi
    prerequisite_missing "python3's venv module (the emulator is installed into .venv/)" \
      "install it (Debian/Ubuntu: sudo apt-get install python3-venv)"
  fi
}

if [[ "${SSM_PREFS_NEED:-all}" != python ]]; then
  find_chrome
  export CHROME
  find_toolbox
fi
find_python_venv
