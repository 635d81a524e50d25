"""The usage ledger and budgets, through a built provider, over HTTP to the local server."""

from decimal import Decimal

import pytest
from structlog.testing import capture_logs

from ecl_core import logging as ecl_logging
from ecl_core.errors import BudgetExceeded, ConfigError
from ecl_core.llm.factory import ProviderSettings, build_provider
from ecl_core.llm.journal_scope import journal_scope
from ecl_core.llm.resilience import RetrySettings
from ecl_core.types import CompletionRequest, Message, TokenUsage
from ecl_core.usage.ledger import UsageLedger
from ecl_core.usage.limits import Budget, input_bound
from ecl_core.usage.prices import PRICE_TABLE_ENV_VAR, price_table

from budget_race import race_for_one_call
from messages_api import input_token_count, ok
from scenarios import API_KEY

NO_WAIT = RetrySettings(initial_delay_s=0, max_delay_s=0)
SYSTEM = "Answer in one short line. " * 4  # 104 bytes


@pytest.fixture(autouse=True)
def _packaged_prices(monkeypatch):
    monkeypatch.delenv(PRICE_TABLE_ENV_VAR, raising=False)


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'ecl.db'}"


def _provider(db_url, **settings):
    settings = ProviderSettings(provider="anthropic", db_url=db_url, retry=NO_WAIT, **settings)
    return build_provider(settings, API_KEY)


def _request(text, *, max_tokens=64, context=""):
    return CompletionRequest(system=SYSTEM, context=context, cache=bool(context),
                             messages=(Message(role="user", content=text),),
                             max_tokens=max_tokens, step="generate")


def _long_request(number, max_tokens=500):
    """A request the API counts at about a quarter of its size bound (``input_bound``)."""
    return _request(f"Question {number}: " + "x" * 500, max_tokens=max_tokens)


def _tokens(usage: TokenUsage):
    return (usage.input_tokens, usage.output_tokens, usage.cache_creation_5m_input_tokens,
            usage.cache_creation_1h_input_tokens, usage.cache_read_input_tokens)


def _sent_tokens(sent):
    split = sent["cache_creation"]
    return (sent["input_tokens"], sent["output_tokens"], split["ephemeral_5m_input_tokens"],
            split["ephemeral_1h_input_tokens"], sent["cache_read_input_tokens"])


def _sonnet_cost(sent):
    """The cost of the usage the server sent, by hand from the table's Sonnet prices."""
    price = price_table().price("claude-sonnet-4-6")
    assert price is not None
    fresh, output, written_5m, written_1h, read = sent
    base = price.input
    return (fresh * base + output * price.output + written_5m * base * Decimal("1.25")
            + written_1h * base * 2 + read * base * Decimal("0.1")) / 1_000_000


def test_each_call_writes_a_row_of_the_servers_usage_and_its_cost(messages_api, db_url):
    messages_api.script([ok(t, input_tokens=100 + n, output_tokens=20 + n)
                         for n, t in enumerate(["a", "b", "c"])])
    provider, ledger = _provider(db_url), UsageLedger(db_url)
    calls = [_request("Q1", context="Topic: tea"), _request("Q2", context="Topic: tea"),
             _request("Q3", context="Topic: coffee")]
    with journal_scope("lineage-1", "step-1", run_id="run-1", workflow="wf"):
        answers = [provider.complete(request) for request in calls]
        again = provider.complete(calls[0])
    assert len(messages_api.requests) == 3, "the repeated request is answered from the journal"
    assert (again.text, again.journaled, again.cost_usd) == ("a", True, 0)
    rows = ledger.rows(lineage="lineage-1")
    assert [row.journaled for row in rows] == [False, False, False, True]
    for row, answer, recorded in zip(rows, answers, messages_api.requests, strict=False):
        sent = _sent_tokens(recorded.usage)
        assert _tokens(row.usage) == _tokens(answer.usage) == sent
        assert row.cost_usd == answer.cost_usd == _sonnet_cost(sent)
        assert row.request_id == answer.request_id and row.request_id
        assert (row.run_id, row.step_key, row.workflow) == ("run-1", "step-1", "wf")
        assert (row.provider, row.model) == ("anthropic", "claude-sonnet-4-6")
        assert row.price_version == price_table().version
    assert sum(row.usage.cache_creation_5m_input_tokens for row in rows) > 0
    assert rows[1].usage.cache_read_input_tokens > 0, "the second call read the cached prefix"
    replayed = rows[3]
    assert replayed.usage == TokenUsage() and replayed.cost_usd == 0
    assert replayed.request_id == rows[0].request_id
    total = ledger.total(lineage="lineage-1")
    assert (total.calls, total.journaled_calls, total.unpriced_calls) == (4, 1, 0)
    assert total.cost_usd == sum(row.cost_usd for row in rows[:3])


