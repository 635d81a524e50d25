"""The ranges a run may choose settings in, and the check that names what is outside.

A setting outside its range is refused before any work, so that ``timeout_s: 0`` or
``max_tokens: 0`` cannot make every call fail (and open the breaker every run shares).
``LLM_SETTING_RANGES`` are the LLM resource's; other resources keep their own tables.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from ecl_core.errors import FieldError, ValidationError
from ecl_core.fanout import MAX_CONCURRENT_CALLS

__all__ = ["LLM_SETTING_RANGES", "Range", "check_ranges", "decimal_number", "whole_number"]

_WHOLE = re.compile(r"[0-9]{1,18}")
_DECIMAL = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,15})?")


def whole_number(text: str) -> int | None:
    """``text`` (spaces around it ignored) as a whole number, or ``None``.

    The one way ECL reads a whole number from text (a tag, an environment variable, an
    inbox file): ASCII digits only, at most 18. ``str.isdigit`` accepts ``²`` and ``٣``,
    which ``int`` then refuses or reads as another number.
    """
    stripped = text.strip()
    return int(stripped) if _WHOLE.fullmatch(stripped) else None


def decimal_number(text: str) -> Decimal | None:
    """``text`` (spaces around it ignored) as a non-negative decimal, or ``None``.

    ASCII digits with at most one ``.``; ``Decimal`` itself also takes other scripts'
    digits, ``_``, exponents, ``NaN`` and ``Infinity``.
    """
    stripped = text.strip()
    return Decimal(stripped) if _DECIMAL.fullmatch(stripped) else None


@dataclass(frozen=True)
class Range:
    """Inclusive bounds of one numeric setting and its unit, for the message."""

    low: float
    high: float
    unit: str = ""

    def problem(self, value: object) -> str | None:
        """What is wrong with ``value``, or ``None`` when it is a number within the bounds."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"is {value!r}; it must be a number from {self._text()}"
        if not self.low <= value <= self.high:
            return f"is {_number(value)}; it must be {self._text()}"
        return None

    def _text(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"{_number(self.low)} to {_number(self.high)}{unit}"


def _number(value: float) -> str:
    """``1,000,000`` for whole numbers, ``0.1`` otherwise."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,g}"


LLM_SETTING_RANGES: Mapping[str, Range] = {
    "max_tokens": Range(1, 128_000, "tokens"),
    "context_window_tokens": Range(0, 10_000_000, "tokens"),
    "max_output_tokens": Range(0, 128_000, "tokens"),
    "timeout_s": Range(0.1, 600, "seconds"),
    "retry_max_attempts": Range(1, 10, "attempts"),
    "retry_initial_delay_s": Range(0, 300, "seconds"),
    "retry_max_delay_s": Range(0, 300, "seconds"),
    "retry_after_cap_s": Range(0, 600, "seconds"),
    "breaker_failure_threshold": Range(1, 1000, "failures"),
    "breaker_window_s": Range(1, 3600, "seconds"),
    "breaker_reset_timeout_s": Range(1, 3600, "seconds"),
    "max_concurrent_calls": Range(1, MAX_CONCURRENT_CALLS, "calls"),
    "rate_limit_requests_per_minute": Range(0, 1_000_000, "requests"),
    "rate_limit_input_tokens_per_minute": Range(0, 100_000_000, "tokens"),
    "rate_limit_output_tokens_per_minute": Range(0, 100_000_000, "tokens"),
    "rate_limit_max_wait_s": Range(0, 3600, "seconds"),
    "budget_tokens": Range(0, 1_000_000_000_000, "tokens"),
    "budget_usd": Range(0, 1_000_000, "USD"),
}
"""Per setting of the LLM resource: the range a run may set it in. The upper bound of
``max_tokens`` is the largest output of a current Claude model; the API refuses more for
smaller models with a 400, which is permanent and never retried."""


def check_ranges(settings: object, ranges: Mapping[str, Range], where: str) -> None:
    """Check each attribute of ``settings`` named in ``ranges``.

    Args:
        settings: An object with those attributes (a resource, a dataclass).
        ranges: Attribute name to its range.
        where: The path of the settings in the caller's config, for field names
            (``resources.llm.config``).

    Raises:
        ValidationError: One detail per setting outside its range, named
            ``<where>.<attribute>``.
    """
    problems = []
    for name, allowed in ranges.items():
        problem = allowed.problem(getattr(settings, name))
        if problem is not None:
            problems.append(FieldError(f"{where}.{name}", problem))
    if problems:
        raise ValidationError("settings out of range", problems)
