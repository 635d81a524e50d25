"""The revise step: a new draft that acts on a critique's feedback."""

from ecl_core.errors import FieldError, ValidationError
from ecl_core.llm.base import Provider
from ecl_core.prompts import load_prompt
from ecl_core.steps.base import CallRecorder, StepResult, check_draft_text
from ecl_core.types import Critique, Draft

__all__ = ["revise"]


def revise(
    provider: Provider, draft: Draft, critique: Critique, *, max_tokens: int, attempt: int = 1
) -> StepResult[Draft]:
    """Revise ``draft`` on ``critique``; the result has ``revision = draft.revision + 1``.

    Raises:
        ValidationError: The revision is empty, over 2,000 characters, cut off at
            max_tokens, or identical to the draft it revises.
        LLMError, CircuitOpenError: The call failed.
    """
    recorder = CallRecorder(provider, "revise", attempt)
    request = load_prompt("revise").request(
        max_tokens=max_tokens,
        topic=draft.topic,
        draft=draft.text,
        critique=critique.critique,
        feedback=critique.feedback,
    )
    text = check_draft_text(recorder.complete(request), "revision.text", max_tokens)
    if text == draft.text.strip():
        raise ValidationError(
            "the model's revision is not usable",
            [FieldError("revision.text", f"is identical to revision {draft.revision}")],
        )
    return recorder.result(Draft(topic=draft.topic, text=text, revision=draft.revision + 1))
