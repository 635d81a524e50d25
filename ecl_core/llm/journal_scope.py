"""Where the LLM-response journal files calls: the scope a block of calls runs in.

Kept apart from ``ecl_core.llm.journal`` (the journal's tables, through SQLAlchemy) so that
code which only opens a scope, such as every op, does not import the database layer.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from ecl_core.errors import ValidationError

__all__ = ["JournalScope", "current_scope", "journal_scope"]


@dataclass
class JournalScope:
    """Where calls are journaled and accounted.

    The run lineage (root run id, or an asset partition's lineage) and the step key key the
    journal; the run, step attempt and workflow go into the usage ledger too.

    ``used`` collects how to forget each entry the scope used, should it end invalid.
    """

    lineage: str
    step_key: str
    run_id: str = ""
    attempt: int = 1
    workflow: str = ""
    used: list[Callable[[], None]] = field(default_factory=list)


_scope: ContextVar[JournalScope | None] = ContextVar("ecl_journal_scope", default=None)


@contextmanager
def journal_scope(
    lineage: str, step_key: str, *, run_id: str = "", attempt: int = 1, workflow: str = ""
) -> Iterator[JournalScope]:
    """Journal the calls made inside the block under ``lineage`` and ``step_key``.

    ``run_id``, ``attempt`` and ``workflow`` go into the usage ledger's rows. Yields the
    scope; its ``used`` has one entry per call answered in it.

    Raises:
        ValidationError: Re-raised from the block, after forgetting the answers it used.
    """
    scope = JournalScope(lineage, step_key, run_id, attempt, workflow)
    token = _scope.set(scope)
    try:
        yield scope
    except ValidationError:
        for forget in scope.used:
            forget()
        raise
    finally:
        _scope.reset(token)


def current_scope() -> JournalScope | None:
    """The scope of the calling context, or None outside any ``journal_scope``."""
    return _scope.get()
