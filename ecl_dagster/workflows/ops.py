"""Ops made from ``ecl_core`` steps: plain, loop validator, reviser (mapped: ``mapped``).

``ecl_dagster.workflows.compiler`` decides which op a step occurrence becomes and wires them. Every
op runs its step through ``step_execution.run_step`` (log context, journal, failures with
intent) and shows its output through ``metadata``. The op of a step that awaits answers
(``human_review``) has one more output, ``pending``: it is all the op emits while the
review is unanswered (``awaiting``), so the steps after it are skipped. A workflow's final
op also records its output as a materialization of the workflow's result asset
(``workflow_assets``).
"""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg
import jmespath
from pydantic import BaseModel

from ecl_core.errors import FieldError, ReviewPending, ValidationError
from ecl_core.loop import LoopState, next_action
from ecl_core.types import Draft
from ecl_core.workflow.definition import RevisionLoop, StepDefinition
from ecl_core.workflow.step import Step
from ecl_dagster.resources import LLMResource
from ecl_dagster.review.awaiting import PENDING_OUTPUT, awaiting
from ecl_dagster.usage.tags import lineage_cost_metadata
from ecl_dagster.workflows.assets import RESULT_ASSET_TAG, USES_LLM_TAG, WorkflowResult
from ecl_dagster.workflows.metadata import call_metadata, draft_metadata, output_metadata
from ecl_dagster.workflows.step_execution import (
    StepInput,
    checked_input,
    dagster_retry_policy,
    failure,
    run_config_schema,
    run_step,
    step_input,
)

__all__ = ["LLM_POOL", "Branch", "op_options", "plain_op", "reviser_op", "validator_op"]

LLM_POOL = "anthropic"
"""Concurrency pool of the LLM ops of a job whose executor runs several steps at once (the
multiprocess executor); its limit is set in dagster.yaml. An in-process run executes one
step at a time, so there the pool would limit nothing that ``max_concurrent_runs`` does not,
and claiming its slot cost about 40 ms a step on Postgres (docs/dagster-notes.md): in-process
jobs leave it out, and the rate limiter paces their calls."""


@dataclass(frozen=True)
class Branch:
    """A conditional output of a plain op, besides ``result``.

    Attributes:
        name: The output name (``when_<to>``).
        condition: JMESPath over the step's output; the output is emitted only when it is
            true (JMESPath truth: not null, false or empty).
    """

    name: str
    condition: str


def op_options(step: Step[Any, Any], pool: str | None) -> dict[str, Any]:
    """What every op of ``step`` shares: its RetryPolicy, description and ``USES_LLM_TAG``.

    Also ``pool`` when the step calls the LLM and ``pool`` is not None (``LLM_POOL``).
    """
    options: dict[str, Any] = {
        "retry_policy": dagster_retry_policy(step.retry_policy, step.type_name),
        "description": (type(step).__doc__ or step.name).strip().splitlines()[0],
        "tags": {USES_LLM_TAG: "true"} if step.uses_llm else {},
    }
    if step.uses_llm and pool is not None:
        options["pool"] = pool
    return options


def _truthy(value: Any) -> bool:
    """JMESPath truth: null, false, and empty strings, lists and objects are false."""
    return not (value is None or value is False or value in ("", [], {}))


def _revision_bound(loop: RevisionLoop, data: Mapping[str, Any]) -> int:
    """The loop's bound for this run: ``max_iterations``, or lower from the run config.

    Raises:
        dg.Failure: The ``max_iterations_from`` field is not 0 to ``max_iterations``.
    """
    bound = loop.max_iterations or 0
    wanted = data.get(loop.max_iterations_from, bound) if loop.max_iterations_from else bound
    if isinstance(wanted, int) and 0 <= wanted <= bound:
        return wanted
    problem = FieldError(str(loop.max_iterations_from), f"is {wanted}; it must be 0 to {bound}")
    raise failure(ValidationError("invalid run input", [problem]), {})


def plain_op(
    name: str,
    definition: StepDefinition,
    step: Step[Any, Any],
    *,
    inputs: Sequence[StepInput],
    workflow_input: type[BaseModel] | None,
    branches: Sequence[Branch] = (),
    loop: RevisionLoop | None = None,
    final: bool = False,
    result_asset: WorkflowResult | None = None,
    pool: str | None = None,
) -> dg.OpDefinition:
    """An op that runs one occurrence of ``step``.

    Args:
        name: The op name.
        definition: The step's definition (its config reaches the step).
        step: The step.
        inputs: Where the step input comes from; a root step has none and takes ``config``.
        workflow_input: For a root step: the workflow's input model; the op's run config is
            its form (``run_config_schema``), and the model checks the values.
        branches: Conditional outputs besides ``result``.
        loop: The revision loop this step starts: the output becomes its ``LoopState``.
        final: The step ends the workflow: its output is logged and shown in full, with the
            cost table of the run's lineage (``cost``, per step and model).
        result_asset: For a final step: the asset its output is recorded in, one materialization
            per successful run, tagged on the op as ``RESULT_ASSET_TAG``.
        pool: The concurrency pool of an LLM step (``LLM_POOL``), or None for none.
    """
    outs = {
        "result": dg.Out(is_required=not step.awaits_answer),
        **{b.name: dg.Out(is_required=False) for b in branches},
        **_pending_out(step),
    }
    options = op_options(step, pool)
    if result_asset is not None:
        options["tags"][RESULT_ASSET_TAG] = result_asset.asset_key.to_user_string()

    @dg.op(
        name=name,
        ins={spec.name: dg.In() for spec in inputs},
        out=outs,
        config_schema=run_config_schema(workflow_input) if workflow_input else None,
        required_resource_keys={"llm"},
        **options,
    )
    def _op(context: dg.OpExecutionContext, **values: Any) -> Iterator[Any]:
        llm: LLMResource = context.resources.llm
        data = (
            checked_input(workflow_input, context.op_config)
            if workflow_input else step_input(inputs, values)
        )
        bound = _revision_bound(loop, data) if loop is not None else None
        try:
            output, calls = run_step(
                context, llm, definition, step, data,
                failure_metadata=_outcome_failure_metadata(values, inputs),
            )
        except ReviewPending as pending:
            yield from awaiting(context, pending.review_id)
            return
        metadata = {**output_metadata(step, output, final), **call_metadata(calls)}
        if final:
            _log_final(context, step, output)
            metadata.update(lineage_cost_metadata(context))
        if result_asset is not None:
            yield result_asset.record(context, output)
        for branch in branches:
            yield from _branch(branch, output)
        if bound is not None:
            output = LoopState(max_revisions=bound, draft=output)
        yield dg.Output(output, output_name="result", metadata=metadata)

    return _op


