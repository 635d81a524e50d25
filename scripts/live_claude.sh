#!/usr/bin/env bash
# A live check of ECL against Claude (Anthropic's Messages API): it bills the key's account.
#   ANTHROPIC_API_KEY=sk-ant-... bash scripts/live_claude.sh
# On a throwaway instance (a new DAGSTER_HOME under the temp folder, kept for inspection):
#   1. ecl run critique_revise --provider anthropic --wait     (2 to 8 calls)
#   2. ecl analyze . --target Rust --provider anthropic --name ecl-live   (this repository)
# then prints each run's state, LLM calls, tokens and cost, the usage ledger's totals, and
# where the deliverables are. ECL_MODEL chooses the model (default: the LLM resource's,
# claude-sonnet-4-6); ECL_LIVE_BUDGET_USD caps what each run may bill (default 10 USD;
# a call that could go past it is not made and its run fails). The key is read from the
# environment by the runs' processes and never written anywhere.
# Exit codes: 0 both runs succeeded, 1 one did not (its status is printed), 2 no key.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${ANTHROPIC_API_KEY:-}" ]; then
  echo "live_claude.sh: set ANTHROPIC_API_KEY to an Anthropic API key; the live check calls" \
    "Claude with it (and bills its account)" >&2
  exit 2
fi
bash scripts/setup.sh
home=$(mktemp -d "${TMPDIR:-/tmp}/ecl-live.XXXXXX")
export DAGSTER_HOME="$home"
cp dagster.yaml "$home/dagster.yaml"
# Deployment settings that would send this check's runs or data elsewhere.
unset ECL_DATABASE_URL ECL_MIGRATION_DIR ECL_WORKFLOWS_DIR
export VIRTUAL_ENV="$PWD/.venv"
ecl=.venv/bin/ecl
llm=(--provider anthropic --budget-usd "${ECL_LIVE_BUDGET_USD:-10}")
[ -z "${ECL_MODEL:-}" ] || llm+=(--model "$ECL_MODEL")
echo "instance: DAGSTER_HOME=$home"
failed=0

summary() {  # the lines of `ecl status` that say state, provider, tokens, calls and cost
  "$ecl" status "$1" | grep -E '^(run |provider: |usage: |request |error: )' || true
}

echo "== 1. critique_revise with Claude (log: $home/critique_revise.log)"
topic='{"topic": "Why durable execution matters for long-running LLM workflows"}'
if ! run_id=$("$ecl" run critique_revise --input "$topic" --wait --format quiet "${llm[@]}" \
    2> "$home/critique_revise.log"); then
  failed=1
fi
if [ -n "$run_id" ]; then
  summary "$run_id"
else
  tail -n 20 "$home/critique_revise.log" >&2
fi

echo "== 2. ecl analyze on this repository with Claude (log: $home/analyze.log)"
if ! "$ecl" analyze . --target Rust --name ecl-live --format json "${llm[@]}" \
    > "$home/analyze.json" 2> "$home/analyze.log"; then
  failed=1
fi
if [ -s "$home/analyze.json" ]; then
  read -r analysis_run folder < <(.venv/bin/python -c '
import json, sys
done = json.load(open(sys.argv[1], encoding="utf-8"))
print(done["run"]["run_id"], done["delivery_folder"] or "-")' "$home/analyze.json")
  summary "$analysis_run"
  if [ "$folder" != "-" ]; then
    echo "deliverables: $folder (and $folder.zip)"
  fi
else
  tail -n 20 "$home/analyze.log" >&2
fi

echo "== usage ledger: calls, tokens and cost by workflow, provider and model"
"$ecl" usage
echo "inspect: DAGSTER_HOME=$home $ecl list   (remove the instance: rm -rf $home)"
exit "$failed"
