"""Choosing and assembling a provider: ``auto`` / ``anthropic`` / ``offline`` / ``scripted``."""

import os
from dataclasses import dataclass, field
from typing import Literal

from ecl_core.errors import ConfigError
from ecl_core.llm.base import Provider
from ecl_core.llm.resilience import (
    BreakerSettings,
    RateLimits,
    ResilientProvider,
    RetrySettings,
    make_breaker,
)
from ecl_core.llm.windows import ModelLimits, SizedProvider
from ecl_core.logging import configure_logging, get_logger, register_secret
from ecl_core.types import CacheTTL
from ecl_core.usage.limits import Budget
from ecl_core.usage.prices import price_table

__all__ = [
    "API_KEY_ENV_VAR",
    "OPENAI_API_KEY_ENV_VAR",
    "OPENAI_BASE_URL_ENV_VAR",
    "BREAKER_TIMEOUT_FLOOR_S",
    "DEFAULT_MODEL",
    "ProviderName",
    "ProviderSettings",
    "build_provider",
    "key_variable",
    "resolve_provider_name",
]

ProviderName = Literal["auto", "anthropic", "openai_compatible", "offline", "scripted"]
DEFAULT_MODEL = "claude-sonnet-4-6"
API_KEY_ENV_VAR = "ANTHROPIC_API_KEY"
"""The environment variable that holds the Anthropic API key: a deployment setting."""
OPENAI_API_KEY_ENV_VAR = "OPENAI_API_KEY"
"""The key of an OpenAI-compatible server (any value for a server without auth)."""
OPENAI_BASE_URL_ENV_VAR = "OPENAI_BASE_URL"
"""The OpenAI-compatible server's API root, with ``/v1``; unset means OpenAI's own API."""
BREAKER_TIMEOUT_FLOOR_S = 30.0
"""A timeout counts against the shared breaker only when the call allowed at least this
many seconds: a run that chose a shorter timeout fails its own calls, not everyone's."""
_log = get_logger("ecl.llm")


@dataclass(frozen=True)
class ProviderSettings:
    """Which provider answers, and how it is guarded.

    Attributes:
        provider: ``auto`` means ``anthropic`` when an API key is given, else ``offline``.
        model: The model name (ignored by ``offline``).
        timeout_s: Per-request timeout, in seconds. The API root is a deployment setting:
            ``ANTHROPIC_BASE_URL`` (read by the SDK), ``OPENAI_BASE_URL`` for
            ``openai_compatible``.
        scripted_path: JSON file of responses for ``scripted``.
        retry: Retry settings, applied to every provider.
        breaker: Circuit-breaker settings.
        rate_limits: Per-minute limits shared by every process (``ecl_core.llm.rate_limit``);
            applied only with ``db_url``, where their windows live.
        prompt_caching: Mark the stable prefix of repeated requests with ``cache_control``
            (anthropic only; other providers cache by themselves or not at all).
        cache_ttl: The prompt cache's time to live, ``5m`` or ``1h``.
        budget: What each lineage may bill (``ecl_core.usage.budget``); needs ``db_url``.
        temperature: Sampling temperature of every ``openai_compatible`` call (the Messages
            API's SDK takes none); None leaves the server's default. 0 makes a local model's
            answers repeatable.
        fit_output_schema: Tighten each structured output's JSON schema so that its longest
            answer fits ``max_tokens`` (``ecl_core.llm.schema_budget``), for small models.
        limits: The model's context window and output limit when the deployment or run says
            them; the server's own figures come first (``ecl_core.llm.windows``).
        db_url: SQLAlchemy URL of ECL's database, where breaker state, the response
            journal, the usage ledger and budgets are shared by processes; ``None`` for none.
    """

    provider: ProviderName = "auto"
    model: str = DEFAULT_MODEL
    timeout_s: float = 60.0
    scripted_path: str | None = None
    retry: RetrySettings = field(default_factory=RetrySettings)
    breaker: BreakerSettings = field(default_factory=BreakerSettings)
    rate_limits: RateLimits = field(default_factory=RateLimits)
    prompt_caching: bool = True
    cache_ttl: CacheTTL = "5m"
    budget: Budget = field(default_factory=Budget)
    temperature: float | None = None
    fit_output_schema: bool = False
    limits: ModelLimits | None = None
    db_url: str | None = None

    @property
    def journal_lease_s(self) -> float:
        """Longest a call may take, all attempts and waits included, plus a margin, in seconds."""
        retry = self.retry
        return retry.max_attempts * (self.timeout_s + retry.max_delay_s) + 30.0


def key_variable(provider: ProviderName) -> str:
    """The environment variable that holds ``provider``'s key (a deployment setting)."""
    return OPENAI_API_KEY_ENV_VAR if provider == "openai_compatible" else API_KEY_ENV_VAR


def resolve_provider_name(provider: ProviderName, api_key: str | None) -> str:
    """The provider that ``provider`` stands for, given whether an API key is set."""
    if provider != "auto":
        return provider
    return "anthropic" if api_key else "offline"


