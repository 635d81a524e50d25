"""The op of a ``for_each`` step: every item's step at once, each item a dynamic output.

A ``for_each`` step runs once per item of a list field of its dependency's output (a
document's sections). The items run in one op, up to ``max_concurrent_calls`` of the LLM
resource at once (``ecl_core.fanout``), not as one Dagster step each: the in-process
executor runs steps one at a time, and a step process per item costs more than the call
(the measurements are in docs/dagster-notes.md). What a person saw of mapped steps
stays visible:

* each item is a dynamic output ``result`` with mapping key ``<field>_<k>`` (k from 1), its
  value stored by the IO manager and its metadata (tokens, latency, the step's own) in the
  UI; the next step fans them in with ``collect()``;
* each item's calls are journaled under ``<op>[<mapping key>]``, the key a mapped step had,
  so re-executing the op, or retrying it, pays no completed call twice;
* a failed item fails only itself: every other item runs and is output, then the op fails
  naming each failed item. It fails for good (no retry) only when every failure is final;
  otherwise the op's RetryPolicy retries it, and the journal answers the items that ended.
"""

from collections.abc import Iterator, Sequence
from typing import Any

import dagster as dg
from pydantic import BaseModel

from ecl_core.fanout import run_concurrently
from ecl_core.logging import redact
from ecl_core.types import StepMetadata
from ecl_core.workflow.definition import StepDefinition
from ecl_core.workflow.step import Step
from ecl_dagster.resources import LLMResource
from ecl_dagster.workflows.metadata import call_metadata, output_metadata
from ecl_dagster.workflows.ops import op_options
from ecl_dagster.workflows.step_execution import run_step

__all__ = ["items_failure", "mapped_items", "mapped_op"]

Item = tuple[str, dict[str, Any]]
Done = tuple[Any, list[StepMetadata]]


def mapped_items(output: BaseModel, for_each: str) -> list[Item]:
    """The items of ``output``'s list field ``for_each``: (mapping key, step input) each.

    An item's input is the output's other fields with the item's own fields over them (an
    item that is not an object comes as ``item``); mapping keys are ``<for_each>_<k>``.
    """
    document = output.model_dump(mode="json")
    shared = {k: v for k, v in document.items() if k != for_each}
    return [
        (f"{for_each}_{k}", {**shared, **(item if isinstance(item, dict) else {"item": item})})
        for k, item in enumerate(document[for_each], start=1)
    ]


def _error_text(err: BaseException) -> str:
    if isinstance(err, dg.Failure):
        return err.description or type(err).__name__
    return f"{type(err).__name__}: {redact(str(err))}"


def _final(err: BaseException) -> bool:
    return isinstance(err, dg.Failure) and err.allow_retries is False


def items_failure(errors: Sequence[tuple[str, BaseException]], total: int) -> dg.Failure:
    """The failure of an op whose items failed: ``errors`` are (item key, exception) pairs.

    Each failed item is named with its error; the failure may be retried by the op's
    RetryPolicy unless every error is a final ``dg.Failure`` (``allow_retries=False``).
    """
    problems = [{"item": key, "error": _error_text(err)} for key, err in errors]
    listed = "; ".join(f"{p['item']}: {p['error']}" for p in problems)
    return dg.Failure(
        description=f"{len(errors)} of {total} items failed ({listed})",
        metadata={"failed_items": dg.MetadataValue.json(problems), "items": total},
        allow_retries=not all(_final(err) for _, err in errors),
    )


def mapped_op(
    name: str,
    definition: StepDefinition,
    step: Step[Any, Any],
    *,
    source: str,
    for_each: str,
    pool: str | None = None,
) -> dg.OpDefinition:
    """The op that runs ``step`` on each item of ``source``'s field ``for_each`` (module doc).

    Args:
        name: The op name (the step id).
        definition: The step's definition (its config reaches the step).
        step: The step.
        source: The dependency whose output holds the list: the op's one input.
        for_each: The list field.
        pool: The concurrency pool (``ecl_dagster.workflows.ops.LLM_POOL``), or None for none.
    """

    @dg.op(
        name=name,
        ins={source: dg.In()},
        out={"result": dg.DynamicOut()},
        required_resource_keys={"llm"},
        **op_options(step, pool),
    )
    def _op(context: dg.OpExecutionContext, **values: Any) -> Iterator[dg.DynamicOutput[Any]]:
        llm: LLMResource = context.resources.llm
        items = mapped_items(values[source], for_each)
        step_key = context.get_step_execution_context().step.key
        if step.uses_llm:
            llm.llm  # noqa: B018 - built once here, then shared by the items' threads

        def run(item: Item) -> Done:
            key, data = item
            return run_step(context, llm, definition, step, data, step_key=f"{step_key}[{key}]")

        outcomes = run_concurrently(run, items, llm.max_concurrent_calls,
                                    description=f"{step_key}: {step.name}")
        for outcome in outcomes:
            if outcome.result is not None:
                output, calls = outcome.result
                yield dg.DynamicOutput(
                    output, mapping_key=outcome.item[0], output_name="result",
                    metadata={**output_metadata(step, output, False), **call_metadata(calls)},
                )
        failed = [(o.item[0], o.error) for o in outcomes if o.error is not None]
        if failed:
            raise items_failure(failed, len(items))

    return _op
