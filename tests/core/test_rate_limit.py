"""The shared rate limiter over the Messages API server: two processes, one window; the API's
own rate-limit headers; the limits a request can never fit in. No Dagster here."""

import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ecl_core.errors import PermanentLLMError
from ecl_core.llm.factory import ProviderSettings, build_provider
from ecl_core.llm.rate_limit import estimated_input_tokens
from ecl_core.llm.resilience import RateLimits, RetrySettings
from ecl_core.types import CompletionRequest, Message

from messages_api import Reply
from scenarios import API_KEY

WORKER = Path(__file__).with_name("provider_worker.py")
REQUEST = CompletionRequest(
    system="s", messages=(Message(role="user", content="u"),), max_tokens=8, step="generate"
)


def _provider(tmp_path: Path, **limits: float) -> object:
    settings = ProviderSettings(
        provider="anthropic", timeout_s=5, retry=RetrySettings(max_attempts=1),
        rate_limits=RateLimits(**limits), db_url=f"sqlite:///{tmp_path / 'ecl.db'}",
    )
    return build_provider(settings, api_key=API_KEY)


def _most_in_any_minute(times: list[float]) -> int:
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t < start + 60) for i, start in enumerate(times))


def test_two_processes_share_one_window_of_10_requests_per_minute(messages_api, tmp_path):
    messages_api.fallback = Reply(text="fine")
    store = f"sqlite:///{tmp_path / 'ecl.db'}"
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), messages_api.url, store, "7", "10"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(2)
    ]
    outputs = [w.communicate(timeout=240) for w in workers]
    lines = [line for out, _ in outputs for line in out.split()]
    assert [w.returncode for w in workers] == [0, 0], [err[-2000:] for _, err in outputs]
    assert lines.count("ok") == 14, outputs
    arrivals = sorted(r.received_at for r in messages_api.requests)
    assert len(arrivals) == 14
    assert _most_in_any_minute(arrivals) == 10
    assert arrivals[10] - arrivals[0] >= 60  # the 11th waited for the window, not a 429
    waited = [int(x) for x in lines if x.isdigit()]  # ms each call waited for capacity
    assert len(waited) == 14
    assert max(waited) > 30_000  # a call past the limit waited for the next minute


def test_a_used_up_limit_in_the_headers_makes_the_next_call_wait_until_its_reset(
    messages_api, tmp_path
):
    reset = datetime.fromtimestamp(time.time() + 3, UTC).isoformat().replace("+00:00", "Z")
    messages_api.script([
        Reply(text="first", headers={
            "anthropic-ratelimit-requests-remaining": "0",
            "anthropic-ratelimit-requests-reset": reset,
        }),
        Reply(text="second"),
    ])
    provider = _provider(tmp_path, requests_per_minute=1000)
    provider.complete(REQUEST)
    answered_at = time.time()
    second = provider.complete(REQUEST)
    assert second.text == "second"
    reset_at = datetime.fromisoformat(reset).timestamp()
    assert messages_api.requests[1].received_at >= reset_at
    assert second.rate_limit_wait_ms >= (reset_at - answered_at) * 1000 - 50


def test_a_pause_longer_than_max_wait_fails_the_call_as_transient_without_sending_it(
    messages_api, tmp_path
):
    reset = datetime.fromtimestamp(time.time() + 600, UTC).isoformat()
    messages_api.script([Reply(text="first", headers={
        "anthropic-ratelimit-input-tokens-remaining": "0",
        "anthropic-ratelimit-input-tokens-reset": reset,
    })])
    provider = _provider(tmp_path, requests_per_minute=1000, max_wait_s=1)
    provider.complete(REQUEST)
    with pytest.raises(Exception) as caught:
        provider.complete(REQUEST)
    assert type(caught.value).__name__ == "RateLimitWaitError"
    assert "max_wait_s is 1" in str(caught.value)
    assert len(messages_api.requests) == 1


def test_a_reset_in_2099_pauses_every_call_for_a_minute_at_most(messages_api, tmp_path):
    messages_api.script([Reply(text="first", headers={
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-requests-reset": "2099-01-01T00:00:00Z",
    })])
    provider = _provider(tmp_path, requests_per_minute=1000, max_wait_s=1)
    provider.complete(REQUEST)
    with pytest.raises(Exception) as caught:
        provider.complete(REQUEST)
    waited = float(str(caught.value).split("used up for ")[1].split(" s more")[0])
    assert 55 <= waited <= 60


def test_a_request_larger_than_a_per_minute_limit_is_refused_at_once(messages_api, tmp_path):
    messages_api.fallback = Reply(text="fine")
    big = REQUEST.model_copy(update={"max_tokens": 5000})
    provider = _provider(tmp_path, requests_per_minute=1, output_tokens_per_minute=4000,
                         max_wait_s=1)
    with pytest.raises(PermanentLLMError, match="needs 5,000 output tokens; the limit "
                       "output_tokens_per_minute is 4,000"):
        provider.complete(big)
    assert messages_api.requests == []
    # The refused request took no capacity: the one request of this minute is still free.
    assert provider.complete(REQUEST).text == "fine"


def test_input_tokens_are_estimated_at_three_characters_each():
    request = REQUEST.model_copy(update={
        "system": "x" * 30, "messages": (Message(role="user", content="y" * 31),)
    })
    assert estimated_input_tokens(request) == 21
