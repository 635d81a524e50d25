"""A review: what a person is asked to judge, their answer, and what the answer means.

A review step asks once per run lineage and step (docs/architecture.md: "a review step is a
promise"). A loop's validator may be approved, sent back for revision with feedback, or
rejected; at the loop's last level (``final``: no revision left) and as a gate between two
steps it may be approved or rejected. Approve and revise become a
``Critique`` exactly like a model's, so the reviser cannot tell a person from a model.
"""

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ecl_core.errors import FieldError, ReviewPending, ReviewRejected, ReviewTimedOut
from ecl_core.errors import ValidationError as ECLValidationError
from ecl_core.loop import UNSENDABLE
from ecl_core.types import Critique

__all__ = [
    "ANSWERS",
    "DEADLINE_ANSWERER",
    "MAX_FEEDBACK_CHARS",
    "Answer",
    "AtDeadline",
    "Review",
    "ReviewKind",
    "ReviewState",
    "check_feedback",
    "iso_utc",
]

ReviewKind = Literal["validator", "final", "gate"]
Answer = Literal["approve", "reject", "revise"]
AtDeadline = Literal["approve", "reject", "fail"]
ReviewState = Literal["awaiting", "answered", "resumed"]
ANSWERS: dict[ReviewKind, tuple[Answer, ...]] = {
    "validator": ("approve", "revise", "reject"),
    "final": ("approve", "reject"),
    "gate": ("approve", "reject"),
}
"""The answers each kind of review takes: only a loop's validator with a revision left can
ask for one (a revise at the last level would only end the loop in MaxRevisionsExceeded)."""
MAX_FEEDBACK_CHARS = 10_000
"""Feedback goes to the reviser's prompt beside a draft of at most 2,000 characters."""
_KIND_TEXT = {"validator": "a loop's validator", "final": "the loop's last level, no revision "
              "left", "gate": "a gate"}
DEADLINE_ANSWERER = "deadline"
"""``answered_by`` of an answer given by a review's policy at its deadline."""


def iso_utc(value: datetime | None) -> str:
    """``value`` as ISO 8601 in UTC to the second, or ``-``."""
    return value.astimezone(UTC).isoformat(timespec="seconds") if value else "-"


class Review(BaseModel):
    """One review and, once given, its answer; kept for audit, never deleted.

    Attributes:
        id: 12 hex digits; commands accept a unique prefix.
        lineage: The run lineage (Dagster's root run id) it belongs to.
        step_key: The step that asked (a loop's validator at one level: ``critique_draft_1``).
        run_id: The run that asked; its continuation re-executes it from ``step_key``.
        answer: ``approve``, ``reject``, ``revise``, or ``expired`` (its deadline passed
            with policy ``fail``); None while it awaits an answer.
        kind: ``validator`` (a loop's, with a revision left), ``final`` (a loop's last
            level) or ``gate``; it decides the answers taken (``ANSWERS``).
        answered_by: A CLI user (``cli:<user>@<host>``), an inbox file (``file:<name>``),
            or ``deadline``.
        resume_run_id: The run that continues the lineage after the answer.
        resumed_by: ``sensor`` (through the run queue) or ``cli`` (in the CLI's process).
        resume_error: Why the review sensor will not continue the run (the CLI still may).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    lineage: str
    step_key: str
    run_id: str
    workflow: str
    kind: ReviewKind
    subject: str = Field(description="What is to be reviewed, as markdown.")
    asked_at: datetime
    deadline: datetime | None = None
    at_deadline: AtDeadline | None = None
    answer: Answer | Literal["expired"] | None = None
    feedback: str = ""
    answered_by: str | None = None
    answered_at: datetime | None = None
    resume_run_id: str | None = None
    resumed_by: str | None = None
    resumed_at: datetime | None = None
    resume_error: str | None = None

    @property
    def state(self) -> ReviewState:
        """``awaiting`` an answer, ``answered`` and not yet resumed, or ``resumed``."""
        if self.answer is None:
            return "awaiting"
        return "resumed" if self.resumed_at is not None else "answered"

    @property
    def answers(self) -> tuple[Answer, ...]:
        """The answers this review takes (``ANSWERS``)."""
        return ANSWERS[self.kind]

    def answered(self) -> str:
        """The answer for a person: ``revise by alice@host at 2026-11-23T10:00:00+00:00``."""
        if self.answer is None:
            return "not answered"
        return f"{self.answer} by {self.answered_by} at {iso_utc(self.answered_at)}"

    def describe_deadline(self) -> str:
        """``2026-11-25T10:00:00+00:00, then reject``, or ``none``."""
        if self.deadline is None:
            return "none"
        return f"{iso_utc(self.deadline)}, then {self.at_deadline}"

    def verdict(self) -> Critique:
        """The answer as the step's output: a passing Critique, or one asking for revision.

        Raises:
            ReviewPending: Not answered yet.
            ReviewRejected: Answered with reject (by a person, or at the deadline).
            ReviewTimedOut: Its deadline passed with policy ``fail``.
        """
        if self.answer is None:
            raise ReviewPending(self.id)
        if self.answer == "expired":
            raise ReviewTimedOut(self.id, iso_utc(self.deadline))
        if self.answer == "reject":
            raise ReviewRejected(self.id, self.answered_by or "?", self.feedback)
        if self.answer == "revise":
            return Critique(
                decision="revise",
                critique=f"A person ({self.answered_by}) reviewed the draft and asks for a "
                "revision.",
                feedback=self.feedback,
            )
        note = f": {self.feedback}" if self.feedback else ""
        return Critique(decision="pass", critique=f"Approved by {self.answered_by}{note}")


def check_feedback(review: Review, answer: str, feedback: str) -> str:
    """The feedback of an answer to ``review``, stripped, once the answer fits the review.

    Raises:
        ValidationError: ``answer`` is not one the review takes (a gate cannot be revised);
            ``feedback`` is blank for revise, over 10,000 characters, or holds a control
            character or lone surrogate. Each detail names the field and the limit.
    """
    if answer not in review.answers:
        raise ECLValidationError("answer refused", [FieldError(
            "answer", f"is {answer!r}; review {review.id} ({_KIND_TEXT[review.kind]}) takes "
            + ", ".join(review.answers))])
    text = feedback.strip()
    problem = None
    bad = UNSENDABLE.search(text)
    if bad:
        problem = (f"has character U+{ord(bad.group()):04X} at position {bad.start()}; control "
                   "characters and lone surrogates are not allowed")
    elif answer == "revise" and not text:
        problem = "is blank; revise needs the feedback the reviser should act on"
    elif len(text) > MAX_FEEDBACK_CHARS:
        problem = f"has {len(text):,} characters; the limit is {MAX_FEEDBACK_CHARS:,}"
    if problem:
        raise ECLValidationError("answer refused", [FieldError("feedback", problem)])
    return text
