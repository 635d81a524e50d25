"""The topic inbox sensor and the run-failure sensor, evaluated as the daemon would."""

import json

import dagster as dg
import pytest
from structlog.testing import capture_logs

from ecl_dagster.triggers.sensors import run_failure_alert, topic_request_sensor

from jobrun import anthropic_llm, critique_revise_job, run_job
from messages_api import error
from scenarios import TOPIC


@pytest.fixture
def inbox(tmp_path, monkeypatch):
    folder = tmp_path / "inbox"
    folder.mkdir()
    monkeypatch.setenv("ECL_INBOX_DIR", str(folder))
    return folder


def _evaluate(instance):
    return topic_request_sensor(dg.build_sensor_context(instance=instance))


def test_each_valid_request_becomes_one_run_request(inbox, instance):
    (inbox / "a.json").write_text(json.dumps(
        {"topic": "Tea", "max_revisions": 1, "budget_tokens": 50000, "budget_usd": "0.25"}))
    (inbox / "b.txt").write_text("  Coffee roasting at home \n")
    (inbox / ".hidden").write_text("ignored")
    (inbox / "c.txt.part").write_text("still being written")

    result = _evaluate(instance)

    requests = {r.tags["ecl/request_file"]: r for r in result.run_requests}
    assert sorted(requests) == ["a.json", "b.txt"]
    config = requests["a.json"].run_config["ops"]["generate_draft"]["config"]
    assert config == {"topic": "Tea", "max_revisions": 1}
    config = requests["b.txt"].run_config["ops"]["generate_draft"]["config"]
    assert config == {"topic": "Coffee roasting at home", "max_revisions": 3}
    assert requests["a.json"].run_key.startswith("a.json:")
    assert requests["a.json"].tags["ecl/budget_tokens"] == "50000"
    assert requests["a.json"].tags["ecl/budget_usd"] == "0.25"
    assert "ecl/budget_tokens" not in requests["b.txt"].tags
    assert sorted(p.name for p in inbox.iterdir()) == [".hidden", "a.json", "b.txt", "c.txt.part"]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("bad.json", "{not json", "file: is not valid JSON"),
        ("no-topic.json", json.dumps({"subject": "x"}), "topic: missing"),
        ("extra.json", json.dumps({"topic": "x", "model": "y"}), "model: is not a request field"),
        ("cap.json", json.dumps({"topic": "x", "max_revisions": 9}), "max_revisions: is 9"),
        ("cap-type.json", json.dumps({"topic": "x", "max_revisions": "3"}), "must be an integer"),
        ("budget.json", json.dumps({"topic": "x", "budget_usd": -1}), "budget_usd: is '-1'"),
        ("blank.txt", "   \n", "topic: is blank"),
        ("long.txt", "t" * 2001, "topic: has 2,001 characters; the limit is 2,000"),
    ],
)
def test_a_malformed_request_starts_nothing_and_says_why(inbox, instance, name, content, reason):
    (inbox / name).write_text(content)
    with capture_logs() as logs:
        result = _evaluate(instance)
    assert result.run_requests == []
    assert not (inbox / name).exists()
    assert (inbox / "failed" / name).read_text() == content
    assert reason in (inbox / "failed" / f"{name}.reason.txt").read_text()
    (rejected,) = [e for e in logs if e["event"] == "inbox.request_rejected"]
    assert rejected["file"] == name and reason in rejected["reason"]


def test_a_request_moves_to_done_once_its_run_exists(inbox, instance, no_api_key):
    (inbox / "tea.txt").write_text(TOPIC)
    (request,) = _evaluate(instance).run_requests
    run_job(instance)  # a run of another request does not count
    assert [r.run_key for r in _evaluate(instance).run_requests] == [request.run_key]
    assert (inbox / "tea.txt").exists()

    # What the daemon does with the run request:
    critique_revise_job().execute_in_process(
        run_config=request.run_config, instance=instance, tags=request.tags
    )
    assert _evaluate(instance).run_requests == []
    assert (inbox / "done" / "tea.txt").exists() and not (inbox / "tea.txt").exists()


def test_the_same_name_with_new_content_is_a_new_request(inbox, instance):
    (inbox / "t.txt").write_text("Tea")
    first = _evaluate(instance).run_requests[0].run_key
    (inbox / "t.txt").write_text("Green tea")
    second = _evaluate(instance).run_requests[0].run_key
    assert first != second


def test_a_failed_run_is_logged_with_its_step_and_error(messages_api, api_key, instance):
    messages_api.script([error(401, "invalid x-api-key")])
    failed = run_job(instance, llm=anthropic_llm(messages_api))
    run = instance.get_run_by_id(failed.run_id)
    (record,) = instance.all_logs(failed.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    failure = record.dagster_event
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert",
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=failure,
    ).for_run_failure()
    with capture_logs() as logs:
        run_failure_alert(context)
    (line,) = [e for e in logs if e["event"] == "run.failed"]
    assert line["run_id"] == failed.run_id and line["job_name"] == "critique_revise"
    assert line["step_key"] == "generate_draft"
    assert "PermanentLLMError" in line["error"] and "401" in line["error"]
    assert line["log_level"] == "error"
