"""Helpers to run the workflow jobs in process and read what a user would see."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import dagster as dg

from ecl_dagster.definitions import defs
from ecl_dagster.resources import LLMResource
from ecl_dagster.storage.io_managers import JsonIOManager
from ecl_dagster.workflows.jobs import build_critique_revise

from scenarios import TOPIC


def anthropic_llm(server: Any, **overrides: Any) -> dict[str, Any]:
    """LLMResource config for the local server with no backoff waits.

    The server is reached through ``ANTHROPIC_BASE_URL`` (the ``messages_api`` fixture sets
    it): where the API is, is a deployment setting that run config cannot change.
    """
    assert os.environ.get("ANTHROPIC_BASE_URL") == server.url, "use the messages_api fixture"
    return {
        "provider": "anthropic",
        "retry_initial_delay_s": 0.0,
        "retry_max_delay_s": 0.0,
        "timeout_s": 1.0,
        **overrides,
    }


def run_job(
    instance: dg.DagsterInstance,
    *,
    topic: str = TOPIC,
    max_revisions: int = 3,
    llm: dict[str, Any] | None = None,
) -> dg.ExecuteInProcessResult:
    run_config = {
        "ops": {"generate_draft": {"config": {"topic": topic, "max_revisions": max_revisions}}},
        "resources": {"llm": {"config": llm or {}}},
    }
    return defs.get_job_def("critique_revise").execute_in_process(
        run_config=run_config, instance=instance, raise_on_error=False
    )


def dagster_job_execute(home: Path, job: str) -> subprocess.CompletedProcess[str]:
    """``dagster job execute`` of ``job`` with ``examples/<job>.yaml``, as README says: from
    the repo root, offline (no ANTHROPIC_* variables), on a SQLite instance in ``home``."""
    root = Path(__file__).resolve().parents[2]
    home.mkdir(exist_ok=True)
    shutil.copy(root / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env["DAGSTER_HOME"] = str(home)
    dagster = Path(sys.executable).with_name("dagster")
    return subprocess.run(
        [str(dagster), "job", "execute", "-m", "ecl_dagster", "-j", job,
         "-c", f"examples/{job}.yaml"],
        cwd=root, env=env, capture_output=True, text=True, timeout=300,
    )


def step_keys(result: dg.ExecuteInProcessResult, event_type: str) -> set[str]:
    return {e.step_key for e in result.all_events if e.event_type_value == event_type}


def step_failure(result: dg.ExecuteInProcessResult, step_key: str) -> dg.DagsterEvent:
    (event,) = [
        e for e in result.all_events if e.is_step_failure and e.step_key == step_key
    ]
    return event


def failure_text(event: dg.DagsterEvent) -> str:
    data = event.step_failure_data
    return data.user_failure_data.description if data.user_failure_data else data.error.message


def failure_metadata(event: dg.DagsterEvent) -> dict[str, Any]:
    data = event.step_failure_data.user_failure_data
    return {k: v.value for k, v in data.metadata.items()} if data else {}


def output_metadata(result: dg.ExecuteInProcessResult, step_key: str) -> dict[str, Any]:
    (event,) = [
        e for e in result.all_events if e.is_successful_output and e.step_key == step_key
    ]
    return {k: v.value for k, v in event.step_output_data.metadata.items()}


def stored_outputs(instance: dg.DagsterInstance, run_id: str) -> dict[str, dict[str, Any]]:
    """Every JSON output file of the run, keyed by path below the run's folder."""
    root = Path(instance.storage_directory()) / "ecl_outputs" / run_id
    return {
        str(p.relative_to(root).with_suffix("")): json.loads(p.read_text())
        for p in root.rglob("*.json")
    }


def critique_revise_job() -> dg.JobDefinition:
    """The job as a reconstructable target, for ``dg.execute_job`` and re-execution."""
    return defs.get_job_def("critique_revise")


def execute_durably(
    instance: dg.DagsterInstance,
    llm: dict[str, Any],
    job: Any = None,
    topic: str = TOPIC,
) -> dg.JobExecutionResult:
    """Run critique_revise as a reconstructable job (so it can be re-executed later)."""
    return dg.execute_job(
        job or dg.reconstructable(critique_revise_job),
        instance=instance,
        run_config={
            "ops": {"generate_draft": {"config": {"topic": topic, "max_revisions": 3}}},
            "resources": {"llm": {"config": llm}},
        },
        raise_on_error=False,
    )


def summarize_document_job() -> dg.JobDefinition:
    """summarize_document as a reconstructable target."""
    return defs.get_job_def("summarize_document")


def reexecute_from_failure(
    instance: dg.DagsterInstance, run_id: str, job: Any = None
) -> dg.JobExecutionResult:
    options = dg.ReexecutionOptions.from_failure(run_id, instance)
    return dg.execute_job(
        job or dg.reconstructable(critique_revise_job),
        instance=instance,
        reexecution_options=options,
        raise_on_error=False,
    )


class _FullDiskAtFinal(dg.IOManager):
    def __init__(self, inner: dg.IOManager, flag: Path) -> None:
        self._inner = inner
        self._flag = flag

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        if context.step_key == "final_draft" and self._flag.exists():
            raise OSError(28, "No space left on device")
        self._inner.handle_output(context, obj)

    def load_input(self, context: dg.InputContext) -> Any:
        return self._inner.load_input(context)


class FullDiskAtFinal(JsonIOManager):
    """The JSON IO manager, failing to write final_draft's output while ``flag`` exists."""

    flag: str

    def create_io_manager(self, context: dg.InitResourceContext) -> dg.IOManager:
        return _FullDiskAtFinal(super().create_io_manager(context), Path(self.flag))


def job_with_full_disk_at_final(flag: str) -> dg.JobDefinition:
    resources = {"llm": LLMResource(), "io_manager": FullDiskAtFinal(flag=flag)}
    return dg.Definitions(jobs=[build_critique_revise()], resources=resources).get_job_def(
        "critique_revise"
    )
