"""summarize_document end to end: offline, over the Messages API, and re-executed from failure."""

import io
import re
from pathlib import Path
from typing import Any

import dagster as dg
import yaml

from ecl_core.llm.providers.offline import OFFLINE_MARK
from ecl_dagster.cli import run_status
from ecl_dagster.definitions import defs

from jobrun import (
    anthropic_llm,
    dagster_job_execute,
    failure_metadata,
    failure_text,
    reexecute_from_failure,
    step_failure,
    step_keys,
    stored_outputs,
    summarize_document_job,
)
from messages_api import Reply, error, message_text, ok, system_text
from scenarios import critique_json

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = ROOT / "examples" / "summarize_document.yaml"
DOCUMENT = ROOT / "examples" / "documents" / "durable_llm_workflows.md"
HEADINGS = [
    "Why workflows fail", "Durable execution", "Retries and circuit breakers",
    "Bounded feedback loops", "Observability", "Operating it",
]
MAPPING_KEYS = [f"sections_{k}" for k in range(1, 7)]
COMBINED = "The document explains how LLM workflows survive failures."


def _responder(failing: set[str], section_delay_s: float = 0.0) -> Any:
    """Answers by prompt: section summaries (each after ``section_delay_s``; a 400 for
    headings in ``failing``), the combined summary, and a passing critique."""

    def answer(body: dict[str, Any]) -> Reply:
        system, user = system_text(body), message_text(body["messages"][0])
        if "precise technical summarizer" in system:
            heading = re.search(r"^Section: (.+)$", user, re.MULTILINE).group(1)
            if heading in failing:
                return error(400, "prompt is too long", delay_s=section_delay_s)
            return ok(f"{heading} in one sentence.", delay_s=section_delay_s)
        if "careful technical writer" in system:
            return ok(COMBINED)
        if "demanding editor" in system:
            return ok(critique_json("pass"))
        return error(500, "the test server does not know this prompt")

    return answer


def _item_outputs(result: Any) -> dict[str, dg.DagsterEvent]:
    """summarize_section's dynamic outputs by mapping key."""
    return {
        e.step_output_data.mapping_key: e for e in result.all_events
        if e.is_successful_output and e.step_key == "summarize_section"
    }


def _run_config(path: Path | str, llm: dict[str, Any]) -> dict[str, Any]:
    return {
        "ops": {"split_sections": {"config": {"path": str(path)}}},
        "resources": {"llm": {"config": llm}},
    }


def _section_requests(server: Any) -> list[str]:
    return [
        re.search(r"^Section: (.+)$", r.user_text, re.MULTILINE).group(1)
        for r in server.requests if "precise technical summarizer" in system_text(r.body)
    ]


def test_the_example_config_runs_offline_with_one_output_per_section(
    no_api_key, instance, monkeypatch
):
    monkeypatch.chdir(ROOT)
    run_config = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    result = defs.get_job_def("summarize_document").execute_in_process(
        run_config=run_config, instance=instance, raise_on_error=False
    )
    assert result.success
    assert "summarize_section" in step_keys(result, "STEP_SUCCESS")
    assert sorted(_item_outputs(result)) == MAPPING_KEYS
    outputs = stored_outputs(instance, result.run_id)
    summaries = [outputs[f"summarize_section/result/{key}"]["value"] for key in MAPPING_KEYS]
    assert [s["heading"] for s in summaries] == HEADINGS
    assert all(s["summary"].startswith(s["heading"] + ": ") for s in summaries)
    final = result.output_for_node("final_summary")
    assert final.topic == "Summary of Durable LLM workflows"
    assert final.text.endswith(OFFLINE_MARK)


