"""The usage ledger: every call's tokens and cost, one row per call (``ecl_usage``).

A row is written when a call answered inside a journal scope returns: its lineage, run,
step key, step attempt and workflow (from the scope), the provider, model and request id,
the tokens it billed as the Messages API's ``usage`` gives them (input, output, cache
writes by TTL, cache reads), its latency, service tier, cost in USD with the price table's
version, and whether the answer came from the journal. A journaled answer bills nothing
again: its row has zero tokens and cost 0, and the request id of the call it replays.
A call that fails writes no row: the API bills no error response, but a stream cut after the
model wrote, or a timeout after the server finished, may be billed and is not recorded (no
usage reached ECL), nor is a call whose row could not be written.
"""

import time
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from ecl_core.db import engine
from ecl_core.llm.journal_scope import JournalScope
from ecl_core.types import CompletionResponse, TokenUsage
from ecl_core.usage.prices import total_cost
from ecl_core.usage.tables import BUDGET_HOLDS, LEDGER

__all__ = ["ModelTotal", "UsageLedger", "UsageRow", "UsageTotal", "total_of"]


@dataclass(frozen=True)
class UsageRow:
    """One row of the ledger: one call (see the module docstring)."""

    recorded_at: float
    lineage: str
    run_id: str
    step_key: str
    attempt: int
    workflow: str
    provider: str
    model: str
    request_id: str | None
    usage: TokenUsage
    latency_ms: float
    service_tier: str | None
    cost_usd: Decimal | None
    price_version: str
    journaled: bool


@dataclass(frozen=True)
class UsageTotal:
    """What some calls billed.

    Attributes:
        calls: Calls answered, journaled ones included.
        journaled_calls: Of those, answered from the journal (billed nothing).
        usage: Tokens billed, by kind.
        cost_usd: USD billed; None when any call's model had no price.
        unpriced_calls: Calls whose model had no price.
    """

    calls: int = 0
    journaled_calls: int = 0
    usage: TokenUsage = TokenUsage()
    cost_usd: Decimal | None = Decimal(0)
    unpriced_calls: int = 0


@dataclass(frozen=True)
class ModelTotal:
    """Every call of one workflow, provider and model, summed (``UsageLedger.by_model``).

    Attributes:
        cost_usd: USD billed by its priced calls, as a float (a metric, not an invoice).
    """

    workflow: str
    provider: str
    model: str
    calls: int
    journaled_calls: int
    usage: TokenUsage
    cost_usd: float


def total_of(rows: Iterable[UsageRow]) -> UsageTotal:
    """The total of ``rows``."""
    rows = list(rows)
    return UsageTotal(
        calls=len(rows),
        journaled_calls=sum(r.journaled for r in rows),
        usage=sum((r.usage for r in rows), TokenUsage()),
        cost_usd=total_cost(r.cost_usd for r in rows),
        unpriced_calls=sum(r.cost_usd is None for r in rows),
    )


def _row(record: sa.Row[tuple[object, ...]]) -> UsageRow:
    m = record._mapping
    return UsageRow(
        recorded_at=m["recorded_at"], lineage=m["lineage"], run_id=m["run_id"],
        step_key=m["step_key"], attempt=m["attempt"], workflow=m["workflow"],
        provider=m["provider"], model=m["model"], request_id=m["request_id"],
        usage=TokenUsage(
            input_tokens=m["input_tokens"],
            output_tokens=m["output_tokens"],
            cache_creation_input_tokens=m["cache_creation_5m_tokens"]
            + m["cache_creation_1h_tokens"],
            cache_creation_1h_input_tokens=m["cache_creation_1h_tokens"],
            cache_read_input_tokens=m["cache_read_tokens"],
        ),
        latency_ms=m["latency_ms"], service_tier=m["service_tier"],
        cost_usd=None if m["cost_usd"] is None else Decimal(m["cost_usd"]),
        price_version=m["price_version"], journaled=m["journaled"],
    )


