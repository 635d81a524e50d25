"""``ecl`` recovers a run whose ``dagster job execute`` process was killed.

Such a run stays STARTED for ever: nothing watches a run executed in a CLI's foreground.
``ecl status`` says its worker is gone, and ``ecl reexecute`` marks it failed and
re-executes it from failure, paying no completed call twice.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import dagster as dg
from processes import wait_for
from pydantic import BaseModel

from ecl_core.errors import TransientLLMError
from ecl_core.steps.builtin import CritiqueReviseInput
from ecl_core.workflow.definition import WorkflowDefinition
from ecl_core.workflow.step import Step, StepContext, StepRegistry, StepRetryPolicy
from ecl_dagster.resources import LLMResource
from ecl_dagster.storage.io_managers import JsonIOManager
from ecl_dagster.triggers.sensors import failed_run_usage
from ecl_dagster.workflows.compiler import build_job

from messages_api import Reply, error
from scenarios import TOPIC, critique_json, draft_text

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _ecl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "ecl"), *args], capture_output=True, text=True, timeout=300, cwd=ROOT
    )


def _execute_in_the_foreground(tmp_path: Path) -> subprocess.Popen[bytes]:
    """``dagster job execute`` of critique_revise over the local server, as a user would."""
    config = tmp_path / "run.json"
    config.write_text(json.dumps({
        "ops": {"generate_draft": {"config": {"topic": TOPIC, "max_revisions": 3}}},
        "resources": {"llm": {"config": {
            "provider": "anthropic", "timeout_s": 300,
            "retry_initial_delay_s": 0, "retry_max_delay_s": 0,
        }}},
    }))
    return subprocess.Popen(
        [str(BIN / "dagster"), "job", "execute", "-m", "ecl_dagster", "-j", "critique_revise",
         "-c", str(config)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )


def _the_run(instance: dg.DagsterInstance) -> dg.DagsterRun:
    (run,) = instance.get_runs()
    return run


def _kill_during_call(process: subprocess.Popen[bytes], messages_api, requests: int,
                      held: threading.Event) -> None:
    """Kill ``process``'s group once the server has ``requests`` requests, the last one held,
    then let the held reply go: it is dropped, so that call never completes."""
    try:
        messages_api.wait_for_requests(requests)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        held.set()


def test_a_killed_foreground_run_is_marked_failed_and_reexecuted(
    messages_api, api_key, home, tmp_path
):
    held = threading.Event()
    messages_api.script(
        [draft_text(0), critique_json("revise", "x"), draft_text(1),
         Reply(hold=held, drop=True),  # critique_draft_1's call: the process dies during it
         critique_json("pass")]
    )
    process = _execute_in_the_foreground(tmp_path)
    _kill_during_call(process, messages_api, 4, held)
    with dg.DagsterInstance.get() as instance:
        run = _the_run(instance)
        assert run.status == dg.DagsterRunStatus.STARTED

        status = _ecl("status", run.run_id)
        assert status.returncode == 1
        assert f"run {run.run_id} (critique_revise): STARTED" in status.stdout
        assert f"worker gone: process {process.pid} on host" in status.stdout

        again = _ecl("reexecute", run.run_id)
        assert again.returncode == 0, again.stdout + again.stderr
        killed = instance.get_run_by_id(run.run_id)
        assert killed.status == dg.DagsterRunStatus.FAILURE
        assert killed.tags["ecl/llm_calls"] == "3"  # the three calls answered before the kill
        failed = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        assert f"worker (process {process.pid} on host" in failed[-1].dagster_event.message
    assert "final draft:\n" + draft_text(1) in again.stdout
    completed = messages_api.completed_bodies()
    assert len(completed) == 4
    assert len(set(completed)) == len(completed), "a completed call was paid twice"


def test_a_killed_run_marked_failed_by_run_monitoring_gets_its_usage_tags(
    messages_api, api_key, home, tmp_path
):
    """Its worker never tore its LLM resource down: the failure sensor tags it instead."""
    held = threading.Event()
    messages_api.script([draft_text(0), critique_json("revise", "x"), draft_text(1),
                         Reply(hold=held, drop=True)])
    _kill_during_call(_execute_in_the_foreground(tmp_path), messages_api, 4, held)
    with dg.DagsterInstance.get() as instance:
        run = _the_run(instance)
        assert "ecl/llm_calls" not in run.tags
        instance.report_run_failed(run, message="run worker gone (as run monitoring says)")
        (record,) = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        failed = instance.get_run_by_id(run.run_id)
        failed_run_usage(dg.build_run_status_sensor_context(
            sensor_name="failed_run_usage", dagster_instance=instance, dagster_run=failed,
            dagster_event=record.dagster_event,
        ).for_run_failure())
        tags = instance.get_run_by_id(run.run_id).tags
    assert tags["ecl/llm_calls"] == "3"  # the three calls answered before the kill
    answered = [r.usage for r in messages_api.requests[:3]]
    assert int(tags["ecl/total_tokens"]) == sum(
        u["input_tokens"] + u["output_tokens"] + u["cache_read_input_tokens"]
        + u["cache_creation"]["ephemeral_5m_input_tokens"]
        + u["cache_creation"]["ephemeral_1h_input_tokens"] for u in answered)


def test_a_run_whose_worker_is_alive_is_not_reexecuted(messages_api, api_key, home, tmp_path):
    held = threading.Event()
    messages_api.script([Reply(hold=held, drop=True)])
    process = _execute_in_the_foreground(tmp_path)
    try:
        messages_api.wait_for_requests(1)
        with dg.DagsterInstance.get() as instance:
            run = wait_for("the run", lambda: instance.get_runs() and _the_run(instance))
            refused = _ecl("reexecute", run.run_id)
            assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        held.set()
    assert refused.returncode == 2
    assert f"ecl: cannot re-execute {run.run_id}: it is STARTED and its worker (process " \
           f"{process.pid} on host" in refused.stderr
    assert "wait for it to end, or terminate it in the UI" in refused.stderr


WORKER_HOST_TAG = "ecl/worker_host"
"""The run tag that names the host of a run's worker, as a person sees it in the UI."""
ELSEWHERE = "another-host.example"
"""A host that is not this one: tests cannot run a worker there, so they tag a run with it."""


