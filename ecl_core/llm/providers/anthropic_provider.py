"""The Anthropic provider: the official SDK's Messages API, with retries left to ECL.

Requests whose ``max_tokens`` is above ``STREAM_ABOVE_MAX_TOKENS`` are streamed
(``messages.stream``, then the final message): the SDK refuses a non-streaming request that
could outlast its timeout, and a long answer then never waits on one idle HTTP read.
Shorter requests use ``messages.create``, unchanged on the wire.

Prompt caching: a request marked ``cache`` gets ``cache_control`` on its system prompt and
on its context block (the first block of the first user turn), so a later call with the
same prefix reads it from the cache (the API doc, prompt caching: at most 4 breakpoints,
prefixes below the model's minimum length are not cached and cost nothing extra).

Structured outputs: a request with an ``output_schema`` is sent with
``output_config.format`` (a JSON schema made acceptable to the API by the SDK's
``transform_schema``). A server that refuses that parameter (a 400 naming it, as a gateway
without structured outputs or a model without them answers) gets the same request again
without it, and no later request of this process to that server and model carries it: the
step's own parse-and-repair path reads the answer instead. This is logged once, as a warning.
"""

import json
import time
from collections.abc import Mapping
from typing import Any

import anthropic
import httpx2
from anthropic.types import (
    AssistantMessageParam,
    MessageParam,
    TextBlockParam,
    UserMessageParam,
)

from ecl_core.errors import PermanentLLMError
from ecl_core.llm.providers.http_status import READ_ERRORS, exhausted_until, malformed, unsendable
from ecl_core.llm.providers.sdk_errors import translate_anthropic_error
from ecl_core.llm.windows import ModelLimits
from ecl_core.logging import get_logger, warn_once
from ecl_core.types import CacheTTL, CompletionRequest, CompletionResponse, TokenUsage

__all__ = ["STREAM_ABOVE_MAX_TOKENS", "AnthropicProvider"]

STREAM_ABOVE_MAX_TOKENS = 4096
"""Requests with a larger ``max_tokens`` (output tokens) are streamed; others are not."""
_SCHEMA_WORDS = ("output_config", "output_format", "structured output", "json_schema", "schema")
_log = get_logger("ecl.llm")
_no_structured_outputs: set[tuple[str, str]] = set()  # (API root, model) that refused it


def _refuses_schema(err: anthropic.BadRequestError) -> bool:
    """Whether a 400 is about the structured-output parameter (module docstring)."""
    text = f"{err.api_message or ''} {err.message}".lower()
    return any(word in text for word in _SCHEMA_WORDS)


