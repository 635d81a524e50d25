"""LLM calls from a step of your own: a prompt template in, text or a typed answer out.

The two helpers every custom LLM step needs. Each renders a ``PromptTemplate`` with the
step's variables, sends it through ``StepContext.provider`` (so the call is paced, retried,
guarded by the circuit breaker, journaled and accounted for like every built-in step's), and
records the call in the step's metadata (``StepContext.record``), which is what the Dagster
UI shows for the step::

    class TranslateStep(Step[SourceText, Translation]):
        ...
        def execute(self, context: StepContext, step_input: SourceText) -> Translation:
            prompt = load_prompt("translate", PROMPTS)
            return complete_structured(context, prompt, Translation,
                                       text=step_input.text, language=step_input.language)
"""

from typing import TypeVar

import pydantic
from pydantic import BaseModel

from ecl_core.errors import FieldError, ValidationError
from ecl_core.prompts import PromptTemplate
from ecl_core.steps.base import CallRecorder, complete_with_repair
from ecl_core.steps.critique import json_objects
from ecl_core.types import CompletionResponse
from ecl_core.workflow.step import StepContext

__all__ = ["STRUCTURED_REPAIR", "complete_structured", "complete_text", "parse_structured"]

M = TypeVar("M", bound=BaseModel)

STRUCTURED_REPAIR = (
    "Your reply could not be used: {problems}. Reply again with only a JSON object that "
    "follows the schema you were given."
)
"""The one repair request after an unusable structured answer; ``{problems}`` says why."""


def complete_text(
    context: StepContext, prompt: PromptTemplate, *, max_tokens: int | None = None,
    **variables: str,
) -> str:
    """One call with ``prompt`` rendered from ``variables``; the reply's text, stripped.

    Args:
        context: The step's context: its provider answers, its metadata records the call.
        prompt: The template (``load_prompt(name, directory)``); its name is the call's step
            name in the journal, the ledger and the offline provider.
        max_tokens: The bound on generated tokens; default the step's ``config.max_tokens``,
            else 1,024.
        variables: The template's ``${name}`` variables (strings).

    Raises:
        ConfigError: The template uses a variable that was not given.
        OutputCutOff: The reply stopped at ``max_tokens`` (stop_reason ``max_tokens``).
        ValidationError: The reply is empty.
        LLMError, CircuitOpenError: The call failed.
    """
    recorder = CallRecorder(context.provider, prompt.name, context.attempt)
    request = prompt.request(max_tokens=max_tokens or context.max_tokens, **variables)

    def text_of(reply: CompletionResponse) -> str:
        if not reply.text.strip():
            raise ValidationError(f"the model's {prompt.name} is not usable",
                                  [FieldError(prompt.name, "the reply is empty")])
        return reply.text.strip()

    text = complete_with_repair(recorder, request, text_of, what=prompt.name,
                                repair="Your reply could not be used: {problems}. Answer again.")
    return context.record(recorder.result(text))


def parse_structured(text: str, model: type[M], what: str) -> M:
    """The first JSON object in ``text`` that ``model`` accepts.

    Accepts a bare object, one in a Markdown code fence, or one inside prose (as
    ``ecl_core.steps.critique.json_objects`` finds them).

    Raises:
        ValidationError: No JSON object, or none that fits; the details name each field of
            the last object tried (``<what>.<field>``).
    """
    objects = json_objects(text)
    if not objects:
        raise ValidationError(f"the model's {what} is not usable",
                              [FieldError(what, "no JSON object found in the reply")])
    last: pydantic.ValidationError | None = None
    for found in objects:
        try:
            return model.model_validate(found)
        except pydantic.ValidationError as err:
            last = err
    assert last is not None
    raise ValidationError(f"the model's {what} is not usable", [
        FieldError(".".join([what, *(str(p) for p in e["loc"])]), e["msg"])
        for e in last.errors()
    ])


def complete_structured(
    context: StepContext, prompt: PromptTemplate, output_model: type[M], *,
    max_tokens: int | None = None, **variables: str,
) -> M:
    """One call asking for an answer in ``output_model``'s JSON schema (structured outputs).

    A provider with structured outputs constrains the answer to the schema; one without
    answers in text, read by ``parse_structured``. An unusable answer gets one repair request
    quoting the problems (``STRUCTURED_REPAIR``); a second fails the step.

    Args:
        context: The step's context: its provider answers, its metadata records the calls.
        prompt: The template; say in it what the JSON object holds.
        output_model: The pydantic model of the answer.
        max_tokens: The bound on generated tokens; default the step's ``config.max_tokens``,
            else 1,024.
        variables: The template's ``${name}`` variables (strings).

    Raises:
        ConfigError: The template uses a variable that was not given.
        OutputCutOff: A reply stopped at ``max_tokens``.
        ValidationError: Both replies were unusable; the details name the fields.
        LLMError, CircuitOpenError: A call failed.
    """
    recorder = CallRecorder(context.provider, prompt.name, context.attempt)
    request = prompt.request(
        max_tokens=max_tokens or context.max_tokens, **variables
    ).answered_as(output_model)
    answer = complete_with_repair(
        recorder, request, lambda reply: parse_structured(reply.text, output_model, prompt.name),
        what=prompt.name, repair=STRUCTURED_REPAIR,
    )
    return context.record(recorder.result(answer))
