"""Review steps on the embedded instance: a run stops awaiting a person, the CLI and the
review inbox answer, and the continuation picks up from the review step."""

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from ecl_core.errors import ValidationError
from ecl_core.review.book import ReviewBook
from ecl_dagster.cli import main
from ecl_dagster.definitions import defs
from ecl_dagster.review.sensor import review_sensor
from ecl_dagster.storage.ecl_db import ecl_db_url

from jobrun import anthropic_llm, stored_outputs
from scenarios import TOPIC, draft_text

ROOT = Path(__file__).resolve().parents[2]
FEEDBACK = "Name one real outage and what it cost."


@pytest.fixture
def instance(home):
    with dg.DagsterInstance.get() as opened:
        yield opened


def _start(instance, server, max_revisions=3) -> dg.DagsterRun:
    result = dg.execute_job(
        dg.build_reconstructable_job("ecl_dagster.definitions", "job_by_name",
                                     ("reviewed_draft",)),
        instance=instance,
        run_config={
            "ops": {"write_draft": {"config": {"topic": TOPIC,
                                                  "max_revisions": max_revisions}}},
            "resources": {"llm": {"config": anthropic_llm(server)}},
        },
        raise_on_error=False,
    )
    run = instance.get_run_by_id(result.run_id)
    assert run is not None
    return run


def _steps(instance, run_id) -> dict[str, str]:
    outcome = {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event and event.step_key and (
            event.is_step_success or event.is_step_skipped or event.is_step_failure
        ):
            outcome[event.step_key] = event.event_type_value
    return outcome


def _pending_metadata(instance, run_id) -> dict:
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_OUTPUT):
        data = record.dagster_event.step_output_data
        if data.output_name == "pending":
            return {k: v.value for k, v in data.metadata.items()}
    raise AssertionError("no pending output")


def _ecl(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_run_reaching_a_review_ends_awaiting_it_without_failing(
    messages_api, api_key, instance, capsys
):
    messages_api.script([draft_text(0)])

    run = _start(instance, messages_api)

    assert run.status == dg.DagsterRunStatus.SUCCESS
    review_id = run.tags["ecl/review_id"]
    assert run.tags["ecl/review_state"] == "awaiting"
    assert _steps(instance, run.run_id) == {
        "write_draft": "STEP_SUCCESS", "review_draft_0": "STEP_SUCCESS",
        "review_draft_1": "STEP_SKIPPED", "review_draft_2": "STEP_SKIPPED",
        "review_draft_3": "STEP_SKIPPED", "approved_draft": "STEP_SKIPPED",
    }
    shown = _pending_metadata(instance, run.run_id)
    assert shown["review_id"] == review_id and shown["state"] == "awaiting review"
    assert draft_text(0) in shown["to_review"]
    assert f'ecl review revise {review_id} --feedback "what to change"' in shown["answer_with"]
    assert shown["deadline"].endswith(", then fail")

    code, out, _ = _ecl(capsys, "status", run.run_id)
    assert code == 0
    assert f"awaiting review {review_id}: the run ended here" in out
    code, out, _ = _ecl(capsys, "review", "list", "--state", "awaiting")
    assert review_id in out and "review_draft_0" in out and run.run_id[:8] in out
    code, out, _ = _ecl(capsys, "review", "show", review_id[:6])
    assert code == 0 and draft_text(0) in out and "answers: approve, revise, reject" in out


def test_revise_from_the_cli_reaches_the_reviser_and_approval_ends_the_run(
    messages_api, api_key, instance, capsys
):
    messages_api.script([draft_text(0), draft_text(1)])
    first = _start(instance, messages_api)
    review_id = first.tags["ecl/review_id"]

    code, out, _ = _ecl(capsys, "review", "revise", review_id, "--feedback", FEEDBACK)
    assert code == 0
    assert f"continue it with `ecl review resume {review_id}`" in out  # no queue in process
    code, out, _ = _ecl(capsys, "review", "resume", review_id)
    assert code == 0, out

    (revise_request,) = [r for r in messages_api.requests if FEEDBACK in r.user_text]
    assert draft_text(0) in revise_request.user_text
    second = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/parent_run_id":
                                                           first.run_id}))[0]
    assert second.root_run_id == first.run_id
    assert second.tags["ecl/review_state"] == "awaiting"
    next_review = second.tags["ecl/review_id"]
    assert _steps(instance, second.run_id)["review_draft_0"] == "STEP_SUCCESS"
    assert "write_draft" not in _steps(instance, second.run_id)  # not re-run
    assert instance.get_run_by_id(first.run_id).tags["ecl/review_state"] == "resumed"

    assert _ecl(capsys, "review", "approve", next_review)[0] == 0
    code, out, _ = _ecl(capsys, "review", "resume", next_review)
    assert code == 0, out

    third = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/parent_run_id":
                                                          second.run_id}))[0]
    assert third.status == dg.DagsterRunStatus.SUCCESS
    final = stored_outputs(instance, third.run_id)["approved_draft/result"]["value"]
    assert (final["text"], final["revision"]) == (draft_text(1), 1)
    bodies = messages_api.completed_bodies()
    assert len(bodies) == 2 and len(set(bodies)) == 2  # generate, revise: none paid twice


