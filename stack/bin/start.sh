#!/usr/bin/env bash
# npm start: installs the tools, then runs the local stack in the foreground.
# STOWAGE_PORT (54321) and STOWAGE_DB_PORT (54322) choose the ports.
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
deno install --quiet >&2
# The example page served at /examples/web/ (a failed build leaves the stack usable).
deno run -A examples/web/build.ts >&2 || echo "start: the example page did not build" >&2
exec deno run -A stack/main.ts
