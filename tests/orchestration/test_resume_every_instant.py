"""A run worker killed (SIGKILL) at any instant of the loop resumes to the same final draft.

The worker is a real process (``dagster job execute``, or the daemon's run worker) on the
production instance config (Postgres). To stop it exactly *between* two steps, a trigger on
the event log table holds the INSERT of the next step's STEP_START event in ``pg_sleep``: the
step before has stored its output and its success, the next has not started, and the worker
is killed there. *Inside* a step is a call the local Messages-API server holds. Each run is
then resumed and must end SUCCESS with the draft an uninterrupted run writes, no completed
call paid twice (every body the server answered is different) and no call missing.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import dagster as dg
import httpx
import pytest
import sqlalchemy as sa
from processes import daemon, launch, run_worker_pid, runs_of_lineage, wait_for

from ecl_dagster.service.keys import new_key
from ecl_dagster.stack.postgres import free_port

from jobrun import anthropic_llm, stored_outputs
from messages_api import Reply
from scenarios import TOPIC, draft_text, pass_after

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

HOLD = """
CREATE TABLE IF NOT EXISTS ecl_test_hold (step_key text PRIMARY KEY);
CREATE OR REPLACE FUNCTION ecl_test_hold() RETURNS trigger AS $$
BEGIN
  IF NEW.dagster_event_type = 'STEP_START'
     AND EXISTS (SELECT 1 FROM ecl_test_hold WHERE step_key = NEW.step_key) THEN
    PERFORM pg_sleep(600);
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS ecl_test_hold ON event_logs;
CREATE TRIGGER ecl_test_hold BEFORE INSERT ON event_logs
  FOR EACH ROW EXECUTE FUNCTION ecl_test_hold();
