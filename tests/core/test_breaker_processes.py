"""The breaker's state is shared by processes: failures from two of them add up."""

import subprocess
import sys
from pathlib import Path

from messages_api import error

WORKER = Path(__file__).with_name("provider_worker.py")


def _run_worker(server, store_url: str, calls: int) -> list[str]:
    done = subprocess.run(
        [sys.executable, str(WORKER), server.url, store_url, str(calls)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.split()


def test_failures_from_two_processes_open_the_breaker(messages_api, tmp_path):
    messages_api.fallback = error(500, "server trouble")
    store_url = f"sqlite:///{tmp_path / 'ecl.db'}"

    assert _run_worker(messages_api, store_url, 3) == ["TransientLLMError"] * 3
    assert _run_worker(messages_api, store_url, 2) == ["TransientLLMError"] * 2
    assert len(messages_api.requests) == 5

    assert _run_worker(messages_api, store_url, 2) == ["CircuitOpenError"] * 2
    assert len(messages_api.requests) == 5, "an open breaker must not call the API"


def test_four_failures_across_processes_leave_it_closed(messages_api, tmp_path):
    messages_api.fallback = error(500, "server trouble")
    store_url = f"sqlite:///{tmp_path / 'ecl.db'}"
    _run_worker(messages_api, store_url, 2)
    _run_worker(messages_api, store_url, 2)
    assert _run_worker(messages_api, store_url, 1) == ["TransientLLMError"]
    assert len(messages_api.requests) == 5
