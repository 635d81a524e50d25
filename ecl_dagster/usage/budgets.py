"""A run's budget, where a Dagster user sets it: run config or run tags.

The LLM resource's ``budget_tokens`` and ``budget_usd``, or the run tags ``ecl/budget_tokens``
and ``ecl/budget_usd`` (set by the inbox sensor, ``ecl reexecute --budget-*``, ``ecl analyze
--budget-*`` or any launcher). A tag replaces the run config's value, so that a re-execution
can raise the budget its parent failed on. Enforced by ``ecl_core.usage.budget``.
"""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ecl_core.bounds import LLM_SETTING_RANGES, decimal_number, whole_number
from ecl_core.errors import FieldError, ValidationError
from ecl_core.usage.limits import Budget

__all__ = ["BUDGET_TOKENS_TAG", "BUDGET_USD_TAG", "budget_tags", "run_budget"]

BUDGET_TOKENS_TAG = "ecl/budget_tokens"
BUDGET_USD_TAG = "ecl/budget_usd"


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
    value = whole_number(text)
    if value is None or allowed.problem(value) is not None:
        raise ValidationError("invalid budget", [FieldError(
            field, f"is {text[:40]!r}; it must be a whole number of tokens (digits 0-9) from 0 "
            f"(no budget) to {allowed.high:,.0f}")])
    return value


def _usd(text: str, field: str) -> Decimal:
    allowed = LLM_SETTING_RANGES["budget_usd"]
    value = decimal_number(text)
    if value is None or allowed.problem(float(value)) is not None:
        raise ValidationError("invalid budget", [FieldError(
            field, f"is {text[:40]!r}; it must be a number of USD (digits 0-9 and one '.') "
            f"from 0 (no budget) to {allowed.high:,.0f}")])
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
