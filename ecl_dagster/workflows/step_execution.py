"""Running an ``ecl_core`` step inside an op: its input, its context, its failures.

``run_step`` binds the step to log lines, journals its LLM calls under the run's lineage,
and turns errors that a retry cannot fix into ``dg.Failure(allow_retries=False)``
(docs/architecture.md): permanent LLM errors, invalid input or output, configuration errors,
MaxRevisionsExceeded, and a review's rejection or timeout. ``ReviewPending`` propagates
for the op to end the run awaiting review (``ecl_dagster.review.awaiting``). Transient errors
and an open circuit breaker propagate, so the op's ``RetryPolicy`` (from the step's own,
``dagster_retry_policy``) retries the step.
"""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.errors import DagsterExecutionInterruptedError
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from ecl_core.errors import (
    BudgetExceeded,
    ConfigError,
    ECLError,
    LLMError,
    MaxRevisionsExceeded,
    PermanentLLMError,
    ReviewRejected,
    ReviewTimedOut,
    ValidationError,
)
from ecl_core.llm.journal_scope import journal_scope
from ecl_core.logging import bound_contextvars, get_logger, redact
from ecl_core.review.model import ReviewKind
from ecl_core.types import StepMetadata
from ecl_core.workflow.definition import StepDefinition
from ecl_core.workflow.step import (
    DirectoryArtifacts,
    Step,
    StepContext,
    StepRetryPolicy,
    validated,
)
from ecl_dagster.resources import LLMResource
from ecl_dagster.review.awaiting import review_desk
from ecl_dagster.runs.origin_tags import REQUEST_ID_TAG

__all__ = [
    "ARTIFACTS_DIR",
    "StepInput",
    "checked_input",
    "dagster_retry_policy",
    "failure",
    "llm_scope",
    "run_config_schema",
    "run_step",
    "step_input",
]

ARTIFACTS_DIR = "ecl_artifacts"
"""Steps' artifacts go to ``<storage>/ecl_artifacts/<run_id>/<step_key>/``."""


@dataclass(frozen=True)
class StepInput:
    """One input of an op: which dependency, and how its value enters the step's input.

    Attributes:
        name: The op input's name: the dependency's step id.
        field: Put the whole value under this field of the step input; None merges its fields.
        outcome: The value is a loop's fan-in of ``done`` outputs: one LoopState in a list.
    """

    name: str
    field: str | None = None
    outcome: bool = False


def dagster_retry_policy(policy: StepRetryPolicy, type_name: str) -> dg.RetryPolicy:
    """The step's retry policy as a Dagster ``RetryPolicy``.

    Dagster's exponential backoff doubles the delay, so ``multiplier`` must be 1 or 2 and
    the last wait (``initial_delay_s * multiplier ** (max_attempts - 2)``) at most
    ``max_delay_s``.

    Raises:
        ConfigError: The policy cannot be expressed as a Dagster RetryPolicy.
    """
    if policy.multiplier not in (1, 2):
        raise ConfigError(f"step type '{type_name}': retry_policy.multiplier is "
                          f"{policy.multiplier}; Dagster's backoff allows 1 or 2")
    last_wait = policy.initial_delay_s * policy.multiplier ** max(policy.max_attempts - 2, 0)
    if last_wait > policy.max_delay_s:
        raise ConfigError(f"step type '{type_name}': retry_policy waits {last_wait:g} s before "
                          f"the last attempt; max_delay_s is {policy.max_delay_s:g}")
    return dg.RetryPolicy(
        max_retries=policy.max_attempts - 1,
        delay=policy.initial_delay_s,
        backoff=dg.Backoff.EXPONENTIAL if policy.multiplier == 2 else None,
        jitter=dg.Jitter.PLUS_MINUS,
    )


@contextmanager
def llm_scope(context: dg.OpExecutionContext, *, lineage: str, step_key: str) -> Iterator[None]:
    """Bind the step to log lines and journal its LLM calls under ``lineage`` and ``step_key``.

    A job's steps journal under the run's lineage (root run id); an asset's under its
    partition, so that re-materializing it never pays a completed call twice. The usage
    ledger's rows get the run id, the step attempt and the run's job as the workflow (the
    run's usage tags are written as its LLM resource is torn down: ``LLMResource``).
    A run the HTTP API started logs the request's id too (``api_request_id``, from the run
    tag ``ecl/request_id``).

    An exception that is neither an ECL error nor Dagster's own leaves the scope as a
    ``dg.Failure`` that the op's RetryPolicy may retry, its text redacted and its cause
    dropped, so that no error text reaches Dagster unredacted.

    The interrupt by which Dagster stops a run being cancelled leaves it as a final
    ``dg.Failure``: Dagster would otherwise honour the op's RetryPolicy and run the step
    again (docs/dagster-notes.md), and the run, CANCELING, ends CANCELED once its steps end.
    Any other interrupt is Dagster's to handle.
    """
    # A run the HTTP API started carries its request's id: its log lines carry it too.
    request = {"api_request_id": context.run.tags[REQUEST_ID_TAG]} if (
        REQUEST_ID_TAG in context.run.tags) else {}
    with (
        bound_contextvars(
            run_id=context.run.run_id,
            job_name=context.run.job_name,
            step_key=step_key,
            step_attempt=context.retry_number + 1,
            **request,
        ),
        journal_scope(lineage, step_key, run_id=context.run_id,
                      attempt=context.retry_number + 1, workflow=context.run.job_name),
    ):
        try:
            yield
        except (KeyboardInterrupt, DagsterExecutionInterruptedError):
            if _cancelling(context):
                raise dg.Failure(
                    description="the run was cancelled while this step ran; not retried",
                    allow_retries=False,
                ) from None
            raise
        except (ECLError, dg.Failure, dg.RetryRequested, dg.DagsterError):
            raise
        except Exception as err:
            raise dg.Failure(
                description=f"unexpected {type(err).__name__}: {redact(str(err))}",
                metadata={"error_type": type(err).__name__},
                allow_retries=True,
            ) from None