def test_a_rejection_ends_the_workflow_with_a_clear_error(
    messages_api, api_key, instance, capsys
):
    messages_api.script([draft_text(0)])
    run = _start(instance, messages_api)
    review_id = run.tags["ecl/review_id"]

    assert _ecl(capsys, "review", "reject", review_id, "--feedback", "Off topic.")[0] == 0
    code, out, _ = _ecl(capsys, "review", "resume", review_id)

    assert code == 1
    continuation = instance.get_runs(filters=dg.RunsFilter(
        tags={"dagster/parent_run_id": run.run_id}))[0]
    assert continuation.status == dg.DagsterRunStatus.FAILURE
    code, out, _ = _ecl(capsys, "status", continuation.run_id)
    assert (f"error: review_draft_0: ReviewRejected: review {review_id} was rejected by "
            "cli:") in out
    assert "Off topic." in out


def test_refused_answers_change_nothing(messages_api, api_key, instance, capsys):
    messages_api.script([draft_text(0)])
    review_id = _start(instance, messages_api).tags["ecl/review_id"]

    code, _, err = _ecl(capsys, "review", "approve", "0123456789ab")
    assert code == 2 and "no review '0123456789ab'" in err
    code, _, err = _ecl(capsys, "review", "revise", review_id, "--feedback", "  ")
    assert code == 2 and "feedback: is blank" in err
    code, _, err = _ecl(capsys, "review", "revise", review_id, "--feedback", "x" * 1_048_576)
    assert code == 2 and "feedback: has 1,048,576 characters; the limit is 10,000" in err
    code, _, err = _ecl(capsys, "review", "resume", review_id)
    assert code == 2 and "has no answer yet" in err
    assert ReviewBook(ecl_db_url(instance)).get(review_id).state == "awaiting"

    assert _ecl(capsys, "review", "approve", review_id)[0] == 0
    code, _, err = _ecl(capsys, "review", "reject", review_id)
    assert code == 2
    assert f"review {review_id} was answered already: approve by cli:" in err


def _tick(instance) -> str:
    context = dg.build_sensor_context(instance=instance,
                                      repository_def=defs.get_repository_def())
    result = review_sensor(context)
    return result.skip_message or ""


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "file: is not valid JSON"),
        ('["approve"]', "file: must be a JSON object"),
        ('{"review": "REVIEW", "answer": "approve", "score": 5}', "score: is not an answer field"),
        ('{"review": "REVIEW", "answer": "maybe"}', "answer: is 'maybe'"),
        ('{"review": "REVIEW", "answer": "revise"}', "feedback: is blank"),
        ('{"review": "0123456789ab", "answer": "approve"}', "no review '0123456789ab'"),
        ('{"review": "REVIEW", "answer": "approve", "feedback": "' + "x" * 70_000 + '"}',
         "has 70,063 bytes; the limit is 65,536"),
        ('{"review": "REVIEW", "answer": "approve", "by": "eve\\u001b[2J"}',
         "by: must be at most 200 characters with no control characters"),
    ],
)
def test_a_malformed_answer_file_is_refused_with_its_reason(
    messages_api, api_key, instance, home, content, reason
):
    messages_api.script([draft_text(0)])
    review_id = _start(instance, messages_api).tags["ecl/review_id"]
    inbox = home / "review_inbox"
    inbox.mkdir(exist_ok=True)
    (inbox / "answer.json").write_text(content.replace("REVIEW", review_id))

    _tick(instance)

    assert not (inbox / "answer.json").exists()
    assert reason in (inbox / "failed" / "answer.json.reason.txt").read_text()
    assert ReviewBook(ecl_db_url(instance)).get(review_id).state == "awaiting"


def test_an_answer_file_whose_name_holds_escapes_is_refused_and_stored_nowhere(
    messages_api, api_key, instance, home
):
    messages_api.script([draft_text(0)])
    review_id = _start(instance, messages_api).tags["ecl/review_id"]
    inbox = home / "review_inbox"
    inbox.mkdir(exist_ok=True)
    name = "ok\x1b[2J\nAUDIT approved by admin.json"
    (inbox / name).write_text(json.dumps({"review": review_id, "answer": "approve"}))

    _tick(instance)

    reason = (inbox / "failed" / f"{name}.reason.txt").read_text()
    assert "file name: holds control characters" in reason
    review = ReviewBook(ecl_db_url(instance)).get(review_id)
    assert (review.state, review.answered_by) == ("awaiting", None)
    with pytest.raises(ValidationError, match="answered_by: holds a control character"):
        ReviewBook(ecl_db_url(instance)).answer(review_id, "approve", "cli:eve\x1b[2J@host")


