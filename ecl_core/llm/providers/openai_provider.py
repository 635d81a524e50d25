"""Any OpenAI-compatible server through the official ``openai`` SDK's chat completions.

vLLM, Ollama, llama.cpp's server and hosted OpenAI-compatible APIs all speak it; retries
are left to ECL. The system prompt is the first message (role ``system``).
``finish_reason`` maps onto the Messages API's ``stop_reason`` so the steps read both
alike: ``stop`` is ``end_turn``, ``length`` is ``max_tokens``; ``content_filter`` is a
refusal, a permanent error.

Structured outputs: a request with an ``output_schema`` climbs down a ladder, learned once
per process for each (API root, model) and logged once as a warning when a rung is refused:

1. ``response_format`` ``{"type": "json_schema", "json_schema": {..., "strict": true}}``
   (OpenAI, vLLM, Ollama, llama.cpp's ``llama-server``), the schema made strict: every
   property required, no other property;
2. ``{"type": "json_object", "schema": ...}`` (``llama-cpp-python``'s server, which refuses
   the first form with a 500 naming ``response_format``), each ``maxLength`` at most
   ``JSON_OBJECT_MAX_LENGTH``: that server's grammar converter nests one rule per character
   of a string's ``maxLength``, and its grammar parser fails, taking the server down, above
   about 1,000 (measured with llama-cpp-python 0.3.36);
3. no schema: the step's own parse-and-repair reads the text.

A refusal is a 400 or 422 whose body names the parameter or a schema, or a 500 whose body
names ``response_format``: it is answered by
the next rung within the same call, so it is never retried as a transient error and never
counts against the circuit breaker.

Context windows: ``model_limits`` and ``count_input_tokens`` ask the server
(``ecl_core.llm.providers.openai_server``); a 400 that states the model's maximum context
length is a ``ContextWindowExceeded`` carrying that window, which ``ecl_core.llm.windows`` learns.
"""

import copy
import json
import re
import threading
import time
from collections.abc import Mapping
from typing import Any, Literal

import httpx2
import openai
from openai.types.chat import (
    ChatCompletionAssistantMessageParam,
    ChatCompletionMessageParam,
    ChatCompletionSystemMessageParam,
    ChatCompletionUserMessageParam,
)

from ecl_core.errors import ContextWindowExceeded, PermanentLLMError
from ecl_core.json_schema import object_nodes
from ecl_core.llm.providers.http_status import (
    READ_ERRORS,
    exhausted_until,
    malformed,
    unsendable,
)
from ecl_core.llm.providers.openai_errors import translate_openai_error
from ecl_core.llm.providers.openai_server import ServerProbe
from ecl_core.llm.windows import ModelLimits
from ecl_core.logging import get_logger, warn_once
from ecl_core.types import CompletionRequest, CompletionResponse, TokenUsage

__all__ = ["JSON_OBJECT_MAX_LENGTH", "OpenAICompatibleProvider", "strict_schema"]