def _cancelling(context: dg.OpExecutionContext) -> bool:
    run = context.instance.get_run_by_id(context.run_id)
    return run is not None and run.status == dg.DagsterRunStatus.CANCELING


def failure(err: Exception, extra: Mapping[str, Any]) -> dg.Failure:
    """A final failure (no retry) for ``err``, with metadata a person can act on.

    Its type and message; the status code and request id of an LLM error, the fields of a
    ValidationError, the attempts of MaxRevisionsExceeded, what was spent, held and refused
    of a BudgetExceeded's budget, and ``extra``.
    """
    metadata: dict[str, Any] = {"error_type": type(err).__name__, **extra}
    if isinstance(err, LLMError):
        metadata["status_code"] = err.status_code
        metadata["request_id"] = err.request_id
    if isinstance(err, ValidationError):
        metadata["fields"] = dg.MetadataValue.json(
            [{"field": d.field, "problem": d.problem} for d in err.details]
        )
    if isinstance(err, MaxRevisionsExceeded):
        metadata["attempts"] = err.attempts
    if isinstance(err, BudgetExceeded):
        unit = err.unit.lower()
        metadata.update({
            f"spent_{unit}": str(err.spent), f"budget_{unit}": str(err.budget),
            f"held_{unit}": str(err.held), f"refused_call_max_{unit}": str(err.call_max),
        })
    return dg.Failure(
        description=f"{type(err).__name__}: {err}", metadata=metadata, allow_retries=False
    )


def run_step(
    context: dg.OpExecutionContext,
    llm: LLMResource,
    definition: StepDefinition,
    step: Step[Any, Any],
    data: Mapping[str, Any],
    failure_metadata: Mapping[str, Any] | None = None,
    *,
    step_key: str | None = None,
    review_kind: ReviewKind = "gate",
) -> tuple[Any, list[StepMetadata]]:
    """Run ``step`` on the input ``data``; return its output and the metadata of its LLM calls.

    ``step_key`` names the run in the journal, log lines and artifacts; by default the
    Dagster step's key (a mapped op's item passes ``<op>[<mapping key>]``). Safe to call
    from several threads of one op once ``llm.llm`` is built. A step that awaits answers
    asks its reviews as ``review_kind`` (``validator`` inside a revision loop, ``final`` at
    its last level).

    Raises:
        dg.Failure: For errors a retry cannot fix (see the module docstring).
        ReviewPending: The step awaits a person's answer.
    """
    step_key = step_key or context.get_step_execution_context().step.key
    with llm_scope(context, lineage=context.run.root_run_id or context.run_id, step_key=step_key):
        try:
            storage = Path(context.instance.storage_directory())
            step_context = StepContext(
                provider=llm.llm,
                run_id=context.run_id,
                step_id=step_key,
                attempt=context.retry_number + 1,
                log=get_logger("ecl.step"),
                artifacts=DirectoryArtifacts(storage / ARTIFACTS_DIR / context.run_id / step_key),
                config={"max_tokens": llm.max_tokens, **definition.config},
                reviews=review_desk(context, review_kind) if step.awaits_answer else None,
            )
            return step.run(step_context, data), step_context.calls
        except (PermanentLLMError, ValidationError, ConfigError, MaxRevisionsExceeded,
                ReviewRejected, ReviewTimedOut) as err:
            raise failure(err, failure_metadata or {}) from err


def step_input(inputs: Sequence[StepInput], values: Mapping[str, Any]) -> dict[str, Any]:
    """The step's input data from the op's input values (see ``StepInput``)."""
    data: dict[str, Any] = {}
    for spec in inputs:
        value = values[spec.name]
        if spec.outcome:
            (value,) = value
        if spec.field:
            data[spec.field] = to_jsonable_python(value)
        else:
            data.update(to_jsonable_python(value))
    return data


def checked_input(model: type[BaseModel], config: Mapping[str, Any]) -> dict[str, Any]:
    """The run config checked by the workflow's input model.

    Raises:
        dg.Failure: A value breaks the model's rules; the message names each field.
    """
    try:
        return validated(model, dict(config), "", "invalid run input").model_dump()
    except ValidationError as err:
        raise failure(err, {}) from err


_SCALARS: dict[Any, Any] = {str: dg.String, int: dg.Int, float: dg.Float, bool: dg.Bool}


def run_config_schema(model: type[BaseModel]) -> dict[str, dg.Field]:
    """The launchpad form of an input model: its fields with descriptions and defaults.

    Values are checked by the model when the step runs, so a bad value fails the step
    with the model's message, naming the field and the limit.
    """
    fields = {}
    for name, info in model.model_fields.items():
        kind = _SCALARS.get(info.annotation, dg.Any)
        if info.is_required():
            fields[name] = dg.Field(kind, description=info.description)
        else:
            default = info.get_default(call_default_factory=True)
            fields[name] = dg.Field(kind, default_value=default, description=info.description)
    return fields
