"""Fan-out: one piece of work per item, up to N at once, each outcome kept apart.

Mapped LLM work (a document's sections, a plan's phases) waits on the network, not the CPU,
so threads overlap it in one process: 50 calls of 1 s each take ceil(50 / N) s instead of
50 s (the figures that chose threads over step processes are in docs/dagster-notes.md).
Each item runs in a copy of the caller's context variables (log bindings, the journal
scope), so what an item binds stays its own. One item's failure never stops the others:
every outcome comes back, in the items' order, for the caller to report. Given a
``description``, the items done are shown as they end (``ecl_core.progress``).
"""

import contextvars
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Generic, TypeVar

from ecl_core.progress import Ticker, progress

__all__ = ["MAX_CONCURRENT_CALLS", "Outcome", "run_concurrently"]

MAX_CONCURRENT_CALLS = 64
"""The highest concurrency a setting may ask for (``ecl_core.bounds``)."""
WAKE_S = 0.2
"""The calling thread wakes this often (seconds) while it waits for the items. The kernel
may deliver a SIGINT to any thread of the process; Python raises it in the main thread only
when that thread runs, so a wait without a timeout could hold a cancelled run's interrupt
until every item ended."""

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")


@dataclass(frozen=True)
class Outcome(Generic[ItemT, ResultT]):
    """What one item came to: its result, or the exception it raised."""

    item: ItemT
    result: ResultT | None = None
    error: BaseException | None = None


def run_concurrently(
    work: Callable[[ItemT], ResultT], items: Sequence[ItemT], max_concurrent: int,
    *, description: str | None = None,
) -> list[Outcome[ItemT, ResultT]]:
    """``work(item)`` for every item, at most ``max_concurrent`` at once; outcomes in order.

    With ``max_concurrent`` 1 or a single item the work runs in the calling thread. An
    ``Exception`` from one item becomes its outcome's ``error``; a ``BaseException`` that is
    not an ``Exception`` (KeyboardInterrupt, SystemExit) is raised once every item has ended.
    When the calling thread is interrupted while it waits (Dagster interrupts a run it
    cancels), the items not started are dropped and the interrupt is raised at once; the
    items in flight end on their own.

    Args:
        work: Called once per item.
        items: The items, in the order their outcomes come back.
        max_concurrent: Most items at once.
        description: What the items are, e.g. ``"summarizing sections"``: shows the items
            done of all (a bar on a console, ``progress`` events otherwise); None shows none.

    Raises:
        ValueError: ``max_concurrent`` is below 1.
    """
    if max_concurrent < 1:
        raise ValueError(f"max_concurrent is {max_concurrent}; it must be at least 1")

    def attempt(item: ItemT) -> Outcome[ItemT, ResultT]:
        try:
            return Outcome(item, result=work(item))
        except Exception as err:  # noqa: BLE001 - kept as this item's outcome
            return Outcome(item, error=err)

    shown = (progress(description, len(items), unit="items") if description is not None
             else nullcontext(None))
    with shown as ticker:
        if max_concurrent == 1 or len(items) <= 1:
            return [_ticked(attempt(item), ticker) for item in items]
        return _in_threads(attempt, items, max_concurrent, ticker)


def _ticked(outcome: Outcome[ItemT, ResultT], ticker: Ticker | None) -> Outcome[ItemT, ResultT]:
    if ticker is not None:
        ticker.tick()
    return outcome


def _in_threads(
    attempt: Callable[[ItemT], Outcome[ItemT, ResultT]], items: Sequence[ItemT],
    max_concurrent: int, ticker: Ticker | None,
) -> list[Outcome[ItemT, ResultT]]:
    pool = ThreadPoolExecutor(max_workers=min(max_concurrent, len(items)))
    futures = [pool.submit(contextvars.copy_context().run, attempt, item) for item in items]
    try:
        pending = set(futures)
        while pending:
            still = wait(pending, timeout=WAKE_S).not_done
            if ticker is not None and len(still) < len(pending):
                ticker.tick(len(pending) - len(still))
            pending = still
        outcomes = [future.result() for future in futures]
    except BaseException:
        # Interrupted while waiting (a run being cancelled): items not started never start,
        # and the caller is not held until the calls in flight end.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return outcomes
