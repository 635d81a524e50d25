"""Prices, prompt caching, structured outputs and budget holds, without Dagster."""

import threading
from decimal import Decimal

import pytest
from structlog.testing import capture_logs

from ecl_core.errors import BudgetExceeded, ConfigError
from ecl_core.llm import anthropic_provider
from ecl_core.llm.factory import ProviderSettings, build_provider
from ecl_core.llm.journal_scope import JournalScope
from ecl_core.llm.resilience import RetrySettings
from ecl_core.prompts import load_prompt
from ecl_core.steps.critique import critique
from ecl_core.types import Draft, TokenUsage
from ecl_core.usage.budget import BudgetGuard
from ecl_core.usage.limits import Budget
from ecl_core.usage.prices import load_price_table, price_table

from messages_api import error, ok
from scenarios import API_KEY, critique_json

NO_WAIT = RetrySettings(initial_delay_s=0, max_delay_s=0)


def test_costs_follow_the_table_exactly():
    table = price_table()
    usage = TokenUsage(input_tokens=1000, output_tokens=200, cache_creation_input_tokens=300,
                       cache_creation_1h_input_tokens=100, cache_read_input_tokens=5000)
    by_hand = (1000 * 3 + 200 * 15 + 200 * Decimal("3.75") + 100 * 6
               + 5000 * Decimal("0.3")) / Decimal(1_000_000)
    assert table.cost("claude-sonnet-4-6", usage) == by_hand
    assert table.cost("claude-sonnet-4-5-20250929", usage) == by_hand
    assert table.cost("claude-sonnet-4-6", usage, "batch") == by_hand / 2
    assert table.cost("claude-unknown-9", usage) is None


def test_a_price_table_file_replaces_the_packaged_one(tmp_path, monkeypatch):
    mine = tmp_path / "prices.toml"
    mine.write_text('version = "ours-1"\n[models.local-llama]\ninput = 0\noutput = 0.5\n')
    monkeypatch.setenv("ECL_PRICE_TABLE", str(mine))
    table = price_table()
    assert table.version == "ours-1" and table.price("claude-sonnet-4-6") is None
    assert table.cost("local-llama", TokenUsage(output_tokens=2_000_000)) == 1
    bad = tmp_path / "bad.toml"
    bad.write_text('version = "x"\n[models.m]\ninput = -1\noutput = 1\n')
    with pytest.raises(ConfigError, match="models.m.input is -1"):
        load_price_table(bad)


def _provider(server, **settings):
    return build_provider(ProviderSettings(provider="anthropic", retry=NO_WAIT, **settings),
                          API_KEY)


def test_a_cached_context_prompt_sends_cache_control_and_reads_the_cache(messages_api):
    messages_api.fallback = ok("Fine.")
    provider = _provider(messages_api)
    request = load_prompt("critique").request(max_tokens=100, topic="Tea", draft="Tea is good.")
    provider.complete(request)
    second = provider.complete(request.model_copy(update={"messages": (
        request.messages[0].model_copy(update={"content": "Draft: <draft>Tea.</draft>"}),)}))
    body = messages_api.requests[0].body
    ephemeral = {"type": "ephemeral", "ttl": "5m"}
    assert body["system"][0]["cache_control"] == ephemeral
    context, message = body["messages"][0]["content"]
    assert context == {"type": "text", "text": "Topic: Tea", "cache_control": ephemeral}
    assert "cache_control" not in message
    assert second.usage.cache_read_input_tokens > 0
    assert second.usage.cache_read_input_tokens == \
        messages_api.requests[1].usage["cache_read_input_tokens"]
    provider.complete(load_prompt("generate").request(max_tokens=100, topic="Tea"))
    assert isinstance(messages_api.requests[2].body["system"], str)


def test_caching_off_sends_no_cache_control(messages_api):
    messages_api.fallback = ok("Fine.")
    provider = _provider(messages_api, prompt_caching=False)
    provider.complete(load_prompt("critique").request(max_tokens=100, topic="T", draft="D"))
    assert "cache_control" not in str(messages_api.requests[0].body)


def test_a_refused_schema_falls_back_to_parsing_once_per_process(messages_api, monkeypatch):
    monkeypatch.setattr(anthropic_provider, "_no_structured_outputs", set())
    messages_api.reject_structured_outputs = True
    messages_api.script([critique_json("pass"), critique_json("revise", "more")])
    provider = _provider(messages_api)
    draft = Draft(topic="Tea", text="Tea is good.", revision=0)
    with capture_logs() as logs:
        first = critique(provider, draft, max_tokens=100).output
        second = critique(provider, draft, max_tokens=100).output
    assert (first.decision, second.decision) == ("pass", "revise")
    sent = ["output_config" in r.body for r in messages_api.requests]
    assert sent == [True, False, False]
    assert messages_api.requests[0].body["output_config"]["format"]["type"] == "json_schema"
    warnings = [e for e in logs if e["event"] == "llm.structured_outputs_refused"]
    assert len(warnings) == 1


def test_another_400_is_not_taken_for_a_refused_schema(messages_api, monkeypatch):
    monkeypatch.setattr(anthropic_provider, "_no_structured_outputs", set())
    messages_api.script([error(400, "messages: prompt is too long")])
    provider = _provider(messages_api)
    with pytest.raises(Exception, match="prompt is too long"):
        critique(provider, Draft(topic="T", text="D", revision=0), max_tokens=100)
    assert len(messages_api.requests) == 1


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/ecl.db"
    return request.getfixturevalue("postgres_url")


def test_concurrent_calls_cannot_overspend_together(database):
    guard = BudgetGuard(database, Budget(tokens=1000), lease_s=60)
    scope = JournalScope("lineage-1", "step")
    start, outcomes = threading.Barrier(4), []

    def reserve() -> None:
        start.wait()
        try:
            outcomes.append(guard.reserve(scope, 600, Decimal(0), "a call"))
        except BudgetExceeded as err:
            outcomes.append(err)

    threads = [threading.Thread(target=reserve) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    held = [o for o in outcomes if isinstance(o, int)]
    refused = [o for o in outcomes if isinstance(o, BudgetExceeded)]
    assert len(held) == 1 and len(refused) == 3
    assert "600 tokens more held by calls in flight" in str(refused[0])
    guard.release(held[0])
    guard.release(guard.reserve(scope, 1000, Decimal(0), "a call"))
