"""What a person reads of a step in the UI: output metadata, LLM cost, drafts, results."""

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from ecl_core.types import Draft, StepMetadata, TokenUsage
from ecl_core.usage.prices import total_cost, usd_text
from ecl_core.workflow.step import Step

__all__ = ["call_metadata", "draft_metadata", "output_metadata", "result_metadata"]


def _text(value: str) -> Any:
    return dg.MetadataValue.md(value) if "\n" in value or len(value) > 100 else value


def _described(described: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: _text(value) if isinstance(value, str)
        else value if isinstance(value, int | float)
        else dg.MetadataValue.json(to_jsonable_python(value))
        for key, value in described.items()
    }


def call_metadata(calls: Sequence[StepMetadata]) -> dict[str, Any]:
    """What the step's LLM calls cost (tokens, USD, ms) and which requests they were.

    ``cost_usd`` is exact, ``unknown`` when a model had no price (the price table).
    """
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
        "cost_usd": usd_text(total_cost(c.cost_usd for c in calls)),
        "latency_ms": dg.MetadataValue.float(round(sum(c.latency_ms for c in calls), 1)),
        "rate_limit_wait_ms": dg.MetadataValue.float(
            round(sum(c.rate_limit_wait_ms for c in calls), 1)
        ),
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


def output_metadata(step: Step[Any, Any], output: Any, final: bool) -> dict[str, Any]:
    """What a person reads of a step's output in the UI.

    The step's own ``describe``; for a draft its text, revision and length, and for the
    final step's draft also ``text`` (the entry a person opens to read the result).
    Strings become markdown when they hold a newline or more than 100 characters.
    """
    metadata = _described(step.describe(output))
    if isinstance(output, Draft):
        metadata.update(draft_metadata(output))
        if final:
            metadata["text"] = dg.MetadataValue.md(output.text)
    return metadata


def result_metadata(output: BaseModel, request: Mapping[str, Any]) -> dict[str, Any]:
    """A workflow's result as its asset materialization shows it.

    ``text`` is the result as markdown: a draft's text, else the output as a JSON block;
    a draft adds ``revision`` and ``characters``. Then every field of the request (the
    workflow input), under its own name unless the result already uses that name.
    """
    result: dict[str, Any]
    if isinstance(output, Draft):
        result = {
            "text": dg.MetadataValue.md(output.text),
            "revision": output.revision,
            "characters": len(output.text),
        }
    else:
        document = output.model_dump_json(indent=2)
        result = {"text": dg.MetadataValue.md(f"```json\n{document}\n```")}
    return {**_described(request), **result}
