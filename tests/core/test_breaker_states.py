"""What every process reads of the shared breakers: state, last opening, openings counted once."""

from datetime import UTC, datetime

import pybreaker
import pytest

from ecl_core.errors import TransientLLMError
from ecl_core.llm.breaker_store import SQLBreakerStorage, breaker_states
from ecl_core.llm.resilience import BreakerSettings, make_breaker


def _fail(_request):
    raise TransientLLMError("scripted overload")


def test_a_tripped_breaker_is_reported_open_with_one_opening(tmp_path):
    url = f"sqlite:///{tmp_path / 'ecl.db'}"
    assert breaker_states(url) == []
    breaker = make_breaker("anthropic:m", BreakerSettings(failure_threshold=2, window_s=60,
                                                           reset_timeout_s=600), url)
    for _ in range(2):
        with pytest.raises(TransientLLMError):
            breaker.call(_fail, None)
    (state,) = breaker_states(url)
    assert (state.name, state.state, state.opens) == ("anthropic:m", "open", 1)
    assert state.opened_at is not None


def test_an_opening_is_counted_once_however_many_processes_trip_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'ecl.db'}"
    first, second = (SQLBreakerStorage("shared", url, 60) for _ in range(2))
    for storage in (first, second):  # two processes whose failures both tripped it
        storage.opened_at = datetime.now(UTC)
        storage.state = pybreaker.STATE_OPEN
    assert [(s.state, s.opens) for s in breaker_states(url)] == [("open", 1)]
    first.state = pybreaker.STATE_HALF_OPEN  # the trial call fails: it opens again
    second.opened_at = datetime.now(UTC)
    second.state = pybreaker.STATE_OPEN
    assert [(s.state, s.opens) for s in breaker_states(url)] == [("open", 2)]
    first.state = pybreaker.STATE_CLOSED
    assert [(s.state, s.opens) for s in breaker_states(url)] == [("closed", 2)]
