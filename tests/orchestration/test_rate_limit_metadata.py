"""The rate limiter as a person meets it in a run: the time a step waited, in its metadata."""

import time
from datetime import UTC, datetime

from jobrun import anthropic_llm, execute_durably, output_metadata
from messages_api import Reply
from scenarios import critique_json, draft_text


def test_a_step_that_waited_for_the_rate_limit_shows_how_long(messages_api, api_key, instance):
    reset = datetime.fromtimestamp(time.time() + 3, UTC).isoformat()
    messages_api.script([
        Reply(text=draft_text(0), headers={
            "anthropic-ratelimit-output-tokens-remaining": "0",
            "anthropic-ratelimit-output-tokens-reset": reset,
        }),
        critique_json("pass"),
    ])
    llm = anthropic_llm(messages_api, rate_limit_requests_per_minute=50)
    result = execute_durably(instance, llm)
    assert result.success
    generated = output_metadata(result, "generate_draft")
    critiqued = output_metadata(result, "critique_draft_0")
    assert generated["rate_limit_wait_ms"] < 1000
    assert critiqued["rate_limit_wait_ms"] >= 1000
    assert messages_api.requests[1].received_at >= datetime.fromisoformat(reset).timestamp()
