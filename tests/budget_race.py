"""Two threads reserving against a budget that fits one call: exactly one may hold it.

Shared by the SQLite test (tests/core) and the PostgreSQL one (tests/orchestration, where
the throwaway cluster lives); nothing here imports Dagster.
"""

import threading
from decimal import Decimal

from ecl_core.errors import BudgetExceeded
from ecl_core.llm.journal_scope import JournalScope
from ecl_core.usage.budget import BudgetGuard
from ecl_core.usage.limits import Budget


def race_for_one_call(db_url: str, guards: str, rounds: int = 10) -> None:
    """Ten rounds, each on a new lineage; ``guards`` is ``one guard`` or ``a guard each``."""
    shared = BudgetGuard(db_url, Budget(tokens=1000), lease_s=60)
    barrier = threading.Barrier(2)
    outcomes: list[list[object]] = [[] for _ in range(rounds)]

    def reserve() -> None:
        guard = shared if guards == "one guard" else BudgetGuard(
            db_url, Budget(tokens=1000), lease_s=60)
        for number in range(rounds):
            barrier.wait(timeout=30)
            try:
                hold = guard.reserve(JournalScope(f"lineage-{number}", "step"), 600,
                                     Decimal(0), "a call")
                outcomes[number].append(hold)
            except BudgetExceeded as err:
                outcomes[number].append(err)

    threads = [threading.Thread(target=reserve) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for outcome in outcomes:
        assert sorted(type(o).__name__ for o in outcome) == ["BudgetExceeded", "int"]
        refused = next(o for o in outcome if isinstance(o, BudgetExceeded))
        assert refused.held == 600 and refused.spent == 0
