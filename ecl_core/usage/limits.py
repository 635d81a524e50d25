"""What a budget is, and a call's input bounded without asking the API (no database here).

``ecl_core.usage.budget`` enforces budgets in ECL's database; this module is what settings
and the engine's face need to name one, without importing the database layer.
"""

import json
from dataclasses import dataclass
from decimal import Decimal

from ecl_core.types import CompletionRequest

__all__ = ["TURN_OVERHEAD_TOKENS", "Budget", "input_bound"]

TURN_OVERHEAD_TOKENS = 16
"""Tokens allowed per turn (and for the system prompt) for the format, in ``input_bound``."""


@dataclass(frozen=True)
class Budget:
    """What a lineage may bill.

    Attributes:
        tokens: Tokens of every kind (input, cache writes and reads, output); 0 for no limit.
        usd: USD; None for no limit.
    """

    tokens: int = 0
    usd: Decimal | None = None

    @property
    def enabled(self) -> bool:
        """True when either limit is set."""
        return self.tokens > 0 or self.usd is not None


def input_bound(request: CompletionRequest) -> int:
    """An upper bound on the input tokens of ``request``, without asking the API.

    One token per UTF-8 byte of the system prompt, context, messages and output schema (a
    token is at least one byte), plus ``TURN_OVERHEAD_TOKENS`` per turn and for the system
    prompt.
    """
    texts = list(request.texts())
    if request.output_schema is not None:
        texts.append(json.dumps(request.output_schema))
    size = sum(len(text.encode("utf-8", "surrogatepass")) for text in texts)
    return size + TURN_OVERHEAD_TOKENS * (len(request.messages) + 1)
