#!/usr/bin/env bash
# Set up ECL with its dev extras and run every check: ruff, mypy (strict on ecl_core), the
# docs build (mkdocs build --strict), pytest.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
# System packages the tests use: PostgreSQL for the durability tests (unless
# ECL_TEST_POSTGRES_URL names a server), docker-compose to validate docker-compose.yml,
# Chromium for the UI tests (driven by Playwright, which downloads no browser), and a C++
# compiler for pip to build llama.cpp's server (the real model's tests) from source.
# Missing ones are installed as root from Debian's packages; without root the tests fail.
missing=()
if [ -z "${ECL_TEST_POSTGRES_URL:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
    && ! command -v initdb >/dev/null; then
  missing+=(postgresql)
fi
command -v docker-compose >/dev/null || missing+=(docker-compose)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v c++ >/dev/null || missing+=(g++)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "installing ${missing[*]} for the tests" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "the tests need: ${missing[*]} (install them, e.g. apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import llama_cpp' 2>/dev/null; then
  echo "installing ECL with its dev tools; the first time pip builds llama.cpp's server from" \
    "source (about 5 minutes on 2 cores, then cached)" >&2
fi
bash scripts/setup.sh dev
.venv/bin/ruff check .
.venv/bin/mypy
# The docs site: a broken link or anchor fails the build; the HTML goes to site/ (git-ignored).
NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --site-dir site
status=0
.venv/bin/pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit "$status"
