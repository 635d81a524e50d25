"""The rate limiter: every process and run of an instance paces itself under the API's limits.

A call waits for capacity instead of meeting a 429 (issue 12). Limits are per provider and
model, per minute, shared through ECL's database by every process and thread:

* requests per minute (weight 1 per call);
* input tokens per minute, estimated before the call at one token per
  ``CHARACTERS_PER_TOKEN`` characters of system prompt and messages (no tokenizer here;
  3 characters errs on the high side for English and code);
* output tokens per minute, charged at the request's ``max_tokens`` before the call (the
  output is unknown until the call ends, so the charge is the most it can be).

The windows are pyrate-limiter's buckets: its SQLite bucket (with a file lock between
processes) in the embedded instance's ``ecl.db``, its Postgres bucket in the instance's
database. The API can tighten them at run time: when a response says a limit has nothing
left (an ``anthropic-ratelimit-*-remaining: 0`` header with its ``-reset`` time), the
provider reports ``rate_limit_reset_at`` and every process waits until then before its next
call (the ``ecl_rate_limit_pause`` table).

A call waits at most ``max_wait_s`` for all of it; beyond that it fails with
``RateLimitWaitError``, transient (retried, and not counted by the circuit breaker: the
API was never called). The time waited is reported on the response (``rate_limit_wait_ms``)
and so in the step's metadata.
"""

import hashlib
import math
import threading
import time
from collections.abc import Callable

import sqlalchemy as sa

from ecl_core.db import METADATA, engine
from ecl_core.errors import PermanentLLMError, RateLimitWaitError
from ecl_core.llm.base import Provider
from ecl_core.llm.resilience import RateLimits
from ecl_core.logging import get_logger
from ecl_core.types import CompletionRequest, CompletionResponse

__all__ = ["CHARACTERS_PER_TOKEN", "RateLimitedProvider", "estimated_input_tokens"]

CHARACTERS_PER_TOKEN = 3
_log = get_logger("ecl.llm")
_pause = sa.Table(
    "ecl_rate_limit_pause",
    METADATA,
    sa.Column("limiter", sa.String(300), primary_key=True),
    sa.Column("until", sa.Float, nullable=False),
)


def estimated_input_tokens(request: CompletionRequest) -> int:
    """Input tokens of ``request``, estimated from its characters (module docstring)."""
    characters = len(request.system) + sum(len(m.content) for m in request.messages)
    return max(1, math.ceil(characters / CHARACTERS_PER_TOKEN))


class _Window:
    """One per-minute window in a pyrate-limiter bucket shared through the database."""

    def __init__(self, url: str, table: str, per_minute: int) -> None:
        # Imported only when a limit is set: a deployment without limits never needs it.
        from pyrate_limiter import AbstractBucket, Duration, Limiter, Rate

        rates = [Rate(per_minute, Duration.MINUTE)]
        bucket: AbstractBucket
        parsed = sa.make_url(url)
        if parsed.get_backend_name() == "sqlite":
            from pyrate_limiter import SQLiteBucket

            bucket = SQLiteBucket.init_from_file(
                rates, table=table, db_path=parsed.database, use_file_lock=True
            )
        else:
            from psycopg_pool import ConnectionPool
            from pyrate_limiter import PostgresBucket

            conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
            pool = ConnectionPool(conninfo, min_size=1, max_size=4, open=True)
            bucket = PostgresBucket(pool, table, rates)
        self.per_minute = per_minute
        self._limiter = Limiter(bucket)

    def acquire(self, weight: int, timeout_s: float) -> bool:
        """Take ``weight`` from the window, waiting at most ``timeout_s``; False if not given."""
        return bool(self._limiter.try_acquire("ecl", weight, blocking=True,
                                              timeout=max(timeout_s, 0.0)))


_windows: dict[tuple[str, str, int], _Window] = {}
_windows_lock = threading.Lock()


def _window(url: str, table: str, per_minute: int) -> _Window:
    with _windows_lock:
        key = (url, table, per_minute)
        if key not in _windows:
            _windows[key] = _Window(url, table, per_minute)
        return _windows[key]


