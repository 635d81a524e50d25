"""Budgets that hold: a call is made only if, at its most, it keeps its lineage within budget.

A budget (tokens, USD or both) applies to a lineage: a run and its re-executions, or an asset
partition. Before a call the guard takes the lineage's lock (one row of
``ecl_budget_locks``, updated, so checks of one lineage never interleave, across processes
and hosts), adds what the lineage has billed (the ledger) to what its calls in flight may
still bill (their holds) and to what this call may bill at most; if that crosses the budget
the call is refused with ``BudgetExceeded`` and nothing is sent. Otherwise a hold is written,
released when the ledger records the call (or when the call fails). A hold whose process
died on this host, or older than ``HOLD_LEASE_S``, no longer counts.

A call's most (reckoned by ``ecl_core.usage.metering``): its input tokens (counted by the
provider's token counting, or bounded by ``ecl_core.usage.limits.input_bound``) plus its
``max_tokens``; in USD, those input tokens at the model's highest input price (a cache write
costs more than plain input) plus ``max_tokens`` at its output price.
"""

import time
from decimal import Decimal

import sqlalchemy as sa

from ecl_core.db import engine
from ecl_core.errors import BudgetExceeded, ConfigError
from ecl_core.llm.journal_scope import JournalScope
from ecl_core.process_owner import new_owner, owner_gone
from ecl_core.usage.limits import Budget
from ecl_core.usage.prices import PRICE_TABLE_ENV_VAR
from ecl_core.usage.tables import BUDGET_HOLDS, BUDGET_LOCKS, LEDGER

__all__ = ["HOLD_LEASE_S", "BudgetGuard"]

HOLD_LEASE_S = 3600.0
"""Seconds after which a hold counts no more though its owner may live (on another host).

Longer than any call with its retries, rate-limit waits and streamed reads; a hold left by a
process that died elsewhere only refuses calls (the safe side) until then."""

class BudgetGuard:
    """Checks calls against one budget and holds what they may bill (module docstring).

    Args:
        url: SQLAlchemy URL of ECL's database.
        budget: The budget of every lineage this guard sees.
        lease_s: Seconds after which a hold no longer counts though its owner may live.
    """

    def __init__(self, url: str, budget: Budget, *, lease_s: float = HOLD_LEASE_S) -> None:
        self._engine = engine(url)
        self.budget = budget
        self._lease_s = lease_s
        self._owner = new_owner()

    def reserve(self, scope: JournalScope, tokens: int, cost_usd: Decimal, call: str) -> int:
        """Hold ``tokens`` and ``cost_usd`` for a call of ``scope``'s lineage, if they fit.

        Args:
            scope: The call's lineage and step.
            tokens: The most the call can bill, in tokens.
            cost_usd: The most it can bill, in USD (0 when only a token budget is set).
            call: The call, for the error: its step and how its most was reckoned.

        Returns:
            The hold's id, for ``release`` or ``UsageLedger.record``.

        Raises:
            BudgetExceeded: The call could take the lineage over the budget; nothing is held.
            ConfigError: A USD budget, and the lineage has calls of unknown cost.
        """
        now = time.time()
        with self._engine.begin() as conn:
            self._lock(conn, scope.lineage, now)
            # Holds first, then the ledger: on Postgres each statement sees what was committed
            # when it began, and a call recorded in between (its row written, its hold deleted,
            # without this lock) is then counted twice, never missed.
            held_tokens, held_usd = self._held(conn, scope.lineage, now)
            spent_tokens, spent_usd = self._spent(conn, scope.lineage)
            budget = self.budget
            if budget.tokens and spent_tokens + held_tokens + tokens > budget.tokens:
                raise BudgetExceeded(
                    unit="tokens", spent=Decimal(spent_tokens), held=Decimal(held_tokens),
                    budget=Decimal(budget.tokens), call_max=Decimal(tokens), call=call,
                )
            if budget.usd is not None and spent_usd + held_usd + cost_usd > budget.usd:
                raise BudgetExceeded(
                    unit="USD", spent=spent_usd, held=held_usd, budget=budget.usd,
                    call_max=cost_usd, call=call,
                )
            inserted = conn.execute(sa.insert(BUDGET_HOLDS).values(
                lineage=scope.lineage, owner=self._owner, held_at=now, tokens=tokens,
                cost_usd=str(cost_usd),
            ))
            (hold_id,) = inserted.inserted_primary_key or (None,)
        assert isinstance(hold_id, int)
        return hold_id

    def release(self, hold_id: int) -> None:
        """Drop a hold whose call failed (it billed nothing)."""
        with self._engine.begin() as conn:
            conn.execute(sa.delete(BUDGET_HOLDS).where(BUDGET_HOLDS.c.id == hold_id))

    def _lock(self, conn: sa.Connection, lineage: str, now: float) -> None:
        """Take the lineage's lock until the transaction ends: an upsert of its row.

        One plain statement, so that it opens the transaction: on SQLite it takes the write
        lock, on Postgres the row's lock. (A savepoint would not do on SQLite: released as
        the outermost transaction it commits, and the lock with it.)

        Raises:
            ConfigError: ECL's database is neither SQLite nor PostgreSQL.
        """
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        elif conn.dialect.name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
        else:
            raise ConfigError(f"budgets need ECL's database on SQLite or PostgreSQL, not "
                              f"{conn.dialect.name}")
        upsert = insert(BUDGET_LOCKS).values(lineage=lineage, checked_at=now)
        conn.execute(upsert.on_conflict_do_update(index_elements=["lineage"],
                                                  set_={"checked_at": now}))

    def _spent(self, conn: sa.Connection, lineage: str) -> tuple[int, Decimal]:
        columns = LEDGER.c
        billed = (columns.input_tokens + columns.output_tokens + columns.cache_read_tokens
                  + columns.cache_creation_5m_tokens + columns.cache_creation_1h_tokens)
        query = sa.select(billed, columns.cost_usd).where(
            columns.lineage == lineage, columns.journaled.is_(False)
        )
        tokens, usd = 0, Decimal(0)
        for count, cost in conn.execute(query):
            tokens += count
            if cost is None and self.budget.usd is not None:
                raise ConfigError(
                    f"lineage {lineage!r} has calls of unknown cost (a model missing from the "
                    "price table), so its USD budget cannot be checked; price the model "
                    f"({PRICE_TABLE_ENV_VAR}) or use a token budget"
                )
            usd += Decimal(cost or 0)
        return tokens, usd

    def _held(self, conn: sa.Connection, lineage: str, now: float) -> tuple[int, Decimal]:
        holds = conn.execute(sa.select(BUDGET_HOLDS).where(BUDGET_HOLDS.c.lineage == lineage))
        tokens, usd, lapsed = 0, Decimal(0), []
        for hold in holds:
            if owner_gone(hold.owner, hold.held_at, now, self._lease_s):
                lapsed.append(hold.id)
                continue
            tokens += hold.tokens
            usd += Decimal(hold.cost_usd)
        if lapsed:
            conn.execute(sa.delete(BUDGET_HOLDS).where(BUDGET_HOLDS.c.id.in_(lapsed)))
        return tokens, usd
