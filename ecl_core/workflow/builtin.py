"""The critique-revise steps as ``Step`` types, and the registry of every built-in step."""

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ecl_core.loop import MAX_REVISIONS_CAP, accept, check_brief
from ecl_core.steps import critique, generate, revise
from ecl_core.types import Critique, Draft
from ecl_core.workflow.review import HumanReviewStep
from ecl_core.workflow.step import LLM_RETRY_POLICY, Step, StepContext, StepRegistry
from ecl_core.workflow.summarize import (
    CombineSummariesStep,
    SplitSectionsStep,
    SummarizeSectionStep,
)

__all__ = [
    "CritiqueReviseInput",
    "CritiqueStep",
    "FinalDraftStep",
    "GenerateStep",
    "ReviseStep",
    "default_registry",
]


class CritiqueReviseInput(BaseModel):
    """Input of the critique-revise workflow (the launchpad form of ``critique_revise``).

    Raises:
        ValidationError: From ``check_brief``: a blank topic, one over 2,000 characters,
            or ``max_revisions`` outside 0 to 3; each detail names the field and the limit.
    """

    model_config = ConfigDict(extra="forbid")

    topic: str = Field(description="What to write about: 1 to 2,000 characters, not blank.")
    max_revisions: int = Field(
        MAX_REVISIONS_CAP,
        description="Revisions allowed before the run fails with MaxRevisionsExceeded: 0 to 3.",
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        self.topic = check_brief(self.topic, self.max_revisions)
        return self


class TopicInput(BaseModel):
    """A topic to write about."""

    model_config = ConfigDict(extra="ignore")
    topic: str


class DraftInput(BaseModel):
    """A draft to judge."""

    model_config = ConfigDict(extra="ignore")
    draft: Draft


class RevisionInput(BaseModel):
    """A draft with the critique to act on."""

    model_config = ConfigDict(extra="ignore")
    draft: Draft
    critique: Critique



class GenerateStep(Step[TopicInput, Draft]):
    """Write revision 0 of a draft on the topic."""

    type_name = "generate"
    name = "Generate a draft"
    input_model = TopicInput
    output_model = Draft
    retry_policy = LLM_RETRY_POLICY

    def execute(self, context: StepContext, step_input: TopicInput) -> Draft:
        """Call the provider with the ``generate`` prompt."""
        return context.record(generate(
            context.provider, step_input.topic, max_tokens=context.max_tokens,
            attempt=context.attempt,
        ))


class CritiqueStep(Step[DraftInput, Critique]):
    """Judge a draft: pass, or revise with feedback. The validator of a revision loop."""

    type_name = "critique"
    name = "Critique a draft"
    input_model = DraftInput
    output_model = Critique
    retry_policy = LLM_RETRY_POLICY

    def execute(self, context: StepContext, step_input: DraftInput) -> Critique:
        """Call the provider with the ``critique`` prompt (one repair request if unreadable)."""
        return context.record(critique(
            context.provider, step_input.draft, max_tokens=context.max_tokens,
            attempt=context.attempt,
        ))


class ReviseStep(Step[RevisionInput, Draft]):
    """Revise a draft on its critique. The reviser of a revision loop."""

    type_name = "revise"
    name = "Revise a draft"
    input_model = RevisionInput
    output_model = Draft
    retry_policy = LLM_RETRY_POLICY
    revision_limit = MAX_REVISIONS_CAP

    def execute(self, context: StepContext, step_input: RevisionInput) -> Draft:
        """Call the provider with the ``revise`` prompt."""
        return context.record(revise(
            context.provider, step_input.draft, step_input.critique,
            max_tokens=context.max_tokens, attempt=context.attempt,
        ))


class FinalDraftStep(Step[RevisionInput, Draft]):
    """The accepted draft of a finished loop; ``MaxRevisionsExceeded`` if it never passed."""

    type_name = "final_draft"
    name = "Final draft"
    input_model = RevisionInput
    output_model = Draft
    uses_llm = False

    def execute(self, context: StepContext, step_input: RevisionInput) -> Draft:
        """Accept the draft if its last critique passed."""
        return accept(step_input.draft, step_input.critique)


def default_registry() -> StepRegistry:
    """A registry with ECL's built-in step types.

    Critique-revise's, summarize_document's, and ``human_review``.
    """
    return StepRegistry([
        GenerateStep, CritiqueStep, ReviseStep, FinalDraftStep, HumanReviewStep,
        SplitSectionsStep, SummarizeSectionStep, CombineSummariesStep,
    ])
