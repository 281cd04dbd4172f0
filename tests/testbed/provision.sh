#!/usr/bin/env bash
# Provision a Debian sid rootfs with real CPython 3.13/3.14/3.15 + debugpy and
# the web stacks wand's tests attach to. Idempotent and cached: a second run
# only re-checks the rootfs, re-establishes mounts and re-copies the sample apps.
#
# Usage: tests/testbed/provision.sh [--force | --unmount]
#   --force    rebuild the rootfs even if the cache stamp matches
#   --unmount  unmount proc/dev/shm mounts under the rootfs and exit
#
# Environment:
#   WAND_TESTBED         cache directory (default /var/cache/wand-testbed)
#   WAND_TESTBED_MIRROR  override the Debian mirror URL (default: the host's
#                        apt configuration's Debian URI, suite swapped for sid)
#   WAND_TESTBED_KEYRING keyring for sid's Release file (default: the host's
#                        /usr/share/keyrings/debian-archive-keyring.gpg)
#
# Outputs:
#   $WAND_TESTBED/rootfs                      the rootfs (chroot into it)
#   $WAND_TESTBED/rootfs/.wand-testbed.json   versions and paths
#   $WAND_TESTBED/rootfs/usr/bin/python3.1X-host  host-runnable copies
#   $WAND_TESTBED/rootfs/srv/apps/            copy of tests/testbed/apps
#   stdout: one line "testbed ready: ..."; progress goes to stderr.
set -euo pipefail

SCRIPT_VERSION=2
PY_VERSIONS=(3.13 3.14 3.15)
PACKAGES=(
  python3
  python3.13 python3.13-minimal libpython3.13-minimal libpython3.13-stdlib
  python3.14 python3.14-minimal libpython3.14-minimal libpython3.14-stdlib
  python3.15 python3.15-minimal libpython3.15-minimal libpython3.15-stdlib
  python3-debugpy python3-uvicorn python3-fastapi python3-starlette
  python3-flask python3-werkzeug python3-gunicorn python3-django
  python3-watchfiles python3-httpx
  dash
)

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TESTBED_COMPONENT=testbed
# shellcheck source=rootfs-lib.sh
source "$HERE/rootfs-lib.sh"
# shellcheck source=apt-private.sh
source "$HERE/apt-private.sh"
TB="${WAND_TESTBED:-/var/cache/wand-testbed}"
ROOTFS="$TB/rootfs"
APTDIR="$TB/apt"
STAMP="$TB/stamp"
MULTIARCH=x86_64-linux-gnu
LOADER="$ROOTFS/usr/lib/$MULTIARCH/ld-linux-x86-64.so.2"

MODE=provision
case "${1:-}" in
  "") ;;
  --force) MODE=force ;;
  --unmount) MODE=unmount ;;
  -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 0 ;;
  *) die "unknown argument: $1 (try --help)" ;;
esac

require_root_on_x86_64

mkdir -p "$TB"
# One provisioner at a time (tests may call us concurrently).
exec 9>"$TB/.lock"
flock 9

KEY=$( { echo "script-version=$SCRIPT_VERSION"; printf '%s\n' "${PACKAGES[@]}"; } | sha256sum | cut -d' ' -f1)

