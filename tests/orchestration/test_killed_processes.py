"""Runs whose processes are killed with SIGKILL resume on their own and pay no call twice.

Runs go through the queue and the daemon, on the production instance config (Postgres).
"""

import os
import signal
import threading
import time
import uuid

import dagster as dg
from processes import daemon, kill_group, launch, run_worker_pid, runs_of_lineage, wait_for

from jobrun import anthropic_llm, stored_outputs
from messages_api import Reply, ok
from scenarios import TOPIC, critique_json, draft_text


def _run_config(server):
    return {
        "ops": {"generate_draft": {"config": {"topic": TOPIC, "max_revisions": 3}}},
        "resources": {"llm": {"config": anthropic_llm(server, timeout_s=300.0)}},
    }


def _lineage_succeeded(instance, run_id):
    runs = runs_of_lineage(instance, run_id)
    done = [r for r in runs if r.status == dg.DagsterRunStatus.SUCCESS]
    return done[0] if done else None


def test_a_killed_run_worker_is_resumed_by_a_run_retry(
    messages_api, api_key, postgres_instance, tmp_path
):
    instance, _ = postgres_instance
    never = threading.Event()
    messages_api.script(
        [draft_text(0), critique_json("revise", "x"), draft_text(1),
         Reply(hold=never, drop=True),  # critique_draft_1's call: the worker dies during it
         critique_json("pass")]
    )
    run_id = str(uuid.uuid4())
    with daemon(tmp_path / "daemon.log"):
        launch(run_id, _run_config(messages_api))
        messages_api.wait_for_requests(4)
        worker = wait_for("the run worker", lambda: run_worker_pid(instance, run_id))
        os.kill(worker, signal.SIGKILL)

        resumed = wait_for("a run retry to succeed", lambda: _lineage_succeeded(instance, run_id))

    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE
    assert resumed.root_run_id == run_id
    final = stored_outputs(instance, resumed.run_id)["final_draft/result"]["value"]
    assert (final["text"], final["revision"]) == (draft_text(1), 1)
    completed = messages_api.completed_bodies()
    assert len(completed) == 4
    assert len(set(completed)) == len(completed), "a completed call was paid twice"


MULTIPROCESS = ["-f", "tests/orchestration/multiprocess_location.py"]


def _step_started(instance, run_id, step_key):
    return any(
        record.dagster_event.step_key == step_key
        for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START)
    )


def test_multiprocess_an_orphaned_call_and_the_retry_do_not_both_pay(
    messages_api, api_key, postgres_instance, tmp_path
):
    instance, _ = postgres_instance
    release = threading.Event()
    messages_api.script(
        [draft_text(0), critique_json("revise", "x"), draft_text(1),
         # critique_draft_1's call, made by the step process that outlives its run worker
         ok(critique_json("pass"), hold=release),
         critique_json("pass")]  # only used if the orphan died before its call completed
    )
    run_id = str(uuid.uuid4())
    with daemon(tmp_path / "daemon.log", MULTIPROCESS):
        launch(run_id, _run_config(messages_api), workspace_args=MULTIPROCESS)
        messages_api.wait_for_requests(4)
        worker = wait_for("the run worker", lambda: run_worker_pid(instance, run_id))
        os.kill(worker, signal.SIGKILL)

        retry = wait_for(
            "the run retry to reach critique_draft_1",
            lambda: next(
                (r for r in runs_of_lineage(instance, run_id)[1:]
                 if _step_started(instance, r.run_id, "critique_draft_1")),
                None,
            ),
        )
        release.set()
        resumed = wait_for("a run retry to succeed", lambda: _lineage_succeeded(instance, run_id))

    assert resumed.run_id == retry.run_id
    final = stored_outputs(instance, resumed.run_id)["final_draft/result"]["value"]
    assert (final["text"], final["revision"]) == (draft_text(1), 1)
    orphan_call = messages_api.requests[3]
    if orphan_call.completed:  # the orphan finished its call: the retry must not call again
        assert len(messages_api.requests) == 4
        assert _output_metadata(instance, retry.run_id, "critique_draft_1")["journaled_calls"] == 1
    else:  # the orphan died first: the retry took its claim over and called once
        assert len(messages_api.requests) == 5
    completed = messages_api.completed_bodies()
    assert len(completed) == 4
    assert len(set(completed)) == len(completed), "a completed call was paid twice"


def _output_metadata(instance, run_id, step_key):
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_OUTPUT):
        event = record.dagster_event
        if event.step_key == step_key:
            return {k: v.value for k, v in event.step_output_data.metadata.items()}
    raise AssertionError(f"{step_key} has no output in run {run_id}")


def test_a_run_whose_whole_process_tree_died_leaves_started_and_resumes(
    messages_api, api_key, postgres_instance, tmp_path
):
    instance, _ = postgres_instance
    never = threading.Event()
    messages_api.script(
        [draft_text(0), critique_json("revise", "x"), draft_text(1),
         Reply(hold=never, drop=True),  # critique_draft_1's call: the host dies during it
         critique_json("pass")]
    )
    run_id = str(uuid.uuid4())
    max_runtime_s = 20
    with daemon(tmp_path / "daemon.log") as first_daemon:
        launch(run_id, _run_config(messages_api), tags={"dagster/max_runtime": str(max_runtime_s)})
        messages_api.wait_for_requests(4)
        wait_for("the run worker", lambda: run_worker_pid(instance, run_id))
        kill_group(first_daemon.pid)  # daemon, code server and run worker, all at once
        time.sleep(2)
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.STARTED

    with daemon(tmp_path / "daemon-after.log"):
        failed = wait_for(
            "the run to leave STARTED",
            lambda: instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE,
        )
        resumed = wait_for("a run retry to succeed", lambda: _lineage_succeeded(instance, run_id))

    assert failed
    messages = [record.message or "" for record in instance.all_logs(run_id)]
    assert any(f"exceeding maximum runtime of {max_runtime_s} seconds" in m for m in messages)
    final = stored_outputs(instance, resumed.run_id)["final_draft/result"]["value"]
    assert (final["text"], final["revision"]) == (draft_text(1), 1)
    completed = messages_api.completed_bodies()
    assert len(completed) == 4
    assert len(set(completed)) == len(completed), "a completed call was paid twice"
