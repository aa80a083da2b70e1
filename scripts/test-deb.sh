#!/usr/bin/env bash
# The Debian package as an apt user gets it: packs the binary the test build made
# (scripts/package-deb.sh --no-build --profile dev), installs it on this machine with dpkg -i,
# checks the binary, the man page, the completions and the examples where Debian's tools look
# for them, then purges it. Every missing tool or file is a failure, never a skip.
#
#   bash scripts/test-deb.sh     # as root, after scripts/prereqs.sh --test; scripts/test.sh runs it
#
# Docker-style images exclude /usr/share/man and /usr/share/doc from every install with
# path-exclude lines in /etc/dpkg/dpkg.cfg.d/; such a host would drop the files checked here.
# The install re-includes exactly this package's files and directories (dpkg reads its
# configuration before its command line, and the last matching filter wins), so the checks see
# what a full system gets; the excludes found are printed.
set -euo pipefail
cd "$(dirname "$0")/.."

PKG=greptime-self-test
passed=0
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
ok() {
  echo "ok: $*"
  passed=$((passed + 1))
}

[ "$(id -u)" = 0 ] || fail "dpkg -i needs root"
for tool in dpkg dpkg-deb dpkg-query man pkg-config cargo; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is missing: run bash scripts/prereqs.sh --test"
done
[ -f /usr/share/bash-completion/bash_completion ] ||
  fail "bash-completion is missing: run bash scripts/prereqs.sh --test"
if [ "$(dpkg-query -W -f '${db:Status-Status}' "$PKG" 2>/dev/null)" = installed ]; then
  fail "$PKG is already installed, and this test would remove it: run dpkg --purge $PKG first"
fi

# The binary `cargo test` runs, built as the tests build it: a no-op when they are built already
# (after it, a plain `cargo build` compiled the crate once more here).
echo "==> cargo test --no-run (the binary to package)"
cargo test --locked --all-targets --no-run
deb=$(bash scripts/package-deb.sh --no-build --profile dev --fast | tail -n 1)
[ -f "$deb" ] || fail "scripts/package-deb.sh made no .deb (its last line: '$deb')"
ok "built $deb"

# The package's entries as absolute paths (directories end in /), and its regular files.
mapfile -t entries < <(dpkg-deb --fsys-tarfile "$deb" | tar -t | sed 's|^\./|/|' | grep -vx /)
mapfile -t files < <(printf '%s\n' "${entries[@]}" | grep -v '/$')
expected=(
  "/usr/bin/$PKG"
  "/usr/share/man/man1/$PKG.1.gz"
  "/usr/share/bash-completion/completions/$PKG"
  "/usr/share/zsh/vendor-completions/_$PKG"
  "/usr/share/fish/vendor_completions.d/$PKG.fish"
  "/usr/share/doc/$PKG/copyright"
)
for path in "${expected[@]}"; do
  printf '%s\n' "${files[@]}" | grep -qxF "$path" || fail "the package does not ship $path"
done
ok "the package ships the binary, the man page, three completions and the copyright file"
for field in "Section: utils" "Depends: libc6"; do
  dpkg-deb -f "$deb" "${field%%:*}" | grep -q "^${field#*: }" ||
    fail "control field ${field%%:*} is '$(dpkg-deb -f "$deb" "${field%%:*}")', expected ${field#*: }"
done
ok "control: Section utils, Depends on libc6 (from \$auto)"

