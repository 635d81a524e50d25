#!/usr/bin/env bash
# Set up ECL and run a workflow job on the embedded defaults: a SQLite Dagster instance in
# .dagster_home/ and, unless ANTHROPIC_API_KEY is set, the offline provider.
#   bash scripts/run.sh                       # critique_revise with examples/critique_revise.yaml
#   bash scripts/run.sh summarize_document    # another workflow, with examples/<id>.yaml
# Further arguments go to `dg launch` (e.g. -c another-config.yaml, --config-json '{...}').
# `dg launch --job` executes the job in this process on the instance at DAGSTER_HOME, as
# `dagster job execute -m ecl_dagster -j JOB` does (same code path; Dagster 1.13 marks that
# command superseded by `dg launch`), and the job's final step logs the final draft.
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
# dg warns when the active virtual environment is not the project's .venv: this is it.
export VIRTUAL_ENV="$PWD/.venv"
exec .venv/bin/dg launch --job "$job" "${config[@]}"
