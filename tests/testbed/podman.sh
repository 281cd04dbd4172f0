#!/usr/bin/env bash
# Installs podman with runc (crun refuses this machine's cgroup layout) and writes the
# containers.conf the tests point CONTAINERS_CONF at: runc, cgroupfs, and no default ulimits (the
# sandbox cannot raise RLIMIT_NOFILE/NPROC). Idempotent; prints the path of containers.conf.
set -euo pipefail
WAND_TESTBED=${WAND_TESTBED:-/var/cache/wand-testbed}
conf="$WAND_TESTBED/containers.conf"
if ! command -v podman >/dev/null || ! command -v runc >/dev/null; then
  echo "podman.sh: installing podman and runc" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman runc >&2 \
    || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman runc >&2; }
fi
mkdir -p "$WAND_TESTBED"
cat > "$conf.tmp" <<'CONF'
[containers]
default_ulimits = []

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
CONF
mv "$conf.tmp" "$conf"
echo "$conf"
