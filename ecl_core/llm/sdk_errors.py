"""The one place that turns anthropic SDK errors into ECL's transient and permanent errors.

Retryable statuses follow the Messages API error doc and the SDK's own retry rule:
408, 409, 429 and every 5xx (529 ``overloaded_error`` included) are transient;
timeouts and dropped connections are transient; every other status is permanent.

A streamed answer can fail after its ``200`` head was received. The SDK then raises a
plain ``APIStatusError`` whose ``status_code`` is that ``200`` and whose ``type`` is the
``error`` event's type (``overloaded_error``); such an error is classified by the status
the API documents for its type. A connection cut while the body is read is not wrapped by
the SDK: it arrives as the ``httpx2.TransportError`` of the SDK's HTTP client.
"""

import anthropic
import httpx2

from ecl_core.errors import LLMError, LLMTimeoutError, PermanentLLMError, TransientLLMError

__all__ = [
    "ERROR_TYPE_STATUS",
    "RETRYABLE_STATUS_CODES",
    "parse_retry_after",
    "translate_anthropic_error",
]

RETRYABLE_STATUS_CODES = frozenset({408, 409, 429})

ERROR_TYPE_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
"""The HTTP status the Messages API error doc gives each error type; unknown types count as 500."""


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


def _error_detail(err: anthropic.APIStatusError) -> str:
    parts = [part for part in (err.type, err.api_message) if part]
    return ": ".join(parts) or err.message


def translate_anthropic_error(err: anthropic.AnthropicError | httpx2.TransportError) -> LLMError:
    """Map one SDK exception to ``TransientLLMError`` or ``PermanentLLMError``.

    Args:
        err: An exception raised by ``messages.create``, or by ``messages.stream`` before or
            while its events are read.

    Returns:
        The ECL error, keeping status code, request id and any ``retry-after``. For an
        ``error`` event in a stream the status code is the one documented for its type.
    """
    if isinstance(err, anthropic.APITimeoutError | httpx2.TimeoutException):
        return LLMTimeoutError("Anthropic API call timed out")
    if isinstance(err, anthropic.APIConnectionError | httpx2.TransportError):
        return TransientLLMError(f"connection to the Anthropic API failed: {type(err).__name__}")
    if isinstance(err, anthropic.APIStatusError):
        if err.status_code < 400:  # an ``error`` event in a stream whose head said 200
            status = ERROR_TYPE_STATUS.get(err.type or "", 500)
            message = f"Anthropic API stream ended with an error event ({_error_detail(err)})"
        else:
            status = err.status_code
            message = f"Anthropic API returned {status} ({_error_detail(err)})"
        transient = status in RETRYABLE_STATUS_CODES or status >= 500
        error_cls = TransientLLMError if transient else PermanentLLMError
        return error_cls(
            message,
            status_code=status,
            request_id=err.request_id,
            retry_after_s=parse_retry_after(err.response.headers),
        )
    return PermanentLLMError(f"Anthropic SDK error: {type(err).__name__}")
