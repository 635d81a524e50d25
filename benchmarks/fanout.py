"""Concurrent fan-out: summarize_document over N sections, beside the ideal and one at a time.

Each call takes a simulated latency (the scripted provider), on a temporary SQLite instance
with the in-process executor. For each section count the job runs with
``max_concurrent_calls`` C and with 1 (the baseline, measured in the same run), and the
ideal is ``ceil(N / C)`` section rounds plus the combine and critique calls, each at the
latency. Goal: 50 sections at 1 s with C = 8 within 1.3 times the ideal.

    .venv/bin/python benchmarks/fanout.py --sections 5 20 50 --latency-ms 1000
"""

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg

from ecl_core.logging import configure_logging
from ecl_dagster.definitions import defs

GOAL_RATIO = 1.3
AFTER_SECTIONS = 2  # combine_summaries and a passing critique


def document(sections: int) -> str:
    """A markdown document of ``sections`` short sections."""
    return "# Fan-out benchmark\n\n" + "\n\n".join(
        f"## Section {k}\n\nSection {k} says one thing about durable workflows." for k in
        range(1, sections + 1)
    )


def script(sections: int, latency_ms: float) -> list[dict[str, object]]:
    """Section summaries, then the combined summary, then a passing critique."""
    verdict = json.dumps({"decision": "pass", "critique": "fine", "feedback": ""})
    texts = ["One sentence."] * sections + ["The combined summary.", verdict]
    return [{"text": t, "latency_ms": latency_ms} for t in texts]


def run(workdir: Path, sections: int, latency_ms: float, concurrency: int) -> float:
    """Wall seconds of one summarize_document run."""
    doc = workdir / f"doc_{sections}.md"
    doc.write_text(document(sections))
    responses = workdir / f"script_{sections}.json"
    responses.write_text(json.dumps(script(sections, latency_ms)))
    run_config = {
        "ops": {"split_sections": {"config": {"path": str(doc)}}},
        "resources": {"llm": {"config": {
            "provider": "scripted", "scripted_path": str(responses),
            "max_concurrent_calls": concurrency,
        }}},
        "loggers": {"console": {"config": {"log_level": "WARNING"}}},
    }
    job = defs.get_job_def("summarize_document")
    home = workdir / f"instance_{sections}_{concurrency}"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as inst:
        started = time.perf_counter()
        result = job.execute_in_process(run_config=run_config, instance=inst)
        wall = time.perf_counter() - started
    assert result.success
    return wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", type=int, nargs="+", default=[5, 20, 50])
    parser.add_argument("--latency-ms", type=float, default=1000.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    configure_logging("WARNING", force=True)
    latency_s = args.latency_ms / 1000
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        run(Path(tmp), 2, 0.0, 1)  # warm-up: imports, first instance
        for n in args.sections:
            ideal = (math.ceil(n / args.concurrency) + AFTER_SECTIONS) * latency_s
            concurrent = run(Path(tmp), n, args.latency_ms, args.concurrency)
            one_at_a_time = run(Path(tmp), n, args.latency_ms, 1)
            rows.append({"sections": n, "ideal_s": ideal, "concurrent_s": concurrent,
                         "one_at_a_time_s": one_at_a_time, "ratio": concurrent / ideal})
    print(f"summarize_document, calls at {args.latency_ms:g} ms, "
          f"max_concurrent_calls {args.concurrency} (baseline: 1)")
    print(f"{'sections':>8}{'ideal s':>9}{'concurrent s':>14}{'ratio':>7}{'one at a time s':>17}")
    for row in rows:
        print(f"{row['sections']:>8}{row['ideal_s']:>9.1f}{row['concurrent_s']:>14.2f}"
              f"{row['ratio']:>7.2f}{row['one_at_a_time_s']:>17.2f}")
    print(f"goal: ratio at most {GOAL_RATIO}")
    out = Path(__file__).with_name("results")
    out.mkdir(exist_ok=True)
    (out / "fanout.json").write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2))
    return 0 if all(row["ratio"] <= GOAL_RATIO for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