def test_a_model_without_a_price_answers_and_its_cost_is_unknown(messages_api, db_url,
                                                                  monkeypatch):
    monkeypatch.setattr(ecl_logging, "_warned", set())
    messages_api.fallback = ok("fine", input_tokens=40, output_tokens=9)
    priced, unpriced = _provider(db_url), _provider(db_url, model="claude-unknown-9")
    ledger = UsageLedger(db_url)
    with capture_logs() as logs:
        with journal_scope("mixed", "step"):
            priced.complete(_request("one"))
            answer = unpriced.complete(_request("two"))
        with journal_scope("other", "step"):
            unpriced.complete(_request("three"))
    assert (answer.text, answer.cost_usd) == ("fine", None)
    row = ledger.rows(lineage="mixed")[1]
    assert (row.model, row.cost_usd) == ("claude-unknown-9", None)
    assert (row.usage.input_tokens, row.usage.output_tokens) == (40, 9)
    total = ledger.total(lineage="mixed")
    assert (total.calls, total.cost_usd, total.unpriced_calls) == (2, None, 1)
    assert total.usage.input_tokens == 80
    warnings = [event for event in logs if event["event"] == "llm.price_unknown"]
    assert len(warnings) == 1 and warnings[0]["model"] == "claude-unknown-9"
    assert warnings[0]["log_level"] == "warning"


def test_a_token_budget_refuses_the_call_that_could_cross_it(messages_api, db_url):
    messages_api.fallback = ok("fine", input_tokens=11, output_tokens=500)
    calls = [_long_request(n) for n in range(4)]
    assert input_bound(calls[2]) + 500 > 2000 - 2 * 511, "the 3rd fits only as counted by the API"
    ledger, provider = UsageLedger(db_url), _provider(db_url, budget=Budget(tokens=2000))
    with journal_scope("budgeted", "step"):
        for request in calls[:3]:
            provider.complete(request)
        with pytest.raises(BudgetExceeded) as caught:
            provider.complete(calls[3])
    message = str(caught.value)
    assert "spent 1,533 tokens of a budget of 2,000 tokens" in message
    assert "counted by the API" in message and "was not made" in message
    counted = input_token_count(messages_api.count_requests[-1].body)
    assert caught.value.call_max == counted + 500
    assert len(messages_api.requests) == 3 and len(messages_api.count_requests) == 4
    assert len(ledger.rows(lineage="budgeted")) == 3
    bigger = _provider(db_url, budget=Budget(tokens=10_000))
    with journal_scope("budgeted", "step"):
        assert bigger.complete(calls[3]).text == "fine"
    assert len(messages_api.requests) == 4
    with journal_scope("budgeted", "step"):  # 2,044 spent, over 2,000: only the journal answers
        replies = [provider.complete(request) for request in calls]
    assert all(reply.journaled for reply in replies) and len(messages_api.requests) == 4
    rows = ledger.rows(lineage="budgeted")
    assert sum(not row.journaled for row in rows) == 4 and sum(row.journaled for row in rows) == 4
    assert ledger.total(lineage="budgeted").usage.total_tokens == 4 * 511


def test_a_usd_budget_refuses_the_call_that_could_cross_it(messages_api, db_url):
    messages_api.fallback = ok("fine", input_tokens=11, output_tokens=500)
    provider = _provider(db_url, budget=Budget(usd=Decimal("0.01")))
    with journal_scope("usd", "step"):
        provider.complete(_long_request(0))
        with pytest.raises(BudgetExceeded) as caught:
            provider.complete(_long_request(1))
    spent = (11 * 3 + 500 * 15) / Decimal(1_000_000)
    assert caught.value.spent == spent and caught.value.unit == "USD"
    assert "spent 0.007533 USD of a budget of 0.01 USD" in str(caught.value)
    assert len(messages_api.requests) == 1


def test_a_usd_budget_for_a_model_without_a_price_makes_no_call(messages_api, db_url):
    messages_api.fallback = ok("never")
    provider = _provider(db_url, model="claude-unknown-9", budget=Budget(usd=Decimal(1)))
    with journal_scope("usd", "step"), pytest.raises(ConfigError) as caught:
        provider.complete(_request("hi"))
    assert "claude-unknown-9" in str(caught.value) and "USD budget" in str(caught.value)
    assert messages_api.requests == [] and messages_api.count_requests == []
    assert UsageLedger(db_url).rows(lineage="usd") == []


def test_when_counting_fails_the_budget_holds_by_the_requests_size(messages_api, db_url):
    messages_api.count_tokens_status = 500
    messages_api.fallback = ok("fine", input_tokens=11, output_tokens=100)
    first, second = _long_request(0, max_tokens=100), _long_request(1, max_tokens=100)
    provider = _provider(db_url, budget=Budget(tokens=input_bound(first) + 100))
    with capture_logs() as logs, journal_scope("fallback", "step"):
        assert provider.complete(first).text == "fine", "a call exactly within budget is made"
        with pytest.raises(BudgetExceeded) as caught:
            provider.complete(second)
    # Counting failed once: the provider stops asking and bounds every later call by size.
    assert len(messages_api.requests) == 1 and len(messages_api.count_requests) == 1
    assert caught.value.spent == 111 and caught.value.call_max == input_bound(second) + 100
    assert "at most, from the request's size" in str(caught.value)
    failed = [event for event in logs if event["event"] == "llm.count_tokens_failed"]
    assert len(failed) == 1


@pytest.mark.parametrize("guards", ["one guard", "a guard each"])
def test_two_threads_cannot_both_hold_a_budget_that_fits_one_call(db_url, guards):
    race_for_one_call(db_url, guards)
