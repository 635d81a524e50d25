"""Progress of long work for a person at a terminal: a bar on a TTY, a few log lines otherwise.

When a person reads the terminal (``ecl_core.logging.console_wanted``) a rich progress bar
is drawn on standard error; otherwise the work logs ``progress`` events at its start, at
each tenth and at its end, so a machine reading JSON lines still sees it move.
"""

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from ecl_core.logging import console_wanted, get_logger

__all__ = ["Ticker", "progress"]
_REFRESHES = 50
"""A bar is redrawn about this many times over its work, whatever its length."""

_log = get_logger("ecl.progress")


class Ticker(Protocol):
    """Counts work done: ``tick()`` after each item, ``found(n)`` when the total grows."""

    def tick(self, count: int = 1) -> None:
        """``count`` more items done."""

    def found(self, total: int) -> None:
        """The total is now ``total`` items."""


class _Bar:
    """A rich progress bar on standard error, redrawn at most ``_REFRESHES`` times."""

    def __init__(self, description: str, total: int | None, unit: str) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn(unit), TimeElapsedColumn(),
            console=Console(file=sys.stderr, force_terminal=True), auto_refresh=False,
        )
        self._task = self._progress.add_task(description, total=total)
        self._done = 0
        self._total = total
        self._next_draw = 0

    def __enter__(self) -> "_Bar":
        self._progress.start()
        self._progress.refresh()
        return self

    def __exit__(self, *_: Any) -> None:
        self._progress.update(self._task, completed=self._done, total=self._total or self._done)
        self._progress.refresh()
        self._progress.stop()

    def found(self, total: int) -> None:
        self._total = total
        self._progress.update(self._task, total=total)

    def tick(self, count: int = 1) -> None:
        self._done += count
        if self._done >= self._next_draw:
            self._progress.update(self._task, completed=self._done)
            self._progress.refresh()
            step = max(1, (self._total or 1000) // _REFRESHES)
            self._next_draw = self._done + step


class _Lines:
    """``progress`` log events: at the start, at each tenth of the total, and at the end."""

    def __init__(self, description: str, total: int | None, unit: str) -> None:
        self._description = description
        self._unit = unit
        self._total = total
        self._done = 0
        self._tenth = 0
        self._started = time.monotonic()

    def __enter__(self) -> "_Lines":
        _log.info("progress", work=self._description, done=0, total=self._total, unit=self._unit)
        return self

    def __exit__(self, *_: Any) -> None:
        _log.info("progress", work=self._description, done=self._done, total=self._done,
                  unit=self._unit, seconds=round(time.monotonic() - self._started, 3))

    def found(self, total: int) -> None:
        self._total = total

    def tick(self, count: int = 1) -> None:
        self._done += count
        if self._total:
            tenth = self._done * 10 // self._total
            if self._tenth < tenth < 10:
                self._tenth = tenth
                _log.info("progress", work=self._description, done=self._done,
                          total=self._total, unit=self._unit)


@contextmanager
def progress(
    description: str, total: int | None = None, *, unit: str = "files"
) -> Iterator[Ticker]:
    """Show the progress of ``total`` items of work (unknown: ``None``, the bar counts up).

    Args:
        description: What is being done, e.g. ``"scanning src"``.
        total: How many items; ``Ticker.found`` sets it later.
        unit: What an item is, shown after the count (``files``, ``items``).
    """
    shown: _Bar | _Lines = (
        _Bar(description, total, unit) if console_wanted() else _Lines(description, total, unit)
    )
    with shown:
        yield shown
