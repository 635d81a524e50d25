"""critique_revise through the real anthropic SDK against a local Messages-API server."""

import pytest

from jobrun import (
    anthropic_llm,
    failure_metadata,
    failure_text,
    output_metadata,
    run_job,
    step_failure,
    step_keys,
    stored_outputs,
)
from messages_api import error, ok
from scenarios import critique_json, draft_text, never_pass, pass_after


@pytest.mark.parametrize(("revisions", "calls"), [(0, 2), (1, 4), (3, 8)])
def test_a_pass_after_k_revisions_returns_that_draft(
    messages_api, api_key, instance, revisions, calls
):
    messages_api.script(pass_after(revisions))
    result = run_job(instance, llm=anthropic_llm(messages_api))

    assert result.success
    final = result.output_for_node("final_draft")
    assert (final.text, final.revision) == (draft_text(revisions), revisions)
    assert len(messages_api.requests) == calls
    expected = {"generate_draft", "final_draft"}
    expected |= {f"critique_draft_{k}" for k in range(revisions + 1)}
    expected |= {f"revise_draft_{k}[revision_{k}]" for k in range(1, revisions + 1)}
    assert step_keys(result, "STEP_SUCCESS") == expected
    assert output_metadata(result, "final_draft")["text"] == final.text


def test_never_passing_fails_with_max_revisions_and_keeps_every_draft_and_critique(
    messages_api, api_key, instance
):
    messages_api.script(never_pass())
    result = run_job(instance, llm=anthropic_llm(messages_api))

    assert not result.success
    assert len(messages_api.requests) == 8
    failure = step_failure(result, "final_draft")
    assert "MaxRevisionsExceeded" in failure_text(failure)
    assert "no critique passed after 3 revision(s)" in failure_text(failure)
    assert failure_metadata(failure)["attempts"] == 3

    outputs = stored_outputs(instance, result.run_id)
    drafts = [outputs["generate_draft/result"]["value"]["draft"]["text"]]
    drafts += [
        outputs[f"revise_draft_{k}[revision_{k}]/result"]["value"]["draft"]["text"]
        for k in (1, 2, 3)
    ]
    assert drafts == [draft_text(k) for k in range(4)]
    critiques = [outputs[f"critique_draft_{k}/revise/revision_{k + 1}"] for k in (0, 1, 2)]
    critiques.append(outputs["critique_draft_3/done"])
    assert [c["value"]["critique"]["decision"] for c in critiques] == ["revise"] * 4
    assert critiques[-1]["value"]["critique"]["feedback"] == "still not there"


def test_the_revision_cap_comes_from_run_config(messages_api, api_key, instance):
    messages_api.script(never_pass(max_revisions=1))
    result = run_job(instance, max_revisions=1, llm=anthropic_llm(messages_api))
    assert not result.success
    assert len(messages_api.requests) == 4
    assert failure_metadata(step_failure(result, "final_draft"))["attempts"] == 1


@pytest.mark.parametrize(
    "first",
    [
        error(429, "rate limited", headers={"retry-after": "0"}),
        error(500, "internal"),
        error(529, "overloaded"),
        ok(draft_text(0), delay_s=2.0),
        ok(draft_text(0), drop=True),
    ],
    ids=["429", "500", "529", "timeout", "dropped-connection"],
)
def test_transient_failures_are_retried_within_the_call(messages_api, api_key, instance, first):
    messages_api.script([first, *pass_after(0)])
    result = run_job(instance, llm=anthropic_llm(messages_api, timeout_s=0.5))
    assert result.success
    assert len(messages_api.requests) == 3
    assert result.output_for_node("final_draft").text == draft_text(0)
    generated = output_metadata(result, "generate_draft")
    assert generated["llm_calls"] == 1 and generated["request_ids"].startswith("req_test_")


@pytest.mark.parametrize(
    ("status", "kind", "message"),
    [
        (401, "authentication_error", "invalid x-api-key"),
        (400, "invalid_request_error", "max_tokens: must be at most 64000"),
    ],
)
def test_permanent_errors_fail_at_once_after_one_call(
    messages_api, api_key, instance, status, kind, message
):
    messages_api.script([error(status, message)])
    result = run_job(instance, llm=anthropic_llm(messages_api))

    assert not result.success
    assert len(messages_api.requests) == 1
    failure = step_failure(result, "generate_draft")
    text = failure_text(failure)
    assert "PermanentLLMError" in text and str(status) in text
    assert kind in text and message in text
    assert failure_metadata(failure)["status_code"] == status
    assert failure_metadata(failure)["request_id"] == "req_test_0001"
    assert "STEP_UP_FOR_RETRY" not in {e.event_type_value for e in result.all_events}


@pytest.mark.parametrize(
    "reply",
    [
        "Here is my assessment.\n" + critique_json("pass") + "\nI hope this helps.",
        "```json\n" + critique_json("pass") + "\n```",
    ],
    ids=["prose", "code-fence"],
)
def test_a_wrapped_critique_is_read(messages_api, api_key, instance, reply):
    messages_api.script([draft_text(0), reply])
    result = run_job(instance, llm=anthropic_llm(messages_api))
    assert result.success
    assert len(messages_api.requests) == 2
    assert output_metadata(result, "critique_draft_0")["decision"] == "pass"


def test_a_critique_with_no_decision_is_repaired_once(messages_api, api_key, instance):
    messages_api.script([draft_text(0), '{"critique": "nice"}', critique_json("pass")])
    result = run_job(instance, llm=anthropic_llm(messages_api))
    assert result.success
    assert len(messages_api.requests) == 3
    assert "critique.decision: missing" in messages_api.requests[2].user_text
    assert output_metadata(result, "critique_draft_0")["llm_calls"] == 2


def test_a_critique_with_no_decision_twice_fails_and_keeps_the_draft(
    messages_api, api_key, instance
):
    messages_api.script([draft_text(0), '{"critique": "nice"}', "Still no JSON, sorry."])
    result = run_job(instance, llm=anthropic_llm(messages_api))

    assert not result.success
    assert len(messages_api.requests) == 3
    text = failure_text(step_failure(result, "critique_draft_0"))
    assert "ValidationError" in text and "critique: no JSON object found" in text
    assert result.output_for_node("generate_draft").draft.text == draft_text(0)


def test_every_output_carries_what_a_person_reads_in_the_ui(messages_api, api_key, instance):
    messages_api.script(pass_after(1))
    result = run_job(instance, llm=anthropic_llm(messages_api))
    critique = output_metadata(result, "critique_draft_0")
    assert critique["decision"] == "revise" and critique["action"] == "revise"
    assert critique["critique"]["feedback"] == "improve point 1"
    assert critique["draft"] == draft_text(0) and critique["revision"] == 0
    assert critique["provider"] == "anthropic" and critique["model"] == "claude-sonnet-4-6"
    assert critique["input_tokens"] == 11 and critique["output_tokens"] == 7
    assert critique["latency_ms"] > 0 and critique["attempt"] == 1
    revised = output_metadata(result, "revise_draft_1[revision_1]")
    assert revised["draft"] == draft_text(1) and revised["revision"] == 1
    assert revised["feedback"] == "improve point 1"
    assert output_metadata(result, "final_draft")["revision"] == 1
