#!/usr/bin/env bash
# Every benchmark's quick mode, one after the other: small books, a few samples, a call or two
# on the real telephony stack, results in temporary folders (bench/results/ is left alone).
# Fails if any of them fails, so a benchmark that no longer runs fails CI (.ci/run); the
# figures are not looked at. About three minutes on 2 vCPUs, most of it the real calls.
#
#     bash bench/quick.sh
#
# The real calls (calls.py, reminders.py) need root, as the e2e tests do, and run under
# /tmp/e2e.lock (E2E_LOCK), the lock the e2e tests on a shared machine take: do not run this
# script itself under that lock (a second flock on the same file waits for the first forever).
set -uo pipefail
cd "$(dirname "$0")/.."

lock="${E2E_LOCK:-/tmp/e2e.lock}"
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo -E)

failed=()
summary=()
run() {
  local name="$1"
  shift
  printf '\n== bench quick: %s\n' "$name"
  local began=$SECONDS
  "$@"
  local code=$?
  summary+=("$(printf '%-10s exit %d, %3d s' "$name" "$code" $((SECONDS - began)))")
  [ "$code" -eq 0 ] || failed+=("$name")
}

run store uv run python bench/store.py --quick
run profile uv run python bench/profile_open_times.py --quick
run web uv run python bench/web.py --quick
run calls flock "$lock" "${as_root[@]}" uv run python bench/calls.py --quick
run reminders flock "$lock" "${as_root[@]}" uv run python bench/reminders.py --quick

printf '\n== bench quick: summary\n'
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "failed: ${failed[*]}" >&2
  exit 1
fi
