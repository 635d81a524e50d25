"""The one place that turns anthropic SDK errors into ECL's transient and permanent errors.

Statuses are classified by ``ecl_core.llm.providers.http_status`` (408, 409, 429 and every 5xx
transient, every other status permanent); timeouts and dropped connections are transient.

A streamed answer can fail after its ``200`` head was received. The SDK then raises a
plain ``APIStatusError`` whose ``status_code`` is that ``200`` and whose ``type`` is the
``error`` event's type (``overloaded_error``); such an error is classified by the status
the API documents for its type. A connection cut while the body is read is not wrapped by
the SDK: it arrives as the ``httpx2.TransportError`` of the SDK's HTTP client.
"""

import anthropic
import httpx2

from ecl_core.errors import LLMError, LLMTimeoutError, PermanentLLMError, TransientLLMError
from ecl_core.llm.providers.http_status import is_transient_status, parse_retry_after

__all__ = ["ERROR_TYPE_STATUS", "translate_anthropic_error"]

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
        error_cls = TransientLLMError if is_transient_status(status) else PermanentLLMError
        return error_cls(
            message,
            status_code=status,
            request_id=err.request_id,
            retry_after_s=parse_retry_after(err.response.headers),
        )
    return PermanentLLMError(f"Anthropic SDK error: {type(err).__name__}")
