"""``ecl server start``: serve the HTTP API with uvicorn.

The keys file is named by ``$ECL_API_KEYS_FILE`` and read once at start; the server
refuses to start without it, or with a malformed one (``ecl_dagster.service.keys``).
uvicorn's own access log is off: the API writes one ``api.request`` line per request,
with its request id and the key's name, never the key.
"""

import os
from pathlib import Path

import uvicorn

from ecl_core.errors import ConfigError
from ecl_core.logging import configure_logging
from ecl_dagster.service.app import create_app
from ecl_dagster.service.keys import KEYS_FILE_VARIABLE, KeyRing, load_keys

__all__ = ["keys_from_environment", "serve"]


def keys_from_environment() -> KeyRing:
    """The keys of the file ``$ECL_API_KEYS_FILE`` names.

    Raises:
        ConfigError: The variable is unset, or the file is unreadable or malformed.
    """
    named = os.environ.get(KEYS_FILE_VARIABLE)
    if not named:
        raise ConfigError(f"set {KEYS_FILE_VARIABLE} to a keys file of hashed API keys "
                          "(`ecl server new-key NAME` prints an entry)")
    return KeyRing(load_keys(Path(named)))


def serve(host: str, port: int, workspace: Path | None = None) -> None:
    """Serve the API on ``host``:``port`` until interrupted.

    Raises:
        ConfigError: From ``keys_from_environment``.
    """
    configure_logging()
    app = create_app(keys_from_environment(), workspace)
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="info")
