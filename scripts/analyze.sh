#!/usr/bin/env bash
# Set up ECL and analyze a codebase for a migration on the embedded defaults: a SQLite
# Dagster instance in .dagster_home/ and, unless ANTHROPIC_API_KEY is set, the offline
# provider. Prints the absolute path of the deliverables folder last.
#   bash scripts/analyze.sh                              # ECL's own repository, to Rust
#   bash scripts/analyze.sh PATH --target Go [--name N] [--intended-use TEXT] [--new-code PATH]
#   ECL_PROVIDER=anthropic ECL_MODEL=claude-sonnet-4-6 bash scripts/analyze.sh   # another LLM
# ECL_PROVIDER, ECL_MODEL and ECL_CONTEXT_WINDOW_TOKENS, when set, are passed as
# --provider, --model and --context-window-tokens; the same options given as arguments win.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DAGSTER_HOME="${DAGSTER_HOME:-$PWD/.dagster_home}"
mkdir -p "$DAGSTER_HOME"
[ -f "$DAGSTER_HOME/dagster.yaml" ] || cp dagster.yaml "$DAGSTER_HOME/dagster.yaml"
[ "$#" -gt 0 ] || set -- . --target Rust --name ecl
llm=()
[ -z "${ECL_PROVIDER:-}" ] || llm+=(--provider "$ECL_PROVIDER")
[ -z "${ECL_MODEL:-}" ] || llm+=(--model "$ECL_MODEL")
[ -z "${ECL_CONTEXT_WINDOW_TOKENS:-}" ] ||
  llm+=(--context-window-tokens "$ECL_CONTEXT_WINDOW_TOKENS")
# Before the arguments, so that an option given as an argument comes later and wins.
exec .venv/bin/ecl analyze ${llm[@]+"${llm[@]}"} "$@"
