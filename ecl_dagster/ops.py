"""The critique-revise ops: generate_draft, critique_draft, revise_draft, final_draft.

Failures carry intent (style.md): permanent LLM errors, invalid input or output and
configuration errors become ``dg.Failure(allow_retries=False)``; transient errors and
an open circuit breaker propagate so the op's ``RetryPolicy`` retries the step.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import dagster as dg
import structlog
from pydantic import Field

from ecl_core.errors import (
    ConfigError,
    LLMError,
    MaxRevisionsExceeded,
    PermanentLLMError,
    ValidationError,
)
from ecl_core.llm.journal import journal_scope
from ecl_core.loop import LoopState, check_brief, next_action
from ecl_core.loop import final_draft as accepted_draft
from ecl_core.steps import StepResult, critique, generate, revise
from ecl_core.types import Draft, StepMetadata
from ecl_dagster.resources import LLMResource

__all__ = [
    "CritiqueReviseConfig",
    "critique_draft",
    "final_draft",
    "generate_draft",
    "revise_draft",
]

T = TypeVar("T")

LLM_POOL = "anthropic"
"""Concurrency pool of every op that calls the LLM; its limit is set in dagster.yaml."""

LLM_RETRY_POLICY = dg.RetryPolicy(
    max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
"""Step retries for failures that outlast the in-call retries: an open breaker, an outage."""


class CritiqueReviseConfig(dg.Config):
    """Run config of ``critique_revise``: what to write about and how often to revise."""

    topic: str = Field(description="What to write about: 1 to 2,000 characters, not blank.")
    max_revisions: int = Field(
        3,
        description="Revisions allowed before the run fails with MaxRevisionsExceeded: 0 to 3.",
    )


@contextmanager
def _step_context(context: dg.OpExecutionContext) -> Iterator[None]:
    """Bind the step to log lines, and journal its LLM calls under the run's lineage."""
    step_key = context.get_step_execution_context().step.key
    lineage = context.run.root_run_id or context.run_id
    with (
        structlog.contextvars.bound_contextvars(
            run_id=context.run_id,
            job_name=context.job_name,
            step_key=step_key,
            step_attempt=context.retry_number + 1,
        ),
        journal_scope(lineage, step_key),
    ):
        yield


def _run_step(context: dg.OpExecutionContext, step: Callable[[int], T]) -> T:
    """Run an ecl_core step; turn errors that a retry cannot fix into ``dg.Failure``."""
    with _step_context(context):
        try:
            return step(context.retry_number + 1)
        except (PermanentLLMError, ValidationError, ConfigError) as err:
            metadata: dict[str, Any] = {"error_type": type(err).__name__}
            if isinstance(err, LLMError):
                metadata["status_code"] = err.status_code
                metadata["request_id"] = err.request_id
            if isinstance(err, ValidationError):
                metadata["fields"] = dg.MetadataValue.json(
                    [{"field": d.field, "problem": d.problem} for d in err.details]
                )
            raise dg.Failure(
                description=f"{type(err).__name__}: {err}",
                metadata=metadata,
                allow_retries=False,
            ) from err


def _call_metadata(meta: StepMetadata) -> dict[str, Any]:
    return {
        "provider": meta.provider,
        "model": meta.model,
        "llm_calls": meta.llm_calls,
        "journaled_calls": meta.journaled_calls,
        "input_tokens": meta.usage.input_tokens,
        "output_tokens": meta.usage.output_tokens,
        "cache_creation_input_tokens": meta.usage.cache_creation_input_tokens,
        "cache_read_input_tokens": meta.usage.cache_read_input_tokens,
        "latency_ms": dg.MetadataValue.float(round(meta.latency_ms, 1)),
        "stop_reason": meta.stop_reason or "",
        "request_ids": ", ".join(meta.request_ids),
        "attempt": meta.attempt,
    }


def _draft_metadata(draft: Draft) -> dict[str, Any]:
    return {
        "draft": dg.MetadataValue.md(draft.text),
        "revision": draft.revision,
        "characters": len(draft.text),
    }


