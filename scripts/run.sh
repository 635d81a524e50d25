#!/usr/bin/env bash
# Set up ECL and run a workflow job on the embedded defaults: a SQLite Dagster instance in
# .dagster_home/ and, unless ANTHROPIC_API_KEY is set, the offline provider.
#   bash scripts/run.sh                       # critique_revise with examples/critique_revise.yaml
#   bash scripts/run.sh summarize_document    # another workflow, with examples/<id>.yaml
#   ECL_PROVIDER=openai_compatible ECL_MODEL=qwen3:8b bash scripts/run.sh   # another LLM
# Further arguments go to `dg launch` (e.g. -c another-config.yaml, --config-json '{...}').
# ECL_PROVIDER, ECL_MODEL and ECL_CONTEXT_WINDOW_TOKENS, when set, are the run config's
# resources.llm.config provider, model and context_window_tokens: one more run config file
# after the others (dg merges -c files, the last one winning), so they override those files.
# `dg launch` takes -c files or --config-json, not both: with --config-json, put them in it.
# `dg launch --job` executes the job in this process on the instance at DAGSTER_HOME, as
# `dagster job execute -m ecl_dagster -j JOB` does (same code path; Dagster 1.13 marks that
# command superseded by `dg launch`), and the job's final step logs the final draft.
# On a terminal, log lines are for a person (ECL_LOG_FORMAT=console; set it to json for JSON
# lines); the run ends with a summary block: run id, status, calls, tokens, cost, next steps.
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
llm_file=""
trap '[ -z "$llm_file" ] || rm -f "$llm_file"' EXIT
if [ -n "${ECL_PROVIDER:-}${ECL_MODEL:-}${ECL_CONTEXT_WINDOW_TOKENS:-}" ]; then
  for arg in "${config[@]}"; do
    case "$arg" in
      --config-json|--config-json=*)
        echo "run.sh: ECL_PROVIDER, ECL_MODEL and ECL_CONTEXT_WINDOW_TOKENS need run config" \
          "files (-c); with --config-json, put resources.llm.config in the JSON instead" >&2
        exit 2 ;;
    esac
  done
  llm_file=$(mktemp "${TMPDIR:-/tmp}/ecl-llm.XXXXXX")
  # Checked as every way in checks them (ecl_dagster.runs.llm_choice); exit 2 naming
  # the variable and the rule when one is refused.
  .venv/bin/python - "$llm_file" <<'PY'
import json
import os
import sys

from ecl_core.errors import ValidationError
from ecl_dagster.runs.llm_choice import llm_choice, with_llm_choice

window = os.environ.get("ECL_CONTEXT_WINDOW_TOKENS") or None
try:
    choice = llm_choice(
        os.environ.get("ECL_PROVIDER") or None,
        os.environ.get("ECL_MODEL") or None,
        int(window) if window is not None and window.isdigit() else window,
        names=("ECL_PROVIDER", "ECL_MODEL", "ECL_CONTEXT_WINDOW_TOKENS"),
    )
except ValidationError as err:
    print(f"run.sh: {err}", file=sys.stderr)
    sys.exit(2)
with open(sys.argv[1], "w", encoding="utf-8") as out:
    json.dump(with_llm_choice({}, choice), out)
PY
  config+=(-c "$llm_file")
fi
# dg warns when the active virtual environment is not the project's .venv: this is it.
export VIRTUAL_ENV="$PWD/.venv"
[ -t 2 ] && export ECL_LOG_FORMAT="${ECL_LOG_FORMAT:-console}"
newest() { .venv/bin/ecl list --workflow "$job" --limit 1 --format quiet; }
before=$(newest)
status=0
.venv/bin/dg launch --job "$job" "${config[@]}" || status=$?
# The run dg launched: the job's newest run, unless dg failed before it made one.
run_id=$(newest)
[ "$run_id" != "$before" ] || run_id=""
if [ -n "$run_id" ]; then
  .venv/bin/ecl status "$run_id" --summary >&2 || true
fi
exit "$status"
