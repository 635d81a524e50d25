#!/usr/bin/env bash
# Set up ECL and run a workflow job on the embedded defaults: a SQLite Dagster instance in
# .dagster_home/ and, unless ANTHROPIC_API_KEY is set, the offline provider.
#   bash scripts/run.sh                       # critique_revise with examples/critique_revise.yaml
#   bash scripts/run.sh summarize_document    # another workflow, with examples/<id>.yaml
# Further arguments go to `dagster job execute` (e.g. -c another-config.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DAGSTER_HOME="${DAGSTER_HOME:-$PWD/.dagster_home}"
mkdir -p "$DAGSTER_HOME"
[ -f "$DAGSTER_HOME/dagster.yaml" ] || cp dagster.yaml "$DAGSTER_HOME/dagster.yaml"
job=critique_revise
if [ "$#" -gt 0 ] && [ -f "workflows/$1.yaml" ]; then
  job="$1"
  shift
fi
config=(-c "examples/$job.yaml")
[ "$#" -gt 0 ] && config=("$@")
exec .venv/bin/dagster job execute -m ecl_dagster -j "$job" "${config[@]}"
