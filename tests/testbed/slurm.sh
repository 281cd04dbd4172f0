#!/usr/bin/env bash
# A real single-node Slurm for rdg's end-to-end tests (../shared/design/TESTBED.md, "Slurm, single node, real"):
# installs slurm-wlm and munge from Debian when missing, starts munged (as the munge user),
# slurmctld and slurmd with a minimal configuration, and waits until the node is idle.
# Idempotent and cached: a second run only checks that the daemons answer (well under a second).
#
# Usage: tests/testbed/slurm.sh [--stop]
# Environment: WAND_TESTBED (default /var/cache/wand-testbed); the state lives in $WAND_TESTBED/slurm.
# Output: one line on stdout, "SLURM_CONF=/path/slurm.conf"; progress goes to stderr.
set -euo pipefail

TB="${WAND_TESTBED:-/var/cache/wand-testbed}"
DIR="$TB/slurm"
CONF="$DIR/slurm.conf"
log() { printf '%s [slurm] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (daemons, apt-get)"
mkdir -p "$DIR"
exec 9>"$DIR/.lock"
flock 9

alive() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

if [[ ${1:-} == --stop ]]; then
  for p in slurmd slurmctld; do alive "$DIR/$p.pid" && kill "$(cat "$DIR/$p.pid")" || true; done
  exit 0
fi

# ------------------------------------------------------------------ packages ----
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null || ! command -v srun >/dev/null; then
  log "installing slurm-wlm and munge"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends slurm-wlm munge >&2; then
    apt-get update -q >&2
    apt-get install -y -q --no-install-recommends slurm-wlm munge >&2
  fi
fi

# --------------------------------------------------------------------- munge ----
if [[ ! -s /etc/munge/munge.key ]]; then
  log "creating a munge key"
  mkdir -p /etc/munge
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown munge:munge /etc/munge /etc/munge/munge.key
chmod 0700 /etc/munge
chmod 0400 /etc/munge/munge.key
mkdir -p /run/munge /var/lib/munge /var/log/munge
chown munge:munge /run/munge /var/lib/munge /var/log/munge
chmod 0755 /run/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  log "starting munged"
  runuser -u munge -- /usr/sbin/munged --force 9>&-  # daemons must not inherit the lock
  for _ in $(seq 100); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.05; done
  munge -n | unmunge >/dev/null || die "munged does not answer"
fi

# --------------------------------------------------------------------- slurm ----
CPUS=$(nproc)
mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log"
cat > "$CONF.new" <<CONF
ClusterName=wandtest
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
SlurmdTimeout=300
InactiveLimit=0
KillWait=5
MinJobAge=300
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$CPUS State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8
CONF
restart=0
if ! cmp -s "$CONF.new" "$CONF"; then mv "$CONF.new" "$CONF"; restart=1; else rm -f "$CONF.new"; fi
export SLURM_CONF="$CONF"

if [[ $restart -eq 1 ]]; then
  for p in slurmd slurmctld; do alive "$DIR/$p.pid" && kill "$(cat "$DIR/$p.pid")" && sleep 0.5 || true; done
fi
if ! alive "$DIR/slurmctld.pid"; then
  log "starting slurmctld"
  slurmctld -f "$CONF" -i 9>&-
fi
if ! alive "$DIR/slurmd.pid"; then
  log "starting slurmd"
  slurmd -f "$CONF" -N localhost 9>&-
fi

state=""
for _ in $(seq 300); do
  state=$(sinfo -h -N -o '%t' 2>/dev/null | head -n1 || true)
  case "$state" in
    idle|mix|alloc) break ;;
    down*|drain*|drng*) scontrol update nodename=localhost state=resume >/dev/null 2>&1 || true ;;
  esac
  sleep 0.1
done
case "$state" in idle|mix|alloc) ;; *) die "the node is not up (state '$state'); see $DIR/log" ;; esac
echo "SLURM_CONF=$CONF"
