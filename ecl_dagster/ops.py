"""Ops made from ``ecl_core`` steps: plain, mapped, loop validator and loop reviser.

``ecl_dagster.compiler`` decides which op a step occurrence becomes and wires them.
Every op runs its step through ``run_step``: bound log context, the LLM-response journal
under the run's lineage, and failures with intent (style.md). Permanent LLM errors,
invalid input or output, configuration errors and MaxRevisionsExceeded become
``dg.Failure(allow_retries=False)``; transient errors and an open circuit breaker
propagate, so the op's ``RetryPolicy`` retries the step.
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import jmespath
import pydantic
import structlog
from pydantic import BaseModel

from ecl_core.errors import (
    ConfigError,
    FieldError,
    LLMError,
    MaxRevisionsExceeded,
    PermanentLLMError,
    ValidationError,
)
from ecl_core.llm.journal import journal_scope
from ecl_core.logging import get_logger
from ecl_core.loop import LoopState, next_action
from ecl_core.types import Critique, Draft, StepMetadata, TokenUsage
from ecl_core.workflow.definition import RevisionLoop, StepDefinition
from ecl_core.workflow.step import DirectoryArtifacts, Step, StepContext, StepRetryPolicy
from ecl_dagster.resources import LLMResource

__all__ = [
    "LLM_POOL",
    "Branch",
    "StepInput",
    "plain_op",
    "reviser_op",
    "run_config_schema",
    "validator_op",
]

LLM_POOL = "anthropic"
"""Concurrency pool of every op that calls the LLM; its limit is set in dagster.yaml."""
ARTIFACTS_DIR = "ecl_artifacts"


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


@dataclass(frozen=True)
class Branch:
    """An extra output of a plain op.

    Attributes:
        name: The output name.
        condition: For a conditional transition: JMESPath over the step's output; the
            output is emitted only when it is true (JMESPath truth: not null, false or empty).
        for_each: For a fan-out: the list field whose items become dynamic outputs, with
            mapping keys ``<for_each>_<k>``, k from 1.
    """

    name: str
    condition: str | None = None
    for_each: str | None = None


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


def _op_options(step: Step[Any, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {
        "retry_policy": dagster_retry_policy(step.retry_policy, step.type_name),
        "description": (type(step).__doc__ or step.name).strip().splitlines()[0],
    }
    if step.uses_llm:
        options["pool"] = LLM_POOL
    return options


@contextmanager
def _step_scope(context: dg.OpExecutionContext) -> Iterator[str]:
    """Bind the step to log lines and journal its LLM calls under the run's lineage."""
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
        yield step_key


def _failure(err: Exception, extra: Mapping[str, Any]) -> dg.Failure:
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
    return dg.Failure(
        description=f"{type(err).__name__}: {err}", metadata=metadata, allow_retries=False
    )


def run_step(
    context: dg.OpExecutionContext,
    llm: LLMResource,
    definition: StepDefinition,
    step: Step[Any, Any],
    data: Callable[[], Mapping[str, Any]],
    failure_metadata: Mapping[str, Any] | None = None,
) -> tuple[Any, list[StepMetadata]]:
    """Run ``step`` on the input ``data()`` builds; return its output and its LLM calls.

    Raises:
        dg.Failure: For errors a retry cannot fix (see the module docstring).
    """
    with _step_scope(context) as step_key:
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
            )
            return step.run(step_context, data()), step_context.calls
        except (PermanentLLMError, ValidationError, ConfigError, MaxRevisionsExceeded) as err:
            raise _failure(err, failure_metadata or {}) from err


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def step_input(inputs: Sequence[StepInput], values: Mapping[str, Any]) -> dict[str, Any]:
    """The step's input data from the op's input values (see ``StepInput``)."""
    data: dict[str, Any] = {}
    for spec in inputs:
        value = values[spec.name]
        if spec.outcome:
            (value,) = value
        if spec.field:
            data[spec.field] = _plain(value)
        else:
            data.update(_plain(value))
    return data