# ---------------------------------------------------------------- mounts ----
# Mount points below ROOTFS, from /proc/self/mountinfo (octal escapes decoded).
mounts_under_rootfs() {
  local real
  real=$(realpath -m "$ROOTFS")
  awk '{print $5}' /proc/self/mountinfo | while IFS= read -r mp; do
    mp=$(printf '%b' "$mp")
    # An if, not `[[ ]] && echo`: a last line that does not match must not end the loop with status 1
    # (under pipefail and errexit that ended every --force run whose rootfs existed).
    if [[ $mp == "$real" || $mp == "$real"/* ]]; then echo "$mp"; fi
  done
}

is_mounted() { mounts_under_rootfs | grep -qxF "$(realpath -m "$1")"; }

unmount_all() {
  local mp
  # Deepest first.
  mounts_under_rootfs | sort -r | while IFS= read -r mp; do
    log "unmounting $mp"
    umount "$mp" 2>/dev/null || umount -l "$mp"
  done
}

ensure_mounts() {
  mkdir -p "$ROOTFS/proc" "$ROOTFS/dev/shm" "$ROOTFS/dev/pts"
  if ! is_mounted "$ROOTFS/proc"; then
    mount -t proc proc "$ROOTFS/proc" || die "cannot mount proc in $ROOTFS/proc"
  fi
  if ! is_mounted "$ROOTFS/dev/shm"; then
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$ROOTFS/dev/shm" \
      || die "cannot mount tmpfs on $ROOTFS/dev/shm"
  fi
  ensure_devnode "$ROOTFS" null 1 3
  ensure_devnode "$ROOTFS" zero 1 5
  ensure_devnode "$ROOTFS" full 1 7
  ensure_devnode "$ROOTFS" random 1 8
  ensure_devnode "$ROOTFS" urandom 1 9
  ensure_devnode "$ROOTFS" tty 5 0
  local l
  for l in fd:/proc/self/fd stdin:/proc/self/fd/0 stdout:/proc/self/fd/1 stderr:/proc/self/fd/2; do
    [[ -L $ROOTFS/dev/${l%%:*} ]] || ln -sfn "${l#*:}" "$ROOTFS/dev/${l%%:*}"
  done
}

if [[ $MODE == unmount ]]; then
  [[ -d $ROOTFS ]] && unmount_all
  exit 0
fi

# ------------------------------------------------------------- fast path ----
rootfs_intact() {
  [[ -f $STAMP && $(cat "$STAMP") == "$KEY" ]] || return 1
  [[ -f $ROOTFS/.wand-testbed.json && -x $LOADER ]] || return 1
  [[ -d $ROOTFS/usr/lib/python3/dist-packages/debugpy ]] || return 1
  local v
  for v in "${PY_VERSIONS[@]}"; do
    [[ -x $ROOTFS/usr/bin/python$v && -x $ROOTFS/usr/bin/python$v-host ]] || return 1
  done
  "$ROOTFS/usr/bin/python3.14-host" -S -c 'pass' 2>/dev/null || return 1
}

summary_line() {
  cat "$TB/summary"
}

if [[ $MODE != force ]] && rootfs_intact; then
  ensure_mounts
  copy_apps "$ROOTFS"
  summary_line
  exit 0
fi

# ------------------------------------------------------------ full build ----
log "provisioning $ROOTFS (cache key ${KEY:0:12}, mode $MODE)"

log "apt-get update (sid)"
private_apt "$APTDIR" sid

log "resolving dependencies"
apt-get -s install "${PACKAGES[@]}" >"$APTDIR/log/resolve.log" 2>&1 \
  || { cat "$APTDIR/log/resolve.log" >&2; die "dependency resolution failed"; }
# "Inst NAME (VERSION SUITE [ARCH])"
mapfile -t INST < <(sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) .*\[\([^]]*\)\]).*/\1 \2 \3/p' "$APTDIR/log/resolve.log")
((${#INST[@]} > 0)) || die "resolver selected no packages (see $APTDIR/log/resolve.log)"
log "${#INST[@]} packages resolved; downloading (cached in $APTDIR/cache/archives)"
apt-get -q install --download-only "${PACKAGES[@]}" >"$APTDIR/log/download.log" 2>&1 \
  || { tail -n 30 "$APTDIR/log/download.log" >&2; die "download failed"; }

DEBS=()
for line in "${INST[@]}"; do
  read -r name ver arch <<<"$line"
  f="$APTDIR/cache/archives/${name}_${ver//:/%3a}_${arch}.deb"
  [[ -f $f ]] || die "downloaded package missing: $f"
  DEBS+=("$f")
done
# Drop .debs of older sid snapshots so the cache does not grow forever.
declare -A KEEP=()
for f in "${DEBS[@]}"; do KEEP[$f]=1; done
for f in "$APTDIR"/cache/archives/*.deb; do
  [[ -n ${KEEP[$f]:-} ]] || rm -f "$f"
done

# Fresh rootfs: unmount first, never cross filesystems while deleting.
rm -f "$STAMP"
if [[ -e $ROOTFS ]]; then
  unmount_all
  mounts_under_rootfs | grep -q . && die "could not unmount everything under $ROOTFS"
  log "removing old rootfs"
  rm -rf --one-file-system "$ROOTFS"
fi
log "extracting ${#DEBS[@]} packages"
unpack_debs "$ROOTFS" "${DEBS[@]}"
[[ -x $LOADER ]] || die "no dynamic loader at $LOADER after extraction"

# Minimal system files.
mkdir -p "$ROOTFS"/{tmp,proc,dev/shm,dev/pts,etc,root,srv,run,var/tmp}
chmod 1777 "$ROOTFS/tmp" "$ROOTFS/var/tmp"
touch "$ROOTFS/etc/passwd" "$ROOTFS/etc/group"
grep -q '^root:' "$ROOTFS/etc/passwd" || echo 'root:x:0:0:root:/root:/bin/sh' >>"$ROOTFS/etc/passwd"
grep -q '^nobody:' "$ROOTFS/etc/passwd" || echo 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin' >>"$ROOTFS/etc/passwd"
grep -q '^root:' "$ROOTFS/etc/group" || echo 'root:x:0:' >>"$ROOTFS/etc/group"
grep -q '^nogroup:' "$ROOTFS/etc/group" || echo 'nogroup:x:65534:' >>"$ROOTFS/etc/group"
[[ -s $ROOTFS/etc/hosts ]] || printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$ROOTFS/etc/hosts"
[[ -e $ROOTFS/usr/bin/python3 ]] || ln -sfn python3.14 "$ROOTFS/usr/bin/python3"
[[ -e $ROOTFS/usr/bin/sh ]] || ln -sfn dash "$ROOTFS/usr/bin/sh"
for v in "${PY_VERSIONS[@]}"; do
  [[ -x $ROOTFS/usr/bin/python$v ]] || die "python$v missing from the rootfs"
done

ensure_mounts

# Byte-compile: dpkg -x writes no .pyc and the environment may forbid writing them.
# One compileall per version, run side by side (each writes its own
# cpython-3XX .pyc names; no -j inside, multiprocessing is not needed).
log "byte-compiling for python${PY_VERSIONS[*]}"
declare -A COMPILE_PID=()
for v in "${PY_VERSIONS[@]}"; do
  env -u PYTHONDONTWRITEBYTECODE chroot "$ROOTFS" "/usr/bin/python$v" -m compileall -q \
    "/usr/lib/python$v" /usr/lib/python3/dist-packages >"$APTDIR/log/compileall-$v.log" 2>&1 &
  COMPILE_PID[$v]=$!
done
for v in "${PY_VERSIONS[@]}"; do
  if ! wait "${COMPILE_PID[$v]}"; then
    log "compileall for python$v reported errors (expected for syntax a version lacks):" \
      "$(grep -c '^\*\*\*' "$APTDIR/log/compileall-$v.log" || true) file(s), see $APTDIR/log/compileall-$v.log"
  fi
done

# Host-runnable copies: the rootfs's interpreter with the rootfs's loader and libs.
if ! command -v patchelf >/dev/null; then
  log "installing patchelf on the host"
  env -u APT_CONFIG apt-get install -y -q patchelf >/dev/null 2>&1 \
    || { env -u APT_CONFIG apt-get update -q >/dev/null 2>&1 && env -u APT_CONFIG apt-get install -y -q patchelf >/dev/null 2>&1; } \
    || die "could not install patchelf"
fi
for v in "${PY_VERSIONS[@]}"; do
  host="$ROOTFS/usr/bin/python$v-host"
  cp "$(realpath "$ROOTFS/usr/bin/python$v")" "$host.tmp"
  patchelf --set-interpreter "$LOADER" --force-rpath --set-rpath "$ROOTFS/usr/lib/$MULTIARCH" "$host.tmp"
  mv "$host.tmp" "$host"
done

# Checks and versions.
log "checking interpreters"
declare -A PYVER=()
for v in "${PY_VERSIONS[@]}"; do
  PYVER[$v]=$(chroot "$ROOTFS" "/usr/bin/python$v" -c 'import platform; print(platform.python_version())') \
    || die "python$v does not start in the chroot"
  hv=$(env -u PYTHONHOME -u PYTHONPATH "$ROOTFS/usr/bin/python$v-host" -c 'import sys, platform; print(platform.python_version(), sys.prefix)') \
    || die "python$v-host does not start on the host"
  [[ $hv == "${PYVER[$v]} $ROOTFS/usr" ]] \
    || die "python$v-host: expected '${PYVER[$v]} $ROOTFS/usr', got '$hv'"
  if ! chroot "$ROOTFS" "/usr/bin/python$v" -c 'import debugpy' 2>/dev/null; then
    warn "python$v in the chroot cannot import debugpy"
  fi
done
DEBUGPY=$(env -u PYTHONHOME -u PYTHONPATH "$ROOTFS/usr/bin/python3.14-host" -c 'import debugpy, uvicorn, fastapi; print(debugpy.__version__)') \
  || die "python3.14-host cannot import debugpy, uvicorn, fastapi"

{
  printf '{\n  "rootfs": "%s",\n  "pythons": {\n' "$ROOTFS"
  sep=""
  for v in "${PY_VERSIONS[@]}"; do
    printf '%s    "%s": {"version": "%s", "path": "/usr/bin/python%s", "host_path": "%s"}' \
      "$sep" "$v" "${PYVER[$v]}" "$v" "$ROOTFS/usr/bin/python$v-host"
    sep=$',\n'
  done
  printf '\n  },\n  "debugpy": "%s"\n}\n' "$DEBUGPY"
} >"$ROOTFS/.wand-testbed.json"

{
  printf 'testbed ready: %s (' "$ROOTFS"
  for v in "${PY_VERSIONS[@]}"; do printf 'python%s %s, ' "$v" "${PYVER[$v]}"; done
  printf 'debugpy %s)\n' "$DEBUGPY"
} >"$TB/summary"

copy_apps "$ROOTFS"
echo "$KEY" >"$STAMP"
log "done ($(du -sh --one-file-system "$ROOTFS" | cut -f1))"
summary_line
