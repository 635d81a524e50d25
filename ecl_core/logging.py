"""structlog configuration, once per process, with secret redaction.

Human lines (structlog's console renderer) when a person reads the terminal, JSON lines
otherwise (``console_wanted``: ``ECL_LOG_FORMAT=console|json``, else whether standard error
is a TTY).
Context such as ``run_id``, ``job_name``, ``step_key`` is bound through
``structlog.contextvars`` by the caller. Any value registered with
``register_secret``, and the value of every environment variable whose name says it
holds a credential (``*KEY*``, ``*SECRET*``, ``*PASSWORD*``, ``*TOKEN*``, ``*CREDENTIAL*``),
is replaced by ``[REDACTED]`` in every event and in the text of every ECL error
(``ecl_core.errors``); keys that name credentials are masked whatever their value.

structlog is imported at the first log line, context or configuration, not with this
module: ``import structlog`` imports rich (through ``structlog.tracebacks``) wherever rich
is installed, about 0.1 s that loading ECL's definitions need not pay (docs/benchmarks.md).
"""

import logging
import os
import re
import sys
import threading
from collections.abc import Hashable, MutableMapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import structlog

__all__ = [
    "LOG_FORMAT_VARIABLE",
    "REDACTED",
    "bound_contextvars",
    "configure_logging",
    "console_wanted",
    "get_logger",
    "redact",
    "register_secret",
    "warn_once",
]

REDACTED = "[REDACTED]"
LOG_FORMAT_VARIABLE = "ECL_LOG_FORMAT"
"""``console`` (human lines, progress bars) or ``json`` (JSON lines); unset: by the TTY."""
_SENSITIVE_KEYS = frozenset({"api_key", "authorization", "x-api-key", "password", "token"})
_MIN_SECRET_CHARS = 8
_SECRET_VARIABLE = re.compile(r"KEY|SECRET|PASSWORD|TOKEN|CREDENTIAL", re.IGNORECASE)
_secrets: set[str] = set()
_warned: set[tuple[str, Hashable]] = set()
_lock = threading.Lock()
_configured = False


def register_secret(value: str | None) -> None:
    """Make ``value`` unprintable: every later log event has it replaced by ``[REDACTED]``."""
    if value and len(value) >= _MIN_SECRET_CHARS:
        with _lock:
            _secrets.add(value)


def _environment_secrets() -> set[str]:
    return {
        value
        for name, value in os.environ.items()
        if _SECRET_VARIABLE.search(name) and len(value) >= _MIN_SECRET_CHARS
    }


def redact(text: str) -> str:
    """Return ``text`` with every secret replaced by ``[REDACTED]``.

    Secrets are the registered values and the credential variables' values (module
    docstring), replaced longest first so that no part of one is left.
    """
    with _lock:
        secrets = _secrets | _environment_secrets()
    for secret in sorted(secrets, key=len, reverse=True):
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


_CONTEXT_SHOWN_ELSEWHERE = frozenset({"run_id", "job_name", "step_attempt"})
"""Bound context a person's line leaves out: Dagster's own lines around it name the run."""


def _for_a_person(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A shorter line for a person: no run context repeated, no empty or zero-token fields."""
    for key in [k for k, v in event.items()
                if k in _CONTEXT_SHOWN_ELSEWHERE or v is None
                or (v == 0 and k.startswith("cache_"))]:
        del event[key]
    return event


def _stderr_logger(*_args: Any) -> "structlog.PrintLogger":
    # Resolved per logger so that Dagster's captured stderr of a step receives the lines.
    import structlog

    return structlog.PrintLogger(file=sys.stderr)


def console_wanted() -> bool:
    """Whether a person reads this process's terminal.

    ``ECL_LOG_FORMAT`` decides when set; else whether standard error is a TTY. The ``ecl``
    command and ``scripts/run.sh`` set it from their own terminal, because Dagster hands a
    step's standard error to a pipe (its captured logs), where a step cannot tell.
    """
    chosen = os.environ.get(LOG_FORMAT_VARIABLE, "").strip().lower()
    if chosen in {"console", "json"}:
        return chosen == "console"
    return sys.stderr.isatty()


def configure_logging(level: str | None = None, *, force: bool = False) -> None:
    """Configure structlog for this process, unless it already is; ``force`` overrides that.

    A process whose structlog was configured by someone else keeps that configuration.

    Args:
        level: ``DEBUG``, ``INFO``, ... Defaults to ``ECL_LOG_LEVEL`` or ``INFO``.
            Prompts and responses are logged only at ``DEBUG``.
        force: Configure again even if already configured (tests).
    """
    global _configured
    import structlog

    with _lock:
        if (_configured or structlog.is_configured()) and not force:
            return
        name = (level or os.environ.get("ECL_LOG_LEVEL") or "INFO").upper()
        console = console_wanted()
        renderer: Any = (
            structlog.dev.ConsoleRenderer(colors=False)
            if console
            else structlog.processors.JSONRenderer()
        )
        structlog.configure(
            processors=[
                structlog.contextvars.merge_contextvars,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(
                    fmt="%H:%M:%S" if console else "iso", utc=not console
                ),
                structlog.processors.format_exc_info,
                _redact_event,
                *([_for_a_person] if console else []),
                renderer,
            ],
            wrapper_class=structlog.make_filtering_bound_logger(
                logging.getLevelNamesMapping().get(name, logging.INFO)
            ),
            logger_factory=_stderr_logger,
            cache_logger_on_first_use=False,
        )
        _configured = True


class _Logger:
    """structlog's logger ``name``, looked up at each use (structlog imported at the first)."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        import structlog

        return getattr(structlog.get_logger(self._name), attribute)


def get_logger(name: str) -> Any:
    """A lazy structlog logger: it follows whatever ``configure_logging`` set up at entry."""
    return _Logger(name)


def bound_contextvars(**values: Any) -> AbstractContextManager[None]:
    """``structlog.contextvars.bound_contextvars``: ``values`` on every log line of the block."""
    import structlog.contextvars

    return structlog.contextvars.bound_contextvars(**values)


def warn_once(logger: Any, event: str, key: Hashable, **fields: Any) -> None:
    """Log ``event`` as a warning the first time this process meets it for ``key``."""
    with _lock:
        if (event, key) in _warned:
            return
        _warned.add((event, key))
    logger.warning(event, **fields)
