"""The rate limiter: every process and run of an instance paces itself under the API's limits.

A call waits for capacity instead of meeting a 429. Limits are per provider and
model, per minute, shared through ECL's database by every process and thread:

* requests per minute (weight 1 per call);
* input tokens per minute, estimated before the call at one token per
  ``CHARACTERS_PER_TOKEN`` characters of system prompt and messages (no tokenizer here;
  3 characters errs on the high side for English and code);
* output tokens per minute, charged at the request's ``max_tokens`` before the call (the
  output is unknown until the call ends, so the charge is the most it can be).

The windows are pyrate-limiter's buckets, each a minute and a second long
(``WINDOW_MS``): its SQLite bucket (with a file lock between processes) in the embedded
instance's ``ecl.db``, its Postgres bucket in the instance's database. The API can
tighten them at run time: when a response says a limit has nothing left (a rate-limit
header with 0 remaining, ``ecl_core.llm.providers.http_status.exhausted_until``), the
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
from typing import Any

import sqlalchemy as sa

from ecl_core.db import METADATA, engine
from ecl_core.errors import PermanentLLMError, RateLimitWaitError
from ecl_core.llm.base import Provider
from ecl_core.llm.resilience import RateLimits
from ecl_core.logging import get_logger
from ecl_core.types import CompletionRequest, CompletionResponse

__all__ = [
    "CHARACTERS_PER_TOKEN",
    "RateLimitedProvider",
    "close_windows",
    "estimated_input_tokens",
]

CHARACTERS_PER_TOKEN = 3
WINDOW_MS = 61_000
"""Each window is a minute and a second: the API counts a request when it arrives, a moment
after the limiter counted it, so with a bare minute a request sent just as the window frees
could land in the API's previous minute."""
_log = get_logger("ecl.llm")
MAX_PAUSE_S = 60.0
"""The longest pause one response can ask for, in seconds: the window of a per-minute limit
(Anthropic's and OpenAI's rate limits are per minute)."""

_pause = sa.Table(
    "ecl_rate_limit_pause",
    METADATA,
    sa.Column("limiter", sa.String(300), primary_key=True),
    sa.Column("until", sa.Float, nullable=False),
)


def estimated_input_tokens(request: CompletionRequest) -> int:
    """Input tokens of ``request``, estimated from its characters (module docstring)."""
    characters = sum(len(text) for text in request.texts())
    return max(1, math.ceil(characters / CHARACTERS_PER_TOKEN))


class _Window:
    """One per-minute window in a pyrate-limiter bucket shared through the database."""

    def __init__(self, url: str, table: str, per_minute: int) -> None:
        # Imported only when a limit is set: a deployment without limits never needs it.
        from pyrate_limiter import AbstractBucket, Limiter, Rate

        rates = [Rate(per_minute, WINDOW_MS)]
        bucket: AbstractBucket
        self._pool: Any = None  # a psycopg_pool.ConnectionPool for Postgres
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
            # Connections are checked before use, so a restarted server does not kill
            # pyrate's leaker thread (it stops for good at its first exception).
            self._pool = ConnectionPool(conninfo, min_size=1, max_size=4, open=True,
                                        check=ConnectionPool.check_connection)
            bucket = PostgresBucket(self._pool, table, rates)
        self._bucket = bucket
        self._limiter = Limiter(bucket)

    def close(self) -> None:
        """Stop leaking old entries and close the Postgres connections, if any."""
        self._limiter.dispose(self._bucket)
        if self._pool is not None:
            self._pool.close()

    def acquire(self, weight: int, timeout_s: float) -> bool:
        """Take ``weight`` from the window, waiting at most ``timeout_s``; False if not given."""
        return bool(self._limiter.try_acquire("ecl", weight, blocking=True,
                                              timeout=max(timeout_s, 0.0)))


_windows: dict[tuple[str, str, int], _Window] = {}
_windows_lock = threading.Lock()


def close_windows() -> None:
    """Release every window of this process: pyrate's leaker threads, Postgres connections.

    For a process or a test that is done with a database before it ends.
    """
    with _windows_lock:
        for window in _windows.values():
            window.close()
        _windows.clear()


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
    """

    def __init__(self, inner: Provider, limits: RateLimits, url: str) -> None:
        self.inner = inner
        self.name = inner.name
        self.model = inner.model
        self._limits = limits
        self._url = url
        self._engine = engine(url)
        self._key = f"{inner.name}:{inner.model}"
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
        for kind, per_minute, _table in self._windows:  # before any window is charged
            if weights[kind] > per_minute:
                raise PermanentLLMError(
                    f"the request needs {weights[kind]:,} {kind.replace('_', ' ')}; the limit "
                    f"{kind}_per_minute is {per_minute:,}"
                )
        for kind, per_minute, table in self._windows:
            window = _window(self._url, table, per_minute)
            if not window.acquire(weights[kind], deadline - time.monotonic()):
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
        wait = (until or 0.0) - time.time()
        if wait <= 0:
            return
        if time.monotonic() + wait > deadline:
            raise RateLimitWaitError(
                f"the API said its rate limit is used up for {wait:.1f} s more; max_wait_s "
                f"is {self._limits.max_wait_s:g}"
            )
        _log.info("llm.rate_limit_pause", provider=self.name, model=self.model,
                  wait_s=round(wait, 2))
        time.sleep(wait)

    def _pause_until(self, until: float) -> None:
        """Record that the API has no capacity left until ``until`` (seconds since the epoch).

        The pause is capped at ``MAX_PAUSE_S`` from now: the limits are per minute, so one
        response saying "nothing left until 2099" cannot stop every call of the instance.
        Another process may record its own pause at the same moment: the later time wins,
        and neither fails (its answer is already in hand).
        """
        until = min(until, time.time() + MAX_PAUSE_S)
        mine = _pause.c.limiter == self._key
        later = sa.update(_pause).where(mine, _pause.c.until < until).values(until=until)
        with self._engine.begin() as conn:
            if conn.execute(sa.select(_pause.c.until).where(mine)).first() is not None:
                conn.execute(later)
                return
            try:
                with conn.begin_nested():
                    conn.execute(sa.insert(_pause).values(limiter=self._key, until=until))
            except sa.exc.IntegrityError:  # inserted by another process since the look
                conn.execute(later)
