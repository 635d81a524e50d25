"""Retries (tenacity) and the circuit breaker (pybreaker), around a scripted provider."""

import time

import pytest
import sqlalchemy as sa
from structlog.testing import capture_logs

from ecl_core.db import engine
from ecl_core.errors import CircuitOpenError, PermanentLLMError, TransientLLMError
from ecl_core.llm.providers.scripted import ScriptedProvider
from ecl_core.llm.resilience import BreakerSettings, ResilientProvider, RetrySettings, make_breaker
from ecl_core.types import CompletionRequest, Message

REQUEST = CompletionRequest(
    system="s", messages=(Message(role="user", content="u"),), max_tokens=8, step="generate"
)
TRANSIENT = {"error": "transient", "message": "overloaded", "status_code": 529}
PERMANENT = {"error": "permanent", "message": "bad request", "status_code": 400}


DEFAULT_RETRY = RetrySettings()


def _resilient(script, retry=DEFAULT_RETRY, breaker=None):
    waits: list[float] = []
    inner = ScriptedProvider(script)
    return ResilientProvider(inner, retry, breaker, sleep=waits.append), inner, waits


def test_transient_errors_are_retried_with_exponential_backoff():
    provider, inner, waits = _resilient([TRANSIENT, TRANSIENT, "fine"])
    assert provider.complete(REQUEST).text == "fine"
    assert len(inner.requests) == 3
    assert waits == [1.0, 2.0]


def test_the_original_error_is_reraised_after_three_attempts():
    provider, inner, waits = _resilient([TRANSIENT] * 5)
    with pytest.raises(TransientLLMError, match="overloaded"):
        provider.complete(REQUEST)
    assert len(inner.requests) == 3
    assert waits == [1.0, 2.0]


def test_permanent_errors_are_never_retried():
    provider, inner, waits = _resilient([PERMANENT, "unused"])
    with pytest.raises(PermanentLLMError):
        provider.complete(REQUEST)
    assert len(inner.requests) == 1
    assert waits == []


def test_retry_after_is_honoured_and_capped():
    asks_10 = {**TRANSIENT, "retry_after_s": 10}
    asks_500 = {**TRANSIENT, "retry_after_s": 500}
    provider, _, waits = _resilient([asks_10, asks_500, "fine"])
    provider.complete(REQUEST)
    assert waits == [10.0, 30.0]


def test_each_attempt_logs_one_line_with_its_cost():
    provider, _, _ = _resilient([TRANSIENT, {"text": "ok", "input_tokens": 5, "output_tokens": 2}])
    with capture_logs() as logs:
        provider.complete(REQUEST)
    failed, succeeded = [e for e in logs if e["event"].startswith("llm.call")]
    assert failed["event"] == "llm.call_failed" and failed["attempt"] == 1
    assert failed["status_code"] == 529
    assert succeeded["event"] == "llm.call" and succeeded["attempt"] == 2
    assert succeeded["input_tokens"] == 5 and succeeded["output_tokens"] == 2
    assert succeeded["provider"] == "scripted" and succeeded["step"] == "generate"
    assert succeeded["request_id"] == "scripted-2"
    assert "latency_ms" in succeeded and succeeded["stop_reason"] == "end_turn"


def _breaker(tmp_path, **settings):
    return make_breaker("test", BreakerSettings(**settings), f"sqlite:///{tmp_path / 'ecl.db'}")


def test_breaker_opens_after_five_transient_failures_and_stops_calling(tmp_path):
    breaker = _breaker(tmp_path)
    single = RetrySettings(max_attempts=1)
    provider, inner, _ = _resilient([TRANSIENT] * 5 + ["unused"], single, breaker)
    for _ in range(5):
        with pytest.raises(TransientLLMError):
            provider.complete(REQUEST)
    with pytest.raises(CircuitOpenError, match="no call was made"):
        provider.complete(REQUEST)
    assert len(inner.requests) == 5


def test_circuit_open_is_not_retried_in_the_call(tmp_path):
    breaker = _breaker(tmp_path, failure_threshold=2)
    provider, inner, waits = _resilient([TRANSIENT, TRANSIENT, "unused"], RetrySettings(), breaker)
    with pytest.raises(CircuitOpenError):
        provider.complete(REQUEST)  # attempt 3 finds the breaker open and stops there
    assert len(inner.requests) == 2
    assert waits == [1.0, 2.0]
    with pytest.raises(CircuitOpenError):
        provider.complete(REQUEST)
    assert len(inner.requests) == 2
    assert waits == [1.0, 2.0]


def test_permanent_errors_do_not_open_the_breaker(tmp_path):
    breaker = _breaker(tmp_path)
    provider, inner, _ = _resilient([PERMANENT] * 6 + ["fine"], RetrySettings(), breaker)
    for _ in range(6):
        with pytest.raises(PermanentLLMError):
            provider.complete(REQUEST)
    assert provider.complete(REQUEST).text == "fine"


def test_failures_outside_the_window_do_not_count(tmp_path):
    breaker = _breaker(tmp_path, failure_threshold=2, window_s=0.2)
    single = RetrySettings(max_attempts=1)
    provider, _, _ = _resilient([TRANSIENT, TRANSIENT, "fine"], single, breaker)
    with pytest.raises(TransientLLMError):
        provider.complete(REQUEST)
    time.sleep(0.3)
    with pytest.raises(TransientLLMError):
        provider.complete(REQUEST)
    assert provider.complete(REQUEST).text == "fine"


def test_after_the_reset_timeout_one_trial_call_goes_through_and_closes_it(tmp_path):
    breaker = _breaker(tmp_path, failure_threshold=1, reset_timeout_s=0.2)
    single = RetrySettings(max_attempts=1)
    provider, inner, _ = _resilient([TRANSIENT, "trial", "after"], single, breaker)
    with pytest.raises(TransientLLMError):
        provider.complete(REQUEST)
    with pytest.raises(CircuitOpenError):
        provider.complete(REQUEST)
    time.sleep(0.3)
    assert provider.complete(REQUEST).text == "trial"
    assert provider.complete(REQUEST).text == "after"
    assert breaker.current_state == "closed"


def test_a_closed_breaker_writes_nothing_on_success(tmp_path):
    url = f"sqlite:///{tmp_path / 'ecl.db'}"
    breaker = make_breaker("test", BreakerSettings(), url)
    provider, _, _ = _resilient([TRANSIENT, "ok", "ok", "ok"], DEFAULT_RETRY, breaker)
    writes: list[str] = []

    def record(conn, cursor, statement, *args):
        if statement.split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}:
            writes.append(statement.split()[0].upper())

    sa.event.listen(engine(url), "before_cursor_execute", record)
    try:
        provider.complete(REQUEST)  # a failure is recorded, then the success forgets it
        assert writes == ["INSERT", "DELETE", "DELETE"]
        writes.clear()
        provider.complete(REQUEST)
        provider.complete(REQUEST)
        assert writes == []
    finally:
        sa.event.remove(engine(url), "before_cursor_execute", record)
