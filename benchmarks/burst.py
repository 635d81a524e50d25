"""A burst of critique_revise requests through the inbox sensor, under a shared rate limit.

Starts the local stack (PostgreSQL, code server, webserver, daemon with its queue of at most
4 runs at once), with ``ECL_RATE_LIMIT_REQUESTS_PER_MINUTE`` set, and a local Messages API
server that enforces the same limit itself: a request beyond it in any 60 s gets a 429.
Drops N request files in the inbox at once and waits for every run to end. Prints the wall
time beside the limit's ideal (every call spaced by the limit alone) and the number of 429s
the server sent (goal: none). Each run makes two calls (a draft, then a passing critique).

    .venv/bin/python benchmarks/burst.py --requests 100 --per-minute 60
"""

import argparse
import json
import math
import os
import sys
import tempfile
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import dagster as dg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from ecl_dagster.stack.local import local_stack  # noqa: E402
from ecl_dagster.stack.postgres import free_port  # noqa: E402

from messages_api import MessagesAPIServer, Reply, error  # noqa: E402

CALLS_PER_RUN = 2
DRAFT = "A draft about durable workflows."
PASS = json.dumps({"decision": "pass", "critique": "fine", "feedback": ""})


class LimitedServer:
    """Answers drafts and passing critiques; a 429 for a request past ``per_minute``."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.accepted: deque[float] = deque()
        self.rejected = 0
        self.lock = threading.Lock()
        self.server = MessagesAPIServer()
        self.server.responder = self.answer

    def answer(self, body: dict[str, Any]) -> Reply:
        now = time.monotonic()
        with self.lock:
            while self.accepted and self.accepted[0] <= now - 60:
                self.accepted.popleft()
            if len(self.accepted) >= self.per_minute:
                self.rejected += 1
                wait = 60 - (now - self.accepted[0])
                return error(429, "rate limit exceeded", headers={"retry-after": f"{wait:.0f}"})
            self.accepted.append(now)
        return Reply(text=PASS if "demanding editor" in body["system"] else DRAFT)


def finished_runs(instance: dg.DagsterInstance) -> tuple[int, int]:
    done = instance.get_runs_count(dg.RunsFilter(statuses=[dg.DagsterRunStatus.SUCCESS]))
    failed = instance.get_runs_count(dg.RunsFilter(
        statuses=[dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]))
    return done, failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--per-minute", type=int, default=60)
    parser.add_argument("--timeout-s", type=float, default=1800)
    args = parser.parse_args()
    api = LimitedServer(args.per_minute)
    api.server.start()
    with tempfile.TemporaryDirectory() as tmp:
        home, inbox = Path(tmp) / "home", Path(tmp) / "inbox"
        inbox.mkdir()
        env = {
            "ANTHROPIC_API_KEY": "sk-ant-benchmark-0000000000",
            "ANTHROPIC_BASE_URL": api.server.url,
            "ECL_INBOX_DIR": str(inbox),
            "ECL_RATE_LIMIT_REQUESTS_PER_MINUTE": str(args.per_minute),
        }
        with local_stack(home, web_port=free_port(), extra_env=env) as stack:
            os.environ.update({name: value for name, value in stack.env.items()
                               if name.startswith(("DAGSTER_", "ECL_", "ANTHROPIC_"))})
            with dg.DagsterInstance.get() as instance:
                started = time.monotonic()
                for k in range(1, args.requests + 1):
                    (inbox / f"request_{k:03d}.json").write_text(
                        json.dumps({"topic": f"Durable workflows, part {k}", "max_revisions": 1})
                    )
                while sum(finished_runs(instance)) < args.requests:
                    if time.monotonic() - started > args.timeout_s:
                        print(f"timed out: {finished_runs(instance)} of {args.requests} runs")
                        return 1
                    time.sleep(1)
                wall = time.monotonic() - started
                done, failed = finished_runs(instance)
    calls = args.requests * CALLS_PER_RUN
    ideal = 60 * (math.ceil(calls / args.per_minute) - 1)
    print(f"{args.requests} critique_revise requests through the inbox sensor, {calls} calls, "
          f"limit {args.per_minute} requests per minute (ECL's limiter and the server's)")
    print(f"{'wall s':>8}{'ideal s':>9}{'ratio':>7}{'succeeded':>11}{'failed':>8}{'429s':>6}")
    print(f"{wall:>8.0f}{ideal:>9.0f}{wall / ideal if ideal else 0:>7.2f}{done:>11}{failed:>8}"
          f"{api.rejected:>6}")
    print("goal: no 429")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "burst.json").write_text(json.dumps({
        "args": vars(args), "wall_s": wall, "ideal_s": ideal, "succeeded": done,
        "failed": failed, "429s": api.rejected,
    }, indent=2))
    api.server.stop()
    return 0 if api.rejected == 0 and failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