class AnthropicProvider:
    """Calls the Messages API through the anthropic SDK, streaming long requests.

    The client is built with ``max_retries=0``: ECL's resilience layer owns retries,
    so attempts never multiply (docs/dagster-notes.md). The SDK itself honours
    ``ANTHROPIC_BASE_URL`` when ``base_url`` is not given.

    Args:
        api_key: The Anthropic API key. Never logged, never put in an error.
        model: Model name, e.g. ``claude-sonnet-4-6``.
        timeout_s: Per-request timeout, in seconds (for a stream, per read).
        base_url: API root without ``/v1``; ``None`` means the SDK's default.
        prompt_caching: Mark the prefix of requests marked ``cache`` with ``cache_control``.
        cache_ttl: The cache entries' time to live: ``5m`` (writes cost 1.25 x input) or
            ``1h`` (2 x input), per Anthropic's prompt-caching pricing.
    """

    name = "anthropic"

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        timeout_s: float,
        base_url: str | None = None,
        prompt_caching: bool = True,
        cache_ttl: CacheTTL = "5m",
    ) -> None:
        self.model = model
        self._client = anthropic.Anthropic(
            api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout_s
        )
        self._cache_control: dict[str, str] | None = (
            {"type": "ephemeral", "ttl": cache_ttl} if prompt_caching else None
        )
        self._server = (str(self._client.base_url), model)

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
        structured = self._structured(request)
        try:
            try:
                message, headers = self._send(request, structured)
            except anthropic.BadRequestError as err:
                if not (structured and _refuses_schema(err)):
                    raise
                self._stop_structured_outputs(err)
                message, headers = self._send(request, structured=False)
        except (anthropic.AnthropicError, httpx2.TransportError) as err:
            raise translate_anthropic_error(err) from None
        except UnicodeEncodeError as err:
            raise unsendable(err) from None
        except json.JSONDecodeError as err:
            raise malformed("a Messages API response", err) from None
        try:
            response = self._response(message, headers, started, request.max_tokens)
        except READ_ERRORS as err:
            raise malformed("a Messages API response", err) from None
        if response.stop_reason == "refusal":
            raise PermanentLLMError(
                "the model refused the request", request_id=response.request_id
            )
        return response

    def count_tokens(self, request: CompletionRequest) -> int:
        """The input tokens of ``request``, by the API's token counting (``count_tokens``).

        Raises:
            TransientLLMError, PermanentLLMError: As for ``complete``.
        """
        try:
            counted = self._client.messages.count_tokens(
                **self._prompt(request, self._structured(request)), model=self.model
            )
        except (anthropic.AnthropicError, httpx2.TransportError) as err:
            raise translate_anthropic_error(err) from None
        except UnicodeEncodeError as err:
            raise unsendable(err) from None
        return int(counted.input_tokens)

    def model_limits(self) -> ModelLimits | None:
        """None: the Messages API does not report a model's window.

        ``ecl_core.llm.windows`` takes it from settings, else its table of Claude models.
        """
        return None

    def count_input_tokens(self, request: CompletionRequest) -> int | None:
        """The input tokens of ``request`` by ``count_tokens`` (``ecl_core.llm.windows``)."""
        return self.count_tokens(request)

    def _structured(self, request: CompletionRequest) -> bool:
        """Whether ``request`` is sent asking for structured output (module docstring)."""
        return request.output_schema is not None and self._server not in _no_structured_outputs

    def _stop_structured_outputs(self, err: anthropic.BadRequestError) -> None:
        _no_structured_outputs.add(self._server)
        warn_once(
            _log, "llm.structured_outputs_refused", self._server, provider=self.name,
            model=self.model, request_id=err.request_id, status_code=err.status_code,
            detail="the server refused output_config.format; this process parses and "
            "repairs structured answers from text instead",
        )

    def _response(
        self, message: Any, headers: Mapping[str, str], started: float, max_tokens: int
    ) -> CompletionResponse:
        text = "".join(block.text for block in message.content if block.type == "text")
        usage = message.usage
        split = getattr(usage, "cache_creation", None)
        return CompletionResponse(
            text=text,
            usage=TokenUsage(
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cache_creation_input_tokens=usage.cache_creation_input_tokens or 0,
                cache_creation_1h_input_tokens=split.ephemeral_1h_input_tokens if split else 0,
                cache_read_input_tokens=usage.cache_read_input_tokens or 0,
            ),
            service_tier=getattr(usage, "service_tier", None),
            stop_reason=message.stop_reason,
            max_tokens=max_tokens,
            model=message.model,
            provider=self.name,
            request_id=headers.get("request-id"),
            latency_ms=(time.perf_counter() - started) * 1000,
            rate_limit_reset_at=exhausted_until(headers, time.time()),
        )

    def _block(self, text: str, cached: bool) -> TextBlockParam:
        block = TextBlockParam(type="text", text=text)
        if cached and self._cache_control is not None:
            block["cache_control"] = self._cache_control  # type: ignore[typeddict-item]
        return block

    def _prompt(self, request: CompletionRequest, structured: bool) -> dict[str, Any]:
        """The system prompt, messages and output config of ``request``, as the SDK takes them."""
        system: Any = request.system or anthropic.omit
        if request.system and request.cache and self._cache_control is not None:
            system = [self._block(request.system, cached=True)]
        messages: list[MessageParam] = []
        for index, message in enumerate(request.messages):
            if message.role == "assistant":
                messages.append(AssistantMessageParam(role="assistant", content=message.content))
            elif index == 0 and request.context:
                blocks = [self._block(request.context, cached=request.cache),
                          self._block(message.content, cached=False)]
                messages.append(UserMessageParam(role="user", content=blocks))
            else:
                messages.append(UserMessageParam(role="user", content=message.content))
        output: Any = anthropic.omit
        if structured and request.output_schema is not None:
            schema = anthropic.transform_schema(request.output_schema)
            output = {"format": {"type": "json_schema", "schema": schema}}
        return {"system": system, "messages": messages, "output_config": output}

    def _send(
        self, request: CompletionRequest, structured: bool
    ) -> tuple[anthropic.types.Message, Mapping[str, str]]:
        params = {
            **self._prompt(request, structured),
            "model": self.model,
            "max_tokens": request.max_tokens,
            "stop_sequences": list(request.stop_sequences) or anthropic.omit,
        }
        if request.max_tokens > STREAM_ABOVE_MAX_TOKENS:
            with self._client.messages.stream(**params) as stream:
                return stream.get_final_message(), stream.response.headers
        raw = self._client.messages.with_raw_response.create(**params)
        return raw.parse(), raw.headers
