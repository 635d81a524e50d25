"""Circuit-breaker state in SQL, shared by every process of an instance.

pybreaker keeps state in memory by default, which the multiprocess executor defeats:
each step is a new process (docs/dagster-notes.md). This storage keeps the state in two
small tables reachable through any SQLAlchemy URL: a SQLite file beside the embedded
instance, the instance's Postgres database in production.

Failures are counted within a sliding window: the counter is the number of failures
recorded in the last ``window_s`` seconds, so "5 transient failures within 60 s"
opens the breaker (docs/architecture.md, Resilience).
"""

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import pybreaker
import sqlalchemy as sa

from ecl_core.db import METADATA, engine

__all__ = ["BreakerState", "SQLBreakerStorage", "breaker_states"]

_state = sa.Table(
    "ecl_breaker_state",
    METADATA,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("opened_at", sa.Float, nullable=True),
    sa.Column("success_counter", sa.Integer, nullable=False, default=0),
)
_failures = sa.Table(
    "ecl_breaker_failures",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False, index=True),
    sa.Column("failed_at", sa.Float, nullable=False),
)
_opens = sa.Table(
    "ecl_breaker_opens",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False, index=True),
    sa.Column("opened_at", sa.Float, nullable=False),
)


@dataclass(frozen=True)
class BreakerState:
    """One shared breaker as every process sees it.

    Attributes:
        state: ``closed``, ``open`` or ``half-open``.
        opened_at: When it last opened, seconds since the epoch; None if never.
        opens: How many times it has opened.
    """

    name: str
    state: str
    opened_at: float | None
    opens: int


def breaker_states(url: str) -> list[BreakerState]:
    """Every breaker with state in the database at ``url``, by name (two queries)."""
    with engine(url).connect() as conn:
        rows = conn.execute(sa.select(_state).order_by(_state.c.name)).all()
        counts: dict[str, int] = dict(conn.execute(
            sa.select(_opens.c.name, sa.func.count()).group_by(_opens.c.name)
        ).all())
    return [BreakerState(r.name, r.state, r.opened_at, int(counts.get(r.name, 0))) for r in rows]


class SQLBreakerStorage(pybreaker.CircuitBreakerStorage):
    """A ``pybreaker.CircuitBreakerStorage`` over SQLAlchemy.

    Args:
        name: The breaker's name; one row of state per name.
        url: SQLAlchemy database URL, e.g. ``sqlite:////path/ecl.db``.
        window_s: Failures older than this many seconds no longer count.
    """

    def __init__(self, name: str, url: str, window_s: float) -> None:
        super().__init__(name)
        self._name = name
        self._engine = engine(url)
        self._window_s = window_s

    def _row(self) -> sa.Row[tuple[str, str, float | None, int]] | None:
        with self._engine.connect() as conn:
            return conn.execute(sa.select(_state).where(_state.c.name == self._name)).first()

    def _upsert(self, **values: object) -> None:
        with self._engine.begin() as conn:
            updated = conn.execute(
                sa.update(_state).where(_state.c.name == self._name).values(**values)
            )
            if updated.rowcount == 0:
                row = {"state": pybreaker.STATE_CLOSED, "success_counter": 0, **values}
                try:
                    with conn.begin_nested():
                        conn.execute(sa.insert(_state).values(name=self._name, **row))
                except sa.exc.IntegrityError:
                    conn.execute(
                        sa.update(_state).where(_state.c.name == self._name).values(**values)
                    )

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half-open``."""
        row = self._row()
        return row.state if row else pybreaker.STATE_CLOSED

    @state.setter
    def state(self, state: str) -> None:
        self._upsert(state=state)

    def increment_counter(self) -> None:
        """Record one failure now."""
        now = time.time()
        with self._engine.begin() as conn:
            conn.execute(sa.insert(_failures).values(name=self._name, failed_at=now))
            conn.execute(
                sa.delete(_failures).where(
                    _failures.c.name == self._name, _failures.c.failed_at < now - self._window_s
                )
            )

    def reset_counter(self) -> None:
        """Forget every recorded failure.

        pybreaker calls this after every successful call; when no failure is recorded it
        only reads, so a healthy breaker writes nothing (no lock on a shared SQLite file,
        no transaction on Postgres).
        """
        mine = _failures.c.name == self._name
        with self._engine.connect() as conn:
            if conn.execute(sa.select(_failures.c.id).where(mine).limit(1)).first() is None:
                return
        with self._engine.begin() as conn:
            conn.execute(sa.delete(_failures).where(mine))

    def increment_success_counter(self) -> None:
        """Count one successful trial call (half-open state)."""
        with self._engine.begin() as conn:
            updated = conn.execute(
                sa.update(_state)
                .where(_state.c.name == self._name)
                .values(success_counter=_state.c.success_counter + 1)
            )
        if updated.rowcount == 0:
            self._upsert(success_counter=1)

    def reset_success_counter(self) -> None:
        """Set the trial-call success count to zero."""
        self._upsert(success_counter=0)

    @property
    def counter(self) -> int:
        """Failures within the window."""
        since = time.time() - self._window_s
        with self._engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(_failures)
                    .where(_failures.c.name == self._name, _failures.c.failed_at >= since)
                ).scalar_one()
            )

    @property
    def success_counter(self) -> int:
        """Successful trial calls since the breaker went half-open."""
        row = self._row()
        return int(row.success_counter) if row else 0

    @property
    def opened_at(self) -> datetime | None:
        """When the breaker last opened (UTC)."""
        row = self._row()
        if row is None or row.opened_at is None:
            return None
        return datetime.fromtimestamp(row.opened_at, UTC)

    @opened_at.setter
    def opened_at(self, value: datetime) -> None:
        """Record when the breaker opened; count an opening once, as it moves to ``open``.

        pybreaker sets this, then the state, in every process whose failed call trips the
        breaker; a process that trips a breaker another already opened moves ``opened_at``
        on (as pybreaker's own storage would) but adds no opening. The move to ``open`` is
        one conditional UPDATE (or the row's first INSERT), so two processes tripping it
        at once count one opening.
        """
        moment = value.timestamp()
        with self._engine.begin() as conn:
            opened = conn.execute(
                sa.update(_state)
                .where(_state.c.name == self._name, _state.c.state != pybreaker.STATE_OPEN)
                .values(state=pybreaker.STATE_OPEN, opened_at=moment)
            ).rowcount == 1
            if not opened:
                try:
                    with conn.begin_nested():
                        conn.execute(sa.insert(_state).values(
                            name=self._name, state=pybreaker.STATE_OPEN, opened_at=moment,
                            success_counter=0))
                    opened = True
                except sa.exc.IntegrityError:  # it is open already
                    conn.execute(sa.update(_state).where(_state.c.name == self._name)
                                 .values(opened_at=moment))
            if opened:
                conn.execute(sa.insert(_opens).values(name=self._name, opened_at=moment))
