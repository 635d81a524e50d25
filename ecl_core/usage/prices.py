"""The price table: what a call's tokens cost in USD, from a versioned data file.

The table ships as ``prices.toml`` beside this module (Anthropic's published prices, its
``version`` naming the date they were read). ``ECL_PRICE_TABLE`` names a file of the same
shape that replaces it whole. Prices are USD per million tokens; cache writes and reads
are multiples of the input price unless a model sets its own (Anthropic's prompt-caching
pricing: 5-minute writes 1.25 x, 1-hour writes 2 x, reads 0.1 x), and calls on the Batch
API's service tier are discounted by ``multipliers.batch``. Amounts are exact decimals.

A model missing from the table has no price: its cost is unknown (``None``), never a guess.
"""

import os
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from ecl_core.errors import ConfigError
from ecl_core.types import TokenUsage

__all__ = [
    "PRICE_TABLE_ENV_VAR",
    "ModelPrice",
    "PriceTable",
    "load_price_table",
    "price_table",
    "total_cost",
    "usd_text",
]

PRICE_TABLE_ENV_VAR = "ECL_PRICE_TABLE"
"""A TOML file that replaces the packaged price table (a deployment setting)."""
_PACKAGED = Path(__file__).with_name("prices.toml")
_MILLION = Decimal(1_000_000)
_DATED = re.compile(r"-\d{8}$")  # claude-sonnet-4-5-20250929 is priced as claude-sonnet-4-5


@dataclass(frozen=True)
class ModelPrice:
    """One model's prices, in USD per million tokens.

    Attributes:
        input: Uncached input tokens.
        output: Output tokens.
        cache_write_5m: Input tokens written to the cache with the 5-minute TTL.
        cache_write_1h: Input tokens written to the cache with the 1-hour TTL.
        cache_read: Input tokens read from the cache.
        batch: Multiplier of every price on the Batch API's service tier.
    """

    input: Decimal
    output: Decimal
    cache_write_5m: Decimal
    cache_write_1h: Decimal
    cache_read: Decimal
    batch: Decimal

    def cost(self, usage: TokenUsage, service_tier: str | None = None) -> Decimal:
        """What ``usage`` costs, in USD (exact)."""
        per_million = (
            usage.input_tokens * self.input
            + usage.output_tokens * self.output
            + usage.cache_creation_5m_input_tokens * self.cache_write_5m
            + usage.cache_creation_1h_input_tokens * self.cache_write_1h
            + usage.cache_read_input_tokens * self.cache_read
        )
        tier = self.batch if service_tier == "batch" else Decimal(1)
        return per_million * tier / _MILLION

    def most(self, input_tokens: int, output_tokens: int) -> Decimal:
        """The most a call of these tokens can cost, in USD, on the standard tier.

        Every input token at the highest price it can have (a cache write costs more than
        plain input).
        """
        per_input = max(self.input, self.cache_write_5m, self.cache_write_1h)
        return (input_tokens * per_input + output_tokens * self.output) / _MILLION


@dataclass(frozen=True)
class PriceTable:
    """Prices per model.

    Attributes:
        version: The table's version, recorded with every cost in the ledger.
        models: Model name (and each alias) to its prices.
        source: The file it was read from, for messages.
    """

    version: str
    models: dict[str, ModelPrice]
    source: str

    def price(self, model: str) -> ModelPrice | None:
        """The price of ``model``, its name as given or without a ``-YYYYMMDD`` date suffix."""
        return self.models.get(model) or self.models.get(_DATED.sub("", model))

    def cost(self, model: str, usage: TokenUsage, service_tier: str | None = None
             ) -> Decimal | None:
        """What ``usage`` of ``model`` costs in USD, or None when the model has no price."""
        price = self.price(model)
        return None if price is None else price.cost(usage, service_tier)


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal) or value < 0:
        raise ConfigError(f"{where} is {value!r}; it must be a number of USD per million "
                          "tokens, 0 or more")
    return Decimal(value)


def _parse(data: dict[str, Any], source: str) -> PriceTable:
    version = data.get("version")
    if not isinstance(version, str) or not version.strip():
        raise ConfigError(f"price table {source}: 'version' must be a non-empty string")
    factors = data.get("multipliers", {})
    multiplier = {
        name: _decimal(factors.get(name, default), f"price table {source}: multipliers.{name}")
        for name, default in (("cache_write_5m", Decimal("1.25")), ("cache_write_1h", 2),
                              ("cache_read", Decimal("0.1")), ("batch", Decimal("0.5")))
    }
    models: dict[str, ModelPrice] = {}
    entries = data.get("models", {})
    if not isinstance(entries, dict) or not entries:
        raise ConfigError(f"price table {source}: 'models' must name at least one model")
    for name, entry in entries.items():
        where = f"price table {source}: models.{name}"
        if not isinstance(entry, dict) or "input" not in entry or "output" not in entry:
            raise ConfigError(f"{where} needs 'input' and 'output' prices")
        base = _decimal(entry["input"], f"{where}.input")

        def own(key: str, entry: dict[str, Any] = entry, where: str = where,
                base: Decimal = base) -> Decimal:
            if key in entry:
                return _decimal(entry[key], f"{where}.{key}")
            return base * multiplier[key]

        price = ModelPrice(
            input=base,
            output=_decimal(entry["output"], f"{where}.output"),
            cache_write_5m=own("cache_write_5m"),
            cache_write_1h=own("cache_write_1h"),
            cache_read=own("cache_read"),
            batch=multiplier["batch"],
        )
        aliases = entry.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise ConfigError(f"{where}.aliases must be a list of model names")
        for alias in [name, *aliases]:
            models[alias] = price
    return PriceTable(version=version.strip(), models=models, source=source)


@lru_cache(maxsize=8)
def load_price_table(path: Path) -> PriceTable:
    """Read a price table file (cached per path).

    Raises:
        ConfigError: The file cannot be read, is not TOML, or a price is missing or negative;
            the message names the file and the field.
    """
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle, parse_float=Decimal)
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"cannot read price table {path}: {err}") from None
    return _parse(data, str(path))


def price_table() -> PriceTable:
    """The table in force: ``ECL_PRICE_TABLE``'s file if set, else the packaged one.

    Raises:
        ConfigError: That file is unusable (see ``load_price_table``).
    """
    configured = os.environ.get(PRICE_TABLE_ENV_VAR, "").strip()
    return load_price_table(Path(configured) if configured else _PACKAGED)


def total_cost(costs: Iterable[Decimal | None]) -> Decimal | None:
    """The sum of ``costs`` in USD, or None when any of them is unknown."""
    total = Decimal(0)
    for cost in costs:
        if cost is None:
            return None
        total += cost
    return total


def usd_text(value: Decimal | None) -> str:
    """``value`` in USD as exact plain digits (``0.000123``), or ``unknown`` for None."""
    return "unknown" if value is None else f"{value.normalize():f}"
