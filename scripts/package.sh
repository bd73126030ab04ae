#!/usr/bin/env bash
# Builds the release packages into dist/ (emptied first), with --locked, from the version in
# Cargo.toml:
#   ssm-prefs-VERSION-x86_64-unknown-linux-musl.tar.gz   the static binary: runs on any Linux
#   ssm-prefs-lambda-x86_64.zip                           that binary as `bootstrap`, the one
#                                                         file of a provided.al2023 function
#   ssm-prefs-VERSION-aarch64-unknown-linux-musl.tar.gz   the same for arm64 (Graviton), where
#   ssm-prefs-lambda-arm64.zip                            the tool chain here cross-builds it
#   SHA256SUMS                                            the sums of all of them
# and checks each before it finishes (no dynamic section or interpreter, --version runs with
# an empty environment, each zip holds one executable bootstrap equal to the binary, the sums
# verify), failing otherwise. arm64 is optional: where it cannot be built or run under
# qemu-aarch64, one line says so and the rest is built.
#
# Needs: rustup (it adds the musl targets), musl-gcc (Debian's musl-tools: aws-lc and mimalloc
# are C), python3 (the zips, and the zig tool chain's venv), readelf, sha256sum, tar. For
# arm64: cargo-zigbuild and zig, installed from PyPI into target/package-tools/ (pinned below),
# and qemu-aarch64 (Debian's qemu-user) to run what was built.
set -euo pipefail

ZIGLANG_VERSION="0.15.2" # not 0.16: its `zig ar` cannot create an archive (cc-rs needs it)
CARGO_ZIGBUILD_VERSION="0.24.1"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
dist="$root/dist"

say() { printf 'package.sh: %s\n' "$*" >&2; }
die() {
  say "$*"
  exit 1
}

# The [package] version, the one `ssm-prefs --version` prints.
version="$(awk '/^\[/ { p = ($0 == "[package]") } p && /^version *=/ { gsub(/^version *= *"|".*$/, ""); print; exit }' Cargo.toml)"
[[ -n "$version" ]] || die "no version in Cargo.toml's [package]"

for tool in rustup cargo python3 readelf sha256sum tar; do
  command -v "$tool" >/dev/null || die "$tool is missing"
done

# Reproducible archives: every file dated at the last commit.
SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}"
export SOURCE_DATE_EPOCH
# Stripped: a smaller download and Lambda package (a panic still names its message and place).
export CARGO_PROFILE_RELEASE_STRIP=true

rm -rf "$dist"
mkdir -p "$dist"

# check_static BINARY: no interpreter and no shared library needed (readelf works on either
# architecture; ldd, for the host's, says so too).
check_static() {
  local bin="$1"
  if readelf -lW "$bin" | grep -q 'INTERP' || readelf -dW "$bin" | grep -q '(NEEDED)'; then
    die "$bin is dynamically linked: $(readelf -dW "$bin" | grep '(NEEDED)' | tr -s ' ' | tr '\n' ';')"
  fi
}

# check_version RUNNER... BINARY: `--version` runs with an empty environment and names this
# version.
check_version() {
  local out
  out="$(env -i "$@" --version 2>&1)" || die "${*: -1} --version failed with an empty environment: $out"
  [[ "$out" == "ssm-prefs $version" ]] || die "${*: -1} --version printed '$out', not 'ssm-prefs $version'"
}

# package TARGET LAMBDA_ARCH BINARY: the tarball and the Lambda zip of one binary.
package() {
  local target="$1" arch="$2" bin="$3"
  local name="ssm-prefs-$version-$target"
  local stage
  stage="$(mktemp -d)"
  mkdir "$stage/$name"
  install -m 0755 "$bin" "$stage/$name/ssm-prefs"
  cp README.md "$stage/$name/"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
    -C "$stage" -czf "$dist/$name.tar.gz" "$name"
  rm -rf "$stage"
  # One entry, `bootstrap`, mode 0755: Lambda runs it as the runtime.
  python3 - "$bin" "$dist/ssm-prefs-lambda-$arch.zip" <<'EOF'
import os, sys, time, zipfile
binary, out = sys.argv[1], sys.argv[2]
stamp = time.gmtime(max(int(os.environ["SOURCE_DATE_EPOCH"]), 315532800))[:6]
info = zipfile.ZipInfo("bootstrap", date_time=stamp)
info.external_attr = (0o100755 << 16)
info.create_system = 3  # Unix, so the mode above is read
info.compress_type = zipfile.ZIP_DEFLATED
with zipfile.ZipFile(out, "w") as z, open(binary, "rb") as f:
    z.writestr(info, f.read())
EOF
}

