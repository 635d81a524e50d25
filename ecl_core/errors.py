"""The one error hierarchy of ECL.

::

    ECLError
     ├── LLMError                  a call to a language model failed
     │    ├── TransientLLMError    408, 409, 429, 5xx, 529, timeouts, dropped connections: retried
     │    │    ├── LLMTimeoutError  no answer within the call's timeout
     │    │    └── RateLimitWaitError  no rate-limit capacity within the wait bound: not sent
     │    └── PermanentLLMError    other 4xx, refusals: never retried
     │         ├── BudgetExceeded  the call could take the lineage over its budget: not made
     │         ├── ContextWindowExceeded  the request does not fit the model's window: not made
     │         └── OutputCutOff    a structured answer stopped at max_tokens
     ├── ValidationError           input or model output broke a rule; carries field-level details
     ├── MaxRevisionsExceeded      no critique passed within the revision cap; carries attempts
     ├── CircuitOpenError          the circuit breaker is open; no call was made
     ├── ConfigError               ECL is set up wrongly (missing template, scripted responses, ...)
     ├── ReviewPending             a review step has no answer yet: not a failure, the run stops
     ├── ReviewRejected            a person (or a deadline with policy reject) rejected the work
     ├── ReviewTimedOut            nobody answered by the deadline, whose policy is fail
     └── ReviewAnswerRefused       an answer was refused: it was answered already, or ...
          └── UnknownReview        ... no review has that id

Messages never contain secrets: provider errors keep the status code, the error
type and the request id, not the request, and every ECL error's text passes through
``ecl_core.logging.redact`` here, the one place, so a key that an API echoes in its error
body never reaches a log, a step's failure text or Dagster's databases.
"""

from dataclasses import dataclass
from decimal import Decimal

from ecl_core.logging import redact

__all__ = [
    "BudgetExceeded",
    "CircuitOpenError",
    "ConfigError",
    "ContextWindowExceeded",
    "ECLError",
    "FieldError",
    "LLMError",
    "LLMTimeoutError",
    "MaxRevisionsExceeded",
    "OutputCutOff",
    "PermanentLLMError",
    "RateLimitWaitError",
    "ReviewAnswerRefused",
    "ReviewPending",
    "ReviewRejected",
    "ReviewTimedOut",
    "TransientLLMError",
    "UnknownReview",
    "ValidationError",
]


class ECLError(Exception):
    """Base of every error ECL raises on purpose; its text is redacted (module docstring)."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(redact(a) if isinstance(a, str) else a for a in args))

    def __str__(self) -> str:
        return redact(super().__str__())


class LLMError(ECLError):
    """A call to a language model failed.

    Args:
        message: What went wrong, for a person.
        status_code: HTTP status of the provider's answer, if there was one.
        request_id: The provider's request id (Anthropic's ``request-id`` header), if known.
        retry_after_s: Seconds the provider asked us to wait (``retry-after``), if it said.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        request_id: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = redact(message)
        self.status_code = status_code
        self.request_id = request_id
        self.retry_after_s = retry_after_s

    def __str__(self) -> str:
        parts = [redact(self.message)]
        if self.status_code is not None:
            parts.append(f"status_code={self.status_code}")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        return " | ".join(parts)


class TransientLLMError(LLMError):
    """A failure worth retrying: 408, 409, 429, 5xx, 529, timeouts, dropped connections."""


class LLMTimeoutError(TransientLLMError):
    """No answer within the call's timeout.

    Retried like any transient error; counted by the breaker only when the timeout was not
    the caller's own short choice (``ecl_core.llm.factory.BREAKER_TIMEOUT_FLOOR_S``).
    """


class RateLimitWaitError(TransientLLMError):
    """A call waited its longest for rate-limit capacity and did not get it; nothing was sent.

    Retried like any transient error; never counted by the circuit breaker, since the API was
    not called (``ecl_core.llm.rate_limit``).
    """


class PermanentLLMError(LLMError):
    """A failure that a retry cannot fix: 400, 401, 403, 404, 413, 422, refusals."""


class BudgetExceeded(PermanentLLMError):
    """A call was not made: at its most it would take its lineage over a budget.

    Args:
        unit: ``tokens`` or ``USD``.
        spent: What the lineage has billed so far, in ``unit``.
        held: What its other calls in flight may still bill at most, in ``unit``.
        budget: The budget, in ``unit``.
        call_max: What the refused call could bill at most, in ``unit``.
        call: Which call it was: its step, and how its most was reckoned.
    """

    def __init__(self, *, unit: str, spent: Decimal, held: Decimal, budget: Decimal,
                 call_max: Decimal, call: str) -> None:
        self.unit, self.spent, self.held, self.budget = unit, spent, held, budget
        self.call_max, self.call = call_max, call
        in_flight = f" ({_amount(held, unit)} more held by calls in flight)" if held else ""
        super().__init__(
            f"budget exceeded: spent {_amount(spent, unit)} of a budget of "
            f"{_amount(budget, unit)}{in_flight}; {call} could bill up to "
            f"{_amount(call_max, unit)} more, so it was not made"
        )


