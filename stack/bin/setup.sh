# Sourced by start.sh and test.sh: installs the pinned tools (Deno, the Supabase
# CLI, Node-only test tools) from tools/package-lock.json and puts them on PATH.
#
# Signals: npm runs these scripts as `exec bash ...` so this shell is npm's own
# child and gets the SIGINT/SIGTERM npm forwards (a plain `sh -c "bash ..."`
# would swallow SIGINT and die on SIGTERM, leaving its children running). Each
# step runs through `step`, so a signal stops the running step and this shell;
# the scripts end by exec'ing Deno, which handles signals itself.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

STEP_PID=
on_signal() {
  trap - INT TERM
  if [ -n "$STEP_PID" ]; then
    kill -TERM "$STEP_PID" 2>/dev/null || true
    wait "$STEP_PID" 2>/dev/null || true
  fi
  echo "setup: stopped by a signal" >&2
  exit 130
}
trap on_signal INT TERM

# Runs one step as a background child and waits for it (bash runs a trap only
# between commands, so a foreground child would delay the signal until it ends).
step() {
  "$@" &
  STEP_PID=$!
  local rc=0
  wait "$STEP_PID" || rc=$?
  STEP_PID=
  return "$rc"
}
if [ ! -x tools/node_modules/.bin/deno ] || [ ! -x tools/node_modules/.bin/supabase ] \
  || [ tools/package-lock.json -nt tools/node_modules/.package-lock.json ]; then
  # Not `npm ci`: this registry lacks the other platforms' optional binary
  # packages, so the lock can never list them and `npm ci` calls it out of sync.
  # Versions are exact in tools/package.json and the lock is not rewritten.
  echo "setup: installing tools (npm install --prefix tools)" >&2
  step npm install --prefix tools --no-audit --no-fund --no-save --loglevel=error >&2
fi
export PATH="$ROOT/tools/node_modules/.bin:$PATH"
export NO_COLOR=1 SUPABASE_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
