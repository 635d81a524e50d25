"""Where ECL's own tables live for a Dagster instance (docs/architecture.md, Storage)."""

from pathlib import Path

import dagster as dg

__all__ = ["ECL_DB_ENV_VAR", "ECL_DB_FILE", "ecl_db_url"]

ECL_DB_FILE = "ecl.db"
ECL_DB_ENV_VAR = "ECL_DATABASE_URL"


def ecl_db_url(instance: dg.DagsterInstance) -> str:
    """The SQLAlchemy URL of ECL's database for ``instance``.

    ``$ECL_DATABASE_URL``; else the instance's own Postgres database if it has one; else
    SQLite (``ecl.db``) in the instance's storage directory.
    """
    configured = dg.EnvVar(ECL_DB_ENV_VAR).get_value()
    if configured:
        return configured
    postgres_url = getattr(instance.run_storage, "postgres_url", None)
    if isinstance(postgres_url, str):
        return postgres_url
    storage = Path(instance.storage_directory())
    storage.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{storage / ECL_DB_FILE}"