"""


def _steps(revisions: int) -> list[str]:
    """The steps of a run that passes after ``revisions`` revisions, in order."""
    found = ["generate_draft", "critique_draft_0"]
    for level in range(1, revisions + 1):
        found += [f"revise_draft_{level}[revision_{level}]", f"critique_draft_{level}"]
    return [*found, "final_draft"]


def _run_config(server, revisions_allowed: int = 3) -> dict:
    return {
        "ops": {"generate_draft": {"config": {"topic": TOPIC,
                                              "max_revisions": revisions_allowed}}},
        "resources": {"llm": {"config": anthropic_llm(server, timeout_s=300.0)}},
    }


@pytest.fixture
def hold(postgres_instance):
    """``hold(step_key)``: the next STEP_START of that step waits until its writer is gone."""
    _, url = postgres_instance
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(HOLD))

    def held(step_key: str) -> None:
        with engine.connect() as conn:
            conn.execute(sa.text("INSERT INTO ecl_test_hold VALUES (:k)"), {"k": step_key})

    this_database = "wait_event = 'PgSleep' AND datname = current_database()"

    def sleeping() -> bool:
        with engine.connect() as conn:
            return bool(conn.execute(sa.text(
                f"SELECT count(*) FROM pg_stat_activity WHERE {this_database}")).scalar())

    def release() -> None:
        with engine.connect() as conn:
            conn.execute(sa.text("DELETE FROM ecl_test_hold"))
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 f"WHERE {this_database}"))

    held.sleeping = sleeping  # type: ignore[attr-defined]
    held.release = release  # type: ignore[attr-defined]
    yield held
    release()
    engine.dispose()


def _execute(home_env: dict[str, str], config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(BIN / "dagster"), "job", "execute", "-m", "ecl_dagster", "-j", "critique_revise",
         "-c", str(config)], cwd=ROOT, env=home_env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )


def _kill(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def _final(instance, run_id: str) -> tuple[str, int]:
    value = stored_outputs(instance, run_id)["final_draft/result"]["value"]
    return value["text"], value["revision"]


def _check_paid_once(server, calls: int) -> None:
    completed = server.completed_bodies()
    assert len(completed) == calls, f"{len(completed)} calls answered, {calls} expected"
    assert len(set(completed)) == len(completed), "a completed call was paid twice"


CASES = [
    *[(1, "before", step) for step in _steps(1)[1:]],
    *[(1, "inside", step) for step in _steps(1)[:-1]],
    *[(3, "before", step) for step in _steps(3)[1:]],
]


@pytest.mark.parametrize(("revisions", "where", "step"), CASES,
                         ids=[f"{r}rev-{w}-{s}" for r, w, s in CASES])
def test_ecl_reexecute_resumes_a_worker_killed_at_any_instant(
        messages_api, api_key, postgres_instance, hold, tmp_path, revisions, where, step):
    instance, _ = postgres_instance
    replies = pass_after(revisions)
    steps = _steps(revisions)
    config = tmp_path / "run.yaml"
    config.write_text(json.dumps(_run_config(messages_api)))
    env = {**os.environ}
    never = threading.Event()
    if where == "before":
        hold(step)
        messages_api.script(replies)
    else:  # the step's own call is held, and the worker dies during it
        llm_steps = [s for s in steps if s != "final_draft"]
        call = llm_steps.index(step)
        messages_api.script([*replies[:call], Reply(hold=never, drop=True), *replies[call:]])
    worker = _execute(env, config)
    try:
        if where == "before":
            wait_for(f"the worker to reach {step}", hold.sleeping, timeout_s=120)
        else:
            messages_api.wait_for_requests(call + 1)
        _kill(worker)
    finally:
        never.set()
        hold.release()
    (run,) = instance.get_runs(limit=1)
    assert run.status == dg.DagsterRunStatus.STARTED

    resumed = subprocess.run([str(BIN / "ecl"), "reexecute", run.run_id, "--format", "json"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    detail = json.loads(resumed.stdout)
    assert detail["state"] == "SUCCESS"
    assert _final(instance, detail["run_id"]) == (draft_text(revisions), revisions)
    _check_paid_once(messages_api, len(replies))
    added = instance.get_run_by_id(detail["run_id"]).tags.get("ecl/resume_added_steps")
    if step.startswith("revise_draft") and where == "before":
        assert "reexecute.steps_added" in resumed.stderr  # ECL said what Dagster missed
        assert added == step
    else:
        assert added is None and "reexecute.steps_added" not in resumed.stderr


@pytest.mark.parametrize("revisions", [1, 3])
def test_a_run_retry_resumes_a_worker_killed_before_a_mapped_step(
        messages_api, api_key, postgres_instance, hold, tmp_path, revisions):
    instance, _ = postgres_instance
    messages_api.script(pass_after(revisions))
    step = f"revise_draft_{revisions}[revision_{revisions}]"
    hold(step)
    run_id = str(uuid.uuid4())
    with daemon(tmp_path / "daemon.log"):
        launch(run_id, _run_config(messages_api))
        wait_for(f"the worker to reach {step}", hold.sleeping, timeout_s=180)
        worker = wait_for("the run worker", lambda: run_worker_pid(instance, run_id))
        os.kill(worker, signal.SIGKILL)
        hold.release()
        beside = subprocess.run([str(BIN / "ecl"), "reexecute", run_id], cwd=ROOT,
                                capture_output=True, text=True, timeout=300)
        assert beside.returncode == 2, beside.stdout + beside.stderr
        assert f"the daemon's run retry resumes run {run_id}" in beside.stderr
        resumed = wait_for("a run retry to succeed", lambda: next(
            (r for r in runs_of_lineage(instance, run_id)
             if r.status == dg.DagsterRunStatus.SUCCESS), None), timeout_s=400)
    assert resumed.run_id != run_id and resumed.root_run_id == run_id
    assert len(runs_of_lineage(instance, run_id)) == 2  # the retry alone, nothing beside it
    assert _final(instance, resumed.run_id) == (draft_text(revisions), revisions)
    _check_paid_once(messages_api, len(pass_after(revisions)))


def test_the_validator_without_its_draft_fails_at_once_then_ecl_reexecute_mends_it(
        messages_api, api_key, postgres_instance, hold, tmp_path):
    """Dagster's own from-failure selection (the UI's button) hits the validator without a
    draft: it fails once, with what to do, and spends no step retry; `ecl reexecute` of that
    failed re-execution, as the message says, adds the missing step and succeeds."""
    instance, _ = postgres_instance
    messages_api.script(pass_after(1))
    hold("revise_draft_1[revision_1]")
    config = tmp_path / "run.yaml"
    config.write_text(json.dumps(_run_config(messages_api)))
    worker = _execute({**os.environ}, config)
    try:
        wait_for("the worker to reach revise_draft_1", hold.sleeping, timeout_s=120)
        _kill(worker)
    finally:
        hold.release()
    (run,) = instance.get_runs(limit=1)
    instance.report_run_failed(run, message="killed")
    started = time.monotonic()
    again = dg.execute_job(
        dg.build_reconstructable_job("ecl_dagster.definitions", "job_by_name",
                                     ("critique_revise",)),
        instance=instance, reexecution_options=dg.ReexecutionOptions.from_failure(
            run.run_id, instance), raise_on_error=False)
    assert not again.success
    (failure,) = [e for e in again.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failure.step_key == "critique_draft_1"
    message = failure.step_failure_data.error.message
    assert "critique_draft_1 has no draft to judge (0 given)" in message
    assert "ecl reexecute RUN" in message
    assert not [e for e in again.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert time.monotonic() - started < 60

    mended = subprocess.run([str(BIN / "ecl"), "reexecute", again.run_id, "--format", "json"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert mended.returncode == 0, mended.stdout + mended.stderr
    detail = json.loads(mended.stdout)
    assert detail["state"] == "SUCCESS"
    assert _final(instance, detail["run_id"]) == (draft_text(1), 1)
    _check_paid_once(messages_api, len(pass_after(1)))
    assert instance.get_run_by_id(detail["run_id"]).tags["ecl/resume_added_steps"] == (
        "revise_draft_1[revision_1]")


def _api(tmp_path: Path) -> tuple[subprocess.Popen[bytes], httpx.Client]:
    """``ecl server start`` on the project's workspace, with one key."""
    key, entry = new_key("resume-tests")
    keys = tmp_path / "keys.toml"
    keys.write_text(entry)
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "ecl"), "server", "start", "--host", "127.0.0.1", "--port", str(port),
         "--workspace", str(ROOT / "workspace.yaml")],
        cwd=ROOT, env={**os.environ, "ECL_API_KEYS_FILE": str(keys)},
        stdout=(tmp_path / "api.log").open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60,
                          headers={"X-API-Key": key})

    def live() -> bool:
        try:
            return client.get("/health/live").status_code == 200
        except httpx.TransportError:
            return False

    wait_for("the API server", live, timeout_s=120)
    return process, client


