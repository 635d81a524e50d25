"""Reviews without Dagster: the review book's promises, the answers' rules, the step."""

import threading
import uuid

import pytest

from ecl_core.errors import (
    ReviewAnswerRefused,
    ReviewPending,
    ReviewRejected,
    ReviewTimedOut,
    UnknownReview,
    ValidationError,
)
from ecl_core.llm.providers.scripted import ScriptedProvider
from ecl_core.logging import get_logger
from ecl_core.review.book import ReviewBook, ReviewDesk
from ecl_core.steps.builtin import default_registry
from ecl_core.steps.review import HumanReviewStep
from ecl_core.types import Draft
from ecl_core.workflow.definition import WorkflowDefinition, WorkflowValidationError, validate
from ecl_core.workflow.step import DirectoryArtifacts, StepContext

DRAFT = Draft(topic="Tea", text="Tea is a drink.", revision=0)


@pytest.fixture
def book(tmp_path) -> ReviewBook:
    return ReviewBook(f"sqlite:///{tmp_path / 'ecl.db'}")


def _ask(book, step_key="review_draft_0", kind="validator", lineage="lineage-1", **extra):
    return book.ask(lineage=lineage, step_key=step_key, run_id="run-1", workflow="w",
                    kind=kind, subject="**Tea**", **extra)


def test_asking_again_in_the_same_lineage_returns_the_same_review(book):
    first = _ask(book)
    again = book.ask(lineage="lineage-1", step_key="review_draft_0", run_id="run-2",
                     workflow="w", kind="validator", subject="**Tea**")
    other = _ask(book, lineage="lineage-2")
    assert again.id == first.id and again.run_id == "run-2"  # the run to continue now
    assert other.id != first.id
    assert (first.state, len(first.id)) == ("awaiting", 12)


def test_the_first_answer_wins_and_the_second_is_refused_naming_it(book):
    review = _ask(book)
    stored = book.answer(review.id, "revise", "cli:alice@host", "Name a real outage.")
    with pytest.raises(ReviewAnswerRefused) as caught:
        book.answer(review.id, "approve", "cli:bob@host")
    assert f"review {review.id} was answered already: revise by cli:alice@host" in str(
        caught.value)
    assert "this approve changed nothing" in str(caught.value)
    assert book.get(review.id) == stored
    assert (stored.state, stored.feedback) == ("answered", "Name a real outage.")