_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}
Rung = Literal["json_schema", "json_object", "none"]
_LADDER: tuple[Rung, ...] = ("json_schema", "json_object", "none")
_rungs: dict[tuple[str, str], Rung] = {}  # (API root, model) -> the rung it accepts
_rungs_lock = threading.Lock()
JSON_OBJECT_MAX_LENGTH = 800
"""Largest ``maxLength`` sent on the ``json_object`` rung (module docstring), in characters."""
_FORMAT_WORDS = ("response_format", "json_schema", "json_object", "schema", "structured")
_CONTEXT_LENGTH = re.compile(r"maximum context length is (\d+) tokens", re.IGNORECASE)
_log = get_logger("ecl.llm")


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` as strict structured outputs take it: every object's properties required.

    Objects already forbid other properties (ECL's models are ``extra="forbid"``); a
    property with a default becomes required, so the model always writes it.
    """
    strict = copy.deepcopy(schema)
    for node in object_nodes(strict):
        if node.get("type") == "object" and isinstance(node.get("properties"), dict):
            node["required"] = list(node["properties"])
            node.setdefault("additionalProperties", False)
    return strict


def _capped(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with every ``maxLength`` at most ``JSON_OBJECT_MAX_LENGTH``."""
    capped = copy.deepcopy(schema)
    for node in object_nodes(capped):
        if isinstance(node.get("maxLength"), int):
            node["maxLength"] = min(node["maxLength"], JSON_OBJECT_MAX_LENGTH)
    return capped


def _response_format(rung: Rung, schema: dict[str, Any]) -> Any:
    if rung == "json_schema":
        return {"type": "json_schema", "json_schema": {
            "name": str(schema.get("title") or "answer")[:64], "schema": strict_schema(schema),
            "strict": True}}
    if rung == "json_object":
        return {"type": "json_object", "schema": _capped(schema)}
    return openai.omit


def _refuses_format(err: openai.APIStatusError) -> bool:
    """Whether an error refuses the ``response_format`` rather than the request's content.

    A 400 or 422 whose body names the parameter or a schema, or a 500 whose body names
    ``response_format``; any other error is the request's own, and keeps its class.
    """
    text = f"{err.body} {err.message}".lower()
    if err.status_code in (400, 422):
        return any(word in text for word in _FORMAT_WORDS)
    return err.status_code == 500 and "response_format" in text


def _window_refusal(err: openai.APIStatusError) -> ContextWindowExceeded | None:
    """A 400 that states the model's context window, as ``ContextWindowExceeded``."""
    if err.status_code != 400:
        return None
    found = _CONTEXT_LENGTH.search(f"{err.body} {err.message}")
    if found is None:
        return None
    return ContextWindowExceeded(
        f"the server refused the request: it exceeds the model's context window of "
        f"{int(found.group(1)):,} tokens", window_tokens=int(found.group(1)),
        status_code=400, request_id=err.request_id,
    )


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
        temperature: Sampling temperature sent with every request (0 to 2); ``None`` leaves
            the server's default.
    """

    name = "openai_compatible"

    def __init__(
        self, *, api_key: str, model: str, timeout_s: float, base_url: str | None = None,
        temperature: float | None = None,
    ) -> None:
        self.model = model
        self._temperature = openai.omit if temperature is None else temperature
        self._client = openai.OpenAI(
            api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout_s
        )
        self._server = (str(self._client.base_url), model)
        self._probe = ServerProbe(base_url=str(self._client.base_url), api_key=api_key,
                                  model=model)

    def model_limits(self) -> ModelLimits | None:
        """The context window the server reports (``providers.openai_server``), or None."""
        return self._probe.limits()

    def count_input_tokens(self, request: CompletionRequest) -> int | None:
        """The prompt tokens of ``request`` by the server's tokenizer, or None if it has none."""
        return self._probe.count(request)

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
            ContextWindowExceeded: A 400 stating the model's context window.
            PermanentLLMError: Any other 4xx, a ``content_filter`` finish, or request text
                that cannot be encoded.
        """
        started = time.perf_counter()
        try:
            raw = self._send_structured(request)
            completion = raw.parse()
        except (openai.OpenAIError, httpx2.TransportError) as err:
            if isinstance(err, openai.APIStatusError):
                window = _window_refusal(err)
                if window is not None:
                    raise window from None
            raise translate_openai_error(err) from None
        except UnicodeEncodeError as err:
            raise unsendable(err) from None
        except json.JSONDecodeError as err:
            raise malformed("a chat completion", err) from None
        try:
            response = self._response(completion, raw.headers, started, request.max_tokens)
        except READ_ERRORS as err:
            raise malformed("a chat completion", err) from None
        if response.stop_reason == "content_filter":
            raise PermanentLLMError(
                "the server's content filter refused the request", request_id=response.request_id
            )
        return response

    def _rung(self, request: CompletionRequest) -> Rung:
        if request.output_schema is None:
            return "none"
        with _rungs_lock:
            return _rungs.get(self._server, _LADDER[0])

    def _send_structured(self, request: CompletionRequest) -> Any:
        """Send ``request`` on the highest rung the server accepts (module docstring)."""
        rung = self._rung(request)
        while True:
            try:
                return self._send(request, rung)
            except openai.APIStatusError as err:
                if rung == "none" or not _refuses_format(err) or _window_refusal(err):
                    raise
                rung = self._step_down(rung, err)

    def _step_down(self, refused: Rung, err: openai.APIStatusError) -> Rung:
        lower = _LADDER[_LADDER.index(refused) + 1]
        with _rungs_lock:
            _rungs[self._server] = lower
        warn_once(
            _log, "llm.structured_outputs_refused", (*self._server, refused),
            provider=self.name, model=self.model, status_code=err.status_code,
            request_id=err.request_id, refused=refused, now=lower,
            detail=f"the server refused response_format {refused}; this process sends "
            + ("no schema and parses and repairs answers from text" if lower == "none"
               else f"{lower} from now on"),
        )
        return lower

    def _send(self, request: CompletionRequest, rung: Rung) -> Any:
        schema = request.output_schema
        return self._client.chat.completions.with_raw_response.create(
            model=self.model,
            max_tokens=request.max_tokens,
            messages=_messages(request),
            stop=list(request.stop_sequences) or openai.omit,
            response_format=_response_format(rung, schema) if schema else openai.omit,
            temperature=self._temperature,
        )

    def _response(
        self, completion: Any, headers: Mapping[str, str], started: float, max_tokens: int
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
            max_tokens=max_tokens,
            model=completion.model,
            provider=self.name,
            request_id=headers.get("x-request-id"),
            latency_ms=(time.perf_counter() - started) * 1000,
            rate_limit_reset_at=exhausted_until(headers, time.time()),
        )