def test_an_answer_file_is_stored_and_a_second_is_refused_naming_the_first(
    messages_api, api_key, instance, home
):
    messages_api.script([draft_text(0)])
    run = _start(instance, messages_api)
    review_id = run.tags["ecl/review_id"]
    inbox = home / "review_inbox"
    inbox.mkdir()
    (inbox / "a.json").write_text(json.dumps(
        {"review": review_id, "answer": "revise", "feedback": FEEDBACK, "by": "alice"}))

    message = _tick(instance)

    review = ReviewBook(ecl_db_url(instance)).get(review_id)
    assert (review.answer, review.feedback, review.answered_by) == (
        "revise", FEEDBACK, "file:a.json (alice)")
    assert (inbox / "done" / "a.json").exists()
    assert f"answered {review_id} from a.json" in message
    # executed in process, the run has no queue origin: the sensor leaves it to the CLI
    assert review.state == "answered"
    assert instance.get_run_by_id(run.run_id).tags["ecl/review_state"] == "answered"

    (inbox / "b.json").write_text(json.dumps({"review": review_id, "answer": "approve"}))
    _tick(instance)
    reason = (inbox / "failed" / "b.json.reason.txt").read_text()
    assert "was answered already: revise by file:a.json (alice)" in reason


GATED = """
id: gated_draft
name: A draft that a person approves before it is final
input: ecl_core.steps.builtin:CritiqueReviseInput
steps:
  - {id: gate_write, type: generate}
  - {id: gate_approval, type: human_review, depends_on: [gate_write]}
  - id: gate_final
    type: final_draft
    depends_on: [gate_write, gate_approval]
    inputs: {draft: gate_write, critique: gate_approval}
"""


def _shell(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), env=env, capture_output=True, text=True, timeout=300,
                          cwd=ROOT)


def test_a_gate_between_steps_from_a_shell(home, tmp_path):
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    (workflows / "gated_draft.yaml").write_text(GATED)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env["ECL_WORKFLOWS_DIR"] = str(workflows)  # the offline provider writes the draft
    bin_dir = Path(sys.executable).parent
    config = tmp_path / "run.yaml"
    config.write_text(json.dumps({"ops": {"gate_write": {"config": {"topic": TOPIC}}}}))

    started = _shell(str(bin_dir / "dagster"), "job", "execute", "-m", "ecl_dagster",
                     "-j", "gated_draft", "-c", str(config), env=env)
    assert started.returncode == 0, started.stderr[-3000:]
    listed = _shell(str(bin_dir / "ecl"), "review", "list", env=env)
    (line,) = [row for row in listed.stdout.splitlines() if "gate_approval" in row]
    review_id = line.split()[0]

    revise = _shell(str(bin_dir / "ecl"), "review", "revise", review_id, "--feedback", "more",
                    env=env)
    assert revise.returncode == 2
    assert f"answer: is 'revise'; review {review_id} (a gate) takes approve, reject" in (
        revise.stderr)
    assert _shell(str(bin_dir / "ecl"), "review", "approve", review_id, env=env).returncode == 0
    resumed = _shell(str(bin_dir / "ecl"), "review", "resume", review_id, env=env)

    assert resumed.returncode == 0, resumed.stderr[-3000:]
    run_id = resumed.stdout.split()[1]
    status = _shell(str(bin_dir / "ecl"), "status", run_id, env=env)
    assert "succeeded  gate_approval" in status.stdout
    assert "succeeded  gate_final" in status.stdout
    assert "gate_write" not in status.stdout  # loaded from the parent run, not run again
    assert "final draft:\n" + TOPIC in status.stdout


def test_with_no_revision_left_a_person_can_approve_or_reject_only(
    messages_api, api_key, instance, capsys
):
    messages_api.script([draft_text(0)])
    review_id = _start(instance, messages_api, max_revisions=0).tags["ecl/review_id"]

    code, _, err = _ecl(capsys, "review", "revise", review_id, "--feedback", "more")

    assert code == 2
    assert "(the loop's last level, no revision left) takes approve, reject" in err
    code, out, _ = _ecl(capsys, "review", "show", review_id)
    assert "answers: approve, reject" in out


@pytest.mark.parametrize(
    ("status", "tags", "reason"),
    [
        (dg.DagsterRunStatus.STARTED, {}, "is still STARTED; it is continued once it has ended"),
        (dg.DagsterRunStatus.FAILURE, {}, "ended FAILURE, not awaiting this review: re-execute "
                                          "it from failure"),
    ],
)
def test_a_run_that_has_not_ended_awaiting_its_review_is_not_continued(
    instance, capsys, status, tags, reason
):
    run = instance.add_run(dg.DagsterRun(job_name="reviewed_draft", status=status, tags=tags))
    book = ReviewBook(ecl_db_url(instance))
    review = book.ask(lineage=run.run_id, step_key="review_draft_0", run_id=run.run_id,
                      workflow="reviewed_draft", kind="validator", subject="draft")
    assert _ecl(capsys, "review", "approve", review.id)[0] == 0

    code, _, err = _ecl(capsys, "review", "resume", review.id)

    assert code == 2 and reason in err
    assert book.get(review.id).resume_run_id is None  # nothing claimed
