"""Resilience as a provider that wraps a provider: tenacity retries inside a circuit breaker.

From the inside out (docs/architecture.md, Resilience):

1. Each attempt passes through a pybreaker circuit breaker. Only ``TransientLLMError``
   counts as a failure; when the breaker is open the attempt raises ``CircuitOpenError``
   without calling the provider.
2. tenacity retries ``TransientLLMError`` only: exponential waits (1 s, 2 s, then 4 s
   at most), 3 attempts by default, a provider's ``retry-after`` honoured up to a cap,
   and the original error re-raised when attempts run out. ``PermanentLLMError``,
   ``ValidationError`` and ``CircuitOpenError`` are never retried here.

Every attempt writes one log line (``llm.call`` or ``llm.call_failed``) with provider,
model, step, attempt, latency_ms, tokens, stop_reason and request_id.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pybreaker
import tenacity

from ecl_core.errors import (
    CircuitOpenError,
    LLMError,
    LLMTimeoutError,
    RateLimitWaitError,
    TransientLLMError,
)
from ecl_core.llm.base import Provider
from ecl_core.logging import get_logger
from ecl_core.types import CompletionRequest, CompletionResponse

__all__ = [
    "BreakerSettings",
    "RateLimits",
    "ResilientProvider",
    "RetrySettings",
    "SharedBreaker",
    "make_breaker",
]

_log = get_logger("ecl.llm")


@dataclass(frozen=True)
class RetrySettings:
    """How one call is retried.

    Attributes:
        max_attempts: Attempts in all, the first included.
        initial_delay_s: Wait after the first failure, in seconds; doubles each time.
        max_delay_s: Upper bound of the exponential wait, in seconds.
        retry_after_cap_s: Upper bound on a provider's ``retry-after``, in seconds.
    """

    max_attempts: int = 3
    initial_delay_s: float = 1.0
    max_delay_s: float = 4.0
    retry_after_cap_s: float = 30.0


@dataclass(frozen=True)
class BreakerSettings:
    """When the circuit breaker opens and for how long.

    Attributes:
        failure_threshold: Transient failures that open it.
        window_s: Seconds within which those failures must fall.
        reset_timeout_s: Seconds it stays open before letting one trial call through.
    """

    failure_threshold: int = 5
    window_s: float = 60.0
    reset_timeout_s: float = 30.0


@dataclass(frozen=True)
class RateLimits:
    """Per-minute limits of one provider and model; 0 means no limit of that kind.

    Attributes:
        requests_per_minute: Calls per minute.
        input_tokens_per_minute: Estimated input tokens per minute.
        output_tokens_per_minute: Output tokens per minute, charged at ``max_tokens``.
        max_wait_s: Longest a call waits for capacity, in seconds.
    """

    requests_per_minute: int = 0
    input_tokens_per_minute: int = 0
    output_tokens_per_minute: int = 0
    max_wait_s: float = 120.0

    @property
    def enabled(self) -> bool:
        """True when any limit is set (the rate limiter is used only then)."""
        return bool(self.requests_per_minute or self.input_tokens_per_minute
                    or self.output_tokens_per_minute)


class SharedBreaker:
    """A circuit breaker whose state lives in SQL, usable from many threads at once.

    ``pybreaker.CircuitBreaker.call`` holds the breaker's lock for the whole call
    (pybreaker 1.4), which would let one thread call at a time (docs/dagster-notes.md). The
    state is in the SQL store, shared by processes anyway, so each thread gets a breaker
    of its own over that store, built on first use: threads behave as processes do.

    Attributes:
        name: The breaker's name (one row of state per name in the store).
        reset_timeout: Seconds the breaker stays open before a trial call.
    """

    def __init__(self, build: Callable[[], pybreaker.CircuitBreaker], name: str,
                 reset_timeout: float) -> None:
        self._build = build
        self._local = threading.local()
        self.name = name
        self.reset_timeout = reset_timeout

    @property
    def breaker(self) -> pybreaker.CircuitBreaker:
        """This thread's breaker."""
        if not hasattr(self._local, "breaker"):
            self._local.breaker = self._build()
        breaker: pybreaker.CircuitBreaker = self._local.breaker
        return breaker

    @property
    def current_state(self) -> str:
        """``closed``, ``open`` or ``half-open``, as the store holds it."""
        return str(self.breaker.current_state)

    def call(self, func: Callable[[CompletionRequest], CompletionResponse],
             request: CompletionRequest) -> CompletionResponse:
        """``func(request)`` through this thread's breaker.

        Raises:
            pybreaker.CircuitBreakerError: The breaker is open.
        """
        return self.breaker.call(func, request)