def _killed_foreground_run(messages_api, tmp_path) -> tuple[dg.DagsterRun, int]:
    """A critique_revise run killed with its process group during generate_draft's call."""
    held = threading.Event()
    messages_api.script([Reply(hold=held, drop=True)])
    process = _execute_in_the_foreground(tmp_path)
    _kill_during_call(process, messages_api, 1, held)
    with dg.DagsterInstance.get() as instance:
        run = _the_run(instance)
    assert run.status == dg.DagsterRunStatus.STARTED
    return run, process.pid


def test_a_run_whose_worker_ran_on_another_host_is_not_called_gone(
    messages_api, api_key, home, tmp_path
):
    """A pid says nothing about another host's processes: such a run is left alone."""
    run, pid = _killed_foreground_run(messages_api, tmp_path)
    with dg.DagsterInstance.get() as instance:
        instance.add_run_tags(run.run_id, {WORKER_HOST_TAG: ELSEWHERE})

        status = _ecl("status", run.run_id)
        refused = _ecl("reexecute", run.run_id)
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED
    assert "worker gone" not in status.stdout
    assert refused.returncode == 2
    assert f"its worker (process {pid} on host {ELSEWHERE}) is not known to be gone from " \
           "this host" in refused.stderr


def test_a_reexecution_names_the_host_it_runs_on_not_its_parents(
    messages_api, api_key, home, tmp_path
):
    """``ecl reexecute`` here of a run that failed elsewhere, killed in its turn, is
    recognised here as orphaned and recovered: the re-execution does not inherit the
    parent's host tag."""
    messages_api.script([draft_text(0), error(400, "bad request")])  # critique_draft_0 fails
    _execute_in_the_foreground(tmp_path).wait(timeout=300)
    with dg.DagsterInstance.get() as instance:
        parent = _the_run(instance)
        assert parent.status == dg.DagsterRunStatus.FAILURE
        instance.add_run_tags(parent.run_id, {WORKER_HOST_TAG: ELSEWHERE})

    held = threading.Event()
    messages_api.script([Reply(hold=held, drop=True)])  # critique_draft_0 again: killed
    again = subprocess.Popen(
        [str(BIN / "ecl"), "reexecute", parent.run_id], cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    _kill_during_call(again, messages_api, 3, held)
    with dg.DagsterInstance.get() as instance:
        child = next(r for r in instance.get_runs() if r.parent_run_id == parent.run_id)
        assert child.status == dg.DagsterRunStatus.STARTED
        status = _ecl("status", child.run_id)
        assert f"worker gone: process {again.pid} on host {socket.gethostname()} " \
               "is not running" in status.stdout, status.stdout
        assert child.tags.get(WORKER_HOST_TAG) == socket.gethostname()

        messages_api.script([critique_json("pass")])
        done = _ecl("reexecute", child.run_id)
        assert done.returncode == 0, done.stdout + done.stderr
    assert "final draft:\n" + draft_text(0) in done.stdout
    completed = messages_api.completed_bodies()
    assert len(completed) == 2
    assert len(set(completed)) == len(completed), "a completed call was paid twice"


class _Nothing(BaseModel):
    pass


class FlakyStep(Step[CritiqueReviseInput, _Nothing]):
    """A step whose every attempt meets an overloaded API; its RetryPolicy waits no time."""

    type_name, name, input_model, output_model = (
        "flaky", "Flaky", CritiqueReviseInput, _Nothing)
    retry_policy = StepRetryPolicy(max_attempts=3, initial_delay_s=0, max_delay_s=0)

    def execute(self, context: StepContext, step_input: CritiqueReviseInput) -> _Nothing:
        raise TransientLLMError("Anthropic API returned 529 (overloaded_error: overloaded)",
                                status_code=529, request_id=f"req_{context.attempt}")


def test_status_shows_the_error_behind_exhausted_retries(home):
    workflow = WorkflowDefinition.model_validate({
        "id": "flaky", "name": "Flaky", "input": "ecl_core.steps.builtin:CritiqueReviseInput",
        "steps": [{"id": "call", "type": "flaky"}],
    })
    job = build_job(workflow, StepRegistry([FlakyStep]))
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            run_config={"ops": {"call": {"config": {"topic": "Tea"}}}}, instance=instance,
            resources={"llm": LLMResource(provider="offline"), "io_manager": JsonIOManager()},
            raise_on_error=False,
        )
    assert not result.success

    status = _ecl("status", result.run_id)
    assert status.returncode == 1
    assert "error: call: Exceeded max_retries of 2; last error: " \
           "ecl_core.errors.TransientLLMError: Anthropic API returned 529 (overloaded_error: " \
           "overloaded) | status_code=529 | request_id=req_3" in status.stdout
