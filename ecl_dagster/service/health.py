"""``/health``: liveness, and readiness with what a run needs (no key asked).

Ready means: the instance's storage answers a query, the code location is loaded, and
every shared circuit breaker's state is read from ECL's database. It answers 503 when the
storage or the code location fails (the API cannot start or read runs), and 200 with
status ``degraded`` while a breaker is open or half-open (runs are still accepted, and
their LLM calls fail fast until the breaker lets a trial call through; docs/architecture.md,
Resilience) or while a workflow file is broken (the other workflows' runs are accepted;
that one's are refused with 503 and its problems).
"""

from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from ecl_core.llm.breaker_store import breaker_states
from ecl_core.logging import get_logger, redact
from ecl_core.steps.builtin import default_registry
from ecl_core.workflow.files import scan_workflows
from ecl_dagster.runs.launching import LOCATION_NAME
from ecl_dagster.service.context import Service, service
from ecl_dagster.storage.ecl_db import ecl_db_url
from ecl_dagster.workflows.jobs import workflows_dir

__all__ = ["Breaker", "Check", "Readiness", "router"]

router = APIRouter(prefix="/health", tags=["health"])
_log = get_logger("ecl.api")


class Check(BaseModel):
    """One dependency's check."""

    ok: bool
    error: str | None = Field(None, description="Why it failed, in short; the server's log "
                              "has the message.")


class Breaker(BaseModel):
    """A shared circuit breaker, as every process of the instance sees it."""

    name: str
    state: Literal["closed", "open", "half-open"]
    opened_at: float | None = Field(description="When it last opened, epoch seconds.")
    opens: int = Field(description="Times it has opened.")


class Readiness(BaseModel):
    """Whether the API can serve, and the state of what runs depend on."""

    status: Literal["ready", "degraded", "unavailable"]
    storage: Check
    code_location: Check
    workflows: Check = Field(description="Whether every workflow file is valid; the error "
                             "names each broken file and the line of its first problem.")
    breakers: list[Breaker]
    breaker_check: Check


def _failed(what: str, err: Exception) -> Check:
    """A failed check as answered: the error's type only; its message goes to the log.

    The endpoint asks for no key, and a database error names hosts and users.
    """
    _log.warning("api.not_ready", check=what, error=type(err).__name__,
                 message=redact(str(err))[:500])
    return Check(ok=False, error=f"{type(err).__name__}; see the server's log")


@router.get("/live", summary="The process answers")
def live() -> dict[str, str]:
    """Always ``{"status": "ok"}`` while the server runs."""
    return {"status": "ok"}


@router.get("/ready", response_model=Readiness, summary="Storage, code location, breakers",
            responses={503: {"model": Readiness, "description": "Storage or code location "
                                                              "failed."}})
def ready(svc: Annotated[Service, Depends(service)], response: Response) -> Readiness:
    """Check storage, the code location and the breakers (module docstring)."""
    try:
        svc.instance.get_run_records(limit=1)
        storage = Check(ok=True)
    except Exception as err:  # any failure of the storage is what this reports
        storage = _failed("storage", err)
    try:
        request = svc.workspace.create_request_context()
        entries = request.get_code_location_entries()
        entry = entries.get(LOCATION_NAME) or next(iter(entries.values()), None)
        if entry is None:
            location = Check(ok=False, error="the workspace names no code location")
        elif entry.load_error is not None:
            _log.warning("api.not_ready", check="code_location",
                         message=redact(entry.load_error.message)[:2000])
            location = Check(ok=False, error="it failed to load; see the server's log")
        else:
            location = Check(ok=entry.code_location is not None,
                             error=None if entry.code_location else "still loading")
    except Exception as err:
        location = _failed("code_location", err)
    workflows = _workflow_files()
    breakers: list[Breaker] = []
    try:
        breakers = [
            Breaker.model_validate(vars(b)) for b in breaker_states(ecl_db_url(svc.instance))
        ]
        breaker_check = Check(ok=True)
    except Exception as err:
        breaker_check = _failed("breakers", err)
    if not (storage.ok and location.ok):
        response.status_code = 503
        state: Literal["ready", "degraded", "unavailable"] = "unavailable"
    elif not (breaker_check.ok and workflows.ok) or any(b.state != "closed" for b in breakers):
        state = "degraded"
    else:
        state = "ready"
    return Readiness(status=state, storage=storage, code_location=location, workflows=workflows,
                     breakers=breakers, breaker_check=breaker_check)


def _workflow_files() -> Check:
    """Whether every workflow file is valid; else each broken file's name and first line."""
    try:
        broken = scan_workflows(workflows_dir(), default_registry()).broken
    except Exception as err:  # an unreadable folder is what this reports
        return _failed("workflows", err)
    if not broken:
        return Check(ok=True)
    named = ", ".join(
        f"{Path(file).name}:{problems[0].line}" if problems[0].line else Path(file).name
        for file, problems in sorted(broken.items())
    )
    return Check(ok=False, error=f"{len(broken)} broken workflow file(s): {named}; their runs "
                 "are refused: run `ecl workflows check` for every problem")
