#!/usr/bin/env bash
# Set up ECL and analyze a codebase for a migration on the embedded defaults: a SQLite
# Dagster instance in .dagster_home/ and, unless ANTHROPIC_API_KEY is set, the offline
# provider. Prints the absolute path of the deliverables folder last.
#   bash scripts/analyze.sh                              # ECL's own repository, to Rust
#   bash scripts/analyze.sh PATH --target Go [--name N] [--intended-use TEXT] [--new-code PATH]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DAGSTER_HOME="${DAGSTER_HOME:-$PWD/.dagster_home}"
mkdir -p "$DAGSTER_HOME"
[ -f "$DAGSTER_HOME/dagster.yaml" ] || cp dagster.yaml "$DAGSTER_HOME/dagster.yaml"
[ "$#" -gt 0 ] || set -- . --target Rust --name ecl
exec .venv/bin/ecl analyze "$@"
