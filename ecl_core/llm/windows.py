"""Context windows: how many tokens a model takes, and every request sized to fit before it is sent.

A model's limits come, first one that says, from:

1. the server (``model_limits()`` of the provider: llama.cpp's ``llama-server`` reports
   ``n_ctx`` at ``/props``, vLLM ``max_model_len`` in ``/v1/models``);
2. the resource's settings (``context_window_tokens``, ``max_output_tokens``);
3. ``KNOWN_MODEL_LIMITS``, Anthropic's published limits of its models (models overview,
   "context window" and "max output"; the 1M-token window is a beta ECL does not ask for);
4. a server's refusal that states the window (``llama-cpp-python``'s server says it only in
   the text of its 400: "This model's maximum context length is N tokens"), learned for the
   provider's life (a run's) and the request sent again, sized; ``context_window_tokens``
   says it up front.

``SizedProvider`` counts each request's prompt tokens (the provider's ``count_input_tokens``:
Anthropic's ``count_tokens``, a server's tokenizer endpoint), else bounds them
(``ecl_core.usage.limits.input_bound``, one token per UTF-8 byte), and lowers ``max_tokens``
to what the window leaves; with ``fit_output_schema`` a structured output's schema is then
tightened so that its longest answer fits those tokens (``ecl_core.llm.schema_budget``). A
request that cannot fit with at least its ``min_tokens`` of output is refused before it is
sent (``ContextWindowExceeded``). Counting is skipped when the bound already fits, so a large
window costs no count.
"""

import threading
from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

from ecl_core.errors import ContextWindowExceeded, LLMError
from ecl_core.llm.base import Provider
from ecl_core.llm.schema_budget import fit_schema
from ecl_core.logging import get_logger, warn_once
from ecl_core.types import CompletionRequest, CompletionResponse
from ecl_core.usage.limits import input_bound

__all__ = [
    "DEFAULT_MIN_OUTPUT_TOKENS",
    "KNOWN_MODEL_LIMITS",
    "ModelLimits",
    "SizedProvider",
    "WindowAware",
    "known_limits",
]

_log = get_logger("ecl.llm")

DEFAULT_MIN_OUTPUT_TOKENS = 256
"""Fewest output tokens worth sending a request for, when it does not say (``min_tokens``)."""


@dataclass(frozen=True)
class ModelLimits:
    """What one model takes, in tokens.

    Attributes:
        context_window_tokens: Prompt and output together.
        max_output_tokens: Most output tokens of one answer; None when only the window bounds it.
        source: Where the figures come from, for logs and errors (``llama-server /props``).
    """

    context_window_tokens: int
    max_output_tokens: int | None = None
    source: str = "settings"


KNOWN_MODEL_LIMITS: dict[str, tuple[int, int]] = {
    "claude-opus-4-6": (200_000, 128_000),
    "claude-sonnet-4-6": (200_000, 64_000),
    "claude-opus-4-5": (200_000, 64_000),
    "claude-sonnet-4-5": (200_000, 64_000),
    "claude-haiku-4-5": (200_000, 64_000),
    "claude-opus-4-1": (200_000, 32_000),
    "claude-opus-4": (200_000, 32_000),
    "claude-sonnet-4": (200_000, 64_000),
    "claude-3-5-haiku": (200_000, 8_192),
    "claude-3-haiku": (200_000, 4_096),
}
"""Model name prefix: (context window, max output), in tokens, from Anthropic's models overview.
A dated name (``claude-sonnet-4-5-20250929``) takes its prefix's limits; the longest prefix
wins."""


def known_limits(model: str) -> ModelLimits | None:
    """The limits of a known Claude model (``KNOWN_MODEL_LIMITS``), or None."""
    matches = [name for name in KNOWN_MODEL_LIMITS if model == name or model.startswith(name + "-")]
    if not matches:
        return None
    window, output = KNOWN_MODEL_LIMITS[max(matches, key=len)]
    return ModelLimits(window, output, source="known Claude model")


@runtime_checkable
class WindowAware(Protocol):
    """A provider that can say its model's limits and count a request's prompt tokens."""

    def model_limits(self) -> ModelLimits | None:
        """The limits the server reports, or None when it reports none."""
        ...

    def count_input_tokens(self, request: CompletionRequest) -> int | None:
        """The prompt tokens of ``request`` as the model sees them, or None when unknown."""
        ...


