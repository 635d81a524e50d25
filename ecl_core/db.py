"""ECL's own small tables (breaker state, LLM-response journal), by any SQLAlchemy URL.

They live beside the Dagster instance's storage: a SQLite file in the embedded default,
the instance's Postgres database in production (architecture.md, Storage). Tables are
created on first use; one engine is kept per URL and process.
"""

import threading

import sqlalchemy as sa

__all__ = ["METADATA", "engine"]

METADATA = sa.MetaData()
"""Every ECL table registers here; ``engine()`` creates the missing ones."""

_engines: dict[str, sa.Engine] = {}
_lock = threading.Lock()


def engine(url: str) -> sa.Engine:
    """The process's engine for ``url``, with ECL's tables created.

    Postgres URLs should name the driver (``postgresql+psycopg2://``): SQLAlchemy 2.1
    maps a bare ``postgresql://`` to psycopg 3 (dagster-notes.md).
    """
    with _lock:
        if url not in _engines:
            connect_args = {"timeout": 30} if url.startswith("sqlite") else {}
            created = sa.create_engine(url, connect_args=connect_args, pool_pre_ping=True)
            METADATA.create_all(created)
            _engines[url] = created
        return _engines[url]
