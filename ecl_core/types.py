"""Pydantic models shared by every layer: drafts, critiques, LLM requests and responses."""

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "MAX_DRAFT_CHARS",
    "CacheTTL",
    "CompletionRequest",
    "CompletionResponse",
    "Critique",
    "Decision",
    "Draft",
    "Message",
    "StepMetadata",
    "TokenUsage",
]

MAX_DRAFT_CHARS = 2000
"""A draft holds at most this many characters: a short piece a person reads at once."""

Decision = Literal["pass", "revise"]
CacheTTL = Literal["5m", "1h"]
"""A prompt-cache entry's time to live (Anthropic's ``cache_control.ttl``)."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TokenUsage(_Model):
    """Tokens of one call or a sum of calls, as the Messages API reports them in ``usage``."""

    input_tokens: int = Field(0, ge=0, description="Prompt tokens, not counting the cache.")
    output_tokens: int = Field(0, ge=0, description="Generated tokens.")
    cache_creation_input_tokens: int = Field(
        0, ge=0, description="Tokens written to the cache, both TTLs."
    )
    cache_creation_1h_input_tokens: int = Field(
        0, ge=0, description="Of those, the tokens written with the 1-hour TTL "
        "(usage.cache_creation.ephemeral_1h_input_tokens); the rest have the 5-minute TTL."
    )
    cache_read_input_tokens: int = Field(0, ge=0, description="Tokens read from the cache.")

    @model_validator(mode="after")
    def _split_within_total(self) -> Self:
        if self.cache_creation_1h_input_tokens > self.cache_creation_input_tokens:
            raise ValueError("cache_creation_1h_input_tokens exceeds cache_creation_input_tokens")
        return self

    @property
    def cache_creation_5m_input_tokens(self) -> int:
        """Tokens written to the cache with the 5-minute TTL."""
        return self.cache_creation_input_tokens - self.cache_creation_1h_input_tokens

    @property
    def total_tokens(self) -> int:
        """Every token of the call: input, cache writes, cache reads and output."""
        return (self.input_tokens + self.cache_creation_input_tokens
                + self.cache_read_input_tokens + self.output_tokens)

    def __add__(self, other: "TokenUsage") -> "TokenUsage":
        return TokenUsage(**{
            name: getattr(self, name) + getattr(other, name) for name in TokenUsage.model_fields
        })


class Draft(_Model):
    """A piece of writing on a topic; revision 0 is the first draft."""

    topic: str
    text: str
    revision: int = Field(ge=0, description="0 for the generated draft, k after k revisions.")


class Critique(_Model):
    """A critique's verdict, in the JSON shape the critique prompt asks for."""

    decision: Decision = Field(description="'pass' accepts the draft; 'revise' asks for another.")
    critique: str = Field(description="What the reviewer thinks of the draft.")
    feedback: str = Field("", description="What to change; empty when the draft passes.")


class Message(_Model):
    """One turn of a Messages API conversation."""

    role: Literal["user", "assistant"]
    content: str


class CompletionRequest(_Model):
    """One call to a language model, in the Messages API's terms.

    ``step`` and ``variables`` say which ECL step made the request and with what
    template variables: providers log them, and the offline provider works from them.
    """

    system: str = Field(description="The system prompt.")
    context: str = Field(
        "", description="Material every call of this kind re-sends (a document's request, the "
        "codebase facts): sent first in the user turn, before the messages' own text.",
    )
    messages: tuple[Message, ...] = Field(min_length=1)
    max_tokens: int = Field(gt=0, description="Upper bound on generated tokens.")
    min_tokens: int | None = Field(
        None, gt=0, description="Fewest output tokens worth sending the request for, when the "
        "context window leaves less than max_tokens (ecl_core.llm.windows); None for 256.",
    )
    stop_sequences: tuple[str, ...] = ()
    cache: bool = Field(
        False, description="The prefix (system prompt, then context) repeats across calls: a "
        "provider with prompt caching marks it with cache_control.",
    )
    output_schema: dict[str, Any] | None = Field(
        None, description="JSON schema the answer must follow (structured outputs), when the "
        "provider supports it; None for free text.",
    )
    step: str = Field("", description="The ECL step that makes the call: generate, critique, ...")
    variables: dict[str, str] = Field(default_factory=dict)

    def texts(self) -> tuple[str, ...]:
        """Every text sent: the system prompt, the context, then each message's content."""
        return (self.system, self.context, *(m.content for m in self.messages))

    def answered_as(self, model: type[BaseModel]) -> "CompletionRequest":
        """This request, asking for an answer that follows ``model``'s JSON schema."""
        return self.model_copy(update={"output_schema": model.model_json_schema()})

    def inlined_messages(self) -> tuple[Message, ...]:
        """The messages, ``context`` joined to the front of the first user turn.

        For providers that take a turn as one string.
        """
        if not self.context:
            return self.messages
        first, *rest = self.messages
        joined = Message(role=first.role, content=f"{self.context}\n\n{first.content}")
        return (joined, *rest)


class CompletionResponse(_Model):
    """A model's answer to one ``CompletionRequest``."""

    text: str
    usage: TokenUsage = TokenUsage()
    stop_reason: str | None = Field(None, description="end_turn, max_tokens, stop_sequence, ...")
    max_tokens: int | None = Field(
        None, description="The max_tokens sent, after sizing to the context window; None when "
        "the provider does not say (offline, scripted).",
    )
    model: str
    provider: str
    request_id: str | None = None
    latency_ms: float = Field(0.0, ge=0, description="Wall time of the call, in milliseconds.")
    journaled: bool = Field(False, description="Answered from the journal; no call was made.")
    service_tier: str | None = Field(None, description="standard, priority or batch, as the "
                                     "API reported it (usage.service_tier).")
    cost_usd: Decimal | None = Field(
        None, description="What the call cost in USD (0 for a journaled answer); None when "
        "the model has no price in the price table, or the cost was not computed.",
    )
    rate_limit_wait_ms: float = Field(
        0.0, ge=0, description="Time the call waited for rate-limit capacity, in milliseconds."
    )
    rate_limit_reset_at: float | None = Field(
        None, description="Seconds since the epoch until which the API said a rate limit has "
        "nothing left (an anthropic-ratelimit-*-remaining: 0 header and its reset time)."
    )


class StepMetadata(_Model):
    """What one step did: when, how often, and at what cost in tokens."""

    step: str
    started_at: datetime
    completed_at: datetime
    attempt: int = Field(1, ge=1, description="The step attempt (1 on first execution).")
    llm_calls: int = Field(0, ge=0, description="Responses used, journaled ones included.")
    journaled_calls: int = Field(0, ge=0, description="Responses taken from the journal.")
    usage: TokenUsage = TokenUsage()
    cost_usd: Decimal | None = Field(
        None, description="What the calls cost in USD; None when any call's cost is unknown."
    )
    latency_ms: float = Field(0.0, ge=0, description="Time spent in LLM calls, in milliseconds.")
    rate_limit_wait_ms: float = Field(
        0.0, ge=0, description="Time the calls waited for rate-limit capacity, in milliseconds."
    )
    provider: str = ""
    model: str = ""
    stop_reason: str | None = None
    request_ids: tuple[str, ...] = ()
