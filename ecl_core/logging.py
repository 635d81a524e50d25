"""structlog configuration, once per process, with secret redaction.

Console renderer on a TTY, JSON lines otherwise (architecture.md, Observability).
Context such as ``run_id``, ``job_name``, ``step_key`` is bound through
``structlog.contextvars`` by the caller. Any value registered with
``register_secret`` is replaced by ``[REDACTED]`` in every event, and keys that
name credentials are masked whatever their value.
"""

import logging
import os
import sys
import threading
from collections.abc import MutableMapping
from typing import Any

import structlog

__all__ = ["REDACTED", "configure_logging", "get_logger", "redact", "register_secret"]

REDACTED = "[REDACTED]"
_SENSITIVE_KEYS = frozenset({"api_key", "authorization", "x-api-key", "password", "token"})
_MIN_SECRET_CHARS = 8
_secrets: set[str] = set()
_lock = threading.Lock()
_configured = False


def register_secret(value: str | None) -> None:
    """Make ``value`` unprintable: every later log event has it replaced by ``[REDACTED]``."""
    if value and len(value) >= _MIN_SECRET_CHARS:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """Return ``text`` with every registered secret replaced by ``[REDACTED]``."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def _redact_event(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in event.items():
        if key.lower() in _SENSITIVE_KEYS:
            event[key] = REDACTED
        elif isinstance(value, str):
            event[key] = redact(value)
    return event


def _stderr_logger(*_args: Any) -> structlog.PrintLogger:
    # Resolved per logger so that Dagster's captured stderr of a step receives the lines.
    return structlog.PrintLogger(file=sys.stderr)


def configure_logging(level: str | None = None, *, force: bool = False) -> None:
    """Configure structlog for this process, unless it already is; ``force`` overrides that.

    A process whose structlog was configured by someone else keeps that configuration.

    Args:
        level: ``DEBUG``, ``INFO``, ... Defaults to ``ECL_LOG_LEVEL`` or ``INFO``.
            Prompts and responses are logged only at ``DEBUG``.
        force: Configure again even if already configured (tests).
    """
    global _configured
    with _lock:
        if (_configured or structlog.is_configured()) and not force:
            return
        name = (level or os.environ.get("ECL_LOG_LEVEL") or "INFO").upper()
        renderer: Any = (
            structlog.dev.ConsoleRenderer(colors=False)
            if sys.stderr.isatty()
            else structlog.processors.JSONRenderer()
        )
        structlog.configure(
            processors=[
                structlog.contextvars.merge_contextvars,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.processors.format_exc_info,
                _redact_event,
                renderer,
            ],
            wrapper_class=structlog.make_filtering_bound_logger(
                logging.getLevelNamesMapping().get(name, logging.INFO)
            ),
            logger_factory=_stderr_logger,
            cache_logger_on_first_use=False,
        )
        _configured = True


def get_logger(name: str) -> Any:
    """A lazy structlog logger: it follows whatever ``configure_logging`` set up at entry."""
    return structlog.get_logger(name)
