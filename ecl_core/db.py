"""ECL's own small tables (breaker state, LLM-response journal), by any SQLAlchemy URL.

They live beside the Dagster instance's storage: a SQLite file in the embedded default,
the instance's Postgres database in production (docs/architecture.md, Storage). Tables are
created on first use (each table module registers on import, so a table is created the
first time an engine is asked for after its module is imported); one engine is kept per URL
and process.
"""

import threading
from typing import Any

import sqlalchemy as sa

__all__ = ["METADATA", "engine"]

METADATA = sa.MetaData()
"""Every ECL table registers here; ``engine()`` creates the missing ones."""

_engines: dict[str, sa.Engine] = {}
_created: dict[str, set[str]] = {}  # per URL, the tables known to exist
_lock = threading.Lock()


def engine(url: str) -> sa.Engine:
    """The process's engine for ``url``, with ECL's tables created.

    Postgres URLs should name the driver (``postgresql+psycopg2://``): SQLAlchemy 2.1
    maps a bare ``postgresql://`` to psycopg 3 (docs/dagster-notes.md).
    """
    with _lock:
        if url not in _engines:
            if url.startswith("sqlite"):
                created = sa.create_engine(url, connect_args={"timeout": 30})
                sa.event.listen(created, "connect", _sqlite_pragmas)
            else:
                created = sa.create_engine(url, pool_pre_ping=True)
            _engines[url], _created[url] = created, set()
        if set(METADATA.tables) - _created[url]:  # a module imported since registered more
            _create_tables(_engines[url])
            _created[url] = set(METADATA.tables)
        return _engines[url]


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """Write-ahead logging, synced at checkpoints, on every SQLite connection.

    A commit survives the process dying (what the journal's promise needs) without an fsync
    each, and readers never wait for writers.
    """
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _create_tables(created: sa.Engine) -> None:
    """Create the missing tables, looking again if another process created one meanwhile.

    ``create_all`` checks, then creates: two processes on a new SQLite file both saw a table
    missing and one failed creating it; the next look finds it there. Each such collision
    means the other process created a table, so one more look than there are tables always
    ends (there are eight; three looks could run out).
    """
    attempts = len(METADATA.tables) + 1
    for attempt in range(1, attempts + 1):
        try:
            METADATA.create_all(created)
            return
        except (sa.exc.OperationalError, sa.exc.ProgrammingError, sa.exc.IntegrityError):
            if attempt == attempts:
                raise
