"""What every endpoint of the API shares: the instance, the code locations, the keys."""

import os
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster._core.workspace.context import WorkspaceProcessContext
from fastapi import Request, Security
from fastapi.security import APIKeyHeader

from ecl_dagster.service.errors import ApiError
from ecl_dagster.service.keys import ApiKey, KeyRing

__all__ = ["DOCUMENTS_DIR_VARIABLE", "Service", "caller", "documents_dir", "service"]

DOCUMENTS_DIR_VARIABLE = "ECL_DOCUMENTS_DIR"


_header = APIKeyHeader(name="X-API-Key", auto_error=False,
                       description="An API key; its SHA-256 is in the server's keys file.")


def documents_dir(instance: dg.DagsterInstance) -> Path:
    """``$ECL_DOCUMENTS_DIR``, else ``documents`` in the instance's DAGSTER_HOME."""
    configured = os.environ.get(DOCUMENTS_DIR_VARIABLE)
    return Path(configured) if configured else Path(instance.root_directory) / "documents"


@dataclass
class Service:
    """The API's long-lived state, made once at start-up (``ecl_dagster.service.app``)."""

    instance: dg.DagsterInstance
    workspace: WorkspaceProcessContext
    keys: KeyRing
    documents: Path
    """The folder input paths must be in (``$ECL_DOCUMENTS_DIR``, else DAGSTER_HOME's
    ``documents``): a caller names files there, never elsewhere on the server."""


def service(request: Request) -> Service:
    """The running API's ``Service``."""
    found: Service = request.app.state.service
    return found


def caller(request: Request, presented: str | None = Security(_header)) -> ApiKey:
    """The key the request presented, once it is known and within its rate.

    Raises:
        ApiError: 401 without a key or with an unknown one; 429 past its requests per minute.
    """
    if not presented:
        raise ApiError(401, "send an API key in the X-API-Key header")
    key = service(request).keys.match(presented)
    if key is None:
        raise ApiError(401, "the X-API-Key is not a key this server knows")
    request.state.key_name = key.name
    if not service(request).keys.admit(key):
        raise ApiError(429, f"key {key.name!r} is over its {key.requests_per_minute} requests "
                       "per minute; try again in a minute", headers={"Retry-After": "60"})
    return key
