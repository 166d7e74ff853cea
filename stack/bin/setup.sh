# Sourced by start.sh and test.sh: installs the pinned tools (Deno, the Supabase
# CLI, Node-only test tools) from tools/package-lock.json and puts them on PATH.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
if [ ! -x tools/node_modules/.bin/deno ] || [ ! -x tools/node_modules/.bin/supabase ] \
  || [ tools/package-lock.json -nt tools/node_modules/.package-lock.json ]; then
  # Not `npm ci`: this registry lacks the other platforms' optional binary
  # packages, so the lock can never list them and `npm ci` calls it out of sync.
  # Versions are exact in tools/package.json and the lock is not rewritten.
  echo "setup: installing tools (npm install --prefix tools)" >&2
  npm install --prefix tools --no-audit --no-fund --no-save --loglevel=error >&2
fi
export PATH="$ROOT/tools/node_modules/.bin:$PATH"
export NO_COLOR=1 SUPABASE_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