def _pending_out(step: Step[Any, Any]) -> dict[str, dg.Out]:
    """The ``pending`` output of a step that awaits answers (module docstring)."""
    if not step.awaits_answer:
        return {}
    return {PENDING_OUTPUT: dg.Out(is_required=False, description="The review awaited.")}


def _branch(branch: Branch, output: BaseModel) -> Iterator[Any]:
    document = output.model_dump(mode="json")
    if _truthy(jmespath.search(branch.condition, document)):
        yield dg.Output(output, output_name=branch.name)


def _log_final(context: dg.OpExecutionContext, step: Step[Any, Any], output: Any) -> None:
    if isinstance(output, Draft):
        context.log.info(f"{step.name} (revision {output.revision}):\n\n{output.text}")
    else:
        context.log.info(f"{step.name}:\n\n{output.model_dump_json(indent=2)}")


def _outcome_failure_metadata(
    values: Mapping[str, Any], inputs: Sequence[StepInput]
) -> dict[str, Any]:
    """For a step after a loop: the last draft and critique, kept with its failure."""
    for spec in inputs:
        if spec.outcome:
            (state,) = values[spec.name]
            return {
                "last_draft": dg.MetadataValue.md(state.draft.text),
                "last_critique": dg.MetadataValue.json(
                    state.critique.model_dump() if state.critique else {}
                ),
            }
    return {}


def validator_op(
    name: str, definition: StepDefinition, step: Step[Any, Any], *, pool: str | None = None
) -> dg.OpDefinition:
    """The loop's validator at one level: critique the draft, emit it on ``revise`` or ``done``.

    Its input ``drafts`` holds exactly one ``LoopState``: the level's draft, fanned in from
    the level above; without it the op fails at once, naming the missing step and the fix,
    and spends no step retry (``dg.Failure(allow_retries=False)``). ``revise`` is a dynamic
    output with zero or one item, mapping key ``revision_<k>``; a level whose ``revise``
    output is empty is skipped, not failed. ``validate`` has checked that the step writes a
    Critique. A person as the validator (``human_review``) may end the run at this level
    awaiting their answer (``pending``).
    """

    @dg.op(
        name=name,
        ins={"drafts": dg.In()},
        out={
            "revise": dg.DynamicOut(LoopState, is_required=False),
            "done": dg.Out(LoopState, is_required=False),
            **_pending_out(step),
        },
        required_resource_keys={"llm"},
        **op_options(step, pool),
    )
    def _op(context: dg.OpExecutionContext, drafts: list[LoopState]) -> Iterator[Any]:
        if len(drafts) != 1:
            raise dg.Failure(
                description=f"{context.op.name} has no draft to judge ({len(drafts)} given): "
                "the step that writes it did not run in this run. A re-execution from "
                "failure that Dagster selected without a mapped step leaves it out; "
                "re-execute with `ecl reexecute RUN` (ECL adds the missing steps) or re-execute "
                "every step (the journal answers every call already paid)",
                allow_retries=False,
            )
        (state,) = drafts
        try:
            verdict, calls = run_step(
                context, context.resources.llm, definition, step, {"draft": state.draft},
                review_kind="validator" if state.draft.revision < state.max_revisions
                else "final",
            )
        except ReviewPending as pending:
            yield from awaiting(context, pending.review_id)
            return
        reviewed = state.model_copy(update={"critique": verdict})
        action = next_action(reviewed)
        metadata = {
            "decision": verdict.decision,
            "critique": dg.MetadataValue.json(verdict.model_dump()),
            "action": action,
            **draft_metadata(state.draft),
            **call_metadata(calls),
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

    return _op


def reviser_op(
    name: str, definition: StepDefinition, step: Step[Any, Any], *, pool: str | None = None
) -> dg.OpDefinition:
    """The loop's reviser at one level: revise the critiqued draft into the next revision."""

    @dg.op(name=name, ins={"state": dg.In()}, required_resource_keys={"llm"},
           **op_options(step, pool))
    def _op(context: dg.OpExecutionContext, state: LoopState) -> LoopState:
        feedback = state.critique
        assert feedback is not None, "the validator emits only critiqued drafts on revise"
        revised, calls = run_step(
            context, context.resources.llm, definition, step,
            {"draft": state.draft, "critique": feedback},
        )
        context.add_output_metadata({
            **draft_metadata(revised),
            "feedback": dg.MetadataValue.md(feedback.feedback),
            **call_metadata(calls),
        })
        return LoopState(max_revisions=state.max_revisions, draft=revised)

    return _op
