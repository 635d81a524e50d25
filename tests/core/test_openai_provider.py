"""The OpenAI-compatible provider over a real socket to a local chat completions server."""

import time

import pytest
from structlog.testing import capture_logs

from ecl_core.errors import (
    ContextWindowExceeded,
    LLMTimeoutError,
    PermanentLLMError,
    RateLimitWaitError,
    TransientLLMError,
)
from ecl_core.llm.factory import ProviderSettings, build_provider
from ecl_core.llm.providers import openai_provider
from ecl_core.llm.providers.openai_provider import JSON_OBJECT_MAX_LENGTH, OpenAICompatibleProvider
from ecl_core.llm.resilience import RateLimits, RetrySettings
from ecl_core.types import CompletionRequest, Message

from messages_api import Reply, error, ok
from scenarios import API_KEY

REQUEST = CompletionRequest(
    system="You are terse.", messages=(Message(role="user", content="Say hi"),),
    max_tokens=64, step="generate",
)


def _provider(server, timeout_s: float = 5.0) -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider(
        api_key=API_KEY, model="llama3.1", timeout_s=timeout_s, base_url=f"{server.url}/v1"
    )


def test_a_chat_completion_answers_like_a_message(chat_api):
    chat_api.script([ok("hi", input_tokens=12, output_tokens=3)])
    response = _provider(chat_api).complete(REQUEST)

    assert (response.text, response.stop_reason, response.model) == ("hi", "end_turn", "llama3.1")
    assert (response.usage.input_tokens, response.usage.output_tokens) == (12, 3)
    assert response.provider == "openai_compatible" and response.request_id == "req_test_0001"
    (sent,) = chat_api.requests
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert sent.body["messages"] == [
        {"role": "system", "content": "You are terse."}, {"role": "user", "content": "Say hi"},
    ]
    assert sent.body["max_tokens"] == 64 and sent.body["model"] == "llama3.1"


def test_a_length_finish_is_max_tokens(chat_api):
    chat_api.script([ok("cut", stop_reason="max_tokens")])
    assert _provider(chat_api).complete(REQUEST).stop_reason == "max_tokens"


@pytest.mark.parametrize("status", [408, 409, 429, 500, 503])
def test_retryable_statuses_are_transient(chat_api, status):
    chat_api.script([error(status, "busy", headers={"retry-after": "2"})])
    with pytest.raises(TransientLLMError, match=f"returned {status}") as failed:
        _provider(chat_api).complete(REQUEST)
    assert failed.value.status_code == status and failed.value.retry_after_s == 2.0
    assert failed.value.request_id == "req_test_0001"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_other_client_errors_are_permanent(chat_api, status):
    chat_api.script([error(status, "no")])
    with pytest.raises(PermanentLLMError, match=f"returned {status}"):
        _provider(chat_api).complete(REQUEST)


def test_timeouts_and_dropped_connections_are_transient(chat_api):
    chat_api.script([ok("late", delay_s=1.0), ok("cut", drop=True)])
    with pytest.raises(LLMTimeoutError):
        _provider(chat_api, timeout_s=0.3).complete(REQUEST)
    with pytest.raises(TransientLLMError, match="connection"):
        _provider(chat_api).complete(REQUEST)


def test_a_content_filter_finish_is_a_permanent_refusal(chat_api):
    chat_api.script([ok("", stop_reason="content_filter")])
    with pytest.raises(PermanentLLMError, match="content filter"):
        _provider(chat_api).complete(REQUEST)


def test_built_from_the_deployments_environment_with_ecl_retries(chat_api, tmp_path):
    chat_api.script([error(429, "slow down", headers={"retry-after": "0"}), ok("hello")])
    settings = ProviderSettings(
        provider="openai_compatible", model="llama3.1",
        retry=RetrySettings(initial_delay_s=0, max_delay_s=0),
        db_url=f"sqlite:///{tmp_path / 'ecl.db'}",
    )
    provider = build_provider(settings, API_KEY)
    assert provider.complete(REQUEST).text == "hello"
    assert len(chat_api.requests) == 2


