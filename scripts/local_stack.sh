#!/usr/bin/env bash
# Run ECL's deployment without Docker: a throwaway Postgres, the code server (gRPC), the
# webserver and the daemon on 127.0.0.1. Prints the UI address; Ctrl-C stops everything.
# Arguments go to `python -m ecl_dagster.stack.local` (--home, --web-port, --postgres-url).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m ecl_dagster.stack.local "$@"
