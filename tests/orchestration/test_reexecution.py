"""A failed run keeps its completed steps and re-executes from failure without repeating them."""

from structlog.testing import capture_logs

from jobrun import (
    anthropic_llm,
    execute_durably,
    reexecute_from_failure,
    step_keys,
    stored_outputs,
)
from messages_api import error, message_text
from scenarios import critique_json, draft_text


def test_reexecution_from_failure_resumes_inside_the_loop(messages_api, api_key, instance):
    # generate, critique (revise), revise, then the level-1 critique fails permanently.
    messages_api.script(
        [draft_text(0), critique_json("revise", "more"), draft_text(1), error(400, "bad")]
    )
    first = execute_durably(instance, anthropic_llm(messages_api))
    assert not first.success
    assert step_keys(first, "STEP_FAILURE") == {"critique_draft_1"}
    assert len(messages_api.requests) == 4

    messages_api.script([critique_json("pass")])
    second = reexecute_from_failure(instance, first.run_id)

    assert second.success
    assert len(messages_api.requests) == 5, "completed LLM steps must not be paid for twice"
    assert step_keys(second, "STEP_SUCCESS") == {"critique_draft_1", "final_draft"}
    assert message_text(messages_api.requests[-1].body["messages"][0]).count(draft_text(1)) == 1
    final = stored_outputs(instance, second.run_id)["final_draft/result"]["value"]
    assert (final["text"], final["revision"]) == (draft_text(1), 1)


def test_a_reexecuted_step_does_not_pay_again_for_answers_it_already_got(
    messages_api, api_key, instance
):
    # critique_draft_0: the first answer lacks a decision; the repair request fails with 400.
    messages_api.script([draft_text(0), '{"critique": "no verdict"}', error(400, "bad")])
    first = execute_durably(instance, anthropic_llm(messages_api))
    assert step_keys(first, "STEP_FAILURE") == {"critique_draft_0"}
    assert len(messages_api.requests) == 3

    messages_api.script([critique_json("pass")])
    with capture_logs() as logs:
        second = reexecute_from_failure(instance, first.run_id)

    assert second.success
    assert len(messages_api.requests) == 4, "only the repair request is sent again"
    assert "critique.decision: missing" in messages_api.requests[3].user_text
    journaled = [e for e in logs if e["event"] == "llm.call" and e.get("from_journal")]
    assert [e["step"] for e in journaled] == ["critique"]
    (output,) = [
        e for e in second.all_events if e.is_successful_output and e.step_key == "critique_draft_0"
    ]
    metadata = output.step_output_data.metadata
    assert metadata["journaled_calls"].value == 1 and metadata["llm_calls"].value == 2
