"""A document through ECL's loop: write it, critique it against its rubric, revise it.

The loop's rules are ``ecl_core.loop``'s (``next_action`` on a ``LoopState``): a pass
accepts, a ``revise`` verdict asks for another revision while revisions remain, and at the
cap the last revision stands, marked as not passed (the asset check says so as a WARN).
Critiques are read by the critique step's ``parse_critique``; every structured answer
gets the one bounded repair request of ``complete_with_repair``. A document whose
dependencies name what it does not define gets that repair request too; a repaired one that
still does is kept, and its asset check ``references_resolve`` reports each (a WARN).

Every request asks for structured output in the answer's schema (the document's model, or
``Critique``); the parsers below read the text either way, for providers without it.

Prompts (``prompts/migration/``): ``<name>.md`` writes the document as JSON,
``<name>_critique.md`` holds its rubric, ``revise_document.md`` revises any document.
A document call costs ``2k + 2`` calls when the critique passes after ``k`` revisions
(plus one per repair request).
"""

import json
from collections.abc import Mapping, Sequence
from typing import Generic, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict

from ecl_core.errors import FieldError, ValidationError
from ecl_core.llm.base import Provider
from ecl_core.loop import LoopState, next_action
from ecl_core.migration.documents import Document
from ecl_core.migration.grounding import grounded_schema
from ecl_core.prompts import PromptTemplate, load_prompt
from ecl_core.steps.base import CallRecorder, StepResult, complete_with_repair
from ecl_core.steps.critique import CRITIQUE_REPAIR, json_objects, parse_critique
from ecl_core.types import CompletionResponse, Critique, Draft

__all__ = ["PROMPTS_FOLDER", "Refined", "Round", "document_prompt", "parse_document", "refine",
           "schema_text"]

PROMPTS_FOLDER = "migration"
D = TypeVar("D", bound=Document)

_DOCUMENT_REPAIR = (
    "Your reply could not be used: {problems}. Reply again with only the JSON object, "
    "following the schema you were given, complete and shorter if it was cut off."
)


class Round(BaseModel):
    """One turn of the loop: the revision that was critiqued, and its critique."""

    model_config = ConfigDict(frozen=True)

    revision: int
    markdown: str
    critique: Critique


class Refined(Generic[D]):
    """A document after the loop, with every round kept.

    Attributes:
        document: The last revision.
        rounds: Each critiqued revision, in order; the last one's critique decided.
        passed: Whether the last critique passed (False when the cap was reached).
    """

    def __init__(self, document: D, rounds: list[Round]) -> None:
        self.document = document
        self.rounds = rounds
        self.passed = rounds[-1].critique.decision == "pass"

    @property
    def revisions(self) -> int:
        """How many revisions were made (0 when the first draft passed)."""
        return self.rounds[-1].revision

    @property
    def last_critique(self) -> Critique:
        """The critique of the last revision."""
        return self.rounds[-1].critique


def document_prompt(name: str) -> PromptTemplate:
    """The template ``prompts/migration/<name>.md``.

    Raises:
        ConfigError: It is missing or lacks a section.
    """
    return load_prompt(f"{PROMPTS_FOLDER}/{name}")


def schema_text(model: type[Document]) -> str:
    """The document's JSON schema as its prompts show it (the ``${schema}`` variable).

    Citations are free strings here; the schema sent as structured output may list the
    tree's files (``grounded_schema``), which the prompt's facts already name.
    """
    return json.dumps(grounded_schema(model, None), indent=1)