def _text(value: str) -> Any:
    return dg.MetadataValue.md(value) if "\n" in value or len(value) > 100 else value


def _described(described: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: _text(value) if isinstance(value, str)
        else value if isinstance(value, int | float)
        else dg.MetadataValue.json(_plain(value))
        for key, value in described.items()
    }


def call_metadata(calls: Sequence[StepMetadata]) -> dict[str, Any]:
    """What the step's LLM calls cost (tokens, ms) and which requests they were."""
    if not calls:
        return {}
    usage = sum((c.usage for c in calls), TokenUsage())
    last = calls[-1]
    return {
        "provider": last.provider,
        "model": last.model,
        "llm_calls": sum(c.llm_calls for c in calls),
        "journaled_calls": sum(c.journaled_calls for c in calls),
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_creation_input_tokens": usage.cache_creation_input_tokens,
        "cache_read_input_tokens": usage.cache_read_input_tokens,
        "latency_ms": dg.MetadataValue.float(round(sum(c.latency_ms for c in calls), 1)),
        "stop_reason": last.stop_reason or "",
        "request_ids": ", ".join(r for c in calls for r in c.request_ids),
        "attempt": last.attempt,
    }


def draft_metadata(draft: Draft) -> dict[str, Any]:
    """A draft as a person reads it in the UI."""
    return {
        "draft": dg.MetadataValue.md(draft.text),
        "revision": draft.revision,
        "characters": len(draft.text),
    }


def _output_metadata(step: Step[Any, Any], output: Any, final: bool) -> dict[str, Any]:
    metadata = _described(step.describe(output))
    if isinstance(output, Draft):
        metadata.update(draft_metadata(output))
        if final:
            metadata["text"] = dg.MetadataValue.md(output.text)
    return metadata


def _truthy(value: Any) -> bool:
    """JMESPath truth: null, false, and empty strings, lists and objects are false."""
    return not (value is None or value is False or value in ("", [], {}))


def _loop_entry(output: Draft, loop: RevisionLoop, data: Mapping[str, Any]) -> LoopState:
    bound = loop.max_iterations or 0
    wanted = data.get(loop.max_iterations_from, bound) if loop.max_iterations_from else bound
    if not isinstance(wanted, int) or not 0 <= wanted <= bound:
        raise ValidationError(
            "invalid run input",
            [FieldError(str(loop.max_iterations_from), f"is {wanted}; it must be 0 to {bound}")],
        )
    return LoopState(max_revisions=wanted, draft=output)


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
) -> dg.OpDefinition:
    """An op that runs one occurrence of ``step``.

    Args:
        name: The op name.
        definition: The step's definition (its config reaches the step).
        step: The step.
        inputs: Where the step input comes from; a root step has none and takes ``config``.
        workflow_input: For a root step: the workflow's input model; the op's run config is
            its form (``run_config_schema``), and the model checks the values.
        branches: Conditional and fan-out outputs besides ``result``.
        loop: The revision loop this step starts: the output becomes its ``LoopState``.
        final: The step ends the workflow: its output is logged and shown in full.
    """
    outs: dict[str, dg.Out] = {"result": dg.Out()}
    for branch in branches:
        outs[branch.name] = (
            dg.DynamicOut(is_required=False) if branch.for_each else dg.Out(is_required=False)
        )

    @dg.op(
        name=name,
        ins={spec.name: dg.In() for spec in inputs},
        out=outs,
        config_schema=run_config_schema(workflow_input) if workflow_input else None,
        required_resource_keys={"llm"},
        **_op_options(step),
    )
    def _op(context: dg.OpExecutionContext, **values: Any) -> Iterator[Any]:
        llm: LLMResource = context.resources.llm
        data = (
            _checked_input(workflow_input, context.op_config)
            if workflow_input else step_input(inputs, values)
        )
        output, calls = run_step(
            context, llm, definition, step, lambda: data,
            failure_metadata=_outcome_failure_metadata(values, inputs),
        )
        metadata = {**_output_metadata(step, output, final), **call_metadata(calls)}
        if final:
            _log_final(context, step, output)
        for branch in branches:
            yield from _branch(branch, output)
        if loop is not None:
            output = _run_checked(context, lambda: _loop_entry(output, loop, data))
        yield dg.Output(output, output_name="result", metadata=metadata)

    return _op


