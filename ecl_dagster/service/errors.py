"""Every error of the HTTP API in one shape: ``{"error": {"code", "message", "details"}}``.

``code`` is a stable word a program can branch on (``unauthorized``, ``not_found``,
``invalid_input``, ``conflict``, ``rate_limited``, ``unavailable``, ``internal``);
``message`` is for a person; ``details`` lists field errors (``loc``, ``msg``, ``type``)
for ``invalid_input``, and is empty otherwise. No message carries a secret: texts pass
through ``ecl_core.logging.redact``, and an unexpected error says only its type and the
request id to look up in the server's log.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from ecl_core.logging import get_logger, redact

__all__ = ["ApiError", "ErrorBody", "FieldProblem", "field_problems", "install", "internal_error"]

_log = get_logger("ecl.api")

_CODES = {400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "not_allowed",
          409: "conflict", 422: "invalid_input", 429: "rate_limited", 500: "internal",
          503: "unavailable"}


class FieldProblem(BaseModel):
    """One field's error: where it is (``["body", "input", "topic"]``), what is wrong."""

    loc: list[str | int]
    msg: str
    type: str


class ErrorDetail(BaseModel):
    """The content of an error response."""

    code: str
    message: str
    details: list[FieldProblem]


class ErrorBody(BaseModel):
    """An error response's body."""

    error: ErrorDetail


class ApiError(Exception):
    """An error the API answers with ``status`` and the shape above."""

    def __init__(
        self, status: int, message: str, details: Sequence[FieldProblem] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = list(details)
        self.headers = dict(headers or {})


def field_problems(errors: Sequence[Mapping[str, Any]], prefix: Sequence[str] = ()) -> list[
        FieldProblem]:
    """Pydantic's ``errors()`` as field problems, each ``loc`` under ``prefix``."""
    return [
        FieldProblem(loc=[*prefix, *(e.get("loc") or ())], msg=redact(str(e.get("msg", ""))),
                     type=str(e.get("type", "value_error")))
        for e in errors
    ]


def _response(status: int, message: str, details: Sequence[FieldProblem] = (),
              headers: Mapping[str, str] | None = None) -> JSONResponse:
    body = ErrorBody(error=ErrorDetail(code=_CODES.get(status, "error"), message=redact(message),
                                       details=list(details)))
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` in the shape above."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, err: ApiError) -> JSONResponse:
        return _response(err.status, err.message, err.details, err.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, err: RequestValidationError) -> JSONResponse:
        return _response(422, "the request does not fit its schema; see details",
                         field_problems(err.errors()))

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, err: HTTPException) -> JSONResponse:
        return _response(err.status_code, str(err.detail), headers=err.headers)


def internal_error(request_id: str, err: Exception) -> JSONResponse:
    """The 500 of an unexpected error: its type and the request id, the rest in the log.

    Answered by the request middleware (``ecl_dagster.service.app``), so no traceback
    reaches uvicorn's log, where nothing would redact it.
    """
    _log.error("api.error", request_id=request_id, error=type(err).__name__,
               message=redact(str(err)))
    return _response(500, f"internal error ({type(err).__name__}); the server's log has it "
                     f"under request id {request_id}")
