"""``LLMResource``: the LLM provider, its retry policy and circuit breaker, as one resource."""

import os
import socket
from collections.abc import Mapping
from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr

from ecl_core.bounds import LLM_SETTING_RANGES, check_ranges, decimal_number, whole_number
from ecl_core.errors import FieldError, ValidationError
from ecl_core.llm.base import Provider
from ecl_core.llm.factory import (
    DEFAULT_MODEL,
    ProviderSettings,
    build_provider,
    key_variable,
    resolve_provider_name,
)
from ecl_core.llm.resilience import BreakerSettings, RateLimits, RetrySettings
from ecl_core.llm.windows import ModelLimits
from ecl_core.logging import configure_logging
from ecl_core.types import CompletionRequest
from ecl_dagster.runs.orphans import WORKER_HOST_TAG
from ecl_dagster.storage.ecl_db import ECL_DB_ENV_VAR, ecl_db_url
from ecl_dagster.usage.budgets import run_budget
from ecl_dagster.usage.tags import USAGE_TAGS, tag_run_usage, usage_tag_changes

__all__ = ["BREAKER_ENV_VARS", "RATE_LIMIT_ENV_VARS", "LLMResource", "env_sourced"]

PROVIDER_TAG = "ecl/llm_provider"
"""Run tag naming the run's provider (``auto`` resolved), written as its LLM resource sets
up, so the runs list in the UI shows it."""


RATE_LIMIT_ENV_VARS = {
    "rate_limit_requests_per_minute": "ECL_RATE_LIMIT_REQUESTS_PER_MINUTE",
    "rate_limit_input_tokens_per_minute": "ECL_RATE_LIMIT_INPUT_TOKENS_PER_MINUTE",
    "rate_limit_output_tokens_per_minute": "ECL_RATE_LIMIT_OUTPUT_TOKENS_PER_MINUTE",
}
"""The API account's limits as deployment settings: each field's environment variable."""

BREAKER_ENV_VARS = {
    "breaker_failure_threshold": "ECL_BREAKER_FAILURE_THRESHOLD",
    "breaker_window_s": "ECL_BREAKER_WINDOW_S",
    "breaker_reset_timeout_s": "ECL_BREAKER_RESET_TIMEOUT_S",
}
"""The shared circuit breaker's settings: the deployment's, one environment variable each
(every process of the instance must agree), else the resource's defaults. A run's config may
not set them: one run's ``breaker_failure_threshold: 1`` would open the breaker every run
shares on a single failure."""


def _llm_config(run_config: Mapping[str, Any]) -> Mapping[str, Any]:
    """``resources.llm.config`` of ``run_config``, or an empty mapping."""
    resources = run_config.get("resources")
    llm = resources.get("llm") if isinstance(resources, Mapping) else None
    config = llm.get("config") if isinstance(llm, Mapping) else None
    return config if isinstance(config, Mapping) else {}


def env_sourced(run_config: Mapping[str, Any]) -> list[str]:
    """The LLM settings ``run_config`` reads from an environment variable (``{env: NAME}``).

    Dagster resolves that form for any string setting; a run may set ECL's settings only to
    plain values, so such a setting is refused before anything reads it (the value never
    reaches a model name, the ledger, metrics or an error text).
    """
    return sorted(name for name, value in _llm_config(run_config).items()
                  if isinstance(value, Mapping) and "env" in value)


def _breaker(resource: "LLMResource") -> BreakerSettings:
    """The shared breaker's settings: ``BREAKER_ENV_VARS`` where set, else the resource's.

    Raises:
        ValidationError: A variable is not a number in its field's range.
    """
    values: dict[str, float] = {}
    for field, variable in BREAKER_ENV_VARS.items():
        text = os.environ.get(variable, "").strip()
        number = decimal_number(text) if text else None
        value = float(number) if number is not None else float(getattr(resource, field))
        problem = LLM_SETTING_RANGES[field].problem(value)
        if (text and number is None) or problem is not None:
            raise ValidationError("settings out of range", [FieldError(
                variable, f"is {text[:40]!r}; {problem or 'it must be a number'}")])
        values[field] = value
    return BreakerSettings(failure_threshold=int(values["breaker_failure_threshold"]),
                           window_s=values["breaker_window_s"],
                           reset_timeout_s=values["breaker_reset_timeout_s"])


