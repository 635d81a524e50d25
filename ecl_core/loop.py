"""The bounded critique-revise loop, independent of any engine.

A run starts from a ``Brief`` (topic and revision cap). After each critique,
``next_action`` says whether the draft is accepted, revised again, or the loop gives
up because the cap is reached (``MaxRevisionsExceeded``). The cap is at most 3
revisions (docs/architecture.md), so a run makes at most 8 LLM calls.
"""

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ecl_core.errors import FieldError, MaxRevisionsExceeded, ValidationError
from ecl_core.types import MAX_DRAFT_CHARS, Critique, Draft

__all__ = [
    "MAX_REVISIONS_CAP",
    "MAX_TOPIC_CHARS",
    "UNSENDABLE",
    "Action",
    "LoopState",
    "accept",
    "check_brief",
    "next_action",
]

MAX_REVISIONS_CAP = 3
MAX_TOPIC_CHARS = MAX_DRAFT_CHARS
Action = Literal["accept", "revise", "give_up"]
UNSENDABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
"""Control characters other than tab, newline and carriage return, and lone surrogates."""


class LoopState(BaseModel):
    """What flows from step to step: the brief, the current draft and its critique, if any."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_revisions: int
    draft: Draft
    critique: Critique | None = None


def check_brief(topic: str, max_revisions: int) -> str:
    """Check a run's input and return the topic stripped of surrounding blanks.

    A topic with a NUL or another control character (tab, newline and carriage return
    excepted), or a lone surrogate, is refused rather than stripped: the model would
    otherwise get a topic its author did not write, or none at all.

    Raises:
        ValidationError: ``topic`` is blank, over 2,000 characters or holds a control
            character or lone surrogate, or ``max_revisions`` is outside 0 to 3; each
            detail names the field and the limit.
    """
    problems = []
    stripped = topic.strip()
    unsendable = UNSENDABLE.search(stripped)
    if unsendable:
        problems.append(FieldError(
            "topic", f"has character U+{ord(unsendable.group()):04X} at position "
            f"{unsendable.start()}; control characters and lone surrogates are not allowed",
        ))
    elif not stripped:
        problems.append(FieldError("topic", "is blank; give 1 to 2,000 characters"))
    elif len(stripped) > MAX_TOPIC_CHARS:
        problems.append(
            FieldError("topic", f"has {len(stripped):,} characters; the limit is 2,000")
        )
    if not 0 <= max_revisions <= MAX_REVISIONS_CAP:
        problems.append(
            FieldError("max_revisions", f"is {max_revisions}; it must be 0 to {MAX_REVISIONS_CAP}")
        )
    if problems:
        raise ValidationError("invalid run input", problems)
    return stripped


def next_action(state: LoopState) -> Action:
    """After a critique: ``accept`` on pass, ``revise`` while revisions remain, else ``give_up``.

    Raises:
        ValueError: ``state`` has no critique yet.
    """
    if state.critique is None:
        raise ValueError("next_action needs a critiqued draft")
    if state.critique.decision == "pass":
        return "accept"
    return "revise" if state.draft.revision < state.max_revisions else "give_up"


def accept(draft: Draft, critique: Critique) -> Draft:
    """The draft, if its critique passed.

    Raises:
        MaxRevisionsExceeded: The critique did not pass; ``attempts`` is the number of
            revisions made (``draft.revision``).
    """
    if critique.decision == "pass":
        return draft
    raise MaxRevisionsExceeded(attempts=draft.revision, last_feedback=critique.feedback)

