"""Orchestration overhead of critique_revise per step, beside a plain Python loop.

Runs the job in process on a temporary SQLite instance with the scripted provider,
each call taking a simulated latency, and the same calls through ecl_core in a plain
loop. Overhead per step = (wall time - time spent in the provider) / steps executed.

    .venv/bin/python benchmarks/orchestration_overhead.py --latency-ms 50 --revisions 1 --runs 5
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg

from ecl_core.llm.providers.scripted import ScriptedProvider
from ecl_core.logging import configure_logging
from ecl_core.loop import LoopState, next_action
from ecl_core.steps.critique import critique
from ecl_core.steps.generate import generate
from ecl_core.steps.revise import revise
from ecl_dagster.definitions import defs

TOPIC = "Why durable execution matters for long-running LLM workflows"


def script(revisions: int, latency_ms: float) -> list[dict[str, object]]:
    """A pass after ``revisions`` revisions: 2 * revisions + 2 calls."""
    texts = ["Draft 0."]
    for k in range(1, revisions + 1):
        verdict = {"decision": "revise", "critique": "c", "feedback": "f"}
        texts += [json.dumps(verdict), f"Draft {k}."]
    texts.append(json.dumps({"decision": "pass", "critique": "c", "feedback": ""}))
    return [{"text": t, "latency_ms": latency_ms} for t in texts]


def run_dagster(items: list[dict[str, object]], workdir: Path) -> tuple[float, float, int]:
    path = workdir / "script.json"
    path.write_text(json.dumps(items))
    run_config = {
        "ops": {"generate_draft": {"config": {"topic": TOPIC, "max_revisions": 3}}},
        "resources": {"llm": {"config": {"provider": "scripted", "scripted_path": str(path)}}},
        "loggers": {"console": {"config": {"log_level": "WARNING"}}},
    }
    job = defs.get_job_def("critique_revise")
    with dg.instance_for_test() as instance:
        started = time.perf_counter()
        result = job.execute_in_process(run_config=run_config, instance=instance)
        wall = time.perf_counter() - started
    provider_s = 0.0
    steps = 0
    for event in result.all_events:
        if event.is_successful_output:
            latency = event.step_output_data.metadata.get("latency_ms")
            provider_s += latency.value / 1000 if latency else 0.0
        if event.is_step_success:
            steps += 1
    return wall, provider_s, steps


def run_plain(items: list[dict[str, object]]) -> tuple[float, float, int]:
    provider = ScriptedProvider(items)
    started = time.perf_counter()
    results = [generate(provider, TOPIC, max_tokens=1024)]
    state = LoopState(max_revisions=3, draft=results[-1].output)
    while True:
        verdict = critique(provider, state.draft, max_tokens=1024)
        results.append(verdict)
        state = state.model_copy(update={"critique": verdict.output})
        if next_action(state) != "revise":
            break
        results.append(revise(provider, state.draft, verdict.output, max_tokens=1024))
        state = LoopState(max_revisions=3, draft=results[-1].output)
    wall = time.perf_counter() - started
    provider_s = sum(r.metadata.latency_ms for r in results) / 1000
    return wall, provider_s, len(results) + 1  # + the final-draft step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=50.0, help="simulated time per call")
    parser.add_argument("--revisions", type=int, default=1, choices=range(4))
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    configure_logging("WARNING", force=True)
    items = script(args.revisions, args.latency_ms)
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        run_dagster(items, Path(tmp))  # warm-up: imports, first instance
        runners = {
            "dagster": lambda: run_dagster(items, Path(tmp)),
            "plain loop": lambda: run_plain(items),
        }
        for name, runner in runners.items():
            samples = [runner() for _ in range(args.runs)]
            overheads = [(wall - prov) / steps * 1000 for wall, prov, steps in samples]
            rows[name] = {
                "wall_s_median": statistics.median(s[0] for s in samples),
                "provider_s_median": statistics.median(s[1] for s in samples),
                "steps": samples[0][2],
                "overhead_ms_per_step_median": statistics.median(overheads),
            }
    print(f"critique_revise, pass after {args.revisions} revision(s), "
          f"{len(items)} calls at {args.latency_ms:g} ms, {args.runs} runs each")
    print(f"{'':12}{'steps':>6}{'wall s':>9}{'in provider s':>15}{'overhead ms/step':>18}")
    for name, row in rows.items():
        print(f"{name:12}{row['steps']:>6}{row['wall_s_median']:>9.3f}"
              f"{row['provider_s_median']:>15.3f}{row['overhead_ms_per_step_median']:>18.1f}")
    out = Path(__file__).with_name("results")
    out.mkdir(exist_ok=True)
    report = json.dumps({"args": vars(args), **rows}, indent=2)
    (out / "orchestration_overhead.json").write_text(report)


if __name__ == "__main__":
    sys.exit(main())
