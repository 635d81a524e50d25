"""ECL's tables in the deployment's PostgreSQL: the breaker, the journal, the rate limiter and
budget holds work there too."""

import pytest

from ecl_core.errors import CircuitOpenError, RateLimitWaitError, TransientLLMError
from ecl_core.llm.journal import JournaledProvider, journal_scope
from ecl_core.llm.providers.scripted import ScriptedProvider
from ecl_core.llm.rate_limit import RateLimitedProvider, close_windows
from ecl_core.llm.resilience import (
    BreakerSettings,
    RateLimits,
    ResilientProvider,
    RetrySettings,
    make_breaker,
)
from ecl_core.types import CompletionRequest, Message

from budget_race import race_for_one_call

REQUEST = CompletionRequest(
    system="s", messages=(Message(role="user", content="u"),), max_tokens=8, step="generate"
)


def test_breaker_state_on_postgres(postgres_url):
    breaker = make_breaker("pg", BreakerSettings(failure_threshold=2), postgres_url)
    inner = ScriptedProvider([{"error": "transient", "message": "x"}] * 2 + ["unused"])
    provider = ResilientProvider(inner, RetrySettings(max_attempts=1), breaker)
    for _ in range(2):
        with pytest.raises(TransientLLMError):
            provider.complete(REQUEST)
    with pytest.raises(CircuitOpenError):
        provider.complete(REQUEST)
    assert len(inner.requests) == 2


def test_journal_on_postgres(postgres_url):
    inner = ScriptedProvider(["once"])
    provider = JournaledProvider(inner, postgres_url, lease_s=60)
    for _ in range(2):
        with journal_scope("run-pg", "step"):
            assert provider.complete(REQUEST).text == "once"
    assert len(inner.requests) == 1


@pytest.fixture
def windows():
    """The test's rate-limit windows, released before its database goes away."""
    yield
    close_windows()


def test_rate_limit_window_and_pause_on_postgres(postgres_url, windows):
    inner = ScriptedProvider(["one", "two", "three"], model="pg-model")
    limits = RateLimits(requests_per_minute=2, max_wait_s=1)
    provider = RateLimitedProvider(inner, limits, postgres_url)
    assert [provider.complete(REQUEST).text for _ in range(2)] == ["one", "two"]
    with pytest.raises(RateLimitWaitError, match="requests capacity under the rate limit"):
        provider.complete(REQUEST)
    assert len(inner.requests) == 2
    # A second provider of the same model (another process's) shares the window.
    other = RateLimitedProvider(ScriptedProvider(["x"], model="pg-model"), limits, postgres_url)
    with pytest.raises(RateLimitWaitError):
        other.complete(REQUEST)


@pytest.mark.parametrize("guards", ["one guard", "a guard each"])
def test_two_threads_cannot_both_hold_a_budget_on_postgres(postgres_url, guards):
    race_for_one_call(postgres_url, guards)
