#!/usr/bin/env bash
# Create .venv with Python 3.11 to 3.13 and install ECL into it (editable), with extras "$@";
# with the dev extra, also the example step package examples/translate (the tests run it).
# Sourced by run.sh and test.sh; safe to run again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python_bin=$(command -v python3.11 || command -v python3.12 || command -v python3.13 \
  || command -v python3 || true)
if [ -z "$python_bin" ] \
    || ! "$python_bin" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))'; then
  echo "ECL needs Python 3.11, 3.12 or 3.13 (python3.11 ... or python3 on PATH)" >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$python_bin" -m venv .venv
extras=${1:-}
log=.venv/setup.log
echo "setup: installing ECL${extras:+ with its $extras extra} and its dependencies into .venv" \
  "(pip's log: $log)" >&2
started=$SECONDS
packages=(-e ".${extras:+[$extras]}")
[ "$extras" = dev ] && packages+=(-e examples/translate)
if ! .venv/bin/python -m pip install --disable-pip-version-check "${packages[@]}" \
    > "$log" 2>&1; then
  cat "$log" >&2
  echo "installing ECL failed; the log above is also in $log" >&2
  exit 1
fi
echo "setup: done in $((SECONDS - started)) s" >&2
