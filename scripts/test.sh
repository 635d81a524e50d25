#!/usr/bin/env bash
# Set up ECL with its dev extras and run every check: ruff, mypy (strict on ecl_core), pytest.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
# The durability tests start a throwaway PostgreSQL cluster (tests/postgres.py) unless
# ECL_TEST_POSTGRES_URL names a server. Without either they fail; they never skip.
if [ -z "${ECL_TEST_POSTGRES_URL:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
    && ! command -v initdb >/dev/null; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "installing PostgreSQL for the durability tests" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "the tests need PostgreSQL: install it, or set ECL_TEST_POSTGRES_URL" >&2
    exit 1
  fi
fi
.venv/bin/ruff check .
.venv/bin/mypy
status=0
.venv/bin/pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit "$status"
