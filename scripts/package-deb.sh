#!/usr/bin/env bash
# Builds the Debian package: a release build of the binary, the man page and the bash, zsh and
# fish completions that binary generates, then cargo-deb packs them with the README, the
# examples and the copyright file as Cargo.toml's [package.metadata.deb] lists them. Prints the
# path of the .deb on its last line.
#
#   bash scripts/package-deb.sh            # -> target/debian/greptime-self-test_<version>-1_<arch>.deb
#   dpkg -i target/debian/greptime-self-test_*.deb
#
# Options: --no-build packages the binary already in the target directory; --profile NAME picks
# the cargo profile (default release); --fast compresses less. scripts/test-deb.sh uses all
# three on the binary the test build made (a second, release build would take ~10 minutes).
#
# cargo-deb is compiled from crates.io once (about 2 minutes on 2 cores) into
# /var/cache/greptime-self-test/, pinned; without root, `cargo install cargo-deb --locked` puts
# one on your PATH instead.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DEB_VERSION=3.8.0
CARGO_DEB_ROOT=/var/cache/greptime-self-test/cargo-deb-$CARGO_DEB_VERSION
BIN=greptime-self-test

profile=release
build=1
cargo_deb_flags=()
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) profile=${2:?--profile needs a profile name}; shift 2 ;;
    --no-build) build=0; shift ;;
    --fast) cargo_deb_flags+=(--fast); shift ;;
    *) echo "usage: $0 [--no-build] [--profile NAME] [--fast]" >&2; exit 2 ;;
  esac
done
# cargo puts the dev profile's output in debug/, every other profile's in a directory of its name
profile_dir=$profile
[ "$profile" = dev ] && profile_dir=debug

if [ -x "$CARGO_DEB_ROOT/bin/cargo-deb" ]; then
  export PATH="$CARGO_DEB_ROOT/bin:$PATH"
elif ! cargo deb --version >/dev/null 2>&1; then
  if ! mkdir -p "$CARGO_DEB_ROOT" 2>/dev/null || [ ! -w "$CARGO_DEB_ROOT" ]; then
    echo "error: cargo-deb is missing and $CARGO_DEB_ROOT is not writable; install it with:" >&2
    echo "  cargo install cargo-deb --locked --version $CARGO_DEB_VERSION" >&2
    exit 1
  fi
  echo "==> installing cargo-deb $CARGO_DEB_VERSION from crates.io into $CARGO_DEB_ROOT" >&2
  # its own temporary target directory, not the project's
  env -u CARGO_TARGET_DIR cargo install --quiet --locked cargo-deb \
    --version "$CARGO_DEB_VERSION" --root "$CARGO_DEB_ROOT"
  export PATH="$CARGO_DEB_ROOT/bin:$PATH"
fi

target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
if [ -z "$target_dir" ]; then
  echo "error: cargo metadata named no target directory" >&2
  exit 1
fi
out_dir="$target_dir/$profile_dir"

if [ "$build" = 1 ]; then
  bash scripts/prereqs.sh
  echo "==> cargo build --profile $profile" >&2
  cargo build --locked --profile "$profile" --bin "$BIN" >&2
fi
if [ ! -x "$out_dir/$BIN" ]; then
  echo "error: no binary at $out_dir/$BIN: build it first (run without --no-build)" >&2
  exit 1
fi

# cargo-deb takes assets as files: generate them beside the binary, where Cargo.toml's
# target/release/deb-assets/... entries point (cargo-deb maps target/release/ to $out_dir).
assets="$out_dir/deb-assets"
rm -rf "$assets"
mkdir -p "$assets/completions"
# -n: no name or time stamp in the gzip header, so the same page gives the same bytes
"$out_dir/$BIN" man | gzip -9n >"$assets/$BIN.1.gz"
"$out_dir/$BIN" completions bash >"$assets/completions/$BIN"
"$out_dir/$BIN" completions zsh >"$assets/completions/_$BIN"
"$out_dir/$BIN" completions fish >"$assets/completions/$BIN.fish"

echo "==> cargo deb --profile $profile" >&2
# --strip: the release profile keeps line tables for backtraces; the package ships without them
deb=$(cargo deb --locked --no-build --profile "$profile" --strip \
  ${cargo_deb_flags[@]+"${cargo_deb_flags[@]}"} --output "$target_dir/debian/")
echo "$deb"
