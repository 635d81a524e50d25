"""ECL beside bare Dagster, measured in the same run: per-step overhead, import time, worker RSS.

* Per-step overhead: ``critique_revise`` (scripted provider, a simulated latency per call)
  and a bare Dagster job of the same shape (the same ops, dynamic outputs and fan-in, each
  LLM op only sleeping the latency), on a SQLite instance and on a PostgreSQL instance
  (a throwaway cluster, ``deploy/postgres/dagster.yaml``). Overhead per step = (wall time -
  time in calls) / steps executed.
* Import time: ``import ecl_dagster.definitions`` beside ``import dagster``, each in a fresh
  process.
* Run-worker peak RSS: a fresh process that executes the job once, ECL beside bare.

Goals: overhead at most 1.05 times bare on both storages, import at most 1.3
times, RSS at most 1.2 times.

    .venv/bin/python benchmarks/overhead_vs_dagster.py --latency-ms 50 --runs 15
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg

ROOT = Path(__file__).resolve().parents[1]
REVISIONS = 1  # the critique asks for one revision, then passes
CALLS = 2 * REVISIONS + 2
GOALS = {"overhead": 1.05, "import": 1.3, "rss": 1.2}
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
"""Both jobs log to the console at WARNING, so neither pays for printing debug events."""


def bare_job(latency_s: float) -> dg.JobDefinition:
    """critique_revise's shape in plain Dagster: the same steps, each LLM op a sleep."""

    @dg.op
    def generate_draft() -> dict[str, Any]:
        time.sleep(latency_s)
        return {"revision": 0, "text": "Draft 0."}

    @dg.op(out={"revise": dg.DynamicOut(is_required=False), "done": dg.Out(is_required=False)})
    def critique_draft(drafts: list[dict[str, Any]]) -> Iterator[Any]:
        time.sleep(latency_s)
        (draft,) = drafts
        if draft["revision"] < REVISIONS:
            yield dg.DynamicOutput(draft, mapping_key=f"revision_{draft['revision'] + 1}",
                                   output_name="revise")
        else:
            yield dg.Output(draft, output_name="done")

    @dg.op
    def revise_draft(draft: dict[str, Any]) -> dict[str, Any]:
        time.sleep(latency_s)
        return {"revision": draft["revision"] + 1, "text": f"Draft {draft['revision'] + 1}."}

    @dg.op(ins={"outcomes": dg.In()})
    def final_draft(outcomes: list[dict[str, Any]]) -> str:
        return str(outcomes[0]["text"])

    @dg.job(executor_def=dg.in_process_executor)
    def bare_critique_revise() -> None:
        to_revise, done = critique_draft.alias("critique_draft_0")([generate_draft()])
        outcomes = [done]
        for level in range(1, 4):
            revised = to_revise.map(revise_draft.alias(f"revise_draft_{level}"))
            to_revise, done = critique_draft.alias(f"critique_draft_{level}")(revised.collect())
            outcomes.append(done)
        final_draft(outcomes)

    return bare_critique_revise


def ecl_run_config(workdir: Path, latency_ms: float) -> dict[str, Any]:
    texts = ["Draft 0."]
    for k in range(1, REVISIONS + 1):
        texts += [json.dumps({"decision": "revise", "critique": "c", "feedback": "f"}),
                  f"Draft {k}."]
    texts.append(json.dumps({"decision": "pass", "critique": "c", "feedback": ""}))
    script = workdir / "script.json"
    script.write_text(json.dumps([{"text": t, "latency_ms": latency_ms} for t in texts]))
    return {
        "ops": {"generate_draft": {"config": {"topic": "Durable LLM workflows",
                                              "max_revisions": 3}}},
        "resources": {"llm": {"config": {"provider": "scripted", "scripted_path": str(script)}}},
        **QUIET,
    }


def per_step_overhead_ms(
    instance: dg.DagsterInstance, run: Callable[[dg.DagsterInstance], Any], latency_s: float
) -> float:
    started = time.perf_counter()
    result = run(instance)
    wall = time.perf_counter() - started
    assert result.success
    steps = sum(1 for e in result.all_events if e.is_step_success)
    return (wall - CALLS * latency_s) / steps * 1000


