"""Any OpenAI-compatible server through the official ``openai`` SDK's chat completions.

vLLM, Ollama, llama.cpp's server and hosted OpenAI-compatible APIs all speak it; retries
are left to ECL. The system prompt is the first message (role ``system``).
``finish_reason`` maps onto the Messages API's ``stop_reason`` so the steps read both
alike: ``stop`` is ``end_turn``, ``length`` is ``max_tokens``; ``content_filter`` is a
refusal, a permanent error.
"""

import json
import time
from collections.abc import Mapping
from typing import Any

import httpx2
import openai
from openai.types.chat import (
    ChatCompletionAssistantMessageParam,
    ChatCompletionMessageParam,
    ChatCompletionSystemMessageParam,
    ChatCompletionUserMessageParam,
)

from ecl_core.errors import PermanentLLMError
from ecl_core.llm.http_status import (
    READ_ERRORS,
    exhausted_until,
    malformed,
    unsendable,
)
from ecl_core.llm.openai_errors import translate_openai_error
from ecl_core.types import CompletionRequest, CompletionResponse, TokenUsage

__all__ = ["OpenAICompatibleProvider"]

_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}


def _messages(request: CompletionRequest) -> list[ChatCompletionMessageParam]:
    messages: list[ChatCompletionMessageParam] = [
        ChatCompletionSystemMessageParam(role="system", content=request.system)
    ]
    for message in request.inlined_messages():
        if message.role == "user":
            messages.append(ChatCompletionUserMessageParam(role="user", content=message.content))
        else:
            messages.append(
                ChatCompletionAssistantMessageParam(role="assistant", content=message.content)
            )
    return messages


class OpenAICompatibleProvider:
    """Calls ``POST <base_url>/chat/completions`` through the openai SDK.

    The client is built with ``max_retries=0``: ECL's resilience layer owns retries.

    Args:
        api_key: The server's key (any non-empty value for a server without auth). Never
            logged, never put in an error.
        model: The model name the server knows.
        timeout_s: Per-request timeout, in seconds.
        base_url: The API root, with its ``/v1`` (``http://localhost:11434/v1``); ``None``
            means OpenAI's own API.
    """

    name = "openai_compatible"

    def __init__(
        self, *, api_key: str, model: str, timeout_s: float, base_url: str | None = None
    ) -> None:
        self.model = model
        self._client = openai.OpenAI(
            api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout_s
        )

    def complete(self, request: CompletionRequest) -> CompletionResponse:
        """Send one chat completions request.

        Returns:
            The text, token usage (``prompt_tokens`` as input tokens, cached prompt tokens
            as cache reads), the stop reason in the Messages API's terms, the model and the
            ``x-request-id`` header as ``request_id``; latency in milliseconds; when an
            ``x-ratelimit-remaining-*: 0`` header says a limit is used up, when it refills
            (``rate_limit_reset_at``, from ``x-ratelimit-reset-*``).

        Raises:
            TransientLLMError: 408, 409, 429, 5xx, timeouts, dropped connections, and a body
                that is not a chat completion (malformed JSON, no choice).
            PermanentLLMError: Any other 4xx, a ``content_filter`` finish, or request text
                that cannot be encoded.
        """
        started = time.perf_counter()
        try:
            raw = self._client.chat.completions.with_raw_response.create(
                model=self.model,
                max_tokens=request.max_tokens,
                messages=_messages(request),
                stop=list(request.stop_sequences) or openai.omit,
            )
            completion = raw.parse()
        except (openai.OpenAIError, httpx2.TransportError) as err:
            raise translate_openai_error(err) from None
        except UnicodeEncodeError as err:
            raise unsendable(err) from None
        except json.JSONDecodeError as err:
            raise malformed("a chat completion", err) from None
        try:
            response = self._response(completion, raw.headers, started)
        except READ_ERRORS as err:
            raise malformed("a chat completion", err) from None
        if response.stop_reason == "content_filter":
            raise PermanentLLMError(
                "the server's content filter refused the request", request_id=response.request_id
            )
        return response

    def _response(
        self, completion: Any, headers: Mapping[str, str], started: float
    ) -> CompletionResponse:
        choice = completion.choices[0]
        usage = completion.usage
        details = getattr(usage, "prompt_tokens_details", None) if usage else None
        cached = (getattr(details, "cached_tokens", None) or 0) if details else 0
        return CompletionResponse(
            text=choice.message.content or "",
            usage=TokenUsage(
                input_tokens=max((usage.prompt_tokens if usage else 0) - cached, 0),
                output_tokens=usage.completion_tokens if usage else 0,
                cache_read_input_tokens=cached,
            ),
            stop_reason=_STOP_REASONS.get(choice.finish_reason, choice.finish_reason),
            model=completion.model,
            provider=self.name,
            request_id=headers.get("x-request-id"),
            latency_ms=(time.perf_counter() - started) * 1000,
            rate_limit_reset_at=exhausted_until(headers, time.time()),
        )
