"""What an HTTP exchange with an LLM API says about retrying, whichever SDK made it.

Retryable statuses follow the Messages API error doc and the SDKs' own retry rule:
408, 409, 429 and every 5xx (529 ``overloaded_error`` included) are transient; every other
status is permanent. ``retry-after-ms`` and ``retry-after`` say how long to wait. A 200
whose body is not the API's answer (a proxy's HTML page, cut JSON) is transient: a failed
call, retried and counted by the breaker. Request text the SDK cannot encode (a lone
surrogate) is permanent: it never reaches the API.
"""

import re
from collections.abc import Mapping
from datetime import datetime

from ecl_core.errors import PermanentLLMError, TransientLLMError

__all__ = [
    "READ_ERRORS",
    "RETRYABLE_STATUS_CODES",
    "exhausted_until",
    "is_transient_status",
    "malformed",
    "parse_retry_after",
    "unsendable",
]

RETRYABLE_STATUS_CODES = frozenset({408, 409, 429})
READ_ERRORS = (ValueError, TypeError, AttributeError, KeyError, IndexError)
"""What reading a parsed answer raises when the body lacks the fields it should have."""


def malformed(what: str, err: Exception) -> TransientLLMError:
    """The error for a 200 whose body is not ``what`` (``a chat completion``)."""
    return TransientLLMError(
        f"the API answered with a body that is not {what} ({type(err).__name__})"
    )


def unsendable(err: UnicodeEncodeError) -> PermanentLLMError:
    """The error for request text the SDK cannot encode."""
    return PermanentLLMError(
        f"the request cannot be sent: its text is not valid Unicode ({err.reason} at "
        f"character {err.start})"
    )


def is_transient_status(status: int) -> bool:
    """408, 409, 429 and every 5xx: worth retrying."""
    return status in RETRYABLE_STATUS_CODES or status >= 500


def parse_retry_after(headers: object) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds), if present and sane."""
    get = getattr(headers, "get", None)
    if get is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = get(name)
        if raw is None:
            continue
        try:
            value = float(raw) * scale
        except (TypeError, ValueError):
            continue
        if value >= 0:
            return value
    return None


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def _duration_s(text: str) -> float | None:
    """Seconds in a duration such as ``1s``, ``6m0s`` or ``20ms``; None if unreadable."""
    text = text.strip()
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(number) * _SECONDS[unit] for number, unit in parts)


def _rfc3339_s(text: str) -> float | None:
    """Seconds since the epoch of an RFC 3339 time; None if unreadable."""
    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        return None


def exhausted_until(headers: Mapping[str, str], now: float) -> float | None:
    """When the last used-up rate limit refills, in seconds since the epoch; None if none is.

    Both header families are read:

    * Anthropic's: ``anthropic-ratelimit-<kind>-remaining: 0`` (requests, tokens,
      input-tokens, output-tokens), its ``-reset`` an RFC 3339 time;
    * OpenAI-style: ``x-ratelimit-remaining-<kind>: 0`` (requests, tokens), its
      ``x-ratelimit-reset-<kind>`` a duration from ``now`` (``1s``, ``6m0s``, ``20ms``).

    A reset that cannot be read is ignored.
    """
    resets: list[float | None] = []
    for kind in ("requests", "tokens", "input-tokens", "output-tokens"):
        if headers.get(f"anthropic-ratelimit-{kind}-remaining", "").strip() == "0":
            resets.append(_rfc3339_s(headers.get(f"anthropic-ratelimit-{kind}-reset", "")))
    for kind in ("requests", "tokens"):
        if headers.get(f"x-ratelimit-remaining-{kind}", "").strip() == "0":
            wait = _duration_s(headers.get(f"x-ratelimit-reset-{kind}", ""))
            resets.append(None if wait is None else now + wait)
    return max((r for r in resets if r is not None), default=None)
