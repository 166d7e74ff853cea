#!/usr/bin/env bash
# npm test: installs what is missing, runs the static checks, then the test
# runner (a fresh stack on free ports, unit + pgTAP + integration tests, the
# stack stopped at the end). Ends with one line "N passed, N failed, N skipped".
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

APT_PACKAGES=(postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl chromium)
missing=()
command -v pg_prove >/dev/null || missing+=(libtap-parser-sourcehandler-pgtap-perl)
ls /usr/share/postgresql/*/extension/pgtap.control >/dev/null 2>&1 || missing+=(postgresql-15-pgtap)
command -v chromium >/dev/null || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: apt-get install ${missing[*]}" >&2
    step apt-get update -qq >&2 || true
    DEBIAN_FRONTEND=noninteractive step apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  else
    echo "setup: missing ${missing[*]} (install the Debian packages: ${APT_PACKAGES[*]});" \
      "the tests that need them are reported as failed" >&2
  fi
fi

step deno install --frozen --quiet >&2
check_failed=0
echo "== deno task check (fmt, lint, type check)"
if ! step deno task check; then
  check_failed=1
  echo "deno task check FAILED" >&2
fi
STOWAGE_CHECK_FAILED=$check_failed exec deno run -A --frozen stack/test-runner.ts "$@"
