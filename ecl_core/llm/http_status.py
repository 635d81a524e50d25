"""What an HTTP answer of an LLM API says about retrying, whichever SDK received it.

Retryable statuses follow the Messages API error doc and the SDKs' own retry rule:
408, 409, 429 and every 5xx (529 ``overloaded_error`` included) are transient; every other
status is permanent. ``retry-after-ms`` and ``retry-after`` say how long to wait.
"""

__all__ = ["RETRYABLE_STATUS_CODES", "is_transient_status", "parse_retry_after"]

RETRYABLE_STATUS_CODES = frozenset({408, 409, 429})


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
