"""The ``human_review`` step: a person judges a draft, or approves the work between steps.

Usable as a revision loop's validator (a person critiques the draft instead of the model:
approve, revise with feedback, or reject) or as a gate (approve or reject). The first time a
run lineage reaches it, it records a pending review and raises ``ReviewPending``; once
answered, the same step returns the answer as a ``Critique`` (``Review.verdict``).
"""

import json
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ecl_core.errors import ConfigError
from ecl_core.review.model import AtDeadline
from ecl_core.types import Critique, Draft
from ecl_core.workflow.step import Step, StepContext, validated

__all__ = ["MAX_DEADLINE_S", "HumanReviewStep", "ReviewInput", "ReviewSettings"]

MAX_DEADLINE_S = 365 * 24 * 3600.0


class ReviewSettings(BaseModel):
    """A ``human_review`` step's ``config`` in a workflow file."""

    model_config = ConfigDict(extra="forbid")

    deadline_s: float | None = Field(
        None, gt=0, le=MAX_DEADLINE_S,
        description="Seconds a review may wait for an answer (up to a year); none: forever.",
    )
    at_deadline: AtDeadline | None = Field(
        None, description="What happens at the deadline: approve, reject, or fail (the "
        "default with a deadline).",
    )

    @model_validator(mode="after")
    def _policy_needs_deadline(self) -> Self:
        if self.at_deadline is not None and self.deadline_s is None:
            raise ValueError("at_deadline needs deadline_s")
        if self.deadline_s is not None and self.at_deadline is None:
            self.at_deadline = "fail"
        return self


class ReviewInput(BaseModel):
    """What is to be reviewed: a loop's ``draft``, or a gate's upstream output (any fields)."""

    model_config = ConfigDict(extra="allow")
    draft: Draft | None = None


def subject(step_input: ReviewInput) -> str:
    """What a person reads to decide, as markdown: the draft, else the upstream output."""
    draft = step_input.draft
    if draft is None and {"topic", "text", "revision"} <= set(step_input.model_extra or {}):
        draft = Draft.model_validate(
            {k: (step_input.model_extra or {})[k] for k in ("topic", "text", "revision")}
        )
    if draft is not None:
        return f"**{draft.topic}** (revision {draft.revision})\n\n{draft.text}"
    document = json.dumps(step_input.model_extra or {}, indent=2, ensure_ascii=False)
    return f"```json\n{document}\n```"


class HumanReviewStep(Step[ReviewInput, Critique]):
    """A person's review: approve, revise with feedback (a loop's validator), or reject."""

    type_name = "human_review"
    name = "Human review"
    input_model = ReviewInput
    output_model = Critique
    uses_llm = False
    awaits_answer = True
    config_model = ReviewSettings

    def execute(self, context: StepContext, step_input: ReviewInput) -> Critique:
        """Ask once per lineage; return the answer as a Critique.

        Raises:
            ReviewPending: No answer yet (the engine ends the run awaiting review).
            ReviewRejected: The answer was reject.
            ReviewTimedOut: The deadline passed with policy fail.
            ConfigError: The engine gave the step no ``reviews``.
            ValidationError: Its ``config`` does not fit ``ReviewSettings`` (checked on load
                too; the engine's own entries, such as ``max_tokens``, are not its).
        """
        if context.reviews is None:
            raise ConfigError("step type 'human_review' needs StepContext.reviews "
                              "(ECL's review book); this engine gave none")
        own = {k: v for k, v in context.config.items() if k in ReviewSettings.model_fields}
        settings = validated(ReviewSettings, own, "config", "invalid review settings")
        review = context.reviews.ask(
            context.step_id, subject(step_input), settings.deadline_s, settings.at_deadline
        )
        return review.verdict()
