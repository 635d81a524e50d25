"""Run in a separate process: make N calls through the anthropic provider and report outcomes.

Usage: python breaker_worker.py BASE_URL STORE_URL CALLS
Prints one line per call: the ECL error class name, or "ok".
"""

import os
import sys

from ecl_core.errors import ECLError
from ecl_core.llm.factory import ProviderSettings, build_provider
from ecl_core.llm.resilience import RetrySettings
from ecl_core.types import CompletionRequest, Message


def main() -> None:
    base_url, store_url, calls = sys.argv[1], sys.argv[2], int(sys.argv[3])
    os.environ["ANTHROPIC_BASE_URL"] = base_url  # where the API is: a deployment setting
    settings = ProviderSettings(
        provider="anthropic",
        timeout_s=5,
        retry=RetrySettings(max_attempts=1),
        db_url=store_url,
    )
    provider = build_provider(settings, api_key="sk-ant-worker-key-000000")
    request = CompletionRequest(
        system="s", messages=(Message(role="user", content="u"),), max_tokens=8, step="generate"
    )
    for _ in range(calls):
        try:
            provider.complete(request)
            print("ok")  # noqa: T201
        except ECLError as err:
            print(type(err).__name__)  # noqa: T201


if __name__ == "__main__":
    main()
