"""Fan-out in threads: outcomes in order, and an interrupt that starts nothing more."""

import os
import signal
import threading
import time
from collections.abc import Callable

import pytest

from ecl_core.fanout import run_concurrently


@pytest.fixture
def sigint_raises():
    """SIGINT raises KeyboardInterrupt here, as in a run worker, for the test's duration.

    Python installs that handler only if SIGINT was not ignored when it started; a shell
    starts its background jobs with SIGINT ignored (POSIX), and the suite may run as one.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_outcomes_come_back_in_order_with_each_error_kept_apart():
    def work(item: int) -> int:
        if item == 2:
            raise ValueError("two")
        time.sleep(0.01 * (5 - item))
        return item * 10

    outcomes = run_concurrently(work, [1, 2, 3, 4], max_concurrent=3)
    assert [o.item for o in outcomes] == [1, 2, 3, 4]
    assert [o.result for o in outcomes] == [10, None, 30, 40]
    assert str(outcomes[1].error) == "two"


def _seconds_until_interrupted(
    interrupt: Callable[[list[int]], None],
) -> tuple[float, list[int]]:
    """Fan out 6 items, 2 at once, each held 30 s; ``interrupt(worker thread ids)`` at 0.5 s.

    Returns the seconds until ``run_concurrently`` raised KeyboardInterrupt, and the items
    that started.
    """
    started: list[int] = []
    workers: list[int] = []
    release = threading.Event()

    def work(item: int) -> int:
        started.append(item)
        workers.append(threading.get_ident())
        release.wait(30)
        return item

    threading.Timer(0.5, interrupt, (workers,)).start()
    began = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_concurrently(work, list(range(6)), max_concurrent=2)
        return time.monotonic() - began, started
    finally:
        release.set()


def test_an_interrupt_while_waiting_starts_no_more_items_and_is_raised_at_once(sigint_raises):
    waited, started = _seconds_until_interrupted(
        lambda _: os.kill(os.getpid(), signal.SIGINT))  # as Dagster does
    assert waited < 10  # not held until the items in flight end (30 s)
    time.sleep(0.3)
    assert sorted(started) == [0, 1]  # the 4 items not started never start


def test_an_interrupt_another_thread_received_is_raised_at_once(sigint_raises):
    """The kernel may deliver a SIGINT to any thread; Python raises it in the main thread."""
    waited, _ = _seconds_until_interrupted(
        lambda workers: signal.pthread_kill(workers[0], signal.SIGINT))
    assert waited < 5  # not held until the item in flight ends (30 s)