def build_provider(settings: ProviderSettings, api_key: str | None) -> Provider:
    """Build the provider ``settings`` names, wrapped in retries, the breaker and the journal.

    From the inside out: the provider, its sizing to the model's context window
    (``ecl_core.llm.windows``; not for ``offline``), the rate limiter (when limits are set), retries
    around each call with the breaker guarding every attempt, then the journal (when
    ``db_url`` is set): a journaled answer costs no capacity, and every attempt waits for
    it; outermost the meter (``ecl_core.usage.metering``), which prices every answer and,
    with ``db_url``, records it in the usage ledger and checks the budget before a call the
    journal cannot answer. Timeouts count against the breaker only when ``timeout_s`` is at
    least ``BREAKER_TIMEOUT_FLOOR_S``.

    Configures logging with ECL's defaults if this process has not configured structlog.

    Args:
        settings: Which provider, and how it is guarded.
        api_key: The value of ``key_variable(settings.provider)``, if set.

    Raises:
        ConfigError: ``anthropic`` or ``openai_compatible`` without a key, ``scripted``
            without a file, a budget without ``db_url``, or an unusable price table.
    """
    configure_logging()
    name = resolve_provider_name(settings.provider, api_key)
    if settings.provider == "auto" and name == "offline":
        _log.warning(
            "llm.provider.offline_fallback",
            reason="ANTHROPIC_API_KEY is not set; provider 'auto' uses the offline provider",
        )
    inner: Provider
    if name == "anthropic":
        if not api_key:
            raise ConfigError(f"provider 'anthropic' needs {API_KEY_ENV_VAR} to be set")
        register_secret(api_key)
        # Imported here: the SDK costs about 1.4 s to import (docs/dagster-notes.md), and a
        # deployment on the offline or scripted provider never needs it.
        from ecl_core.llm.providers.anthropic_provider import AnthropicProvider

        inner = AnthropicProvider(
            api_key=api_key,
            model=settings.model,
            timeout_s=settings.timeout_s,
            prompt_caching=settings.prompt_caching,
            cache_ttl=settings.cache_ttl,
        )
    elif name == "openai_compatible":
        if not api_key:
            raise ConfigError(f"provider 'openai_compatible' needs {OPENAI_API_KEY_ENV_VAR} to "
                              "be set (any value for a server without auth)")
        register_secret(api_key)
        from ecl_core.llm.providers.openai_provider import OpenAICompatibleProvider

        inner = OpenAICompatibleProvider(
            api_key=api_key,
            model=settings.model,
            timeout_s=settings.timeout_s,
            base_url=os.environ.get(OPENAI_BASE_URL_ENV_VAR) or None,
            temperature=settings.temperature,
        )
    elif name == "offline":
        # Imported here too: its migration answers bring the codebase scanner.
        from ecl_core.llm.providers.offline import OfflineProvider

        inner = OfflineProvider()
    elif name == "scripted":
        if not settings.scripted_path:
            raise ConfigError("provider 'scripted' needs scripted_path, a JSON list of responses")
        from ecl_core.llm.providers.scripted import ScriptedProvider

        inner = ScriptedProvider.from_file(settings.scripted_path)
    else:
        raise ConfigError(f"unknown provider {name!r}; use auto, anthropic, openai_compatible, "
                          "offline or scripted")
    counter = getattr(inner, "count_tokens", None)
    window = None if name == "offline" else SizedProvider(
        inner, settings.limits, fit_output_schema=settings.fit_output_schema)
    if window is not None:
        inner = window
    prices = price_table()
    # ECL's database layer is imported when a provider uses it (SQLAlchemy: about 0.12 s).
    from ecl_core.usage.metering import MeteredProvider

    if settings.db_url is None:
        if settings.budget.enabled:
            raise ConfigError("a budget needs ECL's database, where the usage ledger is kept")
        return MeteredProvider(ResilientProvider(inner, settings.retry), prices=prices,
                               window=window)
    from ecl_core.llm.journal import JournaledProvider
    from ecl_core.llm.rate_limit import RateLimitedProvider
    from ecl_core.usage.budget import BudgetGuard
    from ecl_core.usage.ledger import UsageLedger

    if settings.rate_limits.enabled:
        inner = RateLimitedProvider(inner, settings.rate_limits, settings.db_url)
    breaker = make_breaker(
        name, settings.breaker, settings.db_url,
        count_timeouts=settings.timeout_s >= BREAKER_TIMEOUT_FLOOR_S,
    )
    resilient = ResilientProvider(inner, settings.retry, breaker)
    journaled = JournaledProvider(resilient, settings.db_url, lease_s=settings.journal_lease_s)
    guard = BudgetGuard(settings.db_url, settings.budget) if settings.budget.enabled else None
    return MeteredProvider(
        journaled, prices=prices, ledger=UsageLedger(settings.db_url), guard=guard,
        count_tokens=counter, answered=journaled.answered, window=window,
    )