def _limit(resource: "LLMResource", field: str) -> int:
    """A rate limit: the tighter of the deployment's (``RATE_LIMIT_ENV_VARS``) and the run's.

    Read at setup, not bound in the definitions: run config for a resource replaces every
    value bound in Python, so a bound limit would vanish from any run that configures the
    LLM (docs/dagster-notes.md). A run may tighten the deployment's limit, never loosen it.

    Raises:
        ValidationError: The variable is not a whole number from 0 to the field's maximum.
    """
    run_value: int = getattr(resource, field)
    text = os.environ.get(RATE_LIMIT_ENV_VARS[field], "").strip()
    if not text:
        return run_value
    allowed = LLM_SETTING_RANGES[field]
    deployment = whole_number(text)
    if deployment is None or allowed.problem(deployment) is not None:
        raise ValidationError("settings out of range", [FieldError(
            RATE_LIMIT_ENV_VARS[field], f"is {text[:40]!r}; it must be a whole number (digits "
            f"0-9) from {allowed.low:,.0f} (no limit) to {allowed.high:,.0f}")])
    limits = [v for v in (run_value, deployment) if v > 0]
    return min(limits) if limits else 0


class LLMResource(dg.ConfigurableResource):
    """The language model every ECL op calls, with ECL's retries and circuit breaker.

    What a run may choose is run config: the provider, the model, token and time limits,
    retries and breaker thresholds, each within the range its description gives (checked
    before any call; an out-of-range value fails the run with a ``ValidationError`` naming
    the field and the range, ``ecl_core.bounds``).

    Where the API is reached and with which key are deployment settings, read from the
    environment of the process that runs the step, never from run config:
    ``ANTHROPIC_API_KEY`` (through ``dg.EnvVar``, so it never enters run config, the
    launchpad, event metadata or logs), ``ANTHROPIC_BASE_URL`` (read by the SDK),
    ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL`` for ``openai_compatible``, and
    ``ECL_DATABASE_URL``. Dagster's config check refuses a run config that names one of
    them before the run starts. With provider ``auto`` an unset key means the offline
    provider, not a failed launch.
    """

    provider: str = Field(
        "auto",
        description="auto (anthropic if ANTHROPIC_API_KEY is set, else offline), "
        "anthropic, openai_compatible (the server at OPENAI_BASE_URL), offline or scripted.",
    )
    model: str = Field(DEFAULT_MODEL, description="The model name the provider knows.")
    max_tokens: int = Field(
        1024, description="Upper bound on generated tokens per call: 1 to 128,000."
    )
    context_window_tokens: int = Field(
        0, description="The model's context window (prompt and output), when the server does "
        "not report it (llama-server's /props and vLLM's /v1/models do): 0 (ask the server, "
        "else Anthropic's published figure for Claude models) to 10,000,000 tokens. Every "
        "request is sized to it before it is sent."
    )
    max_output_tokens: int = Field(
        0, description="Most output tokens the model writes in one answer: 0 (no limit but "
        "the window, or the published figure) to 128,000."
    )
    temperature: float | None = Field(
        None, description="Sampling temperature of every openai_compatible call: 0 to 2 (the "
        "Messages API takes none); unset leaves the server's default. 0 makes a local model's "
        "answers repeatable."
    )
    fit_output_schema: bool = Field(
        False, description="Tighten each structured output's JSON schema (maxLength, maxItems) "
        "so that its longest answer fits max_tokens: for small local models, which under "
        "constrained decoding fill every string and list the schema allows. Off by default: "
        "it shortens what a capable model may write."
    )
    timeout_s: float = Field(60.0, description="Per-request timeout: 0.1 to 600 seconds.")
    scripted_path: str | None = Field(
        None, description="JSON list of canned responses, for provider 'scripted'."
    )
    retry_max_attempts: int = Field(3, description="Attempts per LLM call, the first included: "
                                    "1 to 10.")
    retry_initial_delay_s: float = Field(1.0, description="First backoff wait: 0 to 300 s.")
    retry_max_delay_s: float = Field(4.0, description="Longest backoff wait: 0 to 300 s.")
    retry_after_cap_s: float = Field(30.0, description="Cap on a provider's retry-after: 0 to "
                                     "600 s.")
    breaker_failure_threshold: int = Field(5, description="Transient failures that open the "
                                           "shared breaker: 1 to 1,000. The deployment's "
                                           "(ECL_BREAKER_FAILURE_THRESHOLD): not per run.")
    breaker_window_s: float = Field(60.0, description="Window those failures fall in: 1 to "
                                    "3,600 s.")
    breaker_reset_timeout_s: float = Field(30.0, description="Seconds open before a trial "
                                           "call: 1 to 3,600.")
    rate_limit_requests_per_minute: int = Field(
        0, description="Calls per minute to this provider and model, shared by every run and "
        "process of the instance: 0 (no limit) to 1,000,000. The deployment's "
        "ECL_RATE_LIMIT_REQUESTS_PER_MINUTE applies too; the tighter one wins."
    )
    rate_limit_input_tokens_per_minute: int = Field(
        0, description="Input tokens per minute (estimated before the call at 3 characters a "
        "token), shared like the requests: 0 (no limit) to 100,000,000; or "
        "ECL_RATE_LIMIT_INPUT_TOKENS_PER_MINUTE, the tighter one winning."
    )
    rate_limit_output_tokens_per_minute: int = Field(
        0, description="Output tokens per minute (each call charged at max_tokens), shared "
        "like the requests: 0 (no limit) to 100,000,000; or "
        "ECL_RATE_LIMIT_OUTPUT_TOKENS_PER_MINUTE, the tighter one winning."
    )
    rate_limit_max_wait_s: float = Field(
        120.0, description="Longest a call waits for rate-limit capacity before it fails as "
        "transient: 0 to 3,600 s."
    )
    prompt_caching: bool = Field(
        True, description="Mark the stable prefix of repeated calls (system prompt, cached "
        "context) with cache_control, so later calls read it from Anthropic's prompt cache."
    )
    prompt_cache_ttl: str = Field(
        "5m", description="The prompt cache's time to live: 5m (writes cost 1.25 x input) or "
        "1h (2 x input), per Anthropic's prompt-caching pricing."
    )
    budget_tokens: int = Field(
        0, description="Tokens of every kind the run's lineage (the run and its re-executions) "
        "may bill: 0 (no budget) to 1,000,000,000,000. The run tag ecl/budget_tokens replaces "
        "it. A call that could cross it is not made; the step fails with BudgetExceeded."
    )
    budget_usd: float = Field(
        0.0, description="USD the run's lineage may bill, by the price table: 0 (no budget) to "
        "1,000,000. The run tag ecl/budget_usd replaces it."
    )
    max_concurrent_calls: int = Field(
        8, description="Calls one mapped step (a document's sections, a plan's phases) makes "
        "at once: 1 to 64. Every process's calls still share the breaker and the journal."
    )

    _settings: ProviderSettings | None = PrivateAttr(None)
    _provider: Provider | None = PrivateAttr(None)
    _run: dg.DagsterRun | None = PrivateAttr(None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Check the settings' ranges and resolve them; the provider is built on first use.

        Raises:
            ValidationError: A setting is outside its range, or the run's config reads it
                from an environment variable (``{env: NAME}``); a detail names each one.
        """
        configure_logging()
        run_config = context.run.run_config if context.run is not None else {}
        sourced = env_sourced(run_config)
        if sourced:
            raise ValidationError("settings read from the environment", [FieldError(
                f"resources.llm.config.{name}", "is read from an environment variable "
                "({env: ...}); a run chooses plain values, and the deployment's environment "
                "(its keys, its database password) is not a run's to read") for name in sourced])
        shared = sorted(set(BREAKER_ENV_VARS) & set(_llm_config(run_config)))
        if shared:
            raise ValidationError("settings that are the deployment's", [FieldError(
                f"resources.llm.config.{name}", "is the deployment's: the circuit breaker is "
                f"shared by every run, so no run may set it (set {BREAKER_ENV_VARS[name]} for "
                "every process instead)") for name in shared])
        check_ranges(self, LLM_SETTING_RANGES, "resources.llm.config")
        if self.temperature is not None and not 0 <= self.temperature <= 2:
            raise ValidationError("settings out of range", [FieldError(
                "resources.llm.config.temperature",
                f"is {self.temperature:g}; it must be 0 to 2, or unset")])
        if self.prompt_cache_ttl not in ("5m", "1h"):
            raise ValidationError("settings out of range", [FieldError(
                "resources.llm.config.prompt_cache_ttl",
                f"is {self.prompt_cache_ttl!r}; it must be 5m or 1h")])
        db_url = (
            ecl_db_url(context.instance) if context.instance is not None
            else dg.EnvVar(ECL_DB_ENV_VAR).get_value()
        )
        self._settings = ProviderSettings(
            provider=self.provider,  # type: ignore[arg-type]  # checked by build_provider
            model=self.model,
            timeout_s=self.timeout_s,
            scripted_path=self.scripted_path,
            retry=RetrySettings(
                max_attempts=self.retry_max_attempts,
                initial_delay_s=self.retry_initial_delay_s,
                max_delay_s=self.retry_max_delay_s,
                retry_after_cap_s=self.retry_after_cap_s,
            ),
            breaker=_breaker(self),
            rate_limits=RateLimits(
                requests_per_minute=_limit(self, "rate_limit_requests_per_minute"),
                input_tokens_per_minute=_limit(self, "rate_limit_input_tokens_per_minute"),
                output_tokens_per_minute=_limit(self, "rate_limit_output_tokens_per_minute"),
                max_wait_s=self.rate_limit_max_wait_s,
            ),
            prompt_caching=self.prompt_caching,
            temperature=self.temperature,
            fit_output_schema=self.fit_output_schema,
            cache_ttl="1h" if self.prompt_cache_ttl == "1h" else "5m",
            budget=run_budget(self, context.run.tags if context.run is not None else {}),
            limits=ModelLimits(
                self.context_window_tokens, self.max_output_tokens or None,
                source="resources.llm.config.context_window_tokens",
            ) if self.context_window_tokens else None,
            db_url=db_url,
        )
        if context.instance is not None and context.run is not None:
            provider = resolve_provider_name(
                self._settings.provider,
                dg.EnvVar(key_variable(self._settings.provider)).get_value(),
            )
            self._run = _tag_at_setup(context.instance, context.run, provider)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        """Tag the run with what its calls billed (``ecl_dagster.usage.tags``), if it made any here.

        Dagster tears a resource down as its scope ends, even when a step failed or the run
        was cancelled: the run under the in-process executor, a step under the multiprocess
        one. One tag write a run instead of one a step: a write costs a read and a
        transaction in run storage (docs/benchmarks.md). A resource whose provider was never
        built (Dagster sets it up again after ``dg launch``'s run, for its result) writes
        nothing.
        """
        if self._provider is not None and context.instance is not None and self._run:
            tag_run_usage(context.instance, self._run)

    @property
    def llm(self) -> Provider:
        """The guarded provider, built on first use.

        Raises:
            ConfigError: The provider cannot be built (unknown name, no key for anthropic).
        """
        if self._provider is None:
            if self._settings is None:
                raise dg.DagsterInvariantViolationError("LLMResource used before setup")
            api_key = dg.EnvVar(key_variable(self._settings.provider)).get_value()
            self._provider = build_provider(self._settings, api_key)
        return self._provider


    def model_limits(self) -> ModelLimits | None:
        """The model's context window and output limit (``ecl_core.llm.windows``), or None.

        None for the offline provider, and when neither the server, the settings nor the
        table of Claude models says.
        """
        window = getattr(self.llm, "window", None)
        return window.model_limits() if window is not None else None

    def prompt_room(self, request: CompletionRequest) -> int | None:
        """Tokens the model's window leaves for more prompt once ``request`` is sent whole.

        The window less the request's prompt tokens (counted by the server where it can)
        and its ``max_tokens``; negative when it does not fit. None when no window is known.
        """
        window = getattr(self.llm, "window", None)
        return window.prompt_room(request) if window is not None else None


def _tag_at_setup(
    instance: dg.DagsterInstance, run: dg.DagsterRun, provider: str
) -> dg.DagsterRun:
    """Tag ``run`` with its worker's host and its provider, in one write; return it so.

    A tag write is a read and a transaction in run storage (about 6 ms on SQLite). Usage
    tags the run already carries are set to its own totals in the same write: Dagster's
    run retries and the UI's re-execution copy the parent's.
    """
    tags = {WORKER_HOST_TAG: socket.gethostname(), PROVIDER_TAG: provider}
    changed = {k: v for k, v in tags.items() if run.tags.get(k) != v}
    if any(tag in run.tags for tag in USAGE_TAGS):
        changed.update(usage_tag_changes(instance, run))
    if changed:
        instance.add_run_tags(run.run_id, changed)
    return run.with_tags({**run.tags, **changed})
