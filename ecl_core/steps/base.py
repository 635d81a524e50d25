"""What every step shares: recording its LLM calls and checking a draft's text."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Generic, TypeVar

from ecl_core.errors import FieldError, OutputCutOff, ValidationError
from ecl_core.llm.base import Provider
from ecl_core.types import (
    MAX_DRAFT_CHARS,
    CompletionRequest,
    CompletionResponse,
    Message,
    StepMetadata,
    TokenUsage,
)
from ecl_core.usage.prices import total_cost

__all__ = ["CallRecorder", "StepResult", "check_draft_text", "complete_with_repair"]

T = TypeVar("T")


@dataclass(frozen=True)
class StepResult(Generic[T]):
    """A step's output with what it cost."""

    output: T
    metadata: StepMetadata


@dataclass
class CallRecorder:
    """Passes calls to a provider and keeps their responses for the step's metadata."""

    provider: Provider
    step: str
    attempt: int = 1
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    responses: list[CompletionResponse] = field(default_factory=list)

    def complete(self, request: CompletionRequest) -> CompletionResponse:
        """Make one call through the provider and record its response."""
        response = self.provider.complete(request)
        self.responses.append(response)
        return response

    def result(self, output: T) -> StepResult[T]:
        """Wrap ``output`` with the metadata of every recorded call."""
        usage = sum((r.usage for r in self.responses), TokenUsage())
        last = self.responses[-1] if self.responses else None
        return StepResult(
            output=output,
            metadata=StepMetadata(
                step=self.step,
                started_at=self.started_at,
                completed_at=datetime.now(UTC),
                attempt=self.attempt,
                llm_calls=len(self.responses),
                journaled_calls=sum(r.journaled for r in self.responses),
                usage=usage,
                cost_usd=total_cost(r.cost_usd for r in self.responses),
                latency_ms=sum(r.latency_ms for r in self.responses),
                rate_limit_wait_ms=sum(r.rate_limit_wait_ms for r in self.responses),
                provider=last.provider if last else self.provider.name,
                model=last.model if last else self.provider.model,
                stop_reason=last.stop_reason if last else None,
                request_ids=tuple(r.request_id for r in self.responses if r.request_id),
            ),
        )


def check_draft_text(response: CompletionResponse, field_name: str, max_tokens: int) -> str:
    """Return the response's text as a draft, stripped.

    Raises:
        ValidationError: Empty, longer than 2,000 characters, or cut off at ``max_tokens``.
    """
    text = response.text.strip()
    problems = []
    if not text:
        problems.append(FieldError(field_name, "is empty; a draft needs at least 1 character"))
    if len(text) > MAX_DRAFT_CHARS:
        problems.append(
            FieldError(field_name, f"has {len(text):,} characters; limit {MAX_DRAFT_CHARS:,}")
        )
    if response.stop_reason == "max_tokens":
        problems.append(
            FieldError(field_name, f"was cut off at max_tokens={max_tokens} (stop_reason)")
        )
    if problems:
        raise ValidationError(f"the model's {field_name.split('.')[0]} is not usable", problems)
    return text


def complete_with_repair(
    recorder: CallRecorder,
    request: CompletionRequest,
    parse: Callable[[CompletionResponse], T],
    *,
    what: str,
    repair: str,
    last_parse: Callable[[CompletionResponse], T] | None = None,
) -> T:
    """Make ``request`` and parse the reply; if it cannot be used, ask once more.

    The one repair request quotes the problems back to the model in ``repair`` (a format
    string with ``{problems}``), after the unusable reply. This is the bounded repair of
    the critique step, shared by every step whose answer has a structure.

    Args:
        recorder: Makes and records the calls.
        request: The first request.
        parse: Turns a response into the step's value; raises ValidationError if it cannot.
        what: The answer's name in the final error (``critique``, ``codebase_analysis``).
        repair: The repair instruction, with ``{problems}``.
        last_parse: Reads the repaired reply instead of ``parse``, when it may accept more
            (a document whose dangling references are reported rather than refused).

    A reply cut off at ``max_tokens`` is not repaired: the same request would be cut off
    again, so it fails the step as the limit it is.

    Raises:
        OutputCutOff: A reply stopped at ``max_tokens`` (stop_reason ``max_tokens``).
        ValidationError: Both replies were unusable; the details are the second reply's.
        LLMError, CircuitOpenError: A call failed.
    """
    reply = _whole(recorder.complete(request), what)
    try:
        return parse(reply)
    except ValidationError as first:
        problems = "; ".join(str(d) for d in first.details)
        retry = request.model_copy(
            update={
                "messages": (
                    *request.messages,
                    Message(role="assistant", content=reply.text or "(empty reply)"),
                    Message(role="user", content=repair.format(problems=problems)),
                )
            }
        )
        second = _whole(recorder.complete(retry), what)
        try:
            return (last_parse or parse)(second)
        except ValidationError as err:
            raise ValidationError(
                f"the model's {what} is not usable after one repair request", err.details
            ) from None


def _whole(reply: CompletionResponse, what: str) -> CompletionResponse:
    """``reply``, unless it was cut off at ``max_tokens``.

    Raises:
        OutputCutOff: It was; the message names the answer and the ``max_tokens`` sent.
    """
    if reply.stop_reason != "max_tokens":
        return reply
    sent = f"max_tokens={reply.max_tokens:,}" if reply.max_tokens else "max_tokens"
    raise OutputCutOff(
        f"the model's {what} was cut off at {sent} (stop_reason max_tokens) after "
        f"{reply.usage.output_tokens:,} output tokens; raise max_tokens or the model's context "
        "window, or ask for a shorter answer", request_id=reply.request_id,
    )
