"""The anthropic provider through the real SDK, over HTTP to a local Messages-API server."""

import pytest

from ecl_core.errors import PermanentLLMError, TransientLLMError
from ecl_core.llm.providers.anthropic_provider import STREAM_ABOVE_MAX_TOKENS, AnthropicProvider
from ecl_core.types import CompletionRequest, Message

from messages_api import STREAM_CHUNK_CHARS, error, message_text, ok, system_text
from scenarios import API_KEY

LONG_MAX_TOKENS = 16_000  # the migration analyzer's documents


def _request(max_tokens: int = 64) -> CompletionRequest:
    return CompletionRequest(
        system="Be brief.",
        messages=(Message(role="user", content="Say hello."),),
        max_tokens=max_tokens,
        step="generate",
    )


def _provider(server, timeout_s: float = 5.0) -> AnthropicProvider:
    return AnthropicProvider(
        api_key=API_KEY, model="claude-test", timeout_s=timeout_s, base_url=server.url
    )


def test_success_carries_text_usage_stop_reason_and_request_id(messages_api):
    messages_api.script([ok("Hello.", input_tokens=21, output_tokens=3)])
    response = _provider(messages_api).complete(_request())
    assert response.text == "Hello."
    assert response.usage.input_tokens == 21 and response.usage.output_tokens == 3
    assert response.stop_reason == "end_turn"
    assert response.model == "claude-test"
    assert response.request_id == "req_test_0001"
    sent = messages_api.requests[0]
    assert system_text(sent.body) == "Be brief."
    assert sent.body["max_tokens"] == 64
    assert [(m["role"], message_text(m)) for m in sent.body["messages"]] == [
        ("user", "Say hello.")
    ]
    assert "stream" not in sent.body
    assert API_KEY in (sent.headers.get("x-api-key", "") + sent.headers.get("authorization", ""))


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 529])
def test_retryable_statuses_are_transient_and_keep_status_and_request_id(messages_api, status):
    messages_api.script([error(status, "try later")])
    with pytest.raises(TransientLLMError) as caught:
        _provider(messages_api).complete(_request())
    assert caught.value.status_code == status
    assert caught.value.request_id == "req_test_0001"
    assert len(messages_api.requests) == 1, "the SDK must not retry: max_retries=0"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
def test_other_client_errors_are_permanent(messages_api, status):
    messages_api.script([error(status, "nope")])
    with pytest.raises(PermanentLLMError) as caught:
        _provider(messages_api).complete(_request())
    assert caught.value.status_code == status
    assert "nope" in str(caught.value)
    assert API_KEY not in str(caught.value)


def test_retry_after_header_is_kept(messages_api):
    messages_api.script([error(429, "slow down", headers={"retry-after": "7"})])
    with pytest.raises(TransientLLMError) as caught:
        _provider(messages_api).complete(_request())
    assert caught.value.retry_after_s == 7.0


def test_timeout_is_transient(messages_api):
    messages_api.script([ok("late", delay_s=1.0)])
    with pytest.raises(TransientLLMError, match="timed out"):
        _provider(messages_api, timeout_s=0.3).complete(_request())


def test_dropped_connection_is_transient(messages_api):
    messages_api.script([ok("never sent", drop=True)])
    with pytest.raises(TransientLLMError, match="connection"):
        _provider(messages_api).complete(_request())


def test_refusal_is_permanent(messages_api):
    messages_api.script([ok("", stop_reason="refusal")])
    with pytest.raises(PermanentLLMError, match="refused"):
        _provider(messages_api).complete(_request())


LONG_TEXT = "A long document, streamed in many text deltas. " * 5


def test_long_max_tokens_is_streamed_and_answers_like_a_plain_call(messages_api):
    assert LONG_MAX_TOKENS > STREAM_ABOVE_MAX_TOKENS
    assert len(LONG_TEXT) > 10 * STREAM_CHUNK_CHARS, "the answer must arrive in many deltas"
    messages_api.script([ok(LONG_TEXT, input_tokens=1_500, output_tokens=900)])
    response = _provider(messages_api).complete(_request(LONG_MAX_TOKENS))
    assert response.text == LONG_TEXT
    assert response.usage.input_tokens == 1_500 and response.usage.output_tokens == 900
    assert response.stop_reason == "end_turn"
    assert response.model == "claude-test"
    assert response.request_id == "req_test_0001"
    sent = messages_api.requests[0]
    assert sent.body["stream"] is True
    assert sent.body["max_tokens"] == LONG_MAX_TOKENS
    assert system_text(sent.body) == "Be brief."
    assert [(m["role"], message_text(m)) for m in sent.body["messages"]] == [
        ("user", "Say hello.")
    ]
    assert len(messages_api.completed_bodies()) == 1


@pytest.mark.parametrize("max_tokens", [1_024, STREAM_ABOVE_MAX_TOKENS])
def test_max_tokens_up_to_the_threshold_is_one_plain_call(messages_api, max_tokens):
    messages_api.script([ok("Hello.")])
    response = _provider(messages_api).complete(_request(max_tokens))
    assert response.text == "Hello."
    assert "stream" not in messages_api.requests[0].body


def test_streamed_answer_cut_at_max_tokens_reports_it(messages_api):
    messages_api.script([ok(LONG_TEXT, stop_reason="max_tokens", output_tokens=LONG_MAX_TOKENS)])
    response = _provider(messages_api).complete(_request(LONG_MAX_TOKENS))
    assert response.stop_reason == "max_tokens"
    assert response.usage.output_tokens == LONG_MAX_TOKENS
    assert response.text == LONG_TEXT


def test_overloaded_error_event_mid_stream_is_transient(messages_api):
    messages_api.script([ok(LONG_TEXT, stream_error="overloaded_error", message="Overloaded")])
    with pytest.raises(TransientLLMError, match="overloaded_error: Overloaded") as caught:
        _provider(messages_api).complete(_request(LONG_MAX_TOKENS))
    assert caught.value.status_code == 529
    assert caught.value.request_id == "req_test_0001"
    assert messages_api.completed_bodies() == []


def test_invalid_request_error_event_mid_stream_is_permanent(messages_api):
    messages_api.script([ok(LONG_TEXT, stream_error="invalid_request_error")])
    with pytest.raises(PermanentLLMError) as caught:
        _provider(messages_api).complete(_request(LONG_MAX_TOKENS))
    assert caught.value.status_code == 400


def test_connection_cut_mid_stream_is_transient(messages_api):
    messages_api.script([ok(LONG_TEXT, drop_mid_stream=True)])
    with pytest.raises(TransientLLMError, match="connection"):
        _provider(messages_api).complete(_request(LONG_MAX_TOKENS))
    assert messages_api.completed_bodies() == []


def test_status_error_before_a_stream_is_translated_as_for_a_plain_call(messages_api):
    messages_api.script([error(400, "bad request"), error(529, "Overloaded")])
    with pytest.raises(PermanentLLMError, match="bad request") as caught:
        _provider(messages_api).complete(_request(LONG_MAX_TOKENS))
    assert caught.value.status_code == 400
    assert caught.value.request_id == "req_test_0001"
    with pytest.raises(TransientLLMError) as overloaded:
        _provider(messages_api).complete(_request(LONG_MAX_TOKENS))
    assert overloaded.value.status_code == 529
    assert all(r.body["stream"] is True for r in messages_api.requests)


def test_streamed_refusal_is_permanent(messages_api):
    messages_api.script([ok("", stop_reason="refusal")])
    with pytest.raises(PermanentLLMError, match="refused"):
        _provider(messages_api).complete(_request(LONG_MAX_TOKENS))