@pytest.mark.parametrize(
    "body", [b'{"id": "chatcmpl-1", "choi', b'{"id": "chatcmpl-1", "choices": []}'],
    ids=["cut-json", "no-choice"],
)
def test_a_body_that_is_not_a_chat_completion_is_transient(chat_api, body):
    chat_api.script([Reply(raw_body=body)])
    with pytest.raises(TransientLLMError, match="body that is not a chat completion"):
        _provider(chat_api).complete(REQUEST)


def test_text_the_sdk_cannot_encode_is_permanent_and_never_sent(chat_api):
    request = REQUEST.model_copy(update={"system": "bad \udc00 text"})
    with pytest.raises(PermanentLLMError, match="not valid Unicode"):
        _provider(chat_api).complete(request)
    assert chat_api.requests == []


def test_a_used_up_limit_in_openai_headers_pauses_the_next_call_until_its_reset(
    chat_api, tmp_path
):
    chat_api.script([
        ok("first", headers={"x-ratelimit-remaining-requests": "0",
                             "x-ratelimit-reset-requests": "2.5s",
                             "x-ratelimit-remaining-tokens": "0",
                             "x-ratelimit-reset-tokens": "6m0s"}),
    ])
    settings = ProviderSettings(
        provider="openai_compatible", model="llama3.1", timeout_s=5,
        retry=RetrySettings(max_attempts=1),
        rate_limits=RateLimits(requests_per_minute=100, max_wait_s=30),
        db_url=f"sqlite:///{tmp_path / 'ecl.db'}",
    )
    provider = build_provider(settings, api_key=API_KEY)
    started = time.time()
    first = provider.complete(REQUEST)
    assert first.text == "first"
    assert 6 * 60 - 1 <= first.rate_limit_reset_at - started <= 6 * 60 + 5  # the later reset
    # The pause the API asks for (6 minutes) is capped at the window of a per-minute limit.
    with pytest.raises(RateLimitWaitError, match=r"used up for (5[0-9]|60)\.[0-9] s more"):
        provider.complete(REQUEST)
    assert len(chat_api.requests) == 1


STRUCTURED = REQUEST.model_copy(update={"output_schema": {
    "type": "object", "properties": {"a": {"type": "string", "maxLength": 5000},
                                     "b": {"type": "string", "default": ""}},
    "required": ["a"], "additionalProperties": False}})


@pytest.fixture
def fresh_ladder(monkeypatch):
    monkeypatch.setattr(openai_provider, "_rungs", {})


def test_a_refused_response_format_steps_down_the_ladder_once(chat_api, fresh_ladder):
    chat_api.script([error(400, "response_format json_schema is not supported"),
                     ok('{"a": "x"}'), ok('{"a": "y"}')])
    with capture_logs() as logs:
        first = _provider(chat_api).complete(STRUCTURED)
        second = _provider(chat_api).complete(STRUCTURED)
    assert (first.text, second.text) == ('{"a": "x"}', '{"a": "y"}')
    formats = [r.body["response_format"] for r in chat_api.requests]
    assert [f["type"] for f in formats] == ["json_schema", "json_object", "json_object"]
    strict = formats[0]["json_schema"]
    assert strict["strict"] is True and strict["schema"]["required"] == ["a", "b"]
    assert formats[1]["schema"]["properties"]["a"]["maxLength"] == JSON_OBJECT_MAX_LENGTH
    refused = [e for e in logs if e["event"] == "llm.structured_outputs_refused"]
    assert [(e["status_code"], e["refused"], e["now"]) for e in refused] == [
        (400, "json_schema", "json_object")]


def test_a_400_about_something_else_keeps_its_class_and_the_ladder(chat_api, fresh_ladder):
    chat_api.script([error(400, "max_tokens must be at most 4096")])
    with pytest.raises(PermanentLLMError, match="max_tokens must be at most 4096"):
        _provider(chat_api).complete(STRUCTURED)
    assert len(chat_api.requests) == 1
    assert openai_provider._rungs == {}


def test_a_400_stating_the_window_is_a_context_window_error(chat_api):
    chat_api.script([error(400, "This model's maximum context length is 4096 tokens. However, "
                                "you requested 9000 tokens")])
    with pytest.raises(ContextWindowExceeded) as refused:
        _provider(chat_api).complete(REQUEST)
    assert refused.value.window_tokens == 4096 and refused.value.status_code == 400
