"""Run in a separate process: make N calls through the anthropic provider, as ECL builds it.

Usage: python provider_worker.py BASE_URL STORE_URL CALLS [REQUESTS_PER_MINUTE]
Prints one line per call: "ok <milliseconds waited for rate-limit capacity>", or the ECL
error class name. The breaker and (with a limit) the rate limiter live at STORE_URL, shared
with every other worker.
"""

import os
import sys

from ecl_core.errors import ECLError
from ecl_core.llm.factory import ProviderSettings, build_provider
from ecl_core.llm.resilience import RateLimits, RetrySettings
from ecl_core.types import CompletionRequest, Message


def main() -> None:
    base_url, store_url, calls = sys.argv[1], sys.argv[2], int(sys.argv[3])
    per_minute = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    os.environ["ANTHROPIC_BASE_URL"] = base_url  # where the API is: a deployment setting
    settings = ProviderSettings(
        provider="anthropic",
        timeout_s=5,
        retry=RetrySettings(max_attempts=1),
        rate_limits=RateLimits(requests_per_minute=per_minute, max_wait_s=150),
        db_url=store_url,
    )
    provider = build_provider(settings, api_key="sk-ant-worker-key-000000")
    request = CompletionRequest(
        system="s", messages=(Message(role="user", content="u"),), max_tokens=8, step="generate"
    )
    for _ in range(calls):
        try:
            response = provider.complete(request)
            print(f"ok {response.rate_limit_wait_ms:.0f}", flush=True)  # noqa: T201
        except ECLError as err:
            print(type(err).__name__, flush=True)  # noqa: T201


if __name__ == "__main__":
    main()
