"""The critique-revise steps as ``Step`` types, and the registry that holds them."""

from pydantic import BaseModel, ConfigDict, Field

from ecl_core.loop import MAX_REVISIONS_CAP, accept
from ecl_core.steps import critique, generate, revise
from ecl_core.types import Critique, Draft
from ecl_core.workflow.step import Step, StepContext, StepRegistry

__all__ = [
    "CritiqueReviseInput",
    "CritiqueStep",
    "FinalDraftStep",
    "GenerateStep",
    "ReviseStep",
    "default_registry",
]

DEFAULT_MAX_TOKENS = 1024


class CritiqueReviseInput(BaseModel):
    """Input of the critique-revise workflow."""

    model_config = ConfigDict(extra="forbid")

    topic: str = Field(min_length=1, max_length=2000, description="What to write about.")
    max_revisions: int = Field(MAX_REVISIONS_CAP, ge=0, le=MAX_REVISIONS_CAP)


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


def _max_tokens(context: StepContext) -> int:
    return int(context.config.get("max_tokens", DEFAULT_MAX_TOKENS))


class GenerateStep(Step[TopicInput, Draft]):
    """Write revision 0 of a draft on the topic."""

    type_name = "generate"
    name = "Generate a draft"
    input_model = TopicInput
    output_model = Draft

    def execute(self, context: StepContext, step_input: TopicInput) -> Draft:
        """Call the provider with the ``generate`` prompt."""
        result = generate(
            context.provider, step_input.topic, max_tokens=_max_tokens(context),
            attempt=context.attempt,
        )
        return result.output


class CritiqueStep(Step[DraftInput, Critique]):
    """Judge a draft: pass, or revise with feedback. The validator of a revision loop."""

    type_name = "critique"
    name = "Critique a draft"
    input_model = DraftInput
    output_model = Critique

    def execute(self, context: StepContext, step_input: DraftInput) -> Critique:
        """Call the provider with the ``critique`` prompt (one repair request if unreadable)."""
        result = critique(
            context.provider, step_input.draft, max_tokens=_max_tokens(context),
            attempt=context.attempt,
        )
        return result.output


class ReviseStep(Step[RevisionInput, Draft]):
    """Revise a draft on its critique. The reviser of a revision loop."""

    type_name = "revise"
    name = "Revise a draft"
    input_model = RevisionInput
    output_model = Draft
    revision_limit = MAX_REVISIONS_CAP

    def execute(self, context: StepContext, step_input: RevisionInput) -> Draft:
        """Call the provider with the ``revise`` prompt."""
        result = revise(
            context.provider, step_input.draft, step_input.critique,
            max_tokens=_max_tokens(context), attempt=context.attempt,
        )
        return result.output


class FinalDraftStep(Step[RevisionInput, Draft]):
    """The accepted draft of a finished loop; ``MaxRevisionsExceeded`` if it never passed."""

    type_name = "final_draft"
    name = "Final draft"
    input_model = RevisionInput
    output_model = Draft

    def execute(self, context: StepContext, step_input: RevisionInput) -> Draft:
        """Accept the draft if its last critique passed."""
        return accept(step_input.draft, step_input.critique)


def default_registry() -> StepRegistry:
    """A registry with ECL's built-in step types."""
    return StepRegistry([GenerateStep, CritiqueStep, ReviseStep, FinalDraftStep])
