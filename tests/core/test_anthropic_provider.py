"""The anthropic provider through the real SDK, over HTTP to a local Messages-API server."""

import pytest

from ecl_core.errors import PermanentLLMError, TransientLLMError
from ecl_core.llm.anthropic_provider import AnthropicProvider
from ecl_core.types import CompletionRequest, Message

from messages_api import error, ok
from scenarios import API_KEY


def _request() -> CompletionRequest:
    return CompletionRequest(
        system="Be brief.",
        messages=(Message(role="user", content="Say hello."),),
        max_tokens=64,
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
    assert sent.body["system"] == "Be brief."
    assert sent.body["max_tokens"] == 64
    assert sent.body["messages"] == [{"role": "user", "content": "Say hello."}]
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
