"""The one place that turns anthropic SDK errors into ECL's transient and permanent errors.

Retryable statuses follow the Messages API error doc and the SDK's own retry rule:
408, 409, 429 and every 5xx (529 ``overloaded_error`` included) are transient;
timeouts and dropped connections are transient; every other status is permanent.
"""

import anthropic

from ecl_core.errors import LLMError, PermanentLLMError, TransientLLMError

__all__ = ["RETRYABLE_STATUS_CODES", "parse_retry_after", "translate_anthropic_error"]

RETRYABLE_STATUS_CODES = frozenset({408, 409, 429})


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


def translate_anthropic_error(err: anthropic.AnthropicError) -> LLMError:
    """Map one SDK exception to ``TransientLLMError`` or ``PermanentLLMError``.

    Args:
        err: An exception raised by ``anthropic.Anthropic().messages.create``.

    Returns:
        The ECL error, keeping status code, request id and any ``retry-after``.
    """
    if isinstance(err, anthropic.APITimeoutError):
        return TransientLLMError("Anthropic API call timed out")
    if isinstance(err, anthropic.APIConnectionError):
        return TransientLLMError(f"connection to the Anthropic API failed: {type(err).__name__}")
    if isinstance(err, anthropic.APIStatusError):
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