class SizedProvider:
    """Sizes every request to its model's context window, then lets the provider answer it.

    Args:
        inner: The provider; when it is ``WindowAware`` its server is asked first.
        settings: The limits the deployment or run configured, if any.
        fit_output_schema: Tighten each structured output's schema to its ``max_tokens``.
    """

    def __init__(self, inner: Provider, settings: ModelLimits | None = None, *,
                 fit_output_schema: bool = False) -> None:
        self.inner = inner
        self.name = inner.name
        self.model = inner.model
        self._settings = settings
        self._fit_schema = fit_output_schema
        self._aware = inner if isinstance(inner, WindowAware) else None
        self._lock = threading.Lock()
        self._limits: ModelLimits | None = None
        self._resolved = False
        self._learned: ModelLimits | None = None

    def model_limits(self) -> ModelLimits | None:
        """The model's limits (module docstring's order), asked once; None when nothing says."""
        with self._lock:
            if not self._resolved:
                self._limits = self._resolve()
                self._resolved = True
            return self._learned or self._limits

    def prompt_room(self, request: CompletionRequest) -> int | None:
        """Tokens the window leaves for more prompt text once ``request`` is sent whole.

        That is the window less the request's prompt tokens (counted, else bounded) and its
        ``max_tokens``; may be negative. None when no limit is known.
        """
        limits = self.model_limits()
        if limits is None:
            return None
        output = _output_cap(request.max_tokens, limits)
        return limits.context_window_tokens - self._count(request, limits, output)[0] - output

    def complete(self, request: CompletionRequest) -> CompletionResponse:
        """Size ``request`` to the window and send it (module docstring).

        Returns:
            The inner provider's response; its ``max_tokens`` is what was sent.

        Raises:
            ContextWindowExceeded: The prompt leaves less than the request's minimum output in
                the window; nothing was sent.
            Whatever the inner provider raises.
        """
        sized = self.size(request)
        try:
            response = self.inner.complete(sized)
        except ContextWindowExceeded as err:
            if err.window_tokens is None or not self._learn(err.window_tokens):
                raise
            sized = self.size(request)
            response = self.inner.complete(sized)
        return response.model_copy(update={"max_tokens": sized.max_tokens})

    def size(self, request: CompletionRequest) -> CompletionRequest:
        """``request`` sized: ``max_tokens`` within the window, the output schema within those.

        ``max_tokens`` is lowered to what the window leaves; with ``fit_output_schema`` the
        output schema is tightened so that its longest answer fits them (``fit_schema``).

        Raises:
            ContextWindowExceeded: Not even ``min_tokens`` of output fit.
        """
        sized = self._fitted(request)
        if sized.output_schema is None or not self._fit_schema:
            return sized
        schema = fit_schema(sized.output_schema, sized.max_tokens)
        return sized if schema == sized.output_schema else sized.model_copy(
            update={"output_schema": schema})

    def _fitted(self, request: CompletionRequest) -> CompletionRequest:
        limits = self.model_limits()
        if limits is None:
            return request
        output = _output_cap(request.max_tokens, limits)
        prompt, how = self._count(request, limits, output)
        fitted = min(output, limits.context_window_tokens - prompt)
        least = min(request.min_tokens or DEFAULT_MIN_OUTPUT_TOKENS, output)
        if fitted < least:
            raise ContextWindowExceeded(
                f"the request of step {request.step or '(unnamed)'!r} does not fit model "
                f"{self.model!r}'s context window of {limits.context_window_tokens:,} tokens "
                f"({limits.source}): its prompt is {prompt:,} tokens ({how}) and it needs at "
                f"least {least:,} output tokens; shorten the prompt or use a model with a "
                "larger window",
                window_tokens=limits.context_window_tokens,
            )
        if fitted == request.max_tokens:
            return request
        return request.model_copy(update={"max_tokens": fitted})

    def _count(self, request: CompletionRequest, limits: ModelLimits, output: int
               ) -> tuple[int, str]:
        """The prompt tokens of ``request`` and how they were reckoned.

        The byte bound first: when it fits with the whole output, no count is asked for.
        """
        bound = input_bound(request)
        if bound + output <= limits.context_window_tokens or self._aware is None:
            return bound, "at most, from its size"
        try:
            counted = self._aware.count_input_tokens(request)
        except LLMError as err:
            warn_once(_log, "llm.count_tokens_failed", (self.name, self.model),
                      provider=self.name, model=self.model, error=type(err).__name__,
                      detail=err.message, fallback="bound from the request's size")
            counted = None
        if counted is None:
            return bound, "at most, from its size"
        return counted, "counted by the server"

    def _resolve(self) -> ModelLimits | None:
        reported = self._aware.model_limits() if self._aware is not None else None
        chosen = reported or self._settings or known_limits(self.model)
        if chosen is not None and reported is not None and self._settings is not None \
                and self._settings.max_output_tokens and not reported.max_output_tokens:
            chosen = replace(reported, max_output_tokens=self._settings.max_output_tokens)
        if chosen is not None:
            _log.info("llm.context_window", provider=self.name, model=self.model,
                      context_window_tokens=chosen.context_window_tokens,
                      max_output_tokens=chosen.max_output_tokens, source=chosen.source)
        return chosen

    def _learn(self, window: int) -> bool:
        """Take the window a refusal stated; False when it says nothing new."""
        with self._lock:
            known = self._learned or self._limits
            if known is not None and known.context_window_tokens <= window:
                return False
            output = known.max_output_tokens if known is not None else None
            self._learned = ModelLimits(window, output, source="the server's refusal")
        warn_once(_log, "llm.context_window_learned", (self.name, self.model),
                  provider=self.name, model=self.model, context_window_tokens=window,
                  detail="the server refused a request larger than its window; requests are "
                  "sized to it from now on (set context_window_tokens to say it up front)")
        return True


def _output_cap(max_tokens: int, limits: ModelLimits) -> int:
    """``max_tokens`` within the model's output limit."""
    cap = limits.max_output_tokens
    return min(max_tokens, cap) if cap else max_tokens
