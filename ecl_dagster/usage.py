"""What runs cost, where a Dagster user sees it: budget tags in, usage tags and tables out.

A run's budget comes from the LLM resource's run config (``budget_tokens``, ``budget_usd``)
or from the run tags ``ecl/budget_tokens`` and ``ecl/budget_usd`` (set by the inbox sensor,
``ecl reexecute --budget-*`` or any launcher), a tag replacing the run config's value, so
that a re-execution can raise the budget its parent failed on.

As each LLM step ends, the run is tagged with what its own calls billed, from the usage
ledger: ``ecl/llm_calls``, ``ecl/total_tokens`` and ``ecl/cost_usd`` (``unknown`` when a
model had no price). When the run ends the tags hold its totals. ``cost_table`` renders a
lineage's calls per step and model as markdown for the final step's metadata.
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import dagster as dg

from ecl_core.bounds import LLM_SETTING_RANGES
from ecl_core.errors import FieldError, ValidationError
from ecl_core.usage.limits import Budget
from ecl_core.usage.prices import usd_text
from ecl_dagster.ecl_db import ecl_db_url

if TYPE_CHECKING:
    from ecl_core.usage.ledger import UsageLedger, UsageRow, UsageTotal

__all__ = [
    "BUDGET_TOKENS_TAG",
    "BUDGET_USD_TAG",
    "CALLS_TAG",
    "COST_TAG",
    "TOKENS_TAG",
    "budget_tags",
    "cost_table",
    "lineage_cost_metadata",
    "run_budget",
    "tag_run_usage",
    "usage_ledger",
    "usage_tags",
]

BUDGET_TOKENS_TAG = "ecl/budget_tokens"
BUDGET_USD_TAG = "ecl/budget_usd"
CALLS_TAG = "ecl/llm_calls"
TOKENS_TAG = "ecl/total_tokens"
COST_TAG = "ecl/cost_usd"


def budget_tags(
    tokens: str | int | None,
    usd: str | float | None,
    names: tuple[str, str] = (BUDGET_TOKENS_TAG, BUDGET_USD_TAG),
) -> dict[str, str]:
    """Run tags for a budget, each checked against its range.

    Args:
        tokens: Tokens the lineage may bill, a whole number; None to leave it out.
        usd: USD it may bill, a decimal number; None to leave it out.
        names: What the caller calls the two values, for the error (the tags by default).

    Raises:
        ValidationError: A value is not a number in its range; the detail names it.
    """
    tags: dict[str, str] = {}
    if tokens is not None:
        tags[BUDGET_TOKENS_TAG] = str(_tokens(str(tokens), names[0]))
    if usd is not None:
        tags[BUDGET_USD_TAG] = str(_usd(str(usd), names[1]))
    return tags


def _tokens(text: str, field: str) -> int:
    allowed = LLM_SETTING_RANGES["budget_tokens"]
    value = text.strip()
    if not value.isdigit() or allowed.problem(int(value)) is not None:
        raise ValidationError("invalid budget", [FieldError(
            field, f"is {text!r}; it must be a whole number of tokens from 0 (no budget) to "
            f"{allowed.high:,.0f}")])
    return int(value)


def _usd(text: str, field: str) -> Decimal:
    allowed = LLM_SETTING_RANGES["budget_usd"]
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = Decimal(-1)
    if not value.is_finite() or allowed.problem(float(value)) is not None:
        raise ValidationError("invalid budget", [FieldError(
            field, f"is {text!r}; it must be a number of USD from 0 (no budget) to "
            f"{allowed.high:,.0f}")])
    return value


def run_budget(resource: Any, tags: Mapping[str, str]) -> Budget:
    """The run's budget: its tags, else the LLM resource's ``budget_tokens``/``budget_usd``.

    Raises:
        ValidationError: A budget tag is not a number in its range.
    """
    tokens = (_tokens(tags[BUDGET_TOKENS_TAG], BUDGET_TOKENS_TAG)
              if BUDGET_TOKENS_TAG in tags else int(resource.budget_tokens))
    usd = (_usd(tags[BUDGET_USD_TAG], BUDGET_USD_TAG)
           if BUDGET_USD_TAG in tags else Decimal(str(resource.budget_usd)))
    return Budget(tokens=tokens, usd=usd if usd > 0 else None)


def usage_ledger(instance: dg.DagsterInstance) -> "UsageLedger":
    """The usage ledger in ``instance``'s ECL database."""
    # Imported on first use: SQLAlchemy costs about 0.12 s to import (dagster-notes.md), and
    # loading the definitions must not pay it.
    from ecl_core.usage.ledger import UsageLedger

    return UsageLedger(ecl_db_url(instance))


def usage_tags(total: "UsageTotal") -> dict[str, str]:
    """The run tags of a run's total (module docstring)."""
    return {
        CALLS_TAG: str(total.calls),
        TOKENS_TAG: str(total.usage.total_tokens),
        COST_TAG: usd_text(total.cost_usd),
    }


def tag_run_usage(instance: dg.DagsterInstance, run_id: str) -> None:
    """Tag run ``run_id`` with what its calls billed so far (one read, one write)."""
    total = usage_ledger(instance).total(run_id=run_id)
    if total.calls:
        instance.add_run_tags(run_id, usage_tags(total))


def cost_table(rows: Sequence["UsageRow"]) -> str:
    """A markdown table of ``rows`` per step and model, with a total line.

    Columns: calls (journaled ones in brackets), input, cache writes, cache reads and output
    tokens, and cost in USD (``unknown`` when a model had no price).
    """
    from ecl_core.usage.ledger import total_of

    groups: dict[tuple[str, str], list[UsageRow]] = defaultdict(list)
    for row in rows:
        groups[(row.step_key, row.model)].append(row)
    lines = [
        "| step | model | calls (journaled) | input | cache write | cache read | output | USD |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for (step, model), group in groups.items():
        lines.append(_line(step, model, total_of(group)))
    lines.append(_line("**total**", "", total_of(rows)))
    return "\n".join(lines)


def _line(step: str, model: str, total: "UsageTotal") -> str:
    usage = total.usage
    return (f"| {step} | {model} | {total.calls} ({total.journaled_calls}) "
            f"| {usage.input_tokens:,} | {usage.cache_creation_input_tokens:,} "
            f"| {usage.cache_read_input_tokens:,} | {usage.output_tokens:,} "
            f"| {usd_text(total.cost_usd)} |")


def lineage_cost_metadata(context: dg.OpExecutionContext) -> dict[str, Any]:
    """The run's lineage's calls as a cost table, for a workflow's final step (``cost``)."""
    lineage = context.run.root_run_id or context.run_id
    rows = usage_ledger(context.instance).rows(lineage=lineage)
    return {"cost": dg.MetadataValue.md(cost_table(rows))} if rows else {}