class RateLimitedProvider:
    """Wraps a provider so that each call waits for capacity under ``limits`` first.

    Args:
        inner: The provider that makes the call.
        limits: The per-minute limits.
        url: SQLAlchemy URL of ECL's database, where the windows and pauses are shared.
        sleep: How to wait for a pause to end (tests pass their own).
        clock: Seconds since the epoch.
    """

    def __init__(
        self,
        inner: Provider,
        limits: RateLimits,
        url: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.model = inner.model
        self._limits = limits
        self._url = url
        self._engine = engine(url)
        self._key = f"{inner.name}:{inner.model}"
        self._sleep = sleep
        self._clock = clock
        suffix = hashlib.sha256(self._key.encode()).hexdigest()[:12]
        self._windows = [
            (kind, per_minute, f"ecl_rate_{kind}_{suffix}")
            for kind, per_minute in (
                ("requests", limits.requests_per_minute),
                ("input_tokens", limits.input_tokens_per_minute),
                ("output_tokens", limits.output_tokens_per_minute),
            )
            if per_minute > 0
        ]

    def complete(self, request: CompletionRequest) -> CompletionResponse:
        """Wait for capacity, make the call, and note a limit the API says is used up.

        Raises:
            RateLimitWaitError: No capacity within ``max_wait_s``; nothing was sent.
            PermanentLLMError: The request alone needs more than a per-minute limit.
            Whatever the inner provider raises.
        """
        started = time.monotonic()
        deadline = started + self._limits.max_wait_s
        self._wait_for_pause(deadline)
        weights = {
            "requests": 1,
            "input_tokens": estimated_input_tokens(request),
            "output_tokens": request.max_tokens,
        }
        for kind, per_minute, table in self._windows:
            weight = weights[kind]
            if weight > per_minute:
                raise PermanentLLMError(
                    f"the request needs {weight:,} {kind.replace('_', ' ')}; the limit "
                    f"{kind}_per_minute is {per_minute:,}"
                )
            window = _window(self._url, table, per_minute)
            if not window.acquire(weight, deadline - time.monotonic()):
                raise self._gave_up(kind, started)
        waited_ms = (time.monotonic() - started) * 1000
        if waited_ms >= 1:
            _log.info("llm.rate_limit_wait", provider=self.name, model=self.model,
                      step=request.step, waited_ms=round(waited_ms, 1))
        response = self.inner.complete(request)
        if response.rate_limit_reset_at is not None:
            self._pause_until(response.rate_limit_reset_at)
        return response.model_copy(update={"rate_limit_wait_ms": waited_ms})

    def _gave_up(self, kind: str, started: float) -> RateLimitWaitError:
        waited = time.monotonic() - started
        _log.warning("llm.rate_limit_gave_up", provider=self.name, model=self.model,
                     limit=kind, waited_s=round(waited, 1))
        return RateLimitWaitError(
            f"waited {waited:.1f} s for {kind.replace('_', ' ')} capacity under the rate "
            f"limit; max_wait_s is {self._limits.max_wait_s:g}"
        )

    def _wait_for_pause(self, deadline: float) -> None:
        """Sleep until a pause the API asked for is over, or fail past ``deadline``."""
        with self._engine.connect() as conn:
            until = conn.execute(
                sa.select(_pause.c.until).where(_pause.c.limiter == self._key)
            ).scalar()
        wait = (until or 0.0) - self._clock()
        if wait <= 0:
            return
        if time.monotonic() + wait > deadline:
            raise RateLimitWaitError(
                f"the API said its rate limit is used up for {wait:.1f} s more; max_wait_s "
                f"is {self._limits.max_wait_s:g}"
            )
        _log.info("llm.rate_limit_pause", provider=self.name, model=self.model,
                  wait_s=round(wait, 2))
        self._sleep(wait)

    def _pause_until(self, until: float) -> None:
        """Record that the API has no capacity left until ``until`` (seconds since the epoch)."""
        with self._engine.begin() as conn:
            current = conn.execute(
                sa.select(_pause.c.until).where(_pause.c.limiter == self._key)
            ).scalar()
            if current is None:
                conn.execute(sa.insert(_pause).values(limiter=self._key, until=until))
            elif until > current:
                conn.execute(
                    sa.update(_pause).where(_pause.c.limiter == self._key).values(until=until)
                )
