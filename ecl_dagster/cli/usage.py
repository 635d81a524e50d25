"""``ecl usage``: what LLM calls billed, from the usage ledger, per workflow and model.

::

    ecl usage                          every call recorded, per workflow, provider and model
    ecl usage --since 7d               the last 7 days (also 24h, 30m, or a date: 2026-11-01)
    ecl usage --workflow critique_revise --format json

Costs are exact USD from the price table (``unknown`` in a table, ``null`` in JSON, when a
model had no price). Exit codes: 0, or 2 for a usage error such as a malformed ``--since``.
"""

import re
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any, TextIO

import click

from ecl_core.usage.ledger import UsageRow, UsageTotal, total_of
from ecl_core.usage.prices import usd_text
from ecl_dagster.cli.common import Refused, echo_json, format_option, instance
from ecl_dagster.usage.tags import usage_ledger

__all__ = ["parse_since", "usage"]

_DURATION = re.compile(r"^(\d+)([smhd])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(text: str, now: float) -> float:
    """``--since`` as seconds since the epoch.

    Raises:
        ValueError: Neither a duration (``30m``, ``24h``, ``7d``) nor an ISO date or time.
    """
    duration = _DURATION.match(text.strip())
    if duration:
        return now - int(duration.group(1)) * _SECONDS[duration.group(2)]
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--since is {text!r}; give a duration such as 30m, 24h or 7d, or an "
                         "ISO date or time such as 2026-11-01 or 2026-11-01T09:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _as_json(total: UsageTotal) -> dict[str, Any]:
    usage = total.usage
    return {
        "calls": total.calls,
        "journaled_calls": total.journaled_calls,
        "input_tokens": usage.input_tokens,
        "cache_creation_5m_input_tokens": usage.cache_creation_5m_input_tokens,
        "cache_creation_1h_input_tokens": usage.cache_creation_1h_input_tokens,
        "cache_read_input_tokens": usage.cache_read_input_tokens,
        "output_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "cost_usd": None if total.cost_usd is None else usd_text(total.cost_usd),
        "unpriced_calls": total.unpriced_calls,
    }


def _table_line(cells: list[str], out: TextIO) -> None:
    widths = (20, 18, 24, 12, 12, 12, 12, 12, 14)
    out.write("  ".join(c.ljust(w) if i < 3 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip())
    out.write("\n")


def _row_cells(name: tuple[str, str, str], total: UsageTotal) -> list[str]:
    usage = total.usage
    return [*name, f"{total.calls} ({total.journaled_calls})", f"{usage.input_tokens:,}",
            f"{usage.cache_creation_input_tokens:,}", f"{usage.cache_read_input_tokens:,}",
            f"{usage.output_tokens:,}", usd_text(total.cost_usd)]


@click.command()
@click.option("--since", metavar="WHEN", help="Only calls since: 30m, 24h, 7d, or an ISO date "
              "or time (UTC unless it names an offset).")
@click.option("--workflow", metavar="WORKFLOW", help="Only this workflow's (job's) calls.")
@format_option
@click.pass_context
def usage(ctx: click.Context, since: str | None, workflow: str | None, fmt: str) -> None:
    """Tokens and cost of LLM calls, per workflow, provider and model.

    Read from the usage ledger. Costs are exact USD from the price table ("unknown" in the
    table, null in JSON, when a model had no price). Quiet prints nothing.
    """
    try:
        start = parse_since(since, time.time()) if since else None
    except ValueError as problem:
        raise Refused(str(problem)) from None
    rows = usage_ledger(instance(ctx)).rows(since=start, workflow=workflow)
    grouped: dict[tuple[str, str, str], list[UsageRow]] = defaultdict(list)
    for row in rows:
        grouped[(row.workflow, row.provider, row.model)].append(row)
    groups = {key: total_of(group) for key, group in sorted(grouped.items())}
    overall = total_of(rows)
    if fmt == "json":
        echo_json({
            "since": None if start is None else datetime.fromtimestamp(start, UTC).isoformat(),
            "workflow": workflow,
            "groups": [{"workflow": w, "provider": p, "model": m, **_as_json(t)}
                       for (w, p, m), t in groups.items()],
            "total": _as_json(overall),
        })
        return
    if fmt == "quiet":
        return
    out = sys.stdout
    _table_line(["workflow", "provider", "model", "calls (jour.)", "input", "cache write",
                 "cache read", "output", "USD"], out)
    for name, total in groups.items():
        _table_line(_row_cells(name, total), out)
    _table_line(_row_cells(("total", "", ""), overall), out)
