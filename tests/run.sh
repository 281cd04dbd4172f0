#!/usr/bin/env bash
# Sets up everything the tests need on a fresh machine (the testbed rootfs with real Pythons),
# builds wand, runs every test tier and prints a last line "N passed, N failed[, N skipped]".
set -uo pipefail
cd "$(dirname "$0")/.."
results=artifacts/test-results
rm -rf "$results"
mkdir -p "$results"

summary() { # passed failed skipped
  if [ "$3" -gt 0 ]; then echo "$1 passed, $2 failed, $3 skipped"; else echo "$1 passed, $2 failed"; fi
}

# The real components the end-to-end tests use, installed one after another (apt's lock does not
# let test fixtures install them in parallel); each script is idempotent and fast when done.
for script in provision.sh oldpythons.sh podman.sh slurm.sh sshd.sh; do
  if ! "tests/testbed/$script" >/dev/null; then
    echo "tests/testbed/$script failed" >&2
    summary 0 1 0
    exit 1
  fi
done
# The Kubernetes tests run the machine's real kubectl against the test API server (tests/Wand.Testing.KubeApi).
if ! command -v kubectl >/dev/null; then
  echo "kubectl is not on PATH: the Kubernetes tests need the real kubectl client (1.32, on the machine image; https://kubernetes.io/docs/tasks/tools/)" >&2
  summary 0 1 0
  exit 1
fi
# Leftovers of an earlier, interrupted run would fail the "nothing left behind" checks of this one.
rm -rf "${WAND_TESTBED:-/var/cache/wand-testbed}"/rootfs/tmp/wand-*
if ! dotnet build Wand.slnx -c Release > "$results/build.log" 2>&1; then
  tail -n 40 "$results/build.log" >&2
  echo "build failed" >&2
  summary 0 1 0
  exit 1
fi

# The end-to-end tests run wand and rdg as users get them on linux-x64, as NativeAOT executables, published
# once here (tests/Wand.Tests.EndToEnd/Infrastructure/TestedTool.cs). NativeAOT links with clang or gcc.
if ! command -v clang >/dev/null && ! command -v gcc >/dev/null; then
  { apt-get update -qq && apt-get install -y -qq gcc libc6-dev binutils; } > "$results/linker.log" 2>&1 || { echo "installing gcc (NativeAOT's linker) failed" >&2; summary 0 1 0; exit 1; }
fi
rm -rf artifacts/aot
for project in src/Wand.Cli src/Rdg.Cli; do
  if ! dotnet publish "$project" -c Release -r linux-x64 -o artifacts/aot >> "$results/publish.log" 2>&1; then
    tail -n 40 "$results/publish.log" >&2
    echo "NativeAOT publish of $project failed" >&2
    summary 0 1 0
    exit 1
  fi
done
export WAND_TEST_AOT_DIR="$PWD/artifacts/aot"

dotnet test Wand.slnx -c Release --no-build --results-directory "$results" \
  --logger "trx" --logger "console;verbosity=normal" "$@"
status=$?

# dotnet test prints no closing line CI recognises: add the counts from the TRX files.
passed=0 failed=0 skipped=0 files=0
for trx in "$results"/*.trx; do
  [ -e "$trx" ] || continue
  files=$((files + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  get() { echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  total=$(get total) executed=$(get executed) p=$(get passed) f=$(get failed) e=$(get error) t=$(get timeout) a=$(get aborted)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0} + ${e:-0} + ${t:-0} + ${a:-0}))
  skipped=$((skipped + ${total:-0} - ${executed:-0}))
done
if [ "$files" -eq 0 ] || { [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; }; then
  echo "dotnet test exited with $status without reporting a failed test" >&2
  failed=$((failed + 1))
fi
summary "$passed" "$failed" "$skipped"
[ "$failed" -eq 0 ]
