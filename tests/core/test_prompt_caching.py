"""Prompt caching on the wire: cache_control where the prompt's stable prefix ends."""

from decimal import Decimal

import pytest

from ecl_core.llm.factory import ProviderSettings, build_provider
from ecl_core.llm.journal import journal_scope, request_hash
from ecl_core.llm.resilience import RetrySettings
from ecl_core.prompts import load_prompt
from ecl_core.types import TokenUsage
from ecl_core.usage.prices import PRICE_TABLE_ENV_VAR

from messages_api import ok
from scenarios import API_KEY

NO_WAIT = RetrySettings(initial_delay_s=0, max_delay_s=0)


@pytest.fixture(autouse=True)
def _packaged_prices(monkeypatch):
    monkeypatch.delenv(PRICE_TABLE_ENV_VAR, raising=False)


def _provider(**settings):
    return build_provider(ProviderSettings(provider="anthropic", retry=NO_WAIT, **settings),
                          API_KEY)


def _critique(draft, topic="Tea"):
    return load_prompt("critique").request(max_tokens=100, topic=topic, draft=draft)


def _as_sent(recorded) -> TokenUsage:
    """The usage the server sent, as ECL's TokenUsage."""
    sent = recorded.usage
    return TokenUsage(
        input_tokens=sent["input_tokens"], output_tokens=sent["output_tokens"],
        cache_creation_input_tokens=sent["cache_creation_input_tokens"],
        cache_creation_1h_input_tokens=sent["cache_creation"]["ephemeral_1h_input_tokens"],
        cache_read_input_tokens=sent["cache_read_input_tokens"],
    )


def test_a_cached_context_prompt_marks_its_prefix_and_the_next_call_reads_it(messages_api):
    messages_api.fallback = ok('{"decision": "pass", "critique": "ok", "feedback": ""}')
    provider = _provider()
    first = provider.complete(_critique("Tea is good."))
    second = provider.complete(_critique("Tea is very good."))
    ephemeral = {"type": "ephemeral", "ttl": "5m"}
    body = messages_api.requests[0].body
    assert body["system"] == [
        {"type": "text", "text": load_prompt("critique").system, "cache_control": ephemeral}
    ]
    [user] = body["messages"]
    context, turn = user["content"]
    assert context == {"type": "text", "text": "Topic: Tea", "cache_control": ephemeral}
    assert turn["type"] == "text" and "cache_control" not in turn
    assert "Tea is good." in turn["text"]
    assert first.usage.cache_creation_input_tokens > 0 and first.usage.cache_read_input_tokens == 0
    assert second.usage.cache_read_input_tokens > 0
    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens
    assert [first.usage, second.usage] == [_as_sent(r) for r in messages_api.requests]


def test_caching_off_sends_no_cache_control_and_reads_no_cache(messages_api):
    messages_api.fallback = ok("Fine.")
    provider = _provider(prompt_caching=False)
    provider.complete(_critique("Tea is good."))
    second = provider.complete(_critique("Tea is very good."))
    for recorded in messages_api.requests:
        assert "cache_control" not in str(recorded.body)
    assert messages_api.requests[0].body["system"] == load_prompt("critique").system
    assert second.usage.cache_read_input_tokens == 0
    assert second.usage.cache_creation_input_tokens == 0


def test_a_one_hour_ttl_is_sent_and_its_writes_are_reported_and_priced(messages_api):
    messages_api.fallback = ok("Fine.", input_tokens=10, output_tokens=5)
    answer = _provider(cache_ttl="1h").complete(_critique("Tea is good."))
    body = messages_api.requests[0].body
    hourly = {"type": "ephemeral", "ttl": "1h"}
    assert body["system"][0]["cache_control"] == hourly
    assert body["messages"][0]["content"][0]["cache_control"] == hourly
    written = answer.usage.cache_creation_input_tokens
    assert written > 0 and answer.usage.cache_creation_1h_input_tokens == written
    assert answer.usage.cache_creation_5m_input_tokens == 0
    assert answer.usage == _as_sent(messages_api.requests[0])
    # Sonnet: 3 USD/MTok input, 15 output, a 1-hour write at twice the input price.
    assert answer.cost_usd == (10 * 3 + 5 * 15 + written * 6) / Decimal(1_000_000)


def test_a_prompt_without_cached_context_sends_plain_strings(messages_api):
    messages_api.fallback = ok("A draft.")
    _provider().complete(load_prompt("generate").request(max_tokens=100, topic="Tea"))
    body = messages_api.requests[0].body
    assert body["system"] == load_prompt("generate").system
    [user] = body["messages"]
    assert isinstance(user["content"], str) and "Tea" in user["content"]
    assert "cache_control" not in str(body)


def test_the_journal_key_has_the_context_but_not_the_cache_mark():
    request = _critique("Tea is good.")
    key = request_hash("anthropic", "claude-sonnet-4-6", request)
    uncached = request.model_copy(update={"cache": False})
    other_topic = _critique("Tea is good.", topic="Coffee")
    assert other_topic.messages == request.messages, "only the context differs"
    assert request_hash("anthropic", "claude-sonnet-4-6", uncached) == key
    assert request_hash("anthropic", "claude-sonnet-4-6", other_topic) != key


def test_the_journal_answers_a_request_that_differs_only_in_caching(messages_api, tmp_path):
    messages_api.script(["first", "second"])
    provider = _provider(db_url=f"sqlite:///{tmp_path / 'ecl.db'}")
    request = _critique("Tea is good.")
    with journal_scope("lineage", "critique"):
        provider.complete(request)
        uncached = provider.complete(request.model_copy(update={"cache": False}))
        other_topic = provider.complete(_critique("Tea is good.", topic="Coffee"))
    assert (uncached.text, uncached.journaled) == ("first", True)
    assert (other_topic.text, other_topic.journaled) == ("second", False)
    assert len(messages_api.requests) == 2
