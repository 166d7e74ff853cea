# Sourced by start.sh and test.sh: installs the pinned tools (Deno, the Supabase
# CLI, Node-only test tools) from tools/package-lock.json and puts them on PATH.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
if [ ! -x tools/node_modules/.bin/deno ] || [ ! -x tools/node_modules/.bin/supabase ] \
  || [ tools/package-lock.json -nt tools/node_modules/.package-lock.json ]; then
  echo "setup: installing tools (npm ci --prefix tools)" >&2
  npm ci --prefix tools --no-audit --no-fund --loglevel=error >&2
fi
export PATH="$ROOT/tools/node_modules/.bin:$PATH"
export NO_COLOR=1 SUPABASE_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