excludes=$(grep -Hs '^[[:space:]]*path-exclude' /etc/dpkg/dpkg.cfg /etc/dpkg/dpkg.cfg.d/* || true)
if [ -n "$excludes" ]; then
  echo "note: this host's dpkg excludes paths; re-included for $PKG's own files:"
  while IFS= read -r line; do echo "  $line"; done <<<"$excludes"
fi
# directories too: a file whose directory was excluded fails to unpack
includes=()
for path in "${entries[@]}"; do includes+=("--path-include=${path%/}"); done
cleanup() { dpkg --purge "$PKG" >/dev/null 2>&1 || true; }
trap cleanup EXIT
dpkg "${includes[@]}" -i "$deb" >/dev/null || fail "dpkg -i $deb failed"
for path in "${files[@]}"; do
  [ -f "$path" ] || fail "dpkg -i did not install $path"
done
ok "dpkg -i installed all ${#files[@]} files"

# Debian's default PATH, so that no ~/.cargo/bin or /usr/local/bin copy answers instead.
want_version="$PKG $(dpkg-deb -f "$deb" Version | sed 's/-[^-]*$//') "
got=$(PATH=/usr/bin:/bin "$PKG" --version) || fail "$PKG --version failed"
[ "${got#"$want_version"}" != "$got" ] || fail "$PKG --version says '$got', expected '$want_version…'"
ok "$PKG --version: $got"

page=$(env -u MANPATH man -w "$PKG") || fail "man -w $PKG found no page"
[ "$page" = "/usr/share/man/man1/$PKG.1.gz" ] || fail "man -w $PKG found $page, not the package's"
env -u MANPATH MANWIDTH=80 man "$PKG" 2>/dev/null | grep -q '^SYNOPSIS' ||
  fail "man $PKG renders no SYNOPSIS section"
ok "man -w $PKG: $page (renders)"

completions=$(pkg-config --variable=completionsdir bash-completion) ||
  fail "pkg-config knows no bash-completion"
[ -f "$completions/$PKG" ] || fail "no $completions/$PKG (bash-completion's directory)"
# bash-completion's on-demand loader (the one an interactive shell uses) finds the script and
# completes a subcommand; _comp_load is its name from bash-completion 2.12 on.
# shellcheck disable=SC2016 # the inner script's own variables
completed=$(env -i HOME=/nonexistent PATH=/usr/bin:/bin bash --norc --noprofile -c '
  . /usr/share/bash-completion/bash_completion
  if declare -F _comp_load >/dev/null; then _comp_load "$1"; else __load_completion "$1"; fi
  spec=$(complete -p "$1") || exit 1
  fn=${spec#*-F }; fn=${fn%% *}
  COMP_WORDS=("$1" data); COMP_CWORD=1; COMP_LINE="$1 data"; COMP_POINT=${#COMP_LINE}
  "$fn" "$1" data "$1"
  printf "%s\n" "${COMPREPLY[@]}"' bash "$PKG") || fail "bash-completion did not load $PKG's completion"
[ "$completed" = datanode ] || fail "bash completes '$PKG data' to '$completed', expected datanode"
ok "bash-completion loads $completions/$PKG and completes '$PKG data' to datanode"

# zsh's compinit reads a #compdef line; fish loads vendor_completions.d/<command>.fish.
head -n 1 "/usr/share/zsh/vendor-completions/_$PKG" | grep -qxF "#compdef $PKG" ||
  fail "/usr/share/zsh/vendor-completions/_$PKG does not start with '#compdef $PKG'"
grep -q "^complete -c $PKG " "/usr/share/fish/vendor_completions.d/$PKG.fish" ||
  fail "/usr/share/fish/vendor_completions.d/$PKG.fish has no 'complete -c $PKG'"
ok "zsh and fish completions are in their vendor directories"

docs=/usr/share/doc/$PKG/examples
diff <(cd examples && find . -type f | sort) <(cd "$docs" && find . -type f | sort) ||
  fail "$docs differs from the repository's examples/"
PATH=/usr/bin:/bin "$PKG" render standalone -c "$docs/standalone.toml" >/dev/null ||
  fail "$PKG render standalone -c $docs/standalone.toml failed"
grep -q '^License: Apache-2.0$' "/usr/share/doc/$PKG/copyright" ||
  fail "/usr/share/doc/$PKG/copyright names no Apache-2.0 license"
ok "examples in $docs (the installed binary renders standalone.toml) and the copyright file"

dpkg --purge "$PKG" >/dev/null || fail "dpkg --purge $PKG failed"
for path in "${files[@]}"; do
  [ ! -e "$path" ] || fail "dpkg --purge left $path"
done
ok "dpkg --purge removed every file"
echo "deb package: $passed checks passed"
