"""The FastAPI application of ECL's HTTP API (``create_app``), and its OpenAPI document.

Every request gets a request id (the ``X-Request-ID`` header when it sends a sane one,
else a new one), returned in ``X-Request-ID``, written on its ``api.request`` log line
and on the runs it makes (run tag ``ecl/request_id``), so a run's logs lead back to the
request and the request log to the run. Keys are read at start-up
(``ecl_dagster.service.keys``); health endpoints ask for none.
"""

import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ecl_core.logging import get_logger
from ecl_dagster.runs.launching import open_workspace
from ecl_dagster.service import definitions, docs, errors, health, runs
from ecl_dagster.service.context import Service, documents_dir
from ecl_dagster.service.keys import KeyRing
from ecl_dagster.service.metrics import registry_for

__all__ = ["API_VERSION", "create_app", "openapi_document"]

API_VERSION = "1.0.0"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_log = get_logger("ecl.api")


def _route_of(request: Request) -> str:
    """The matched route's path template (a metric label of bounded cardinality)."""
    path = getattr(request.scope.get("route"), "path", None)
    return path if isinstance(path, str) else "unmatched"


def create_app(
    keys: KeyRing, workspace: Path | None = None, service: Service | None = None
) -> FastAPI:
    """The API over the instance at DAGSTER_HOME, or over ``service`` when given.

    Without ``service``, the instance and the code locations of ``workspace`` (default:
    ``ecl_dagster.runs.launching.workspace_file``) are opened at start-up and closed at shutdown
    (uvicorn's lifespan).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if service is not None:  # given: set below, owned by the caller
            yield
            return
        with dg.DagsterInstance.get() as instance, open_workspace(instance, workspace) as locations:
            app.state.service = Service(instance, locations, keys, documents_dir(instance))
            app.state.metrics = registry_for(instance)
            yield

    app = FastAPI(
        title="ECL", version=API_VERSION, lifespan=lifespan,
        docs_url=None, redoc_url=None,  # served by docs.install, with no CDN
        description="Durable, observable LLM workflows on Dagster: submit and follow runs, "
        "read their steps, tokens and artifacts, cancel and re-execute them. Every endpoint "
        "but /health and /metrics asks for an API key in the X-API-Key header. Errors have "
        'one shape: {"error": {"code", "message", "details"}}.',
    )
    if service is not None:
        app.state.service = service
        app.state.metrics = registry_for(service.instance)
    errors.install(app)
    docs.install(app)
    app.include_router(runs.router)
    app.include_router(definitions.router)
    app.include_router(health.router)

    @app.get("/metrics", tags=["health"], summary="Prometheus metrics",
             response_class=Response,
             responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
    def metrics() -> Response:
        """Runs, LLM calls, tokens, cost and breakers (``ecl_dagster.service.metrics``)."""
        registry, _ = app.state.metrics
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.middleware("http")
    async def request_log(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        given = request.headers.get("x-request-id", "")
        request.state.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        started = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception as err:  # answered here: nothing past this point redacts a traceback
            response = errors.internal_error(request.state.request_id, err)
        response.headers["X-Request-ID"] = request.state.request_id
        route = _route_of(request)
        _, counter = app.state.metrics
        counter.labels(request.method, route, str(response.status_code)).inc()
        _log.info("api.request", request_id=request.state.request_id, method=request.method,
                  route=route, path=request.url.path, status=response.status_code,
                  ms=round((time.perf_counter() - started) * 1000, 1),
                  key_name=getattr(request.state, "key_name", None))
        return response

    return app


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI document, as served at ``/openapi.json`` (no instance needed)."""
    return create_app(KeyRing([])).openapi()
