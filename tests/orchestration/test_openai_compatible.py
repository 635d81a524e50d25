"""critique_revise on an OpenAI-compatible server: the same loop, retries and
classes of error as on the Messages API, over a local chat completions server."""

from jobrun import failure_metadata, failure_text, output_metadata, run_job, step_failure
from messages_api import error
from scenarios import draft_text, pass_after

LLM = {
    "provider": "openai_compatible", "model": "llama3.1",
    "retry_initial_delay_s": 0.0, "retry_max_delay_s": 0.0, "timeout_s": 5.0,
}


def test_critique_revise_runs_end_to_end_with_a_429_retried(chat_api, instance):
    chat_api.script([error(429, "rate limited", headers={"retry-after": "0"}), *pass_after(1)])
    result = run_job(instance, llm=LLM)

    assert result.success
    final = result.output_for_node("final_draft")
    assert (final.text, final.revision) == (draft_text(1), 1)
    assert len(chat_api.requests) == 5
    assert {r.body["model"] for r in chat_api.requests} == {"llama3.1"}
    generated = output_metadata(result, "generate_draft")
    assert generated["llm_calls"] == 1 and generated["provider"] == "openai_compatible"
    assert result.dagster_run.tags["ecl/llm_provider"] == "openai_compatible"


def test_a_401_fails_the_step_at_once(chat_api, instance):
    chat_api.script([error(401, "invalid api key")])
    result = run_job(instance, llm=LLM)

    assert not result.success
    assert len(chat_api.requests) == 1
    failure = step_failure(result, "generate_draft")
    assert "PermanentLLMError: chat completions API returned 401" in failure_text(failure)
    assert "invalid api key" in failure_text(failure)
    assert failure_metadata(failure)["status_code"] == 401
    assert "STEP_UP_FOR_RETRY" not in {e.event_type_value for e in result.all_events}
