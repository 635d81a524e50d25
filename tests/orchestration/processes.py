"""Dagster's own processes for tests: the daemon, `dagster job launch`, run workers."""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@contextmanager
def daemon(log: Path, workspace_args: list[str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """``dagster-daemon run`` on the code location, in its own process group."""
    args = workspace_args or ["-m", "ecl_dagster"]
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", *args],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        yield process
    finally:
        kill_group(process.pid)


def kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def launch(run_id: str, run_config: dict[str, Any], tags: dict[str, str] | None = None,
           workspace_args: list[str] | None = None, job: str = "critique_revise") -> None:
    """Submit a run of ``job`` to the queue, as the UI or a sensor would."""
    done = subprocess.run(
        [str(BIN / "dagster"), "job", "launch", *(workspace_args or ["-m", "ecl_dagster"]),
         "-j", job, "--config-json", json.dumps(run_config),
         "--run-id", run_id, "--tags", json.dumps(tags or {})],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"dagster job launch failed:\n{done.stderr[-4000:]}")


def run_worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The run worker's PID, from its "Started process for run (pid: N)" engine event."""
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        event = record.dagster_event
        if event is None or not (event.message or "").startswith("Started process for run"):
            continue
        pid = event.engine_event_data.metadata.get("pid")
        if pid is not None:
            return int(pid.value)
    return None


def wait_for(what: str, check: Callable[[], Any], timeout_s: float = 180) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise TimeoutError(f"waited {timeout_s:g} s for {what}")


def runs_of_lineage(instance: dg.DagsterInstance, root_run_id: str) -> list[dg.DagsterRun]:
    retries = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/root_run_id": root_run_id}))
    return [instance.get_run_by_id(root_run_id), *retries]
