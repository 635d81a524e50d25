"""The one place that turns openai SDK errors into ECL's transient and permanent errors.

The same rule as for the Messages API (``ecl_core.llm.providers.http_status``): 408, 409, 429 and
every 5xx are transient, timeouts and dropped connections too, every other status is
permanent. A connection cut while the body is read arrives as the ``httpx2.TransportError``
of the SDK's HTTP client.
"""

import httpx2
import openai

from ecl_core.errors import LLMError, LLMTimeoutError, PermanentLLMError, TransientLLMError
from ecl_core.llm.providers.http_status import is_transient_status, parse_retry_after

__all__ = ["translate_openai_error"]


def _detail(err: openai.APIStatusError) -> str:
    body = err.body if isinstance(err.body, dict) else {}
    inner = body.get("error", body)
    message = inner.get("message") if isinstance(inner, dict) else None
    kind = inner.get("type") if isinstance(inner, dict) else None
    parts = [str(part) for part in (kind, message) if part]
    return ": ".join(parts) or err.message


def translate_openai_error(err: openai.OpenAIError | httpx2.TransportError) -> LLMError:
    """Map one openai SDK exception to ``TransientLLMError`` or ``PermanentLLMError``.

    Returns:
        The ECL error, keeping status code, request id (``x-request-id``) and any
        ``retry-after``.
    """
    if isinstance(err, openai.APITimeoutError | httpx2.TimeoutException):
        return LLMTimeoutError("chat completions call timed out")
    if isinstance(err, openai.APIConnectionError | httpx2.TransportError):
        return TransientLLMError(
            f"connection to the chat completions API failed: {type(err).__name__}"
        )
    if isinstance(err, openai.APIStatusError):
        status = err.status_code
        error_cls = TransientLLMError if is_transient_status(status) else PermanentLLMError
        return error_cls(
            f"chat completions API returned {status} ({_detail(err)})",
            status_code=status,
            request_id=err.request_id,
            retry_after_s=parse_retry_after(err.response.headers),
        )
    return PermanentLLMError(f"openai SDK error: {type(err).__name__}")
