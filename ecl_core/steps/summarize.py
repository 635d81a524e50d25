"""The summarize_document steps: split a document, summarize each section, combine.

The calls (``summarize_section``, ``combine_summaries``) and their step types.
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ecl_core.documents import (
    MAX_DOCUMENT_BYTES,
    MAX_SECTION_CHARS,
    MAX_SECTIONS,
    SplitDocument,
    split_sections,
)
from ecl_core.llm.base import Provider
from ecl_core.prompts import load_prompt
from ecl_core.steps.base import CallRecorder, StepResult, check_draft_text
from ecl_core.types import Draft
from ecl_core.workflow.step import LLM_RETRY_POLICY, LLMStepSettings, NoSettings, Step, StepContext

__all__ = [
    "CombineSummariesStep",
    "SectionSummary",
    "SplitSectionsStep",
    "SummarizeDocumentInput",
    "SummarizeSectionStep",
    "combine_summaries",
    "summarize_section",
]


def summarize_section(
    provider: Provider,
    document: str,
    heading: str,
    text: str,
    *,
    max_tokens: int,
    attempt: int = 1,
) -> StepResult[str]:
    """Summarize one section with the ``summarize_section`` prompt.

    Args:
        provider: Answers the call.
        document: The document's file name, for the prompt.
        heading: The section's heading.
        text: The section's text (at most ``max_section_chars`` characters, see documents.py).
        max_tokens: Upper bound on generated tokens.
        attempt: The step attempt, for the metadata.

    Raises:
        ValidationError: The summary is empty, over 2,000 characters or cut off at max_tokens.
        LLMError, CircuitOpenError: The call failed.
    """
    recorder = CallRecorder(provider, "summarize_section", attempt)
    request = load_prompt("summarize_section").request(
        max_tokens=max_tokens, document=document, heading=heading, section=text
    )
    summary = check_draft_text(recorder.complete(request), "summary", max_tokens)
    return recorder.result(summary)


def combine_summaries(
    provider: Provider,
    title: str,
    summaries: Sequence[tuple[str, str]],
    *,
    max_tokens: int,
    attempt: int = 1,
) -> StepResult[Draft]:
    """Join section summaries into revision 0 of a summary draft (``combine_summaries`` prompt).

    Args:
        provider: Answers the call.
        title: The document's title; the draft's topic is ``Summary of <title>``.
        summaries: (heading, summary) pairs in document order.
        max_tokens: Upper bound on generated tokens.
        attempt: The step attempt, for the metadata.

    Raises:
        ValidationError: The summary is empty, over 2,000 characters or cut off at max_tokens.
        LLMError, CircuitOpenError: The call failed.
    """
    recorder = CallRecorder(provider, "combine_summaries", attempt)
    listed = "\n\n".join(f"## {heading}\n{summary}" for heading, summary in summaries)
    request = load_prompt("combine_summaries").request(
        max_tokens=max_tokens, title=title, summaries=listed
    )
    text = check_draft_text(recorder.complete(request), "draft.text", max_tokens)
    return recorder.result(Draft(topic=f"Summary of {title}", text=text, revision=0))


class SummarizeDocumentInput(BaseModel):
    """Input of the summarize_document workflow (its launchpad form)."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(
        description=f"A .txt or .md file of at most 1 MB ({MAX_DOCUMENT_BYTES:,} bytes); "
        "relative paths start at the run's working directory (through the HTTP API: at its "
        "documents folder, which the file must be in).",
        json_schema_extra={"format": "path"},
        min_length=1, max_length=4096,
    )

    @field_validator("path")
    @classmethod
    def _no_control_characters(cls, value: str) -> str:
        """A path with a NUL or another control character names no file: refused here."""
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValueError("has a control character (such as NUL); a path names a file")
        return value


class SectionInput(BaseModel):
    """One section, with the name of its document."""

    model_config = ConfigDict(extra="ignore")
    document: str
    index: int
    heading: str
    text: str


class SectionSummary(BaseModel):
    """The summary of one section."""

    model_config = ConfigDict(frozen=True)
    index: int = Field(ge=1, description="The section's position, 1 for the first.")
    heading: str
    summary: str


class SummariesInput(BaseModel):
    """The section summaries of a document, in order, with its title."""

    model_config = ConfigDict(extra="ignore")
    title: str
    summaries: list[SectionSummary]



class SplitSectionsStep(Step[SummarizeDocumentInput, SplitDocument]):
    """Read the document and cut it into sections (no LLM call).

    Config: ``max_section_chars`` (default 8,000) and ``max_sections`` (default 50).
    """

    type_name = "split_sections"
    name = "Split a document into sections"
    input_model = SummarizeDocumentInput
    output_model = SplitDocument
    uses_llm = False
    config_model = NoSettings

    def execute(self, context: StepContext, step_input: SummarizeDocumentInput) -> SplitDocument:
        """Read ``step_input.path`` (ValidationError on field ``path`` if unusable) and split it."""
        return split_sections(
            Path(step_input.path),
            max_section_chars=int(context.config.get("max_section_chars", MAX_SECTION_CHARS)),
            max_sections=int(context.config.get("max_sections", MAX_SECTIONS)),
        )

    def describe(self, output: SplitDocument) -> dict[str, Any]:
        """The title and the section headings."""
        headings = "\n".join(f"{s.index}. {s.heading}" for s in output.sections)
        return {"title": output.title, "sections": len(output.sections), "headings": headings}


class SummarizeSectionStep(Step[SectionInput, SectionSummary]):
    """Summarize one section; a workflow runs it once per section (``for_each``)."""

    type_name = "summarize_section"
    name = "Summarize a section"
    input_model = SectionInput
    output_model = SectionSummary
    retry_policy = LLM_RETRY_POLICY
    config_model = LLMStepSettings

    def execute(self, context: StepContext, step_input: SectionInput) -> SectionSummary:
        """Call the provider with the ``summarize_section`` prompt."""
        summary = context.record(summarize_section(
            context.provider, step_input.document, step_input.heading, step_input.text,
            max_tokens=context.max_tokens, attempt=context.attempt,
        ))
        return SectionSummary(index=step_input.index, heading=step_input.heading, summary=summary)

    def describe(self, output: SectionSummary) -> dict[str, Any]:
        """The section and its summary."""
        return {"section": f"{output.index}. {output.heading}", "summary": output.summary}


class CombineSummariesStep(Step[SummariesInput, Draft]):
    """Join the section summaries into one summary: revision 0 of a draft to critique."""

    type_name = "combine_summaries"
    name = "Combine section summaries"
    input_model = SummariesInput
    output_model = Draft
    retry_policy = LLM_RETRY_POLICY
    config_model = LLMStepSettings

    def execute(self, context: StepContext, step_input: SummariesInput) -> Draft:
        """Call the provider with the ``combine_summaries`` prompt."""
        ordered = sorted(step_input.summaries, key=lambda s: s.index)
        return context.record(combine_summaries(
            context.provider, step_input.title, [(s.heading, s.summary) for s in ordered],
            max_tokens=context.max_tokens, attempt=context.attempt,
        ))
