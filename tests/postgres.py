"""PostgreSQL for tests: ``ECL_TEST_POSTGRES_URL`` if set, else a throwaway cluster.

A machine with neither fails the tests that need Postgres; it never skips them.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager

from ecl_dagster.stack.postgres import create_database, throwaway_cluster

__all__ = ["URL_ENV", "create_database", "postgres_server"]

URL_ENV = "ECL_TEST_POSTGRES_URL"


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield a server URL (``postgresql+psycopg2://user@host:port/db``)."""
    if os.environ.get(URL_ENV):
        yield os.environ[URL_ENV]
        return
    with throwaway_cluster() as url:
        yield url
