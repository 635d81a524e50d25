"""The Anthropic provider: the official SDK's Messages API, with retries left to ECL.

Requests whose ``max_tokens`` is above ``STREAM_ABOVE_MAX_TOKENS`` are streamed
(``messages.stream``, then the final message): the SDK refuses a non-streaming request that
could outlast its timeout, and a long answer then never waits on one idle HTTP read.
Shorter requests use ``messages.create``, unchanged on the wire.
"""

import json
import time
from collections.abc import Mapping
from typing import Any

import anthropic
import httpx2
from anthropic.types import AssistantMessageParam, MessageParam, UserMessageParam

from ecl_core.errors import PermanentLLMError
from ecl_core.llm.http_status import READ_ERRORS, exhausted_until, malformed, unsendable
from ecl_core.llm.sdk_errors import translate_anthropic_error
from ecl_core.types import CompletionRequest, CompletionResponse, Message, TokenUsage

__all__ = ["STREAM_ABOVE_MAX_TOKENS", "AnthropicProvider"]

STREAM_ABOVE_MAX_TOKENS = 4096
"""Requests with a larger ``max_tokens`` (output tokens) are streamed; others are not."""


def _message_param(message: Message) -> MessageParam:
    if message.role == "user":
        return UserMessageParam(role="user", content=message.content)
    return AssistantMessageParam(role="assistant", content=message.content)


class AnthropicProvider:
    """Calls the Messages API through the anthropic SDK, streaming long requests.

    The client is built with ``max_retries=0``: ECL's resilience layer owns retries,
    so attempts never multiply (style.md). The SDK itself honours ``ANTHROPIC_BASE_URL``
    when ``base_url`` is not given.

    Args:
        api_key: The Anthropic API key. Never logged, never put in an error.
        model: Model name, e.g. ``claude-sonnet-4-6``.
        timeout_s: Per-request timeout, in seconds (for a stream, per read).
        base_url: API root without ``/v1``; ``None`` means the SDK's default.
    """

    name = "anthropic"

    def __init__(
        self, *, api_key: str, model: str, timeout_s: float, base_url: str | None = None
    ) -> None:
        self.model = model
        self._client = anthropic.Anthropic(
            api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout_s
        )

    def complete(self, request: CompletionRequest) -> CompletionResponse:
        """Send one Messages API request, streamed when ``max_tokens`` is above the threshold.

        Args:
            request: The prompt and its limits; ``max_tokens`` chooses streaming.

        Returns:
            The text, token usage, stop reason (``max_tokens`` included), model and the
            ``request-id`` header as ``request_id``; latency in milliseconds; when a
            rate-limit header says a limit is used up, when it refills
            (``rate_limit_reset_at``).

        Raises:
            TransientLLMError: 408, 409, 429, 5xx, a transient ``error`` event in a stream
                (``overloaded_error``, ``api_error``), timeouts, dropped connections, and a
                body that is not a Messages API response (malformed JSON, missing fields).
            PermanentLLMError: Any other 4xx or error event, a ``refusal`` stop_reason, or
                request text that cannot be encoded (a lone surrogate).
        """
        started = time.perf_counter()
        try:
            if request.max_tokens > STREAM_ABOVE_MAX_TOKENS:
                message, headers = self._stream(request)
            else:
                message, headers = self._create(request)
        except (anthropic.AnthropicError, httpx2.TransportError) as err:
            raise translate_anthropic_error(err) from None
        except UnicodeEncodeError as err:
            raise unsendable(err) from None
        except json.JSONDecodeError as err:
            raise malformed("a Messages API response", err) from None
        try:
            response = self._response(message, headers, started)
        except READ_ERRORS as err:
            raise malformed("a Messages API response", err) from None
        if response.stop_reason == "refusal":
            raise PermanentLLMError(
                "the model refused the request", request_id=response.request_id
            )
        return response

    def _response(
        self, message: Any, headers: Mapping[str, str], started: float
    ) -> CompletionResponse:
        text = "".join(block.text for block in message.content if block.type == "text")
        usage = message.usage
        return CompletionResponse(
            text=text,
            usage=TokenUsage(
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cache_creation_input_tokens=usage.cache_creation_input_tokens or 0,
                cache_read_input_tokens=usage.cache_read_input_tokens or 0,
            ),
            stop_reason=message.stop_reason,
            model=message.model,
            provider=self.name,
            request_id=headers.get("request-id"),
            latency_ms=(time.perf_counter() - started) * 1000,
            rate_limit_reset_at=exhausted_until(headers, time.time()),
        )

    def _create(
        self, request: CompletionRequest
    ) -> tuple[anthropic.types.Message, Mapping[str, str]]:
        raw = self._client.messages.with_raw_response.create(
            model=self.model,
            max_tokens=request.max_tokens,
            system=request.system,
            messages=[_message_param(m) for m in request.messages],
            stop_sequences=list(request.stop_sequences) or anthropic.omit,
        )
        return raw.parse(), raw.headers

    def _stream(
        self, request: CompletionRequest
    ) -> tuple[anthropic.types.Message, Mapping[str, str]]:
        with self._client.messages.stream(
            model=self.model,
            max_tokens=request.max_tokens,
            system=request.system,
            messages=[_message_param(m) for m in request.messages],
            stop_sequences=list(request.stop_sequences) or anthropic.omit,
        ) as stream:
            return stream.get_final_message(), stream.response.headers
