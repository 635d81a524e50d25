"""The review sensor: answers from the review inbox, deadlines, and continuations.

Each tick, in this order: every answer file in the review inbox is stored (or moved to
``failed/`` with its reason), every review past its deadline is answered by its policy, and
every answered review whose run can be queued gets its continuation (``resume``). It starts
runs itself rather than returning run requests, since a Dagster ``RunRequest`` cannot be a
re-execution; its ticks say what it did. At its 5 s interval an answer is acted on within
about 10 s of being given.

An answer file is JSON: ``{"review": "<id or unique prefix>", "answer": "approve" | "reject"
| "revise", "feedback": "...", "by": "who"}`` (``feedback`` and ``by`` optional; the answer
is recorded as given by ``file:<name>``, with ``by`` in brackets).
"""

from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from ecl_core.errors import FieldError, ReviewAnswerRefused, ValidationError
from ecl_core.logging import configure_logging, get_logger
from ecl_core.loop import UNSENDABLE
from ecl_dagster.review.awaiting import review_book
from ecl_dagster.review.resume import NotResumable, mark_answered, record_answer, resume
from ecl_dagster.triggers.inbox import (
    parse_json,
    pending_files,
    read_inbox_file,
    reject,
    retire,
    review_inbox_folder,
)

if TYPE_CHECKING:
    from ecl_core.review.book import ReviewBook

__all__ = ["review_defs", "review_sensor"]

_FIELDS = ("review", "answer", "feedback", "by")
MAX_BY_CHARS = 200
_log = get_logger("ecl.reviews")


def _refused(field: str, problem: str) -> ValidationError:
    return ValidationError("answer file rejected", [FieldError(field, problem)])


def _answer_file(instance: dg.DagsterInstance, book: "ReviewBook", path: Path) -> str:
    """Store the answer in one file; return the review's id.

    Raises:
        ValidationError: The file is unreadable or not the JSON shape (module docstring), or
            its answer does not fit the review (``ReviewBook.answer`` checks the answer).
        UnknownReview, ReviewAnswerRefused: From ``ReviewBook.answer``.
    """
    data = parse_json(read_inbox_file(path))
    if not isinstance(data, dict):
        raise _refused("file", 'must be a JSON object {"review": ..., "answer": ...}')
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise _refused(unknown[0], f"is not an answer field ({', '.join(_FIELDS)})")
    for field in _FIELDS:
        if field in data and not isinstance(data[field], str):
            raise _refused(field, f"must be a string, not {type(data[field]).__name__}")
    for field in ("review", "answer"):
        if not data.get(field, "").strip():
            raise _refused(field, "is missing")
    if UNSENDABLE.search(path.name) or any(c in path.name for c in "\n\r\t"):
        raise _refused("file name", "holds control characters (a newline, an escape "
                       "sequence); name the file with printable characters")
    named = data.get("by", "").strip()
    if UNSENDABLE.search(named) or len(named) > MAX_BY_CHARS:
        raise _refused("by", f"must be at most {MAX_BY_CHARS} characters with no control "
                       "characters")
    by = f"file:{path.name}" + (f" ({named})" if named else "")
    review = record_answer(
        instance, book, data["review"], data["answer"], by, data.get("feedback", "")
    )
    return review.id


def _answers_from_inbox(instance: dg.DagsterInstance, book: "ReviewBook") -> list[str]:
    """Store the answer of every file in the review inbox; return what was done.

    A file refused for what it says (unreadable, malformed, an answer the review does not
    take) moves to ``failed/`` with its reason; one that met another error (the database
    restarting) stays for the next tick.
    """
    done = []
    inbox = review_inbox_folder(Path(instance.root_directory))
    inbox.mkdir(parents=True, exist_ok=True)
    for path in pending_files(inbox):
        try:
            review_id = _answer_file(instance, book, path)
        except (ValidationError, ReviewAnswerRefused) as err:
            reject(path, inbox, err, "review_inbox.answer_rejected")
            continue
        except Exception as err:  # one file must never block the inbox
            _log.error("review_inbox.answer_deferred", file=path.name,
                       error=f"{type(err).__name__}: {err}")
            continue
        retire(path, inbox)
        done.append(f"answered {review_id} from {path.name}")
    return done


def _resume_answered(context: dg.SensorEvaluationContext, book: "ReviewBook") -> list[str]:
    """Start the continuation of every answered review that is the sensor's to start.

    A review whose run cannot be continued from here is given up on with the reason
    (``ReviewBook.give_up``, shown by ``ecl review show``); one whose run is still going is
    tried again next tick; any other error is logged and tried again next tick.
    """
    done = []
    for review in book.to_resume("sensor"):
        try:
            if context.repository_def is None or not context.repository_def.has_job(
                review.workflow
            ):
                raise NotResumable(f"workflow {review.workflow!r} is not in this code location")
            job = context.repository_def.get_job(review.workflow)
            run = resume(context.instance, book, review, job, by="sensor")
        except NotResumable as err:
            if err.final:
                book.give_up(review.id, str(err))
                _log.warning("review.not_resumed", review_id=review.id, reason=str(err))
            continue
        except Exception as err:  # one review must never block the others
            _log.error("review.resume_failed", review_id=review.id,
                       error=f"{type(err).__name__}: {err}")
            continue
        if run is not None:
            _log.info("review.resumed", review_id=review.id, run_id=run.run_id,
                      parent_run_id=review.run_id)
            done.append(f"resumed {review.run_id[:8]} as {run.run_id[:8]} ({review.id})")
    return done


@dg.sensor(
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Stores answers from the review inbox, applies review deadlines, and starts "
    "the continuation of each run whose review is answered.",
)
def review_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    """One tick (module docstring).

    A failure with one file or one review is logged and the tick goes on with the others; a
    failure of a whole stage (the database unreachable) is logged and the next stage runs.
    """
    configure_logging()
    book = review_book(context.instance)
    done: list[str] = []
    stages = [
        ("inbox", lambda: _answers_from_inbox(context.instance, book)),
        ("deadlines", lambda: _deadlines(context.instance, book)),
        ("resume", lambda: _resume_answered(context, book)),
    ]
    for stage, act in stages:
        try:
            done += act()
        except Exception as err:
            _log.error("review_sensor.stage_failed", stage=stage,
                       error=f"{type(err).__name__}: {err}")
    return dg.SkipReason("; ".join(done) if done else "no answered review to act on")


def _deadlines(instance: dg.DagsterInstance, book: "ReviewBook") -> list[str]:
    done = []
    for review in book.apply_deadlines():
        mark_answered(instance, review)
        _log.info("review.deadline", review_id=review.id, answer=review.answer)
        done.append(f"{review.id} reached its deadline: {review.answer}")
    return done


def review_defs() -> dg.Definitions:
    """The review domain: its sensor (answers, deadlines, continuations)."""
    return dg.Definitions(sensors=[review_sensor])
