"""Runs whose process is gone: a ``dagster job execute`` killed with SIGKILL stays STARTED.

Runs launched through the queue are watched by Dagster's run monitoring; a run executed
by a CLI process in the foreground is not (docs/dagster-notes.md). Dagster records the pid of
the process that executes a run's steps in an engine event, but not its host, so ECL's
LLM resource tags the run with its host (``ecl/worker_host``) when it sets up. A run is
orphaned when it is STARTING or STARTED, its host is this host, and that pid is not alive.
"""

import os
import re
import socket
from dataclasses import dataclass

import dagster as dg

from ecl_dagster.usage.tags import tag_run_usage

__all__ = ["WORKER_HOST_TAG", "Worker", "mark_orphan_failed", "run_worker"]

WORKER_HOST_TAG = "ecl/worker_host"
"""Run tag: the host name of the process that set up the run's LLM resource."""
_PID = re.compile(
    r"^(?:Executing steps in process|Started process for run|Executing steps using "
    r"multiprocess executor: parent process) \(pid: (\d+)\)"
)
_ACTIVE = (dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED)


@dataclass(frozen=True)
class Worker:
    """The process that executes a run's steps, as far as the instance knows it.

    Attributes:
        pid: From Dagster's latest engine event that names it; ``None`` if none does yet.
        host: From the ``ecl/worker_host`` tag; ``None`` before the LLM resource set up.
    """

    pid: int | None
    host: str | None

    @property
    def gone(self) -> bool:
        """Known to have run on this host, and no process with its pid is alive here."""
        if self.pid is None or self.host != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    def describe(self) -> str:
        """``process N on host H``, with ``unknown`` for what is not recorded."""
        return f"process {self.pid or 'unknown'} on host {self.host or 'unknown'}"


def run_worker(instance: dg.DagsterInstance, run: dg.DagsterRun) -> Worker | None:
    """The worker of a STARTING or STARTED run; ``None`` for a run in any other state."""
    if run.status not in _ACTIVE:
        return None
    pid = None
    for record in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        found = _PID.match((record.dagster_event.message or "") if record.dagster_event else "")
        if found:
            pid = int(found.group(1))
    return Worker(pid=pid, host=run.tags.get(WORKER_HOST_TAG))


def mark_orphan_failed(instance: dg.DagsterInstance, run: dg.DagsterRun) -> bool:
    """Mark ``run`` failed if its worker is gone (see the module docstring).

    The run is also tagged with what its calls billed (``ecl_dagster.usage.tags``): its worker
    did not live to write that.

    Returns:
        Whether it was marked failed; a run in another state, or whose worker is alive or
        on another host, is left as it is.
    """
    worker = run_worker(instance, run)
    if worker is None or not worker.gone:
        return False
    tag_run_usage(instance, run)  # first, so that whoever sees it failed sees its cost
    instance.report_run_failed(
        run, message=f"ECL: the run's worker ({worker.describe()}) is gone; marked failed "
        "so that it can be re-executed from failure",
    )
    return True
