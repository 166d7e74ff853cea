#!/usr/bin/env bash
# npm start: installs the tools, then runs the local stack in the foreground.
# STOWAGE_PORT (54321), STOWAGE_DB_PORT (54322) and STOWAGE_INTERNAL_PORT
# (STOWAGE_PORT + 10, then one port per function) choose the ports.
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
# --frozen: the committed deno.lock is complete; a fresh clone must not rewrite it.
step deno install --frozen --quiet >&2
# The example page served at /examples/web/ (a failed build leaves the stack usable).
step deno run -A --frozen examples/web/build.ts >&2 || echo "start: the example page did not build" >&2
exec deno run -A --frozen stack/main.ts
