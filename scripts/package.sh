#!/usr/bin/env bash
# Builds the socialai .deb with CPack and checks it in a scratch directory; nothing is installed
# on this machine. Exits non-zero on any failure; prints the .deb's path last.
# Usage: scripts/package.sh
#   BUILD_DIR   build tree (default: build-release, shared with scripts/bench.sh)
#   BUILD_TYPE  CMake build type (default: Release). CI can package the tree scripts/test.sh just
#               built with BUILD_DIR=build BUILD_TYPE=RelWithDebInfo (CPack strips the binaries).
BUILD_DIR="${BUILD_DIR:-$(cd "$(dirname "$0")/.." && pwd)/build-release}"
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

install_deps
build "${BUILD_TYPE:-Release}"

for tool in cpack dpkg-deb dpkg objdump; do
  command -v "$tool" >/dev/null || die "$tool not found"
done

out="$BUILD_DIR/package"
rm -rf "$out"
log "cpack -G DEB"
(cd "$BUILD_DIR" && cpack -G DEB -B "$out" >"$BUILD_DIR/cpack.log" 2>&1) ||
  { cat "$BUILD_DIR/cpack.log" >&2; die "cpack failed"; }
debs=("$out"/socialai_*.deb)
if [ ${#debs[@]} -ne 1 ] || [ ! -f "${debs[0]}" ]; then
  die "expected one socialai_*.deb in $out"
fi
deb="${debs[0]}"

scratch="$(mktemp -d /tmp/socialai-package.XXXXXX)"
trap 'rm -rf "$scratch"' EXIT
fail=0
check() {  # check DESCRIPTION COMMAND...: runs COMMAND, records a failure instead of exiting
  local what="$1"
  shift
  if "$@"; then
    printf '    ok    %s\n' "$what" >&2
  else
    printf '    FAIL  %s\n' "$what" >&2
    fail=1
  fi
}

# --- Control area: fields, conffiles, maintainer scripts ----------------------------------------
log "checking $(basename "$deb")"
dpkg-deb --info "$deb" >&2
dpkg-deb -e "$deb" "$scratch/DEBIAN"
field() { dpkg-deb --field "$deb" "$1"; }
version="$(field Version)"
depends="$(field Depends)"
pkgroot="$scratch/root"  # the data area, extracted (not installed)
dpkg-deb -x "$deb" "$pkgroot"

# Every shared library a shipped binary loads belongs to a package that Depends names (as a
# prefix: the shlibs file of libspdlog1.10 says "libspdlog1.10-fmt9", a name it Provides).
depends_cover_libraries() {
  local exe soname owners pkg covered ok=0
  [[ $depends == *adduser* ]] || { echo "Depends lacks adduser (postinst)" >&2; ok=1; }
  for exe in "$pkgroot"/usr/bin/*; do
    while read -r soname; do
      owners="$(dpkg -S "*/$soname" 2>/dev/null | cut -d: -f1 | sort -u)" || true
      covered=0
      for pkg in $owners; do
        [[ ", $depends" == *", $pkg"* ]] && covered=1
      done
      if [ "$covered" -eq 0 ]; then
        echo "${exe##*/} needs $soname (from: ${owners:-no package}), not in Depends" >&2
        ok=1
      fi
    done < <(objdump -p "$exe" | awk '$1 == "NEEDED" { print $2 }')
  done
  return "$ok"
}
script_parses() { [ -x "$1" ] && sh -n "$1"; }
postinst_sets_up_account() {
  grep -q 'adduser --system' "$1" && grep -q /var/log/socialai "$1"
}
# (Output captured first: with pipefail, `cmd | grep -q` can fail by SIGPIPE when grep matches.)
no_test_binaries() {
  local names
  names="$(ls "$pkgroot/usr/bin")"
  ! grep -Eq 'test|fake|bench' <<<"$names"
}
# The devnet simulators and their configuration are for development (cmake --install
# --component devnet), never in the production package.
no_development_files() {
  local files
  files="$(cd "$pkgroot" && find . -name '*devnet*' -o -name dev.json)"
  [ -z "$files" ] || { echo "$files" >&2; return 1; }
}
# Every variable the production config names is in the environment template, commented.
env_template_names_every_variable() {
  local var ok=0
  for var in $(grep -o '\${[A-Za-z_][A-Za-z0-9_]*' "$pkgroot/etc/socialai/socialai.json" |
    cut -c3- | sort -u); do
    grep -Eq "^#$var=" "$pkgroot/etc/socialai/env" || { echo "env lacks #$var=" >&2; ok=1; }
  done
  ! grep -Ev '^(#.*)?$' "$pkgroot/etc/socialai/env" >&2 || ok=1  # nothing set, all commented
  return "$ok"
}
# Modes and owners as dpkg will create them (the data area's tar listing).
ships_mode() {  # ships_mode PATH MODE-STRING
  local listing
  listing="$(dpkg-deb -c "$deb")"
  grep -Eq "^$2 root/root .* \./$1\$" <<<"$listing"
}
# logrotate's own parser on a copy aimed into the scratch tree (as the calling user, since the
# socialai account need not exist here). Any error fails.
logrotate_parses() {
  local dir="$scratch/logrotate" out
  mkdir -p "$dir/log"
  sed -e "s|/var/log/socialai|$dir/log|" -e "s|su socialai socialai|su $(id -un) $(id -gn)|" \
    -e "s|create 0640 socialai socialai|create 0640 $(id -un) $(id -gn)|" \
    "$pkgroot/etc/logrotate.d/socialai" >"$dir/conf"
  echo line >"$dir/log/socialai.log"
  out="$(logrotate --debug --force --state "$dir/state" "$dir/conf" 2>&1)" ||
    { echo "$out" >&2; return 1; }
  ! grep -qi 'error' <<<"$out" || { echo "$out" >&2; return 1; }
  grep -q 'renaming .*socialai.log to .*socialai.log-' <<<"$out" || { echo "$out" >&2; return 1; }
}
libraries_resolve() {
  local libs
  libs="$(ldd "$1")" && ! grep -q 'not found' <<<"$libs"
}
prints_version() { [ "$("$pkgroot/usr/bin/$1" --version)" = "$1 $version" ]; }
# --check-config runs in $scratch with a clean environment, so neither the caller's variables
# nor a .env in the working directory leak in; it must accept the shipped template and redact the
# secrets it is given.
check_config_ok() {
  local printed
  printed="$(cd "$scratch" && env -i PATH=/usr/bin:/bin \
    DATABASE_URL='postgresql://socialai:pkgcheck-password@db.invalid/socialai' \
    SOCIALAI_ADMIN_TOKEN=pkgcheck-token FARCASTER_HUB_URL=http://127.0.0.1:3381 \
    ETHEREUM_RPC_URL=http://127.0.0.1:8545 BASE_RPC_URL=http://127.0.0.1:8546 \
    SOLANA_RPC_URL=http://127.0.0.1:8899 \
    "$pkgroot/usr/bin/socialai-manager" --check-config --config "$pkgroot/etc/socialai/socialai.json")" ||
    return 1
  grep -q '"listen"' <<<"$printed" && ! grep -q pkgcheck <<<"$printed"
}
# systemd's own parser, on a copy whose ExecStart points into the scratch tree: verify insists
# that the binary exists, and /usr/bin/socialai-manager is not installed here. Any message fails.
unit_verifies() {
  local units="$scratch/units" out
  mkdir -p "$units"
  sed "s|/usr/bin/socialai-manager|$pkgroot/usr/bin/socialai-manager|" \
    "$pkgroot/usr/lib/systemd/system/socialai.service" >"$units/socialai.service"
  out="$(systemd-analyze verify "$units/socialai.service" 2>&1)" || { echo "$out" >&2; return 1; }
  [ -z "$out" ] || { echo "$out" >&2; return 1; }
}
# `systemctl enable --now socialai` names the unit file itself; the old name is an alias.
unit_named_socialai() {
  [ -s "$pkgroot/usr/lib/systemd/system/socialai.service" ] &&
    [ ! -e "$pkgroot/usr/lib/systemd/system/socialai-manager.service" ] &&
    grep -qx 'Alias=socialai-manager.service' "$pkgroot/usr/lib/systemd/system/socialai.service" &&
    grep -qx 'WantedBy=multi-user.target' "$pkgroot/usr/lib/systemd/system/socialai.service"
}
# dpkg itself unpacks the package into a private root with its own database, so conffile
# registration and the file list are dpkg's view, not ours. Only --unpack: configuring runs the
# postinst, which dpkg would run chrooted into that root (no shell there) or, with
# --force-script-chrootless, against this machine's users. --force-depends: the private database
# knows no other package. --force-not-root: works unprivileged too.
dpkg_root="$scratch/dpkg-root"
dpkg_unpacks() {
  mkdir -p "$dpkg_root/var/lib/dpkg/info" "$dpkg_root/var/lib/dpkg/updates"
  touch "$dpkg_root/var/lib/dpkg/status" "$dpkg_root/var/lib/dpkg/available"
  dpkg --root="$dpkg_root" --force-not-root --force-depends --no-triggers --unpack "$deb" >/dev/null
}
dpkg_status_unpacked() {
  [ "$(dpkg-query --root="$dpkg_root" -W -f='${Status} ${Version}' socialai)" = \
    "install ok unpacked $version" ]
}
dpkg_has_conffile() {
  local conffiles
  conffiles="$(dpkg-query --root="$dpkg_root" -W -f='${Conffiles}\n' socialai)" &&
    grep -Eq "^ $1 ([0-9a-f]{32}|newconffile)\$" <<<"$conffiles"
}

check "Package is socialai" test "$(field Package)" = socialai
check "Depends covers every library the binaries load ($depends)" depends_cover_libraries
conffiles=(/etc/socialai/socialai.json /etc/socialai/env /etc/logrotate.d/socialai)
for f in "${conffiles[@]}"; do
  check "conffiles lists $f" grep -qx "$f" "$scratch/DEBIAN/conffiles"
done
for script in postinst prerm postrm; do
  check "$script is executable and parses" script_parses "$scratch/DEBIAN/$script"
done
check "postinst creates the socialai user and /var/log/socialai" \
  postinst_sets_up_account "$scratch/DEBIAN/postinst"

for f in usr/bin/socialai-manager usr/bin/socialai-ctl usr/bin/socialai-worker-search \
  usr/lib/systemd/system/socialai.service etc/socialai/socialai.json etc/socialai/env \
  etc/logrotate.d/socialai usr/share/socialai/config/socialai.json; do
  check "ships /$f" test -s "$pkgroot/$f"
done
check "the unit is socialai.service, aliased socialai-manager.service" unit_named_socialai
check "/etc/socialai/env is root's, mode 0600" ships_mode etc/socialai/env -rw-------
check "/etc/socialai/env names every variable of socialai.json, all commented" \
  env_template_names_every_variable
check "ships no devnet simulator and no dev.json" no_development_files
for sql in "$ROOT"/sql/*.sql; do
  check "ships /usr/share/socialai/sql/${sql##*/}" cmp -s "$sql" "$pkgroot/usr/share/socialai/sql/${sql##*/}"
done
check "ships no test binaries" no_test_binaries
for exe in "$pkgroot"/usr/bin/*; do
  check "${exe##*/}: every shared library resolves" libraries_resolve "$exe"
done
for exe in socialai-manager socialai-ctl; do
  check "$exe --version prints $version" prints_version "$exe"
done
check "--check-config accepts /etc/socialai/socialai.json, secrets redacted" check_config_ok
if command -v systemd-analyze >/dev/null; then
  check "systemd-analyze verify socialai.service" unit_verifies
else
  log "systemd-analyze not found; unit file not verified"
fi
if command -v logrotate >/dev/null; then
  check "logrotate parses /etc/logrotate.d/socialai and rotates with it" logrotate_parses
else
  log "logrotate not found; /etc/logrotate.d/socialai not checked"
fi
check "dpkg --root --unpack" dpkg_unpacks
check "dpkg records socialai $version as unpacked" dpkg_status_unpacked
for f in "${conffiles[@]}"; do
  check "dpkg registers the conffile $f" dpkg_has_conffile "$f"
done
check "dpkg unpacked /usr/bin/socialai-manager" test -x "$dpkg_root/usr/bin/socialai-manager"

[ "$fail" -eq 0 ] || die "package checks failed: $deb"
log "package ok"
echo "$deb"
