#!/usr/bin/env bash
# Set up ECL and run the critique_revise job on the embedded defaults: a SQLite Dagster
# instance in .dagster_home/ and, unless ANTHROPIC_API_KEY is set, the offline provider.
# Extra arguments go to `dagster job execute` (e.g. -c another-config.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DAGSTER_HOME="${DAGSTER_HOME:-$PWD/.dagster_home}"
mkdir -p "$DAGSTER_HOME"
[ -f "$DAGSTER_HOME/dagster.yaml" ] || cp dagster.yaml "$DAGSTER_HOME/dagster.yaml"
config=(-c examples/critique_revise.yaml)
[ "$#" -gt 0 ] && config=("$@")
exec .venv/bin/dagster job execute -m ecl_dagster -j critique_revise "${config[@]}"
