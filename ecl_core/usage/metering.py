"""The provider that meters: every answer priced, recorded in the ledger, budgets checked first.

``MeteredProvider`` is the outermost layer of a provider (``ecl_core.llm.factory``), around
the journal, so that journaled answers are recorded too (as billing nothing). Inside a
journal scope, before a call the journal cannot answer, it asks the budget guard to hold the
call's most (``ecl_core.usage.budget``); after the answer it sets the answer's
``cost_usd`` from the price table and writes the ledger row, releasing the hold. Outside a
scope answers are priced but neither checked nor recorded: the ledger's rows each belong to
a run's step.

A model missing from the price table gets cost ``None`` (unknown) and one warning per
process and model; a USD budget cannot be checked for it, and such a call is refused with
a ``ConfigError``.
"""

from collections.abc import Callable
from decimal import Decimal

from ecl_core.errors import ConfigError, LLMError
from ecl_core.llm.base import Provider
from ecl_core.llm.journal_scope import JournalScope, current_scope
from ecl_core.llm.windows import SizedProvider
from ecl_core.logging import get_logger, warn_once
from ecl_core.types import CompletionRequest, CompletionResponse
from ecl_core.usage.budget import BudgetGuard
from ecl_core.usage.ledger import UsageLedger
from ecl_core.usage.limits import input_bound
from ecl_core.usage.prices import PRICE_TABLE_ENV_VAR, PriceTable

__all__ = ["MeteredProvider"]

_log = get_logger("ecl.llm")


class MeteredProvider:
    """Prices, records and budgets the calls of another provider (module docstring).

    Args:
        inner: The provider that answers (the journaled one, in a full assembly).
        prices: The price table.
        ledger: Where rows are written; None to write none.
        guard: The budget guard; None for no budget.
        count_tokens: The provider's token counting, for a call's most; None to bound the
            input from the request's size (``input_bound``).
        answered: Whether the journal already holds an answer (such a call is not checked).
        window: The provider's sizing to its model's context window, for callers that fit
            their prompts to it (``model_limits``, ``prompt_room``); None when not sized.
    """

    def __init__(
        self,
        inner: Provider,
        *,
        prices: PriceTable,
        ledger: UsageLedger | None = None,
        guard: BudgetGuard | None = None,
        count_tokens: Callable[[CompletionRequest], int] | None = None,
        answered: Callable[[CompletionRequest], bool] | None = None,
        window: SizedProvider | None = None,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.model = inner.model
        self.prices = prices
        self._ledger = ledger
        self._guard = guard
        self._count_tokens = count_tokens
        self._answered = answered
        self.window = window

    def complete(self, request: CompletionRequest) -> CompletionResponse:
        """Answer ``request`` through the inner provider, priced and recorded.

        Raises:
            BudgetExceeded: The call could take its lineage over the budget; it was not made.
            ConfigError: A USD budget, and the model has no price.
            Whatever the inner provider raises; a failed call records nothing.
        """
        scope = current_scope()
        hold: int | None = None
        if self._guard is not None and scope is not None and not (
            self._answered is not None and self._answered(request)
        ):
            hold = self._reserve(self._guard, scope, request)
        try:
            response = self.inner.complete(request)
        except BaseException:
            if hold is not None and self._guard is not None:
                self._guard.release(hold)
            raise
        cost = Decimal(0) if response.journaled else self._cost(response)
        response = response.model_copy(update={"cost_usd": cost})
        if self._ledger is not None and scope is not None:
            self._ledger.record(scope, response, price_version=self.prices.version,
                                hold_id=hold)
        elif hold is not None and self._guard is not None:
            self._guard.release(hold)
        return response

    def _cost(self, response: CompletionResponse) -> Decimal | None:
        cost = self.prices.cost(response.model, response.usage, response.service_tier)
        if cost is None:
            warn_once(
                _log, "llm.price_unknown", response.model, provider=response.provider,
                model=response.model, price_table=self.prices.version,
                detail=f"cost recorded as unknown; add the model to a price table named by "
                f"{PRICE_TABLE_ENV_VAR}",
            )
        return cost

    def _reserve(self, guard: BudgetGuard, scope: JournalScope, request: CompletionRequest
                 ) -> int:
        price = self.prices.price(self.model)
        if guard.budget.usd is not None and price is None:
            raise ConfigError(
                f"a USD budget is set, but model {self.model!r} has no price in the price "
                f"table {self.prices.source} (version {self.prices.version}); add it to a table "
                "named by "
                f"{PRICE_TABLE_ENV_VAR}, or use a token budget"
            )
        counted, how = self._input_tokens(request)
        most_usd = Decimal(0) if price is None else price.most(counted, request.max_tokens)
        call = (f"the call of step {scope.step_key!r} ({counted:,} input tokens {how}, "
                f"max_tokens {request.max_tokens:,})")
        return guard.reserve(scope, counted + request.max_tokens, most_usd, call)

    def _input_tokens(self, request: CompletionRequest) -> tuple[int, str]:
        """The call's input tokens, and how they were reckoned.

        Counted by the API until counting first fails; from then on, with one warning,
        bounded from the request's size.
        """
        if self._count_tokens is not None:
            try:
                return self._count_tokens(request), "counted by the API"
            except LLMError as err:
                self._count_tokens = None
                _log.warning("llm.count_tokens_failed", provider=self.name, model=self.model,
                             error=type(err).__name__, detail=err.message,
                             fallback="bound from the request's size from now on")
        return input_bound(request), "at most, from the request's size"