class UsageLedger:
    """Reads and writes the ledger in ECL's database.

    Args:
        url: SQLAlchemy URL of ECL's database.
    """

    def __init__(self, url: str) -> None:
        self._engine = engine(url)

    def record(
        self,
        scope: JournalScope,
        response: CompletionResponse,
        *,
        price_version: str,
        hold_id: int | None = None,
    ) -> None:
        """Write the row of one answered call; release its budget hold in the same transaction.

        Args:
            scope: The lineage, step, run, attempt and workflow of the call.
            response: The answer, ``cost_usd`` set (None for a model without a price).
            price_version: The price table's version the cost comes from.
            hold_id: The call's budget hold (``ecl_core.usage.budget``), if it had one.
        """
        usage = TokenUsage() if response.journaled else response.usage
        values = {
            "recorded_at": time.time(), "lineage": scope.lineage, "run_id": scope.run_id,
            "step_key": scope.step_key, "attempt": scope.attempt, "workflow": scope.workflow,
            "provider": response.provider, "model": response.model,
            "request_id": response.request_id,
            "input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
            "cache_creation_5m_tokens": usage.cache_creation_5m_input_tokens,
            "cache_creation_1h_tokens": usage.cache_creation_1h_input_tokens,
            "cache_read_tokens": usage.cache_read_input_tokens,
            "latency_ms": 0.0 if response.journaled else response.latency_ms,
            "service_tier": response.service_tier,
            "cost_usd": None if response.cost_usd is None else str(response.cost_usd),
            "price_version": price_version, "journaled": response.journaled,
        }
        with self._engine.begin() as conn:
            conn.execute(sa.insert(LEDGER).values(**values))
            if hold_id is not None:
                conn.execute(sa.delete(BUDGET_HOLDS).where(BUDGET_HOLDS.c.id == hold_id))

    def rows(
        self,
        *,
        run_id: str | None = None,
        lineage: str | None = None,
        workflow: str | None = None,
        since: float | None = None,
    ) -> list[UsageRow]:
        """The rows that match every filter given, oldest first.

        Args:
            run_id: One run's calls.
            lineage: A lineage's calls (a run and its re-executions; an asset partition).
            workflow: A workflow's (job's) calls.
            since: Calls recorded at or after this time, in seconds since the epoch.
        """
        query = sa.select(LEDGER).order_by(LEDGER.c.id)
        for column, value in (("run_id", run_id), ("lineage", lineage), ("workflow", workflow)):
            if value is not None:
                query = query.where(LEDGER.c[column] == value)
        if since is not None:
            query = query.where(LEDGER.c.recorded_at >= since)
        with self._engine.connect() as conn:
            return [_row(r) for r in conn.execute(query)]

    def total(self, *, run_id: str | None = None, lineage: str | None = None) -> UsageTotal:
        """What one run, or one lineage, billed."""
        return total_of(self.rows(run_id=run_id, lineage=lineage))

    def by_model(self) -> list[ModelTotal]:
        """Totals per workflow, provider and model, summed by the database (one query)."""
        c = LEDGER.c
        query = sa.select(
            c.workflow, c.provider, c.model, sa.func.count(),
            sa.func.sum(sa.case((c.journaled, 1), else_=0)),
            *(sa.func.sum(column) for column in (
                c.input_tokens, c.output_tokens, c.cache_creation_5m_tokens,
                c.cache_creation_1h_tokens, c.cache_read_tokens,
            )),
            sa.func.sum(sa.cast(c.cost_usd, sa.Float)),
        ).group_by(c.workflow, c.provider, c.model).order_by(c.workflow, c.provider, c.model)
        with self._engine.connect() as conn:
            found = conn.execute(query).all()
        return [
            ModelTotal(
                workflow=workflow, provider=provider, model=model, calls=int(calls),
                journaled_calls=int(journaled or 0),
                usage=TokenUsage(
                    input_tokens=int(i or 0), output_tokens=int(o or 0),
                    cache_creation_input_tokens=int(w5 or 0) + int(w1 or 0),
                    cache_creation_1h_input_tokens=int(w1 or 0),
                    cache_read_input_tokens=int(r or 0),
                ),
                cost_usd=float(cost or 0.0),
            )
            for workflow, provider, model, calls, journaled, i, o, w5, w1, r, cost in found
        ]