class ContextWindowExceeded(PermanentLLMError):
    """A request does not fit its model's context window (``ecl_core.llm.windows``).

    Raised before sending when the prompt leaves less than the request's minimum output, or
    from a server's refusal that states the window.

    Args:
        message: What did not fit: the model, its window, the prompt and output tokens.
        window_tokens: The model's context window in tokens, when known.
    """

    def __init__(self, message: str, *, window_tokens: int | None = None,
                 status_code: int | None = None, request_id: str | None = None) -> None:
        super().__init__(message, status_code=status_code, request_id=request_id)
        self.window_tokens = window_tokens


class OutputCutOff(PermanentLLMError):
    """A structured answer stopped at ``max_tokens`` (stop_reason ``max_tokens``).

    Not a reply to repair: the same request would be cut off again. Raise ``max_tokens``
    (or the window), or ask for less.
    """


def _amount(value: Decimal, unit: str) -> str:
    return f"{value:,} tokens" if unit == "tokens" else f"{value.normalize():f} USD"


@dataclass(frozen=True)
class FieldError:
    """One broken rule: the field (dotted path) and what was wrong with it."""

    field: str
    problem: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "problem", redact(self.problem))

    def __str__(self) -> str:
        return f"{self.field}: {self.problem}"


class ValidationError(ECLError):
    """Input or model output broke a rule.

    Args:
        message: A summary for a person.
        details: One ``FieldError`` per broken rule, naming the field and the limit.
    """

    def __init__(self, message: str, details: list[FieldError]) -> None:
        self.message = redact(message)
        self.details = list(details)
        joined = "; ".join(str(d) for d in self.details)
        super().__init__(f"{message}: {joined}" if joined else message)


class MaxRevisionsExceeded(ECLError):
    """No critique passed after ``attempts`` revisions (the cap is 3, docs/architecture.md).

    Args:
        attempts: How many revisions were made before giving up.
        last_feedback: The last critique's feedback, so the failure says what was still wrong.
    """

    def __init__(self, attempts: int, last_feedback: str = "") -> None:
        self.attempts = attempts
        self.last_feedback = last_feedback
        message = f"no critique passed after {attempts} revision(s)"
        if last_feedback:
            message += f"; last feedback: {last_feedback}"
        super().__init__(message)


class CircuitOpenError(ECLError):
    """The circuit breaker is open after repeated transient failures, so no call was made.

    Args:
        breaker: The breaker's name.
        reset_timeout_s: Seconds the breaker stays open before it lets one trial call through.
    """

    def __init__(self, breaker: str, reset_timeout_s: float | None = None) -> None:
        self.breaker = breaker
        self.reset_timeout_s = reset_timeout_s
        message = f"circuit breaker '{breaker}' is open after repeated transient failures"
        message += "; no call was made"
        if reset_timeout_s is not None:
            message += f"; it lets a trial call through {reset_timeout_s:g} s after opening"
        super().__init__(message)


class ConfigError(ECLError):
    """ECL is configured wrongly: a missing prompt template, provider or scripted response."""


class ReviewPending(ECLError):
    """A review step has no answer yet, so the step stops here; not a failure.

    The engine records the wait (``ecl_core.review``) and ends the run without holding a
    process; an answer resumes it from this step (docs/architecture.md, "a review step is a
    promise").

    Args:
        review_id: The pending review.
    """

    def __init__(self, review_id: str) -> None:
        self.review_id = review_id
        super().__init__(f"review {review_id} awaits an answer")


class ReviewRejected(ECLError):
    """A review was answered with reject: the workflow ends with this error.

    Args:
        review_id: The review.
        answered_by: Who or what answered (a CLI user, an inbox file, ``deadline``).
        reason: The reviewer's words, if any.
    """

    def __init__(self, review_id: str, answered_by: str, reason: str = "") -> None:
        self.review_id = review_id
        self.answered_by = answered_by
        message = f"review {review_id} was rejected by {answered_by}"
        super().__init__(message + (f": {reason}" if reason else ""))


class ReviewTimedOut(ECLError):
    """Nobody answered a review by its deadline, and its policy at the deadline is ``fail``.

    Args:
        review_id: The review.
        deadline: When it timed out (ISO 8601, UTC).
    """

    def __init__(self, review_id: str, deadline: str) -> None:
        self.review_id = review_id
        super().__init__(f"review {review_id} timed out: no answer by its deadline {deadline}")


class ReviewAnswerRefused(ECLError):
    """An answer to a review was refused and changed nothing.

    The review is unknown (``UnknownReview``) or was answered already (the message names
    the first answer).
    """


class UnknownReview(ReviewAnswerRefused):
    """No review has the id (or unique id prefix) given."""
