# Sourced by provision.sh and oldpythons.sh: what both do to build and keep a Python rootfs
# (logging, the host checks, unpacking .debs into a merged-/usr tree, device nodes, the sample apps).
# Set TESTBED_COMPONENT (the log tag) before sourcing; then source apt-private.sh, which uses log/warn/die.

T0=${EPOCHREALTIME/[.,]/}
log() {
  local ms=$(( (${EPOCHREALTIME/[.,]/} - T0) / 1000 ))
  printf '%s +%d.%03ds [%s] %s\n' "$(date +%H:%M:%S)" $((ms / 1000)) $((ms % 1000)) "$TESTBED_COMPONENT" "$*" >&2
}
warn() { log "WARNING: $*"; }
die() { log "ERROR: $*"; exit 1; }

require_root_on_x86_64() {
  [[ $(id -u) -eq 0 ]] || die "must run as root (chroot, mount, dpkg -x ownership)"
  [[ $(uname -m) == x86_64 ]] || die "only x86_64 hosts are supported"
}

# A fresh merged-/usr tree in ROOTFS (which must not exist or be empty) with the given .debs unpacked;
# a package whose data has a real /bin, /lib... (older suites are not merged-/usr) is folded into /usr.
unpack_debs() { # rootfs deb...
  local rootfs="$1" d f
  shift
  mkdir -p "$rootfs"/usr/{bin,sbin,lib,lib64}
  for d in bin sbin lib lib64; do ln -sfn "usr/$d" "$rootfs/$d"; done
  for f in "$@"; do dpkg-deb -x "$f" "$rootfs"; done
  for d in bin sbin lib lib64; do
    if [[ -d $rootfs/$d && ! -L $rootfs/$d ]]; then
      cp -a "$rootfs/$d/." "$rootfs/usr/$d/"
      rm -rf "${rootfs:?}/$d"
    fi
    [[ -L $rootfs/$d ]] || ln -sfn "usr/$d" "$rootfs/$d"
  done
}

# A character device in ROOTFS/dev; where mknod is refused (a nodev filesystem, a restricted sandbox) the host's node is bound.
ensure_devnode() { # rootfs name major minor
  local p="$1/dev/$2"
  [[ -c $p ]] && return 0
  rm -f "$p"
  if ! mknod -m 666 "$p" c "$3" "$4" 2>/dev/null; then
    : >"$p"
    mount --bind "/dev/$2" "$p"
  fi
}

# tests/testbed/apps copied to ROOTFS/srv/apps (replaced whole: an app removed here is gone there too).
copy_apps() { # rootfs
  local src="$HERE/apps" dst="$1/srv/apps"
  [[ -d $src ]] || { warn "no $src; skipping app copy"; return 0; }
  mkdir -p "$1/srv"
  rm -rf "$dst.new" "$dst.old"
  cp -r "$src" "$dst.new"
  find "$dst.new" -name __pycache__ -type d -prune -exec rm -rf {} +
  chmod -R a+rX "$dst.new"
  [[ -e $dst ]] && mv "$dst" "$dst.old"
  mv "$dst.new" "$dst"
  rm -rf "$dst.old"
}