@contextmanager
def postgres_instance(workdir: Path) -> Iterator[dg.DagsterInstance]:
    from sqlalchemy import make_url

    from ecl_dagster.stack.postgres import throwaway_cluster

    with throwaway_cluster() as url:
        parsed = make_url(url)
        home = workdir / "pg_home"
        home.mkdir()
        shutil.copy(ROOT / "deploy" / "postgres" / "dagster.yaml", home / "dagster.yaml")
        env = {"DAGSTER_PG_HOST": parsed.host, "DAGSTER_PG_PORT": str(parsed.port),
               "DAGSTER_PG_USER": parsed.username, "DAGSTER_PG_PASSWORD": "",
               "DAGSTER_PG_DB": parsed.database, "DAGSTER_HOME": str(home)}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update({k: str(v) for k, v in env.items()})
        try:
            with dg.DagsterInstance.get() as instance:
                yield instance
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def overhead(args: argparse.Namespace, workdir: Path) -> dict[str, dict[str, float]]:
    from ecl_dagster.definitions import defs

    latency_s = args.latency_ms / 1000
    ecl_job, bare = defs.get_job_def("critique_revise"), bare_job(latency_s)
    run_config = ecl_run_config(workdir, args.latency_ms)
    runners = {
        "ecl": lambda inst: ecl_job.execute_in_process(run_config=run_config, instance=inst),
        "bare": lambda inst: bare.execute_in_process(run_config=QUIET, instance=inst),
    }
    rows: dict[str, dict[str, float]] = {}
    storages = {"sqlite": lambda: dg.instance_for_test(temp_dir=str(sqlite_home(workdir)))}
    if not args.no_postgres:
        storages["postgres"] = lambda: postgres_instance(workdir)
    for storage, make in storages.items():
        with make() as instance:
            for runner in runners.values():
                runner(instance)  # warm-up
            samples: dict[str, list[float]] = {name: [] for name in runners}
            for _ in range(args.runs):  # interleaved, so drift hits both alike
                for name, runner in runners.items():
                    samples[name].append(per_step_overhead_ms(instance, runner, latency_s))
        rows[storage] = {name: statistics.median(s) for name, s in samples.items()}
    return rows


def sqlite_home(workdir: Path) -> Path:
    home = workdir / "sqlite_home"
    home.mkdir(exist_ok=True)
    return home


def import_seconds(module: str, runs: int) -> float:
    """Median seconds to import ``module`` in a fresh process, its bytecode cached.

    pip compiles an installed package's bytecode, but ECL runs from its sources (an editable
    install): without a warm-up, and with ``PYTHONDONTWRITEBYTECODE`` set as on our machines,
    every ECL module would be compiled on each import and Dagster's not (about 0.06 s).
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    code = f"import time; t = time.perf_counter(); import {module}; " \
           "print(time.perf_counter() - t)"

    def once() -> float:
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                              capture_output=True, text=True, check=True)
        return float(done.stdout.split()[-1])

    once()  # writes the bytecode
    return statistics.median(once() for _ in range(runs))


def peak_rss_mb(kind: str, latency_ms: float) -> float:
    child = subprocess.Popen(
        [sys.executable, __file__, "--child", kind, "--latency-ms", str(latency_ms)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(child.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, f"{kind} run failed"
    return usage.ru_maxrss / 1024


def child(kind: str, latency_ms: float) -> int:
    with tempfile.TemporaryDirectory() as tmp, dg.instance_for_test(temp_dir=tmp) as instance:
        if kind == "ecl":
            from ecl_dagster.definitions import defs

            config = ecl_run_config(Path(tmp), latency_ms)
            result = defs.get_job_def("critique_revise").execute_in_process(
                run_config=config, instance=instance)
        else:
            result = bare_job(latency_ms / 1000).execute_in_process(
                run_config=QUIET, instance=instance)
    return 0 if result.success else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--child", choices=["ecl", "bare"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.latency_ms)
    from ecl_core.logging import configure_logging

    configure_logging("WARNING", force=True)
    with tempfile.TemporaryDirectory() as tmp:
        rows = overhead(args, Path(tmp))
    imports = {"ecl": import_seconds("ecl_dagster.definitions", args.runs),
               "bare": import_seconds("dagster", args.runs)}
    rss = {"ecl": peak_rss_mb("ecl", args.latency_ms), "bare": peak_rss_mb("bare", args.latency_ms)}
    report: dict[str, Any] = {"args": vars(args), "overhead_ms_per_step": rows,
                              "import_s": imports, "worker_peak_rss_mb": rss}
    print(f"critique_revise (pass after {REVISIONS} revision, {CALLS} calls at "
          f"{args.latency_ms:g} ms) beside bare Dagster of the same shape; medians of "
          f"{args.runs}")
    print(f"{'':28}{'ECL':>10}{'bare':>10}{'ratio':>8}{'goal':>7}")
    met = []
    for storage, row in rows.items():
        ratio = row["ecl"] / row["bare"]
        met.append(ratio <= GOALS["overhead"])
        print(f"{'overhead ms/step, ' + storage:28}{row['ecl']:>10.1f}{row['bare']:>10.1f}"
              f"{ratio:>8.2f}{GOALS['overhead']:>7}")
    for label, values, goal, unit in (("import s", imports, "import", ".3f"),
                                      ("run-worker peak RSS MB", rss, "rss", ".0f")):
        ratio = values["ecl"] / values["bare"]
        met.append(ratio <= GOALS[goal])
        print(f"{label:28}{values['ecl']:>10{unit}}{values['bare']:>10{unit}}{ratio:>8.2f}"
              f"{GOALS[goal]:>7}")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "overhead_vs_dagster.json").write_text(json.dumps(report, indent=2))
    return 0 if all(met) else 1


if __name__ == "__main__":
    sys.exit(main())