# check_zip ARCH BINARY: the zip holds exactly one executable `bootstrap`, the binary itself.
check_zip() {
  local zip="$dist/ssm-prefs-lambda-$1.zip"
  python3 - "$zip" "$2" <<'EOF' || die "$zip is not one executable bootstrap"
import sys, zipfile
zip_path, binary = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(zip_path) as z:
    entries = z.infolist()
    names = [e.filename for e in entries]
    if names != ["bootstrap"]:
        sys.exit(f"{zip_path} holds {names}, not just bootstrap")
    mode = entries[0].external_attr >> 16
    if mode & 0o170000 != 0o100000 or not mode & 0o100:
        sys.exit(f"{zip_path}: bootstrap's mode is {oct(mode)}, not an executable file")
    if z.read("bootstrap") != open(binary, "rb").read():
        sys.exit(f"{zip_path}: bootstrap is not {binary}")
EOF
}

# x86_64: the package every release has. musl-gcc compiles the C of aws-lc-sys and mimalloc
# for musl, which Rust's musl target then links statically.
x86=x86_64-unknown-linux-musl
command -v musl-gcc >/dev/null || die "musl-gcc is missing: apt-get install musl-tools"
rustup target add "$x86" >&2 || die "cannot add the $x86 target with rustup"
say "building $x86 (release, --locked)"
cargo build --locked --release --bin ssm-prefs --target "$x86"
x86_bin="$root/target/$x86/release/ssm-prefs"
check_static "$x86_bin"
ldd "$x86_bin" 2>&1 | grep -Eq 'not a dynamic executable|statically linked' \
  || die "ldd says $x86_bin is dynamic: $(ldd "$x86_bin" 2>&1 | tr '\n' ';')"
check_version "$x86_bin"
package "$x86" x86_64 "$x86_bin"
check_zip x86_64 "$x86_bin"

# arm64: cross-built with zig as the C compiler and linker (cargo-zigbuild), and shipped only
# once it has run under qemu-aarch64. Any step that cannot be done here is one line, and no
# arm64 package.
arm=aarch64-unknown-linux-musl
arm64() {
  local qemu tools="$root/target/package-tools"
  qemu="$(command -v qemu-aarch64 || command -v qemu-aarch64-static)" \
    || { say "no arm64 package: qemu-aarch64 is missing to check it (apt-get install qemu-user)"; return 0; }
  rustup target add "$arm" >&2 \
    || { say "no arm64 package: rustup cannot add the $arm target"; return 0; }
  if ! "$tools/bin/python" -c "import importlib.metadata as m,sys; sys.exit(m.version('ziglang') != '$ZIGLANG_VERSION' or m.version('cargo-zigbuild') != '$CARGO_ZIGBUILD_VERSION')" 2>/dev/null; then
    { python3 -m venv "$tools" \
      && "$tools/bin/pip" install --quiet --disable-pip-version-check "ziglang==$ZIGLANG_VERSION" "cargo-zigbuild==$CARGO_ZIGBUILD_VERSION" >&2; } \
      || { say "no arm64 package: cannot install ziglang==$ZIGLANG_VERSION and cargo-zigbuild==$CARGO_ZIGBUILD_VERSION from PyPI"; return 0; }
  fi
  say "building $arm (release, --locked, cargo-zigbuild $CARGO_ZIGBUILD_VERSION, zig $ZIGLANG_VERSION)"
  # The venv first on PATH: cargo-zigbuild finds zig as its python's ziglang module.
  PATH="$tools/bin:$PATH" cargo zigbuild --locked --release --bin ssm-prefs --target "$arm" \
    || { say "no arm64 package: cargo zigbuild --target $arm failed (above)"; return 0; }
  local bin="$root/target/$arm/release/ssm-prefs"
  # From here a failure is a bad package, not a missing tool: the script fails.
  check_static "$bin"
  check_version "$qemu" "$bin"
  package "$arm" arm64 "$bin"
  check_zip arm64 "$bin"
}
arm64

(cd "$dist" && sha256sum -- *.tar.gz *.zip >SHA256SUMS)
(cd "$dist" && sha256sum --check --quiet SHA256SUMS) || die "dist/SHA256SUMS does not verify"
say "built ssm-prefs $version:"
(cd "$dist" && ls -l -- *)
