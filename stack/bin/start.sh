#!/usr/bin/env bash
# npm start: installs the tools, then runs the local stack in the foreground.
# STOWAGE_PORT (54321) and STOWAGE_DB_PORT (54322) choose the ports.
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
deno install --quiet >&2
exec deno run -A stack/main.ts
