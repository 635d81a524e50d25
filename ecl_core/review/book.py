"""The durable side of reviews: the ``ecl_reviews`` table in ECL's database.

A review is one INSERT per lineage and step, and every later change one conditional UPDATE,
so that two processes cannot both win: an answer is stored only while none is (the first
answer wins, the second is refused naming it), and a continuation is claimed only while no
run holds the claim (a lineage resumes once, even if the daemon dies between the answer and
the resume: the claimed run id stays in the row).
Rows are never deleted: they are the audit of who answered what, and when.
"""

import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from ecl_core.db import METADATA, engine
from ecl_core.errors import FieldError, ReviewAnswerRefused, UnknownReview, ValidationError
from ecl_core.review.model import (
    DEADLINE_ANSWERER,
    Answer,
    AtDeadline,
    Review,
    ReviewKind,
    ReviewState,
    check_feedback,
    iso_utc,
)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
__all__ = ["MIN_ID_PREFIX", "ReviewBook", "ReviewDesk"]

MIN_ID_PREFIX = 4
"""Commands accept a review id's unique prefix of at least this many characters."""

_reviews = sa.Table(
    "ecl_reviews",
    METADATA,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("lineage", sa.String(64), nullable=False),
    sa.Column("step_key", sa.String(512), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("workflow", sa.String(256), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("asked_at", sa.Float, nullable=False),
    sa.Column("deadline", sa.Float, nullable=True),
    sa.Column("at_deadline", sa.String(16), nullable=True),
    sa.Column("answer", sa.String(16), nullable=True),
    sa.Column("feedback", sa.Text, nullable=False, default=""),
    sa.Column("answered_by", sa.String(300), nullable=True),
    sa.Column("answered_at", sa.Float, nullable=True),
    sa.Column("resume_run_id", sa.String(64), nullable=True),
    sa.Column("resumed_by", sa.String(16), nullable=True),
    sa.Column("resumed_at", sa.Float, nullable=True),
    sa.Column("resume_error", sa.Text, nullable=True),
    sa.UniqueConstraint("lineage", "step_key", name="ecl_reviews_lineage_step"),
)
_TIMES = ("asked_at", "deadline", "answered_at", "resumed_at")


def _review(row: Any) -> Review:
    data = dict(row._mapping)
    for name in _TIMES:
        if data[name] is not None:
            data[name] = datetime.fromtimestamp(data[name], UTC)
    return Review.model_validate(data)


def _stored(conn: sa.Connection, review_id: str) -> Review:
    return _review(conn.execute(sa.select(_reviews).where(_reviews.c.id == review_id)).one())


class ReviewBook:
    """Reviews in ECL's database (SQLite embedded, the instance's Postgres in production).

    Args:
        url: SQLAlchemy URL of ECL's database (``ecl_core.db``).
    """

    def __init__(self, url: str) -> None:
        self._engine = engine(url)

    def ask(
        self,
        *,
        lineage: str,
        step_key: str,
        run_id: str,
        workflow: str,
        kind: ReviewKind,
        subject: str,
        deadline_s: float | None = None,
        at_deadline: AtDeadline | None = None,
        now: float | None = None,
    ) -> Review:
        """The review of ``step_key`` in ``lineage``: recorded now if it was never asked.

        Asking again (a step retry, a run retry, a re-execution of the whole lineage) returns
        the review already there, answered or not; a pending one now names ``run_id`` as
        the run to continue.
        """
        asked_at = time.time() if now is None else now
        row = {
            "id": uuid.uuid4().hex[:12], "lineage": lineage, "step_key": step_key,
            "run_id": run_id, "workflow": workflow, "kind": kind, "subject": subject,
            "asked_at": asked_at, "feedback": "",
            "deadline": None if deadline_s is None else asked_at + deadline_s,
            "at_deadline": at_deadline if deadline_s is not None else None,
        }
        where = sa.and_(_reviews.c.lineage == lineage, _reviews.c.step_key == step_key)
        with self._engine.begin() as conn:
            try:
                with conn.begin_nested():
                    conn.execute(sa.insert(_reviews).values(**row))
            except sa.exc.IntegrityError:
                conn.execute(sa.update(_reviews).where(where, _reviews.c.answer.is_(None))
                             .values(run_id=run_id))
            return _review(conn.execute(sa.select(_reviews).where(where)).one())

    def get(self, ref: str) -> Review:
        """The review whose id is ``ref`` or starts with it (at least 4 characters).

        Raises:
            UnknownReview: No review matches, or the prefix matches several.
        """
        ref = ref.strip().lower()
        if len(ref) < MIN_ID_PREFIX or not ref.isalnum():
            raise UnknownReview(f"no review {ref!r}: give its id, or a unique prefix of at "
                                f"least {MIN_ID_PREFIX} letters and digits")
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(_reviews).where(_reviews.c.id.startswith(ref))
                .order_by(_reviews.c.id).limit(3)
            ).all()
        if not rows:
            raise UnknownReview(f"no review {ref!r} (see `ecl review list`)")
        if len(rows) > 1:
            raise UnknownReview(f"review id prefix {ref!r} is ambiguous: "
                                + ", ".join(r.id for r in rows) + "; give more of the id")
        return _review(rows[0])

    def reviews(self, state: ReviewState | None = None, limit: int = 100) -> list[Review]:
        """Reviews, newest first; only those in ``state`` if given."""
        query = sa.select(_reviews).order_by(_reviews.c.asked_at.desc())
        if state == "awaiting":
            query = query.where(_reviews.c.answer.is_(None))
        elif state == "answered":
            query = query.where(_reviews.c.answer.is_not(None), _reviews.c.resumed_at.is_(None))
        elif state == "resumed":
            query = query.where(_reviews.c.resumed_at.is_not(None))
        with self._engine.connect() as conn:
            return [_review(r) for r in conn.execute(query.limit(limit))]

    def answer(
        self,
        ref: str,
        answer: Answer,
        answered_by: str,
        feedback: str = "",
        now: float | None = None,
    ) -> Review:
        """Store the answer to a review before anything acts on it; return the review.

        Raises:
            UnknownReview: No review matches ``ref``.
            ValidationError: The answer does not fit the review (``check_feedback``), or
                ``answered_by`` is blank or holds a control character (a newline, an escape
                sequence: it is printed in audit lines and terminals).
            ReviewAnswerRefused: The review has an answer already; the message names it.
        """
        review = self.get(ref)
        text = check_feedback(review, answer, feedback)
        if not answered_by.strip():
            raise ValidationError("answer refused", [FieldError("answered_by", "is blank")])
        if _CONTROL.search(answered_by):
            raise ValidationError("answer refused", [FieldError(
                "answered_by", "holds a control character (a newline, an escape sequence)")])
        return self._settle(review, answer, answered_by.strip()[:300], text, now)

    def _settle(self, review: Review, answer: str, answered_by: str, feedback: str,
                now: float | None) -> Review:
        with self._engine.begin() as conn:
            done = conn.execute(
                sa.update(_reviews)
                .where(_reviews.c.id == review.id, _reviews.c.answer.is_(None))
                .values(answer=answer, answered_by=answered_by, feedback=feedback,
                        answered_at=time.time() if now is None else now)
            )
            stored = _stored(conn, review.id)
        if done.rowcount != 1:
            raise ReviewAnswerRefused(
                f"review {review.id} was answered already: {stored.answered()}; "
                f"this {answer} changed nothing"
            )
        return stored

    def apply_deadlines(self, now: float | None = None) -> list[Review]:
        """Answer every review past its deadline by its policy; return those answered.

        ``approve`` and ``reject`` are stored as answers by ``deadline`` (a rejection says
        the review timed out); ``fail`` is stored as ``expired``, which fails the step with
        ReviewTimedOut. A review answered meanwhile by a person keeps that answer.
        """
        moment = time.time() if now is None else now
        with self._engine.connect() as conn:
            due = [_review(r) for r in conn.execute(sa.select(_reviews).where(
                _reviews.c.answer.is_(None), _reviews.c.deadline <= moment))]
        settled = []
        for review in due:
            policy = review.at_deadline or "fail"
            answer = "expired" if policy == "fail" else policy
            feedback = (f"the review timed out at its deadline {iso_utc(review.deadline)}"
                        if policy != "approve" else "")
            try:
                settled.append(self._settle(review, answer, DEADLINE_ANSWERER, feedback, moment))
            except ReviewAnswerRefused:
                continue
        return settled

    def claim_resume(self, review_id: str, run_id: str, by: str) -> Review:
        """Name ``run_id`` as the continuation of an answered review, unless one is named.

        Returns the review as stored: its ``resume_run_id`` is ``run_id`` if this claim won,
        else the run an earlier claim named (by ``resumed_by``).
        """
        with self._engine.begin() as conn:
            conn.execute(
                sa.update(_reviews)
                .where(_reviews.c.id == review_id, _reviews.c.answer.is_not(None),
                       _reviews.c.resume_run_id.is_(None))
                .values(resume_run_id=run_id, resumed_by=by)
            )
            return _stored(conn, review_id)

    def take_over(self, review_id: str, run_id: str, by: str) -> bool:
        """Move an unfinished claim of ``run_id`` to ``by``; whether it moved."""
        with self._engine.begin() as conn:
            moved = conn.execute(
                sa.update(_reviews)
                .where(_reviews.c.id == review_id, _reviews.c.resume_run_id == run_id,
                       _reviews.c.resumed_at.is_(None))
                .values(resumed_by=by)
            )
        return moved.rowcount == 1

    def give_up(self, review_id: str, reason: str) -> None:
        """Record why the review sensor will not continue this review's run.

        ``to_resume`` leaves it out from then on; ``ecl review show`` says why.
        """
        with self._engine.begin() as conn:
            conn.execute(sa.update(_reviews).where(_reviews.c.id == review_id)
                         .values(resume_error=reason[:2000]))

    def mark_resumed(self, review_id: str, now: float | None = None) -> None:
        """Record that the claimed continuation was submitted or started."""
        with self._engine.begin() as conn:
            conn.execute(
                sa.update(_reviews)
                .where(_reviews.c.id == review_id, _reviews.c.resumed_at.is_(None))
                .values(resumed_at=time.time() if now is None else now)
            )

    def to_resume(self, by: str) -> list[Review]:
        """Answered reviews whose continuation is not yet submitted.

        Unclaimed ones, and those claimed by ``by`` whose submission did not finish (the
        claimer died between its claim and the submission); not those given up on
        (``give_up``).
        """
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(_reviews).where(
                _reviews.c.answer.is_not(None),
                _reviews.c.resumed_at.is_(None),
                _reviews.c.resume_error.is_(None),
                sa.or_(_reviews.c.resume_run_id.is_(None), _reviews.c.resumed_by == by),
            ).order_by(_reviews.c.answered_at))
            return [_review(r) for r in rows]


@dataclass(frozen=True)
class ReviewDesk:
    """A review book bound to one run and one kind of review step: what a step asks through.

    Attributes:
        book: Where reviews are kept.
        lineage: The run lineage (Dagster's root run id).
        run_id: The run executing the step.
        workflow: The workflow (job) name.
        kind: ``validator`` for a loop's validator, ``gate`` for a step between two others.
    """

    book: ReviewBook
    lineage: str
    run_id: str
    workflow: str
    kind: ReviewKind

    def ask(self, step_key: str, subject: str, deadline_s: float | None = None,
            at_deadline: AtDeadline | None = None) -> Review:
        """``ReviewBook.ask`` for this run."""
        return self.book.ask(
            lineage=self.lineage, step_key=step_key, run_id=self.run_id,
            workflow=self.workflow, kind=self.kind, subject=subject,
            deadline_s=deadline_s, at_deadline=at_deadline,
        )