@dg.op(retry_policy=LLM_RETRY_POLICY, pool=LLM_POOL)
def generate_draft(
    context: dg.OpExecutionContext, config: CritiqueReviseConfig, llm: LLMResource
) -> LoopState:
    """Write the first draft (revision 0) on the configured topic."""
    topic = _run_step(context, lambda _attempt: check_brief(config.topic, config.max_revisions))
    result: StepResult[Draft] = _run_step(
        context,
        lambda attempt: generate(llm.llm, topic, max_tokens=llm.max_tokens, attempt=attempt),
    )
    context.add_output_metadata(
        {**_draft_metadata(result.output), **_call_metadata(result.metadata)}
    )
    return LoopState(max_revisions=config.max_revisions, draft=result.output)


@dg.op(
    out={
        "revise": dg.DynamicOut(LoopState, is_required=False),
        "done": dg.Out(LoopState, is_required=False),
    },
    retry_policy=LLM_RETRY_POLICY,
    pool=LLM_POOL,
)
def critique_draft(
    context: dg.OpExecutionContext, drafts: list[LoopState], llm: LLMResource
) -> Iterator[dg.Output[LoopState] | dg.DynamicOutput[LoopState]]:
    """Critique the draft; emit it on ``revise`` to run the next level, or on ``done``.

    ``drafts`` holds exactly one state: the level's draft, fanned in from the level above.
    """
    (state,) = drafts
    result = _run_step(
        context,
        lambda attempt: critique(llm.llm, state.draft, max_tokens=llm.max_tokens, attempt=attempt),
    )
    reviewed = state.model_copy(update={"critique": result.output})
    action = next_action(reviewed)
    metadata = {
        "decision": result.output.decision,
        "critique": dg.MetadataValue.json(result.output.model_dump()),
        "action": action,
        **_draft_metadata(state.draft),
        **_call_metadata(result.metadata),
    }
    if action == "revise":
        yield dg.DynamicOutput(
            reviewed,
            mapping_key=f"revision_{state.draft.revision + 1}",
            output_name="revise",
            metadata=metadata,
        )
    else:
        yield dg.Output(reviewed, output_name="done", metadata=metadata)


@dg.op(retry_policy=LLM_RETRY_POLICY, pool=LLM_POOL)
def revise_draft(context: dg.OpExecutionContext, state: LoopState, llm: LLMResource) -> LoopState:
    """Revise the critiqued draft on its feedback; the result is the next revision."""
    assert state.critique is not None, "revise_draft needs a critiqued draft"
    feedback = state.critique
    result = _run_step(
        context,
        lambda attempt: revise(
            llm.llm, state.draft, feedback, max_tokens=llm.max_tokens, attempt=attempt
        ),
    )
    context.add_output_metadata(
        {
            **_draft_metadata(result.output),
            "feedback": dg.MetadataValue.md(feedback.feedback),
            **_call_metadata(result.metadata),
        }
    )
    return LoopState(max_revisions=state.max_revisions, draft=result.output)


@dg.op
def final_draft(context: dg.OpExecutionContext, outcomes: list[LoopState]) -> Draft:
    """Return the accepted draft, or fail with MaxRevisionsExceeded when none passed.

    ``outcomes`` holds the one critiqued state that ended the loop.
    """
    (state,) = outcomes
    try:
        draft = accepted_draft(state)
    except MaxRevisionsExceeded as err:
        raise dg.Failure(
            description=f"MaxRevisionsExceeded: {err}",
            metadata={
                "error_type": "MaxRevisionsExceeded",
                "attempts": err.attempts,
                "last_draft": dg.MetadataValue.md(state.draft.text),
                "last_critique": dg.MetadataValue.json(
                    state.critique.model_dump() if state.critique else {}
                ),
            },
            allow_retries=False,
        ) from err
    context.log.info(f"Final draft (revision {draft.revision}):\n\n{draft.text}")
    context.add_output_metadata({"text": dg.MetadataValue.md(draft.text), **_draft_metadata(draft)})
    return draft