def make_breaker(
    name: str, settings: BreakerSettings, store_url: str, *, count_timeouts: bool = True
) -> SharedBreaker:
    """A breaker whose state lives in the SQL store at ``store_url``, for processes and threads.

    Only ``TransientLLMError`` counts as a failure; with ``count_timeouts=False`` an
    ``LLMTimeoutError`` does not count either (a caller whose own short timeout expires
    must not open the breaker that every run shares).
    """

    def excluded(err: BaseException) -> bool:
        if not isinstance(err, TransientLLMError) or isinstance(err, RateLimitWaitError):
            return True  # a rate-limit wait that ran out never reached the API
        return isinstance(err, LLMTimeoutError) and not count_timeouts

    def build() -> pybreaker.CircuitBreaker:
        # The SQL store is imported with its first breaker: SQLAlchemy costs about 0.12 s
        # to import (docs/dagster-notes.md), and a process without ECL's database never needs it.
        from ecl_core.llm.breaker_store import SQLBreakerStorage

        return pybreaker.CircuitBreaker(
            fail_max=settings.failure_threshold,
            reset_timeout=settings.reset_timeout_s,
            exclude=[excluded],
            state_storage=SQLBreakerStorage(name, store_url, settings.window_s),
            name=name,
            throw_new_error_on_trip=False,
        )

    return SharedBreaker(build, name, settings.reset_timeout_s)


class _WaitRetryAfter(tenacity.wait.wait_base):
    """Exponential wait, or the provider's ``retry-after`` (capped) when it asks for longer."""

    def __init__(self, settings: RetrySettings) -> None:
        self._exponential = tenacity.wait_exponential(
            multiplier=settings.initial_delay_s,
            min=settings.initial_delay_s,
            max=settings.max_delay_s,
        )
        self._cap = settings.retry_after_cap_s

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        wait = float(self._exponential(retry_state))
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, LLMError) and error.retry_after_s is not None:
            wait = max(wait, min(error.retry_after_s, self._cap))
        return wait


class ResilientProvider:
    """A provider that retries and guards another provider.

    Args:
        inner: The provider that makes the call.
        retry: Retry settings.
        breaker: A circuit breaker (see ``make_breaker``), or ``None`` for none.
        sleep: How to wait between attempts; tests pass a recorder instead of sleeping.
    """

    def __init__(
        self,
        inner: Provider,
        retry: RetrySettings,
        breaker: SharedBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.model = inner.model
        self._breaker = breaker
        self._retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(TransientLLMError),
            stop=tenacity.stop_after_attempt(retry.max_attempts),
            wait=_WaitRetryAfter(retry),
            sleep=sleep,
            reraise=True,
        )

    def complete(self, request: CompletionRequest) -> CompletionResponse:
        """Make the call, retrying transient failures.

        Raises:
            TransientLLMError: Still failing after the last attempt (the original error).
            PermanentLLMError: At once, after one attempt.
            CircuitOpenError: The breaker is open; the provider was not called.
        """
        for attempt in self._retrying:
            with attempt:
                return self._attempt(request, attempt.retry_state.attempt_number)
        raise AssertionError("tenacity ended without a result")  # pragma: no cover

    def _attempt(self, request: CompletionRequest, number: int) -> CompletionResponse:
        fields: dict[str, object] = {
            "provider": self.name,
            "model": self.model,
            "step": request.step,
            "attempt": number,
        }
        messages = [m.content for m in request.messages]
        _log.debug("llm.request", system=request.system, context=request.context,
                   messages=messages, **fields)
        started = time.perf_counter()
        try:
            if self._breaker is None:
                response = self.inner.complete(request)
            else:
                response = self._breaker.call(self.inner.complete, request)
        except pybreaker.CircuitBreakerError:
            raise self._open_error() from None
        except LLMError as err:
            _log.warning(
                "llm.call_failed",
                error=type(err).__name__,
                status_code=err.status_code,
                request_id=err.request_id,
                latency_ms=round((time.perf_counter() - started) * 1000, 1),
                detail=err.message,
                **fields,
            )
            raise
        _log.info(
            "llm.call",
            latency_ms=round(response.latency_ms, 1),
            input_tokens=response.usage.input_tokens,
            output_tokens=response.usage.output_tokens,
            cache_creation_input_tokens=response.usage.cache_creation_input_tokens,
            cache_read_input_tokens=response.usage.cache_read_input_tokens,
            stop_reason=response.stop_reason,
            request_id=response.request_id,
            **fields,
        )
        _log.debug("llm.response", text=response.text, **fields)
        return response

    def _open_error(self) -> CircuitOpenError:
        assert self._breaker is not None
        name = self._breaker.name
        _log.warning("llm.circuit_open", provider=self.name, breaker=name)
        return CircuitOpenError(name, self._breaker.reset_timeout)
