"""What runs cost, where a Dagster user sees it: usage tags and cost tables.

A run is tagged with what its own calls billed, from the usage ledger: ``ecl/llm_calls``,
``ecl/total_tokens`` and ``ecl/cost_usd`` (``unknown`` when a model had no price). The LLM
resource writes them as Dagster tears it down: under the in-process executor once, after
the run's last step, failed or not; under the multiprocess executor after each step (each
step process sets the resource up). A run whose worker died is tagged by whoever finds it
failed: ``mark_orphan_failed`` and the ``failed_run_usage`` sensor. When the run ends the
tags hold its totals; while it runs, each step's metadata and the ledger show its calls.
A run that carries another run's tags (Dagster's run retries and the UI's re-execution copy
them) has them set to its own as its LLM resource sets up. ``cost_table`` renders a
lineage's calls per step and model as markdown for the final step's metadata.
"""

import threading
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import dagster as dg

from ecl_core.logging import get_logger
from ecl_core.usage.prices import usd_text
from ecl_dagster.storage.ecl_db import ecl_db_url

if TYPE_CHECKING:
    from ecl_core.usage.ledger import UsageLedger, UsageRow, UsageTotal

__all__ = [
    "CALLS_TAG",
    "COST_TAG",
    "TOKENS_TAG",
    "USAGE_TAGS",
    "cost_table",
    "lineage_cost_metadata",
    "partition_lineage_key",
    "tag_run_usage",
    "usage_ledger",
    "usage_tag_changes",
    "usage_tags",
]

_log = get_logger("ecl.usage")
_tagging = threading.Lock()

CALLS_TAG = "ecl/llm_calls"
TOKENS_TAG = "ecl/total_tokens"
COST_TAG = "ecl/cost_usd"
USAGE_TAGS = (CALLS_TAG, TOKENS_TAG, COST_TAG)


def partition_lineage_key(partition_key: str) -> str:
    """The lineage of an analysis request's calls (journal and ledger): its partition."""
    return f"migration:{partition_key}"


def usage_ledger(instance: dg.DagsterInstance) -> "UsageLedger":
    """The usage ledger in ``instance``'s ECL database."""
    # Imported on first use: SQLAlchemy costs about 0.12 s to import (docs/dagster-notes.md), and
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


def usage_tag_changes(instance: dg.DagsterInstance, run: dg.DagsterRun) -> dict[str, str]:
    """The usage tags ``run`` should carry and does not: its totals, from the ledger (one read).

    Empty when the tags already hold them, or when the run made no call and carries none.
    """
    total = usage_ledger(instance).total(run_id=run.run_id)
    if not total.calls and not any(tag in run.tags for tag in USAGE_TAGS):
        return {}
    return {k: v for k, v in usage_tags(total).items() if run.tags.get(k) != v}


def tag_run_usage(instance: dg.DagsterInstance, run: dg.DagsterRun) -> None:
    """Tag ``run`` with what its calls billed so far (one read; one write, if they changed).

    ``run`` is the run as last read: a tag it already holds is not written again. Tags of
    one process are written one at a time, so a later tag never carries an older total. A
    failure to tag is logged, never raised: it must not replace the run's own outcome.
    """
    with _tagging:
        try:
            changes = usage_tag_changes(instance, run)
            if changes:
                instance.add_run_tags(run.run_id, changes)
        except Exception as err:  # the tags only show what the ledger holds
            _log.warning("usage.tags_failed", run_id=run.run_id, error=type(err).__name__)


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