def test_four_answers_at_once_over_their_own_connections_store_one(book, tmp_path):
    review = _ask(book)
    outcomes: list[str] = []

    def answer(who: str) -> None:
        try:
            ReviewBook(f"sqlite:///{tmp_path / 'ecl.db'}").answer(review.id, "approve", who)
            outcomes.append("stored")
        except ReviewAnswerRefused:
            outcomes.append("refused")

    threads = [threading.Thread(target=answer, args=(f"cli:{n}@h",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused"] * 3 + ["stored"]


@pytest.mark.parametrize(
    ("answer", "feedback", "field", "problem"),
    [
        ("revise", "   ", "feedback", "is blank; revise needs the feedback"),
        ("revise", "x" * 1_048_576, "feedback", "has 1,048,576 characters; the limit is 10,000"),
        ("approve", "ok\x00", "feedback", "has character U+0000"),
        ("maybe", "", "answer", "is 'maybe'; review"),
    ],
)
def test_an_answer_that_does_not_fit_names_the_field_and_changes_nothing(
    book, answer, feedback, field, problem
):
    review = _ask(book)
    with pytest.raises(ValidationError) as caught:
        book.answer(review.id, answer, "cli:alice@host", feedback)
    (detail,) = caught.value.details
    assert detail.field == field and problem in detail.problem
    assert book.get(review.id) == review


def test_a_gate_takes_approve_or_reject_only(book):
    review = _ask(book, kind="gate")
    with pytest.raises(ValidationError, match="takes approve, reject"):
        book.answer(review.id, "revise", "cli:alice@host", "more")
    assert book.answer(review.id, "reject", "cli:alice@host", "wrong plan").answer == "reject"


def test_unknown_and_ambiguous_ids_are_refused(book, monkeypatch):
    ids = iter(["abcd1111" + "0" * 24, "abcd2222" + "0" * 24])
    monkeypatch.setattr("ecl_core.review.book.uuid.uuid4", lambda: uuid.UUID(next(ids)))
    first, second = _ask(book, step_key="a"), _ask(book, step_key="b")
    with pytest.raises(UnknownReview, match="no review 'ffffffffffff'"):
        book.answer("ffffffffffff", "approve", "cli:alice@host")
    with pytest.raises(UnknownReview, match="at least 4"):
        book.get("ab")
    with pytest.raises(UnknownReview, match="prefix 'abcd' is ambiguous: abcd11110000, "
                       "abcd22220000"):
        book.get("abcd")
    assert book.get("ABCD2") == second  # a unique prefix, in any case
    assert book.get(first.id).step_key == "a"


def test_deadlines_answer_by_their_policy(book):
    approve = _ask(book, step_key="a", deadline_s=10, at_deadline="approve", now=1000.0)
    reject = _ask(book, step_key="b", deadline_s=10, at_deadline="reject", now=1000.0)
    fail = _ask(book, step_key="c", deadline_s=10, at_deadline="fail", now=1000.0)
    later = _ask(book, step_key="d", deadline_s=100, at_deadline="reject", now=1000.0)

    assert book.apply_deadlines(now=1005.0) == []
    settled = {r.step_key: r for r in book.apply_deadlines(now=1010.0)}

    assert sorted(settled) == ["a", "b", "c"]
    assert settled["a"].verdict().decision == "pass"
    with pytest.raises(ReviewRejected, match=f"review {reject.id} was rejected by deadline: "
                       "the review timed out at its deadline"):
        settled["b"].verdict()
    with pytest.raises(ReviewTimedOut, match=f"review {fail.id} timed out: no answer by"):
        settled["c"].verdict()
    assert book.get(later.id).state == "awaiting"
    assert approve.id in {r.id for r in book.reviews("answered")}


def test_a_continuation_is_claimed_once(book):
    review = _ask(book)
    assert book.claim_resume(review.id, "run-x", "sensor").resume_run_id is None  # no answer
    book.answer(review.id, "approve", "cli:alice@host")
    first = book.claim_resume(review.id, "run-x", "sensor")
    second = book.claim_resume(review.id, "run-y", "cli")
    assert (first.resume_run_id, second.resume_run_id, second.resumed_by) == (
        "run-x", "run-x", "sensor")
    assert [r.id for r in book.to_resume("sensor")] == [review.id]  # claimed, not submitted
    assert book.to_resume("cli") == []
    book.mark_resumed(review.id)
    assert book.to_resume("sensor") == [] and book.get(review.id).state == "resumed"


def _context(book, tmp_path, kind="validator", **config) -> StepContext:
    return StepContext(
        provider=ScriptedProvider([]), run_id="run-1", step_id="review_draft_0", attempt=1,
        log=get_logger("test"), artifacts=DirectoryArtifacts(tmp_path), config=config,
        reviews=ReviewDesk(book, lineage="lineage-1", run_id="run-1", workflow="w", kind=kind),
    )


def test_the_step_asks_then_returns_the_answer_as_a_critique(book, tmp_path):
    step = HumanReviewStep()
    with pytest.raises(ReviewPending) as caught:
        step.run(_context(book, tmp_path), {"draft": DRAFT})
    review = book.get(caught.value.review_id)
    assert review.subject == "**Tea** (revision 0)\n\nTea is a drink."
    book.answer(review.id, "revise", "cli:alice@host", "Say where tea comes from.")

    verdict = step.run(_context(book, tmp_path), {"draft": DRAFT})

    assert (verdict.decision, verdict.feedback) == ("revise", "Say where tea comes from.")
    assert "cli:alice@host" in verdict.critique


def test_a_gate_shows_its_upstream_output_and_a_rejection_fails_the_step(book, tmp_path):
    step = HumanReviewStep()
    with pytest.raises(ReviewPending) as caught:
        step.run(_context(book, tmp_path, kind="gate"), {"phases": ["a", "b"]})
    review = book.get(caught.value.review_id)
    assert review.subject == '```json\n{\n  "phases": [\n    "a",\n    "b"\n  ]\n}\n```'
    book.answer(review.id, "reject", "file:no.json", "Phase b is missing its tests.")
    with pytest.raises(ReviewRejected, match="rejected by file:no.json: Phase b is missing"):
        step.run(_context(book, tmp_path, kind="gate"), {"phases": ["a", "b"]})


def test_the_step_records_its_deadline(book, tmp_path):
    with pytest.raises(ReviewPending) as caught:
        HumanReviewStep().run(
            _context(book, tmp_path, deadline_s=60, at_deadline="reject", max_tokens=9),
            {"draft": DRAFT},
        )
    review = book.get(caught.value.review_id)
    assert review.at_deadline == "reject"
    assert (review.deadline - review.asked_at).total_seconds() == pytest.approx(60)


def _workflow(review_step: dict) -> WorkflowDefinition:
    return WorkflowDefinition.model_validate({
        "id": "w", "name": "W", "input": "ecl_core.steps.builtin:CritiqueReviseInput",
        "source": "workflows/w.yaml",
        "steps": [{"id": "g", "type": "generate"}, {"depends_on": ["g"], **review_step}],
    })


@pytest.mark.parametrize(
    ("step", "rule"),
    [
        ({"id": "r", "type": "human_review", "config": {"at_deadline": "reject"}},
         "at_deadline needs deadline_s"),
        ({"id": "r", "type": "human_review", "config": {"deadline_s": -1}},
         "config.deadline_s: Input should be greater than 0"),
        ({"id": "r", "type": "human_review", "config": {"deadlin_s": 60}},
         "config.deadlin_s: Extra inputs are not permitted"),
        ({"id": "r", "type": "human_review", "for_each": "text"},
         "cannot be a for_each step"),
    ],
)
def test_a_review_step_that_cannot_work_is_refused_on_load(step, rule):
    with pytest.raises(WorkflowValidationError) as caught:
        validate(_workflow(step), default_registry())
    assert any(rule in str(p) and "step 'r'" in str(p) for p in caught.value.problems), [
        str(p) for p in caught.value.problems]


def test_two_reviews_that_could_wait_at_once_are_refused():
    workflow = WorkflowDefinition.model_validate({
        "id": "w", "name": "W", "input": "ecl_core.steps.builtin:CritiqueReviseInput",
        "source": "workflows/w.yaml",
        "steps": [
            {"id": "g", "type": "generate"},
            {"id": "legal", "type": "human_review", "depends_on": ["g"]},
            {"id": "style", "type": "human_review", "depends_on": ["g"]},
            {"id": "after", "type": "human_review", "depends_on": ["legal", "style"]},
        ],
    })
    with pytest.raises(WorkflowValidationError) as caught:
        validate(workflow, default_registry())
    assert [str(p) for p in caught.value.problems] == [
        "workflows/w.yaml: steps 'legal' and 'style': both await a person's answer and neither "
        "comes after the other; a run waits for one review at a time: make one depend on the "
        "other"
    ]


def test_the_loops_last_level_takes_approve_or_reject(book):
    review = _ask(book, kind="final")
    with pytest.raises(ValidationError, match="the loop's last level, no revision left"):
        book.answer(review.id, "revise", "cli:alice@host", "one more")
    assert book.get(review.id).state == "awaiting"


def test_a_review_given_up_on_is_not_offered_to_the_sensor_again(book):
    review = _ask(book)
    book.answer(review.id, "approve", "cli:alice@host")
    book.give_up(review.id, "its run abc was executed outside the run queue")
    assert book.to_resume("sensor") == []
    assert book.get(review.id).resume_error == "its run abc was executed outside the run queue"
    assert book.claim_resume(review.id, "run-c", "cli").resumed_by == "cli"  # the CLI still may


def test_an_unsubmitted_claim_can_be_taken_over_once(book):
    review = _ask(book)
    book.answer(review.id, "approve", "cli:alice@host")
    book.claim_resume(review.id, "run-s", "sensor")
    assert not book.take_over(review.id, "run-other", "cli")
    assert book.take_over(review.id, "run-s", "cli")
    assert book.get(review.id).resumed_by == "cli"
    book.mark_resumed(review.id)
    assert not book.take_over(review.id, "run-s", "sensor")
