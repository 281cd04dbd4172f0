#!/usr/bin/env bash
# Provision the interpreters older than PEP 768 that wand attaches to with ptrace: bullseye's
# python3.9 and bookworm's python3.11, each unpacked with its own libc into a rootfs of its own
# (sid's libc is newer than theirs). sid's python3.13 lives in provision.sh's rootfs. Idempotent:
# a second run only checks the rootfs and re-copies the sample apps.
#
# Usage: tests/testbed/oldpythons.sh [--force]
# Environment: WAND_TESTBED, WAND_TESTBED_MIRROR, WAND_TESTBED_KEYRING as for provision.sh.
# Outputs: $WAND_TESTBED/rootfs-3.9, $WAND_TESTBED/rootfs-3.11, rootfs-3.11-slim (the same without
#   libstdc++) (chroot into them, /usr/bin/python3.X;
#   /srv/apps is a copy of tests/testbed/apps); stdout: one line "old pythons ready: ...".
set -euo pipefail

SCRIPT_VERSION=1
# version:suite[:extra,packages], resolved to the suite's current packages at provisioning time.
# bookworm's uWSGI runs Python from libpython3.11.so (embedded Python, reached through that library).
TARGETS=(3.9:bullseye 3.11:bookworm:uwsgi-core,uwsgi-plugin-python3)
# Besides python3.X: dash for /bin/sh, and libstdc++6 for debugpy's attach.so (pydevd loads it to set
# the trace function of threads other than its own before 3.12), as on any ordinary Debian system.
EXTRA=(dash libstdc++6)

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TESTBED_COMPONENT=oldpythons
# shellcheck source=rootfs-lib.sh
source "$HERE/rootfs-lib.sh"
# shellcheck source=apt-private.sh
source "$HERE/apt-private.sh"
TB="${WAND_TESTBED:-/var/cache/wand-testbed}"

FORCE=
case "${1:-}" in
  "") ;;
  --force) FORCE=1 ;;
  *) die "unknown argument: $1" ;;
esac
require_root_on_x86_64
mkdir -p "$TB"
exec 9>"$TB/.lock-oldpythons"
flock 9

# /proc and the few device nodes Python and wand's payloads use (payloads read /proc as the target sees it).
ensure_mounts() { # rootfs
  mkdir -p "$1/proc" "$1/dev"
  mountpoint -q "$1/proc" || mount -t proc proc "$1/proc" || die "cannot mount proc in $1/proc"
  ensure_devnode "$1" null 1 3
  ensure_devnode "$1" zero 1 5
  ensure_devnode "$1" random 1 8
  ensure_devnode "$1" urandom 1 9
}

summary=()
for target in "${TARGETS[@]}"; do
  IFS=: read -r v suite more <<<"$target"
  IFS=, read -r -a packages <<<"$more"
  packages=("python$v" "${EXTRA[@]}" "${packages[@]}")
  rootfs="$TB/rootfs-$v" stamp="$TB/stamp-$v"
  key="$SCRIPT_VERSION $suite ${packages[*]}"
  if [[ -z $FORCE && -f $stamp && $(cat "$stamp") == "$key" ]] && chroot "$rootfs" "/usr/bin/python$v" -S -c pass 2>/dev/null; then
    ensure_mounts "$rootfs"
    copy_apps "$rootfs"
    summary+=("python$v $(cat "$rootfs/.version")")
    continue
  fi
  aptdir="$TB/apt-$suite"
  log "provisioning $rootfs from $suite"
  private_apt "$aptdir" "$suite"
  apt-get -q install --download-only "${packages[@]}" >"$aptdir/log/download.log" 2>&1 \
    || { tail -n 30 "$aptdir/log/download.log" >&2; die "download for $suite failed"; }
  rm -f "$stamp"
  if [[ -d $rootfs/proc ]] && mountpoint -q "$rootfs/proc"; then umount "$rootfs/proc" || umount -l "$rootfs/proc"; fi
  rm -rf --one-file-system "$rootfs"
  # The suite's packages only: the cache holds what apt just chose.
  mapfile -t debs < <(apt-get -s install "${packages[@]}" 2>/dev/null | sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) .*\[\([^]]*\)\]).*/\1_\2_\3.deb/p' \
    | sed "s/:/%3a/; s|^|$aptdir/cache/archives/|")
  unpack_debs "$rootfs" "${debs[@]}"
  mkdir -p "$rootfs"/{tmp,etc,srv}
  chmod 1777 "$rootfs/tmp"
  [[ -e $rootfs/usr/bin/sh ]] || ln -sfn dash "$rootfs/usr/bin/sh"
  echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
  version=$(chroot "$rootfs" "/usr/bin/python$v" -c 'import platform; print(platform.python_version())') \
    || die "python$v does not start in $rootfs"
  echo "$version" >"$rootfs/.version"
  ensure_mounts "$rootfs"
  copy_apps "$rootfs"
  echo "$key" >"$stamp"
  log "python$v $version ready in $rootfs"
  summary+=("python$v $version")
done
# A slim image: bookworm's 3.11 without libstdc++, where pydevd's attach.so cannot load (it traces
# the threads other than its own with it before 3.12). Hard links: a copy in a second, no space.
slim="$TB/rootfs-3.11-slim"
if [[ $(cat "$slim/.stamp" 2>/dev/null) != "$(cat "$TB/stamp-3.11")" ]]; then
  log "making $slim (rootfs-3.11 without libstdc++)"
  if [[ -d $slim/proc ]] && mountpoint -q "$slim/proc"; then umount "$slim/proc" || umount -l "$slim/proc"; fi
  rm -rf --one-file-system "$slim"
  cp -al --one-file-system "$TB/rootfs-3.11" "$slim"
  rm -f "$slim"/usr/lib/x86_64-linux-gnu/libstdc++.so.6*
  cp "$TB/stamp-3.11" "$slim/.stamp"
fi
ensure_mounts "$slim"
copy_apps "$slim"
summary+=("python3.11 without libstdc++")
echo "old pythons ready: ${summary[*]}"