def parse_document(model: type[D], response: CompletionResponse, *, strict: bool = True) -> D:
    """The document in a model's reply: the first JSON object that ``model`` accepts.

    A reply cut off at ``max_tokens`` never reaches here (``complete_with_repair`` raises
    ``OutputCutOff``).

    Args:
        model: The document's model.
        response: The reply.
        strict: Refuse a document with dangling references (``Document.dangling_references``);
            False keeps it, for the asset check to report.

    Raises:
        ValidationError: The reply holds no JSON object, no object fits ``model``, or (strict)
            the document names what it does not define; the details name each problem.
    """
    name = model.__name__
    objects = json_objects(response.text)
    if not objects:
        raise ValidationError(
            f"the model's {name} is not usable", [FieldError(name, "no JSON object in the reply")]
        )
    first_error: pydantic.ValidationError | None = None
    for candidate in objects:
        try:
            document = model.model_validate(candidate)
        except pydantic.ValidationError as err:
            first_error = first_error or err
            continue
        dangling = document.dangling_references() if strict else []
        if dangling:
            raise ValidationError(f"the model's {name} is not usable", [
                FieldError(f"{name}.depends_on", problem) for problem in dangling])
        return document
    assert first_error is not None
    raise ValidationError(f"the model's {name} is not usable", [
        FieldError(".".join([name, *(str(p) for p in e["loc"])]), e["msg"])
        for e in first_error.errors()
    ])


def refine(
    provider: Provider,
    model: type[D],
    prompt: str,
    variables: Mapping[str, str],
    *,
    max_revisions: int,
    max_tokens: int,
    attempt: int = 1,
    tree_paths: Sequence[str] | None = None,
) -> StepResult[Refined[D]]:
    """Write the document ``prompt`` names, then critique and revise it (module docstring).

    Args:
        provider: Answers every call.
        model: The document's model; its JSON schema is given to the model as ``${schema}``.
        prompt: The document's prompt name in ``prompts/migration/``.
        variables: The prompt's variables (facts, earlier documents, the request...).
        max_revisions: The cap, 0 to 3 (``ecl_core.loop.MAX_REVISIONS_CAP``).
        max_tokens: Upper bound on generated tokens per call.
        attempt: The step attempt, for the metadata.
        tree_paths: The files the document may cite; with them, the requests' structured
            output lists them as the only citations (``grounded_schema``).

    Raises:
        ValidationError: A reply stayed unusable after its repair request.
        LLMError, CircuitOpenError: A call failed.
    """
    recorder = CallRecorder(provider, prompt, attempt)
    context = {**variables, "schema": schema_text(model)}
    answer_schema = grounded_schema(model, tree_paths)

    def document_of(response: CompletionResponse) -> D:
        return parse_document(model, response)

    def repaired_document_of(response: CompletionResponse) -> D:
        return parse_document(model, response, strict=False)

    request = document_prompt(prompt).request(max_tokens=max_tokens, **context).model_copy(
        update={"output_schema": answer_schema})
    document = complete_with_repair(
        recorder, request, document_of, what=prompt, repair=_DOCUMENT_REPAIR,
        last_parse=repaired_document_of,
    )
    rounds: list[Round] = []
    while True:
        markdown = document.markdown()
        ask = document_prompt(f"{prompt}_critique").request(
            max_tokens=max_tokens, **context, document=markdown,
            document_json=document.model_dump_json(indent=1),
        ).answered_as(Critique)
        verdict = complete_with_repair(
            recorder, ask, lambda r: parse_critique(r.text), what="critique",
            repair=CRITIQUE_REPAIR,
        )
        revision = len(rounds)
        rounds.append(Round(revision=revision, markdown=markdown, critique=verdict))
        state = LoopState(
            max_revisions=max_revisions,
            draft=Draft(topic=model.TITLE, text=markdown, revision=revision),
            critique=verdict,
        )
        if next_action(state) != "revise":
            return recorder.result(Refined(document, rounds))
        again = document_prompt("revise_document").request(
            max_tokens=max_tokens, **context, document=markdown,
            document_json=document.model_dump_json(indent=1),
            critique=verdict.critique, feedback=verdict.feedback,
        ).model_copy(update={"output_schema": answer_schema})
        document = complete_with_repair(
            recorder, again, document_of, what=prompt, repair=_DOCUMENT_REPAIR,
            last_parse=repaired_document_of,
        )
