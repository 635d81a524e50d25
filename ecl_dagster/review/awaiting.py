"""A run that reaches an unanswered review step: it ends here, saying what it waits for.

The review step's op emits only its ``pending`` output (the review, with the draft to read
and the commands that answer it as metadata), so every step after it is skipped, not
failed, and the run ends without a process left waiting. The run's tags say it awaits
review (``REVIEW_STATE_TAG``), so the runs list can be filtered on them; the review sensor
(``ecl_dagster.review.sensor``) starts the continuation once the review is answered.
"""

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import dagster as dg

from ecl_core.review.model import Review, ReviewKind
from ecl_dagster.storage.ecl_db import ecl_db_url

if TYPE_CHECKING:
    from ecl_core.review.book import ReviewBook, ReviewDesk

__all__ = [
    "PENDING_OUTPUT",
    "REVIEW_ID_TAG",
    "REVIEW_STATE_TAG",
    "REVIEW_TAGS",
    "answer_commands",
    "awaiting",
    "awaiting_metadata",
    "review_book",
    "review_desk",
]

PENDING_OUTPUT = "pending"
REVIEW_STATE_TAG = "ecl/review_state"
"""``awaiting`` while the run waits for a person; ``answered`` and then ``resumed``."""
REVIEW_ID_TAG = "ecl/review_id"
REVIEW_TAGS = (REVIEW_STATE_TAG, REVIEW_ID_TAG)
"""Tags about one run's review: a continuation does not inherit them from its parent."""


def review_book(instance: dg.DagsterInstance) -> "ReviewBook":
    """The reviews of ``instance``, in ECL's database (``ecl_db_url``)."""
    # Imported on first use: SQLAlchemy costs about 0.12 s to import (docs/dagster-notes.md), and
    # loading the definitions must not pay it.
    from ecl_core.review.book import ReviewBook

    return ReviewBook(ecl_db_url(instance))


def review_desk(context: dg.OpExecutionContext, kind: ReviewKind) -> "ReviewDesk":
    """Where the op's review step asks: this run, its lineage and its job."""
    from ecl_core.review.book import ReviewDesk

    run = context.run
    return ReviewDesk(
        review_book(context.instance), lineage=run.root_run_id or run.run_id,
        run_id=run.run_id, workflow=run.job_name, kind=kind,
    )


def answer_commands(review: Review) -> str:
    """How a person answers ``review``, as markdown: the CLI commands and the inbox file."""
    lines = [f"ecl review show {review.id}", f"ecl review approve {review.id}"]
    if "revise" in review.answers:
        lines.append(f'ecl review revise {review.id} --feedback "what to change"')
    lines.append(f'ecl review reject {review.id} --feedback "why"')
    inbox = json.dumps({"review": review.id, "answer": "approve"})
    return ("```\n" + "\n".join(lines) + "\n```\n\nor drop a JSON file such as "
            f"`{inbox}` into the review inbox.")


def awaiting_metadata(context: dg.OpExecutionContext, review: Review) -> dict[str, Any]:
    """Tag the run as awaiting ``review``, log it, and return what the UI shows of it."""
    context.instance.add_run_tags(
        context.run_id, {REVIEW_STATE_TAG: "awaiting", REVIEW_ID_TAG: review.id}
    )
    context.log.info(
        f"Awaiting review {review.id}: this run ends here, holding no process; an answer "
        f"resumes it from {review.step_key}. Answer with `ecl review "
        f"{'|'.join(review.answers)} {review.id}`."
    )
    return {
        "review_id": review.id,
        "state": "awaiting review",
        "to_review": dg.MetadataValue.md(review.subject),
        "answers": ", ".join(review.answers),
        "answer_with": dg.MetadataValue.md(answer_commands(review)),
        "deadline": review.describe_deadline(),
    }


def awaiting(context: dg.OpExecutionContext, review_id: str) -> Iterator[Any]:
    """End an op awaiting ``review_id``: tag the run, log it, emit ``pending`` only."""
    review = review_book(context.instance).get(review_id)
    yield dg.Output(review, output_name=PENDING_OUTPUT,
                    metadata=awaiting_metadata(context, review))
