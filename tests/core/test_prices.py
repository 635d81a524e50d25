"""The price table: packaged prices, exact costs, a replacement table, and bad tables refused."""

from decimal import Decimal

import pytest

from ecl_core.errors import ConfigError
from ecl_core.types import TokenUsage
from ecl_core.usage.prices import PRICE_TABLE_ENV_VAR, load_price_table, price_table

MILLION = Decimal(1_000_000)
# Every kind of token: 1,000 input, 200 output, 200 written for 5 minutes, 100 for 1 hour,
# 5,000 read from the cache.
EVERY_KIND = TokenUsage(
    input_tokens=1_000,
    output_tokens=200,
    cache_creation_input_tokens=300,
    cache_creation_1h_input_tokens=100,
    cache_read_input_tokens=5_000,
)


@pytest.fixture(autouse=True)
def _packaged_table(monkeypatch):
    monkeypatch.delenv(PRICE_TABLE_ENV_VAR, raising=False)


def _sonnet_by_hand(usage: TokenUsage) -> Decimal:
    """Sonnet's cost of ``usage`` at 3 / 15 USD per MTok and the cache multipliers."""
    base = Decimal(3)
    return (
        usage.input_tokens * base
        + usage.output_tokens * Decimal(15)
        + usage.cache_creation_5m_input_tokens * base * Decimal("1.25")
        + usage.cache_creation_1h_input_tokens * base * 2
        + usage.cache_read_input_tokens * base * Decimal("0.1")
    ) / MILLION


def test_the_packaged_table_prices_sonnet_and_its_dated_names():
    table = price_table()
    sonnet = table.price("claude-sonnet-4-6")
    assert sonnet is not None
    assert (sonnet.input, sonnet.output) == (Decimal(3), Decimal(15))
    assert table.price("claude-sonnet-4-5-20250929") == table.price("claude-sonnet-4-5")
    assert table.price("claude-sonnet-4-5-20250929") is not None
    assert table.version == "anthropic-2026-11-23"


def test_a_cost_with_every_kind_of_token_is_the_exact_hand_sum():
    by_hand = _sonnet_by_hand(EVERY_KIND)
    assert by_hand == Decimal("0.00885")  # 3000 + 3000 + 750 + 600 + 1500 micro-dollars
    cost = price_table().cost("claude-sonnet-4-6", EVERY_KIND)
    assert isinstance(cost, Decimal) and cost == by_hand
    assert price_table().cost("claude-sonnet-4-6", EVERY_KIND, "standard") == by_hand


def test_each_kind_of_token_has_its_own_price():
    table = price_table()
    kinds = {
        "input": (TokenUsage(input_tokens=1_000_000), Decimal(3)),
        "output": (TokenUsage(output_tokens=1_000_000), Decimal(15)),
        "5m write": (TokenUsage(cache_creation_input_tokens=1_000_000), Decimal("3.75")),
        "1h write": (TokenUsage(cache_creation_input_tokens=1_000_000,
                                cache_creation_1h_input_tokens=1_000_000), Decimal(6)),
        "read": (TokenUsage(cache_read_input_tokens=1_000_000), Decimal("0.3")),
    }
    costs = {kind: table.cost("claude-sonnet-4-6", usage) for kind, (usage, _) in kinds.items()}
    assert costs == {kind: price for kind, (_, price) in kinds.items()}


def test_the_batch_tier_halves_the_cost():
    table = price_table()
    assert table.cost("claude-sonnet-4-6", EVERY_KIND, "batch") == _sonnet_by_hand(EVERY_KIND) / 2


def test_a_model_missing_from_the_table_has_no_cost():
    table = price_table()
    assert table.price("claude-unknown-9") is None
    assert table.cost("claude-unknown-9", EVERY_KIND) is None
    assert table.cost("claude-unknown-9", TokenUsage()) is None


def test_ecl_price_table_replaces_the_whole_table(tmp_path, monkeypatch):
    mine = tmp_path / "prices.toml"
    mine.write_text(
        'version = "ours-2026-01"\n'
        "[multipliers]\ncache_read = 0.5\n"
        '[models.local-llama]\naliases = ["llama-latest"]\ninput = 2\noutput = 4.5\n'
        "cache_write_5m = 10\n"
    )
    monkeypatch.setenv(PRICE_TABLE_ENV_VAR, str(mine))
    table = price_table()
    assert table.version == "ours-2026-01"
    assert table.source == str(mine)
    assert table.price("claude-sonnet-4-6") is None, "the packaged table is replaced whole"
    usage = TokenUsage(input_tokens=1_000_000, output_tokens=1_000_000,
                       cache_creation_input_tokens=1_000_000, cache_read_input_tokens=1_000_000)
    # 2 input + 4.5 output + 10 (own 5m write price) + 2 x 0.5 (table's read multiplier)
    assert table.cost("local-llama", usage) == Decimal("17.5")
    assert table.cost("llama-latest", usage) == Decimal("17.5")


@pytest.mark.parametrize(
    ("name", "text", "field"),
    [
        ("negative.toml", 'version = "x"\n[models.m]\ninput = -1\noutput = 1\n',
         "models.m.input is -1"),
        ("negative_output.toml", 'version = "x"\n[models.m]\ninput = 1\noutput = -0.5\n',
         "models.m.output is"),
        ("no_output.toml", 'version = "x"\n[models.m]\ninput = 1\n',
         "models.m needs 'input' and 'output'"),
        ("text_price.toml", 'version = "x"\n[models.m]\ninput = "3"\noutput = 1\n',
         "models.m.input is '3'"),
        ("no_version.toml", "[models.m]\ninput = 1\noutput = 1\n", "'version'"),
        ("not_toml.toml", "version = \n", "cannot read price table"),
    ],
)
def test_an_unusable_table_is_refused_naming_the_file_and_field(tmp_path, name, text, field):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_price_table(path)
    assert str(path) in str(caught.value)
    assert field in str(caught.value)


def test_an_unusable_table_named_by_the_variable_is_refused_too(tmp_path, monkeypatch):
    path = tmp_path / "bad-by-env.toml"
    path.write_text('version = "x"\n[models.m]\ninput = 1\noutput = -2\n')
    monkeypatch.setenv(PRICE_TABLE_ENV_VAR, str(path))
    with pytest.raises(ConfigError, match=r"models\.m\.output is -2") as caught:
        price_table()
    assert str(path) in str(caught.value)
