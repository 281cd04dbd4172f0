#!/usr/bin/env bash
# A real sshd on 127.0.0.1 for rdg tunnel's end-to-end tests (../shared/design/TESTBED.md, "SSH, real"): installs
# openssh-server when missing, and starts one sshd with its own host key, a client key that it
# accepts for root, TCP forwarding allowed and RDG_* variables accepted. Idempotent and cached.
#
# Usage: tests/testbed/sshd.sh [--stop]
# Environment: WAND_TESTBED (default /var/cache/wand-testbed); state in $WAND_TESTBED/sshd.
# Output: one line on stdout, "PORT=N KEY=/path/client_key"; progress goes to stderr.
set -euo pipefail

TB="${WAND_TESTBED:-/var/cache/wand-testbed}"
DIR="$TB/sshd"
PORT=22022
log() { printf '%s [sshd] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root"
mkdir -p "$DIR"
exec 9>"$DIR/.lock"
flock 9
alive() { [[ -s $DIR/sshd.pid ]] && kill -0 "$(cat "$DIR/sshd.pid")" 2>/dev/null; }

if [[ ${1:-} == --stop ]]; then alive && kill "$(cat "$DIR/sshd.pid")"; exit 0; fi

if [[ ! -x /usr/sbin/sshd ]]; then
  log "installing openssh-server"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends openssh-server >&2; then
    apt-get update -q >&2
    apt-get install -y -q --no-install-recommends openssh-server >&2
  fi
fi
[[ -s $DIR/host_key ]] || ssh-keygen -q -t ed25519 -N '' -f "$DIR/host_key"
[[ -s $DIR/client_key ]] || ssh-keygen -q -t ed25519 -N '' -f "$DIR/client_key"
cp "$DIR/client_key.pub" "$DIR/authorized_keys"
chmod 0600 "$DIR/authorized_keys" "$DIR/client_key"
mkdir -p /run/sshd
cat > "$DIR/sshd_config.new" <<CONF
Port $PORT
ListenAddress 127.0.0.1
HostKey $DIR/host_key
PidFile $DIR/sshd.pid
AuthorizedKeysFile $DIR/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding yes
AcceptEnv RDG_*
Subsystem sftp internal-sftp
CONF
if ! cmp -s "$DIR/sshd_config.new" "$DIR/sshd_config"; then
  mv "$DIR/sshd_config.new" "$DIR/sshd_config"
  alive && kill "$(cat "$DIR/sshd.pid")" && sleep 0.3 || true
else
  rm -f "$DIR/sshd_config.new"
fi
if ! alive; then
  log "starting sshd on 127.0.0.1:$PORT"
  /usr/sbin/sshd -f "$DIR/sshd_config" -E "$DIR/sshd.log" 9>&-
  for _ in $(seq 100); do alive && break; sleep 0.05; done
  alive || die "sshd did not start; see $DIR/sshd.log"
fi
echo "PORT=$PORT KEY=$DIR/client_key"
