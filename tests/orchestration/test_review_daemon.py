"""A person in the loop on the production setup: Postgres, the daemon as a process, runs
launched through the queue, answers from the real ``ecl`` CLI."""

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import dagster as dg
from processes import daemon, launch, run_worker_pid, wait_for

from ecl_core.review.book import ReviewBook
from ecl_dagster.storage.ecl_db import ecl_db_url

from jobrun import anthropic_llm, failure_text, stored_outputs
from messages_api import Reply, system_text
from scenarios import TOPIC, draft_text

ROOT = Path(__file__).resolve().parents[2]
ECL = str(Path(sys.executable).with_name("ecl"))
FEEDBACK = "Name one real outage and what it cost."


def _ecl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ECL, *args], capture_output=True, text=True, timeout=300, cwd=ROOT)


LATE = """
id: review_deadline
name: A review with a 3 s deadline
input: ecl_core.steps.builtin:CritiqueReviseInput
steps:
  - {id: late_draft, type: generate}
  - id: late_review
    type: human_review
    depends_on: [late_draft]
    config: {deadline_s: 3, at_deadline: reject}
  - {id: late_rewrite, type: revise, revision_source: late_review}
  - {id: late_final, type: final_draft, depends_on: [late_review]}
transitions:
  - {kind: revision_loop, reviser: late_rewrite, validator: late_review, max_iterations: 3}
"""


def _workflows(folder: Path) -> Path:
    """The shipped reviewed_draft, and review_deadline: a review that times out in 3 s."""
    folder.mkdir()
    shutil.copy(ROOT / "workflows" / "reviewed_draft.yaml", folder)
    (folder / "review_deadline.yaml").write_text(LATE)
    return folder


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, exited but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _children(instance, run_id) -> list[dg.DagsterRun]:
    return list(instance.get_runs(filters=dg.RunsFilter(tags={"dagster/parent_run_id": run_id})))


def _ended(instance, run_id) -> dg.DagsterRun | None:
    run = instance.get_run_by_id(run_id)
    return run if run is not None and run.is_finished else None


def _continuation(instance, run_id, status) -> dg.DagsterRun | None:
    done = [r for r in _children(instance, run_id) if r.status == status]
    return done[0] if done else None


def _failures(instance, run_id) -> list[str]:
    return [failure_text(record.dagster_event) for record in
            instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE)]


def test_review_revise_approve_and_a_deadline_through_the_daemon(
    messages_api, api_key, postgres_instance, tmp_path, monkeypatch
):
    instance, _ = postgres_instance
    monkeypatch.setenv("ECL_WORKFLOWS_DIR", str(_workflows(tmp_path / "workflows")))
    messages_api.responder = lambda body: Reply(
        text=draft_text(1) if "revising your own draft" in system_text(body) else draft_text(0)
    )
    config = {
        "resources": {"llm": {"config": anthropic_llm(messages_api, timeout_s=30.0)}},
    }
    brief = {"config": {"topic": TOPIC, "max_revisions": 3}}
    first_id, late_id = str(uuid.uuid4()), str(uuid.uuid4())

    with daemon(tmp_path / "daemon.log"):
        launch(late_id, {**config, "ops": {"late_draft": brief}}, job="review_deadline")
        launch(first_id, {**config, "ops": {"write_draft": brief}}, job="reviewed_draft")
        first = wait_for("the run to end awaiting review", lambda: _ended(instance, first_id))
        assert first.status == dg.DagsterRunStatus.SUCCESS
        assert first.tags["ecl/review_state"] == "awaiting"
        worker = run_worker_pid(instance, first_id)
        assert worker is not None
        wait_for("the run worker to exit", lambda: not _alive(worker), timeout_s=30)

        answered_at = time.monotonic()
        revise = _ecl("review", "revise", first.tags["ecl/review_id"], "--feedback", FEEDBACK)
        assert revise.returncode == 0, revise.stderr
        assert "the review sensor resumes run" in revise.stdout
        second = wait_for(
            "the continuation to await the next review",
            lambda: _continuation(instance, first_id, dg.DagsterRunStatus.SUCCESS),
            timeout_s=60,
        )
        assert time.monotonic() - answered_at < 30
        assert second.root_run_id == first_id
        assert second.tags["ecl/review_state"] == "awaiting"
        (revise_call,) = [r for r in messages_api.requests if FEEDBACK in r.user_text]
        assert draft_text(0) in revise_call.user_text

        timed_out = wait_for(
            "the deadline's rejection to end its lineage",
            lambda: _continuation(instance, late_id, dg.DagsterRunStatus.FAILURE),
            timeout_s=60,
        )
        (failure,) = _failures(instance, timed_out.run_id)
        assert "ReviewRejected" in failure
        assert "rejected by deadline: the review timed out at its deadline" in failure

    # The daemon is down between the answer and the resume, and its sensor had claimed the
    # continuation without creating it: the claim survives, and is finished after the restart.
    approve = _ecl("review", "approve", second.tags["ecl/review_id"])
    assert approve.returncode == 0, approve.stderr
    book = ReviewBook(ecl_db_url(instance))
    claimed = book.claim_resume(second.tags["ecl/review_id"], str(uuid.uuid4()), "sensor")

    with daemon(tmp_path / "daemon.log"):
        third = wait_for(
            "the continuation after the restart",
            lambda: _continuation(instance, second.run_id, dg.DagsterRunStatus.SUCCESS),
            timeout_s=90,
        )
        assert third.run_id == claimed.resume_run_id
        time.sleep(12)  # two more sensor ticks: nothing resumes twice
        assert len(_children(instance, second.run_id)) == 1
        assert len(_children(instance, first_id)) == 1

    final = stored_outputs(instance, third.run_id)["approved_draft/result"]["value"]
    assert (final["text"], final["revision"]) == (draft_text(1), 1)
    revise_calls = [r for r in messages_api.requests if "revising" in system_text(r.body)]
    assert len(revise_calls) == 1  # the lineage's one revision, paid once
    status = _ecl("review", "list")
    assert status.stdout.count("resumed") == 3, status.stdout
