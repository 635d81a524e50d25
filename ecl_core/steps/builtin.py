"""The registry of every built-in step, and the input of the ``critique_revise`` workflow.

Each built-in step type lives beside the function it calls: ``generate``, ``critique``,
``revise``, ``summarize`` and ``review`` (``human_review``, no LLM).
"""

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ecl_core.loop import MAX_REVISIONS_CAP, check_brief
from ecl_core.steps.critique import CritiqueStep
from ecl_core.steps.generate import GenerateStep
from ecl_core.steps.review import HumanReviewStep
from ecl_core.steps.revise import FinalDraftStep, ReviseStep
from ecl_core.steps.summarize import (
    CombineSummariesStep,
    SplitSectionsStep,
    SummarizeSectionStep,
)
from ecl_core.workflow.step import StepRegistry

__all__ = ["CritiqueReviseInput", "default_registry"]


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


def default_registry() -> StepRegistry:
    """A registry with ECL's built-in step types.

    Critique-revise's, summarize_document's, and ``human_review``.
    """
    return StepRegistry([
        GenerateStep, CritiqueStep, ReviseStep, FinalDraftStep, HumanReviewStep,
        SplitSectionsStep, SummarizeSectionStep, CombineSummariesStep,
    ])
