"""``LLMResource``: the LLM provider, its retry policy and circuit breaker, as one resource."""

from pathlib import Path

import dagster as dg
from pydantic import Field, PrivateAttr

from ecl_core.llm.base import Provider
from ecl_core.llm.factory import DEFAULT_MODEL, ProviderSettings, build_provider
from ecl_core.llm.resilience import BreakerSettings, RetrySettings
from ecl_core.logging import configure_logging

__all__ = ["LLMResource"]

ECL_DB_FILE = "ecl.db"
ECL_DB_ENV_VAR = "ECL_DATABASE_URL"
PROVIDER_TAG = "ecl/llm_provider"
"""Run tag naming the provider that answered, so the runs list in the UI shows it."""


def _instance_db_url(instance: dg.DagsterInstance) -> str:
    """The instance's own Postgres database if it has one, else SQLite in its storage dir."""
    postgres_url = getattr(instance.run_storage, "postgres_url", None)
    if isinstance(postgres_url, str):
        return postgres_url
    storage = Path(instance.storage_directory())
    storage.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{storage / ECL_DB_FILE}"


class LLMResource(dg.ConfigurableResource):
    """The language model every ECL op calls, with ECL's retries and circuit breaker.

    The API key is read at execution time through ``dg.EnvVar(api_key_env_var)``: it
    never enters run config, the launchpad, event metadata or logs. With provider
    ``auto`` an unset variable means the offline provider, not a failed launch.
    """

    provider: str = Field(
        "auto",
        description="auto (anthropic if the API key variable is set, else offline), "
        "anthropic, offline or scripted.",
    )
    model: str = Field(DEFAULT_MODEL, description="Anthropic model name.")
    max_tokens: int = Field(1024, description="Upper bound on generated tokens per call.")
    timeout_s: float = Field(60.0, description="Per-request timeout, in seconds.")
    api_key_env_var: str = Field(
        "ANTHROPIC_API_KEY",
        description="Name of the environment variable that holds the Anthropic API key.",
    )
    base_url: str | None = Field(
        None, description="Messages API root without /v1; unset: ANTHROPIC_BASE_URL or default."
    )
    scripted_path: str | None = Field(
        None, description="JSON list of canned responses, for provider 'scripted'."
    )
    retry_max_attempts: int = Field(3, description="Attempts per LLM call, the first included.")
    retry_initial_delay_s: float = Field(1.0, description="First backoff wait, in seconds.")
    retry_max_delay_s: float = Field(4.0, description="Longest backoff wait, in seconds.")
    retry_after_cap_s: float = Field(30.0, description="Cap on a provider's retry-after, in s.")
    breaker_failure_threshold: int = Field(5, description="Transient failures that open it.")
    breaker_window_s: float = Field(60.0, description="Window those failures fall in, in s.")
    breaker_reset_timeout_s: float = Field(30.0, description="Seconds open before a trial call.")
    ecl_db_url: str | None = Field(
        None,
        description="SQLAlchemy URL of ECL's tables (breaker state, response journal); "
        f"unset: ${ECL_DB_ENV_VAR}, else the instance's Postgres database, else a SQLite "
        "file in the instance's storage directory.",
    )

    _settings: ProviderSettings | None = PrivateAttr(None)
    _instance: dg.DagsterInstance | None = PrivateAttr(None)
    _run_id: str | None = PrivateAttr(None)
    _provider: Provider | None = PrivateAttr(None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Resolve settings for this process; the provider is built on first use."""
        configure_logging()
        db_url = self.ecl_db_url or dg.EnvVar(ECL_DB_ENV_VAR).get_value()
        if db_url is None and context.instance is not None:
            db_url = _instance_db_url(context.instance)
        self._settings = ProviderSettings(
            provider=self.provider,  # type: ignore[arg-type]  # checked by build_provider
            model=self.model,
            timeout_s=self.timeout_s,
            base_url=self.base_url,
            scripted_path=self.scripted_path,
            retry=RetrySettings(
                max_attempts=self.retry_max_attempts,
                initial_delay_s=self.retry_initial_delay_s,
                max_delay_s=self.retry_max_delay_s,
                retry_after_cap_s=self.retry_after_cap_s,
            ),
            breaker=BreakerSettings(
                failure_threshold=self.breaker_failure_threshold,
                window_s=self.breaker_window_s,
                reset_timeout_s=self.breaker_reset_timeout_s,
            ),
            db_url=db_url,
        )
        self._instance = context.instance
        self._run_id = context.run.run_id if context.run is not None else None

    @property
    def llm(self) -> Provider:
        """The guarded provider, built on first use and tagged on the run.

        Raises:
            ConfigError: The provider cannot be built (unknown name, no key for anthropic).
        """
        if self._provider is None:
            if self._settings is None:
                raise dg.DagsterInvariantViolationError("LLMResource used before setup")
            api_key = dg.EnvVar(self.api_key_env_var).get_value()
            self._provider = build_provider(self._settings, api_key)
            if self._instance is not None and self._run_id:
                self._instance.add_run_tags(self._run_id, {PROVIDER_TAG: self._provider.name})
        return self._provider
