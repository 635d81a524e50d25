"""The critique step: a verdict on a draft, as JSON, with one repair request if unreadable."""

import json
import re
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict

from ecl_core.errors import FieldError, ValidationError
from ecl_core.llm.base import Provider
from ecl_core.prompts import load_prompt
from ecl_core.steps.base import CallRecorder, StepResult, complete_with_repair
from ecl_core.types import Critique, Draft
from ecl_core.workflow.step import LLM_RETRY_POLICY, LLMStepSettings, Step, StepContext

__all__ = [
    "CRITIQUE_REPAIR", "CritiqueStep", "DraftInput", "critique", "json_objects", "parse_critique",
]

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)
CRITIQUE_REPAIR = (
    "Your reply could not be used: {problems}. Reply again with only a JSON object of the "
    'form {{"decision": "pass" or "revise", "critique": "...", "feedback": "..."}}.'
)
"""The repair request after an unreadable critique; ``{problems}`` says what was wrong."""


def json_objects(text: str) -> list[dict[str, Any]]:
    """Every JSON object in ``text``: the whole text, fenced blocks, then objects inside prose.

    Control characters (a raw newline, a tab) inside a string are read as themselves: a
    grammar-constrained model may write them, and they change nothing of the object's meaning.
    """
    candidates = [text.strip(), *(m.strip() for m in _FENCE.findall(text))]
    found: list[dict[str, Any]] = []
    decoder = json.JSONDecoder(strict=False)
    for candidate in candidates:
        try:
            value = decoder.decode(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            found.append(value)
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


def parse_critique(text: str) -> Critique:
    """Read a critique from a model's reply.

    Accepts a bare JSON object, one inside a Markdown code fence, or one inside prose.
    Every object in the reply that has a ``decision`` (nested ones included) must give
    the same decision, compared case-insensitively; the last of them gives the critique
    and feedback. A reply whose decisions disagree, such as a quoted
    ``{"decision": "pass"}`` before the critic's own ``revise``, is unreadable, never a
    pass: the critique step then sends its one repair request.

    Raises:
        ValidationError: No JSON object, none with a valid ``decision``, or decisions that
            disagree; the details name each field that was wrong (``critique.decision``).
    """
    objects = json_objects(text)
    if not objects:
        raise ValidationError(
            "the model's critique is not usable",
            [FieldError("critique", "no JSON object found in the reply")],
        )
    verdicts = [o for o in objects if "decision" in o]
    given = sorted({str(o["decision"]).strip().lower() for o in verdicts})
    if len(given) > 1:
        raise ValidationError(
            "the model's critique is not usable",
            [FieldError("critique.decision", f"the reply gives {len(given)} different "
                        f"decisions ({', '.join(given)}); give exactly one verdict")],
        )
    chosen = verdicts[-1] if verdicts else objects[0]
    decision = chosen.get("decision")
    data = {
        "decision": decision.strip().lower() if isinstance(decision, str) else decision,
        "critique": chosen.get("critique", ""),
        "feedback": chosen.get("feedback", "") or "",
    }
    try:
        return Critique.model_validate(data)
    except pydantic.ValidationError as err:
        details = [
            FieldError(
                "critique." + ".".join(str(p) for p in e["loc"]),
                "missing; expected 'pass' or 'revise'"
                if e["loc"] == ("decision",) and decision is None
                else e["msg"],
            )
            for e in err.errors()
        ]
        raise ValidationError("the model's critique is not usable", details) from None


def critique(
    provider: Provider, draft: Draft, *, max_tokens: int, attempt: int = 1
) -> StepResult[Critique]:
    """Judge ``draft`` with the ``critique`` prompt.

    The request asks for structured output in the ``Critique`` schema; a provider without
    structured outputs answers in text, read by ``parse_critique``. If the reply cannot be
    read, one repair request quotes the problem back to the model; a second unreadable reply
    fails the step.

    Raises:
        ValidationError: Both replies were unreadable; the details say what was wrong.
        LLMError, CircuitOpenError: A call failed.
    """
    recorder = CallRecorder(provider, "critique", attempt)
    request = load_prompt("critique").request(
        max_tokens=max_tokens, topic=draft.topic, draft=draft.text
    ).answered_as(Critique)
    verdict = complete_with_repair(
        recorder, request, lambda reply: parse_critique(reply.text),
        what="critique", repair=CRITIQUE_REPAIR,
    )
    return recorder.result(verdict)


class DraftInput(BaseModel):
    """A draft to judge."""

    model_config = ConfigDict(extra="ignore")
    draft: Draft


class CritiqueStep(Step[DraftInput, Critique]):
    """Judge a draft: pass, or revise with feedback. The validator of a revision loop."""

    type_name = "critique"
    name = "Critique a draft"
    input_model = DraftInput
    output_model = Critique
    retry_policy = LLM_RETRY_POLICY
    config_model = LLMStepSettings

    def execute(self, context: StepContext, step_input: DraftInput) -> Critique:
        """Call the provider with the ``critique`` prompt (one repair request if unreadable)."""
        return context.record(critique(
            context.provider, step_input.draft, max_tokens=context.max_tokens,
            attempt=context.attempt,
        ))