def _checked_input(model: type[BaseModel], config: Mapping[str, Any]) -> dict[str, Any]:
    """The run config checked by the workflow's input model.

    Raises:
        dg.Failure: A value breaks the model's rules; the message names each field.
    """
    try:
        return model.model_validate(dict(config)).model_dump()
    except ValidationError as err:
        raise _failure(err, {}) from err
    except pydantic.ValidationError as err:
        details = [
            FieldError(".".join(str(p) for p in e["loc"]) or "input", e["msg"])
            for e in err.errors()
        ]
        raise _failure(ValidationError("invalid run input", details), {}) from err


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


def _run_checked(context: dg.OpExecutionContext, make: Callable[[], LoopState]) -> LoopState:
    try:
        return make()
    except ValidationError as err:
        raise _failure(err, {}) from err


def _branch(branch: Branch, output: BaseModel) -> Iterator[Any]:
    document = output.model_dump(mode="json")
    if branch.condition is not None and _truthy(jmespath.search(branch.condition, document)):
        yield dg.Output(output, output_name=branch.name)
    if branch.for_each is not None:
        shared = {k: v for k, v in document.items() if k != branch.for_each}
        for k, item in enumerate(document[branch.for_each], start=1):
            value = {**shared, **item} if isinstance(item, dict) else {**shared, "item": item}
            yield dg.DynamicOutput(
                value, mapping_key=f"{branch.for_each}_{k}", output_name=branch.name
            )


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


def validator_op(name: str, definition: StepDefinition, step: Step[Any, Any]) -> dg.OpDefinition:
    """The loop's validator at one level: critique the draft, emit it on ``revise`` or ``done``.

    Its input ``drafts`` holds exactly one ``LoopState``: the level's draft, fanned in from
    the level above. ``revise`` is a dynamic output with zero or one item, mapping key
    ``revision_<k>``; a level whose ``revise`` output is empty is skipped, not failed.
    """

    @dg.op(
        name=name,
        ins={"drafts": dg.In()},
        out={
            "revise": dg.DynamicOut(LoopState, is_required=False),
            "done": dg.Out(LoopState, is_required=False),
        },
        required_resource_keys={"llm"},
        **_op_options(step),
    )
    def _op(context: dg.OpExecutionContext, drafts: list[LoopState]) -> Iterator[Any]:
        (state,) = drafts
        verdict, calls = run_step(
            context, context.resources.llm, definition, step, lambda: {"draft": state.draft}
        )
        if not isinstance(verdict, Critique):
            raise dg.Failure(f"validator '{definition.id}' must return a Critique",
                             allow_retries=False)
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


def reviser_op(name: str, definition: StepDefinition, step: Step[Any, Any]) -> dg.OpDefinition:
    """The loop's reviser at one level: revise the critiqued draft into the next revision."""

    @dg.op(name=name, ins={"state": dg.In()}, required_resource_keys={"llm"}, **_op_options(step))
    def _op(context: dg.OpExecutionContext, state: LoopState) -> LoopState:
        if state.critique is None:
            raise dg.Failure(f"reviser '{definition.id}' got a draft with no critique",
                             allow_retries=False)
        feedback = state.critique
        revised, calls = run_step(
            context, context.resources.llm, definition, step,
            lambda: {"draft": state.draft, "critique": feedback},
        )
        context.add_output_metadata({
            **draft_metadata(revised),
            "feedback": dg.MetadataValue.md(feedback.feedback),
            **call_metadata(calls),
        })
        return LoopState(max_revisions=state.max_revisions, draft=revised)

    return _op
