"""The usage tables in ECL's database: the ledger, and the budget's holds and locks.

* ``ecl_usage``: one row per call answered inside a journal scope, API calls and journaled
  answers alike. Token columns hold what that call billed (zero for a journaled answer);
  ``cost_usd`` is an exact decimal string in USD, NULL when the model has no price.
* ``ecl_budget_holds``: the most a call in flight can cost, while it is in flight.
* ``ecl_budget_locks``: one row per lineage, updated to serialize budget checks.
"""

import sqlalchemy as sa

from ecl_core.db import METADATA

__all__ = ["BUDGET_HOLDS", "BUDGET_LOCKS", "LEDGER"]

LEDGER = sa.Table(
    "ecl_usage",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("recorded_at", sa.Float, nullable=False, index=True),  # seconds since the epoch
    sa.Column("lineage", sa.String(300), nullable=False, index=True),
    sa.Column("run_id", sa.String(64), nullable=False, index=True),
    sa.Column("step_key", sa.String(512), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("workflow", sa.String(300), nullable=False),
    sa.Column("provider", sa.String(64), nullable=False),
    sa.Column("model", sa.String(300), nullable=False),
    sa.Column("request_id", sa.String(300), nullable=True),
    sa.Column("input_tokens", sa.Integer, nullable=False),
    sa.Column("output_tokens", sa.Integer, nullable=False),
    sa.Column("cache_creation_5m_tokens", sa.Integer, nullable=False),
    sa.Column("cache_creation_1h_tokens", sa.Integer, nullable=False),
    sa.Column("cache_read_tokens", sa.Integer, nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("service_tier", sa.String(32), nullable=True),
    sa.Column("cost_usd", sa.String(40), nullable=True),
    sa.Column("price_version", sa.String(100), nullable=False),
    sa.Column("journaled", sa.Boolean, nullable=False),
)

BUDGET_HOLDS = sa.Table(
    "ecl_budget_holds",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("lineage", sa.String(300), nullable=False, index=True),
    sa.Column("owner", sa.String(300), nullable=False),
    sa.Column("held_at", sa.Float, nullable=False),
    sa.Column("tokens", sa.Integer, nullable=False),
    sa.Column("cost_usd", sa.String(40), nullable=False),
)

BUDGET_LOCKS = sa.Table(
    "ecl_budget_locks",
    METADATA,
    sa.Column("lineage", sa.String(300), primary_key=True),
    sa.Column("checked_at", sa.Float, nullable=False),
)