@pytest.mark.parametrize(("revisions", "way"), [(1, "api"), (3, "ecl reexecute")])
def test_a_killed_queued_run_resumes_through_the_queue(
        messages_api, api_key, postgres_instance, hold, tmp_path, revisions, way):
    """Through the run queue, as the UI, the API and `ecl reexecute` with a daemon do."""
    instance, _ = postgres_instance
    messages_api.script(pass_after(revisions))
    step = f"revise_draft_{revisions}[revision_{revisions}]"
    hold(step)
    run_id = str(uuid.uuid4())
    workspace = ["-w", str(ROOT / "workspace.yaml")]  # location "ecl", as the API's
    with daemon(tmp_path / "daemon.log", workspace):
        launch(run_id, _run_config(messages_api), tags={"dagster/max_retries": "0"},
               workspace_args=workspace)
        wait_for(f"the worker to reach {step}", hold.sleeping, timeout_s=180)
        worker = wait_for("the run worker", lambda: run_worker_pid(instance, run_id))
        os.kill(worker, signal.SIGKILL)
        hold.release()
        if way == "api":
            api, client = _api(tmp_path)
            try:
                created = client.post(f"/workflows/{run_id}/reexecute")
                assert created.status_code == 201, created.text
                new_run_id = created.json()["run_id"]
            finally:
                os.killpg(api.pid, signal.SIGTERM)
        else:
            done = subprocess.run([str(BIN / "ecl"), "reexecute", run_id, "--format", "quiet"],
                                  cwd=ROOT, capture_output=True, text=True, timeout=400)
            assert done.returncode == 0, done.stdout + done.stderr
            new_run_id = done.stdout.strip().splitlines()[-1]
        resumed = wait_for("the re-execution to succeed", lambda: (
            run := instance.get_run_by_id(new_run_id)) is not None and run.status == (
            dg.DagsterRunStatus.SUCCESS) and run, timeout_s=300)
    assert resumed.parent_run_id == run_id
    assert resumed.tags["ecl/resume_added_steps"] == step
    assert _final(instance, new_run_id) == (draft_text(revisions), revisions)
    _check_paid_once(messages_api, len(pass_after(revisions)))