def test_against_the_messages_api_the_sections_are_summarized_at_once_then_combined(
    messages_api, api_key, instance
):
    messages_api.responder = _responder(failing=set(), section_delay_s=0.5)
    result = defs.get_job_def("summarize_document").execute_in_process(
        run_config=_run_config(DOCUMENT, anthropic_llm(messages_api)),
        instance=instance,
        raise_on_error=False,
    )
    assert result.success
    assert sorted(_section_requests(messages_api)) == sorted(HEADINGS)
    assert messages_api.max_in_flight == 6, "the six section calls did not overlap"
    assert len(messages_api.requests) == 6 + 1 + 1
    combine = messages_api.requests[6].user_text
    positions = [combine.index(f"## {h}\n{h} in one sentence.") for h in HEADINGS]
    assert positions == sorted(positions)
    items = _item_outputs(result)
    expected = zip(MAPPING_KEYS, HEADINGS, strict=True)
    assert {k: e.step_output_data.metadata["summary"].value for k, e in items.items()} == {
        key: f"{heading} in one sentence." for key, heading in expected
    }
    assert all(e.step_output_data.metadata["input_tokens"].value == 11 for e in items.values())
    assert (result.output_for_node("final_summary").text, result.output_for_node(
        "final_summary").revision) == (COMBINED, 0)


def test_max_concurrent_calls_bounds_the_calls_in_flight(messages_api, api_key, instance):
    messages_api.responder = _responder(failing=set(), section_delay_s=0.3)
    result = defs.get_job_def("summarize_document").execute_in_process(
        run_config=_run_config(DOCUMENT, anthropic_llm(messages_api, max_concurrent_calls=2)),
        instance=instance,
    )
    assert result.success
    assert messages_api.max_in_flight == 2


def test_a_failed_section_fails_only_itself_and_is_the_only_call_redone(
    messages_api, api_key, instance
):
    failing = {"Bounded feedback loops"}
    messages_api.responder = _responder(failing, section_delay_s=0.5)
    job = dg.reconstructable(summarize_document_job)
    first = dg.execute_job(
        job, instance=instance,
        run_config=_run_config(DOCUMENT, anthropic_llm(messages_api)), raise_on_error=False,
    )
    assert not first.success
    assert messages_api.max_in_flight == 6, "the six section calls did not overlap"
    event = step_failure(first, "summarize_section")
    assert failure_text(event).startswith("1 of 6 items failed (sections_4: PermanentLLMError")
    assert "prompt is too long" in failure_text(event)
    assert failure_metadata(event)["failed_items"][0]["item"] == "sections_4"
    kept = stored_outputs(instance, first.run_id)
    assert sorted(k for k in kept if k.startswith("summarize_section/")) == [
        f"summarize_section/result/{key}" for key in MAPPING_KEYS if key != "sections_4"
    ]
    assert len(_section_requests(messages_api)) == 6

    failing.clear()
    second = reexecute_from_failure(instance, first.run_id, job)
    assert second.success
    assert _section_requests(messages_api)[6:] == ["Bounded feedback loops"]
    assert sorted(_item_outputs(second)) == MAPPING_KEYS
    journaled = {
        k: e.step_output_data.metadata["journaled_calls"].value
        for k, e in _item_outputs(second).items()
    }
    assert journaled == {key: int(key != "sections_4") for key in MAPPING_KEYS}
    final = stored_outputs(instance, second.run_id)["final_summary/result"]["value"]
    assert final["text"] == COMBINED


def test_ecl_status_shows_a_summarize_run_with_its_final_summary(
    messages_api, api_key, instance
):
    messages_api.responder = _responder(failing=set())
    result = defs.get_job_def("summarize_document").execute_in_process(
        run_config=_run_config(DOCUMENT, anthropic_llm(messages_api)), instance=instance
    )
    out = io.StringIO()
    assert run_status(instance, result.run_id, out)
    assert "steps: 5 succeeded, 3 skipped, 0 failed" in out.getvalue()
    assert out.getvalue().endswith(f"final draft:\n{COMBINED}\n")


def test_a_missing_document_fails_at_split_sections_naming_the_path(no_api_key, instance):
    result = defs.get_job_def("summarize_document").execute_in_process(
        run_config=_run_config("no/such/file.md", {}), instance=instance, raise_on_error=False
    )
    assert not result.success
    text = failure_text(step_failure(result, "split_sections"))
    assert f"path: '{Path('no/such').resolve() / 'file.md'}' does not exist" in text


def test_dagster_job_execute_runs_the_example_offline(tmp_path):
    done = dagster_job_execute(tmp_path / "dagster_home", "summarize_document")
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.search(r"Final draft \(revision \d\):", done.stderr)
    assert "This is a summary of Durable LLM workflows." in done.stderr
