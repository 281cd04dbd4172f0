#!/usr/bin/env bash
# The main job on a fresh machine: provisions the testbed (real Python 3.14 in a rootfs of its own),
# starts the bundled FastAPI sample under uvicorn there, runs `wand debug` on it, and acts as an
# editor would: breakpoint, request, stopped frame, locals, evaluate, continue.
set -euo pipefail
cd "$(dirname "$0")"
if [ "$(id -u)" -ne 0 ]; then
  echo "demo.sh needs root (it builds a chroot with /proc mounted for the sample app): run it with sudo" >&2
  exit 1
fi
tests/testbed/provision.sh >/dev/null
dotnet build samples/Wand.Demo -c Release -v quiet -nologo 2>&1 | grep -E "error|warn" || true
exec dotnet samples/Wand.Demo/bin/Release/net10.0/Wand.Demo.dll
