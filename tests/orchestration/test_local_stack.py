"""The local stack (Postgres, code server, webserver, daemon) used the way a person uses it."""

import json
import time

import sqlalchemy as sa

from ecl_dagster.stack.local import LocalStack

RUNNING = ("STARTING", "STARTED", "CANCELING")


def _runs(stack: LocalStack) -> dict[str, tuple[str, str]]:
    """Request file -> (run id, status), for runs started from the inbox."""
    query = sa.text(
        "SELECT t.value, r.run_id, r.status FROM runs r JOIN run_tags t ON t.run_id = r.run_id"
        " WHERE t.key = 'ecl/request_file'"
    )
    with sa.create_engine(stack.postgres_url).connect() as conn:
        rows = conn.execute(query).all()
    files = [row[0] for row in rows]
    assert len(files) == len(set(files)), f"a request ran twice: {sorted(files)}"
    return {row[0]: (row[1], row[2]) for row in rows}


def _in_progress(stack: LocalStack) -> int:
    query = sa.text("SELECT count(*) FROM runs WHERE status IN :states").bindparams(
        sa.bindparam("states", expanding=True)
    )
    with sa.create_engine(stack.postgres_url).connect() as conn:
        return int(conn.execute(query, {"states": list(RUNNING)}).scalar_one())


def _wait_until(what, check, timeout_s=300, every_s=0.25, each=None):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if each:
            each()
        if check():
            return
        time.sleep(every_s)
    raise TimeoutError(f"waited {timeout_s} s for {what}")


def test_five_requests_run_once_each_and_a_malformed_one_starts_nothing(stack):
    inbox = stack.home / "inbox"
    inbox.mkdir(exist_ok=True)
    names = [f"five-{i}.json" for i in range(5)]
    for i, name in enumerate(names):
        (inbox / name).write_text(json.dumps({"topic": f"Topic number {i}", "max_revisions": 1}))
    (inbox / "five-bad.json").write_text('{"topic": 42}')

    def finished():
        runs = _runs(stack)
        return all(runs.get(n, ("", ""))[1] == "SUCCESS" for n in names) and all(
            (inbox / "done" / n).exists() for n in names
        )

    _wait_until("5 successful runs with their files in done/", finished)
    assert "five-bad.json" not in _runs(stack)
    assert "topic: missing" in (inbox / "failed" / "five-bad.json.reason.txt").read_text()
    assert not any((inbox / n).exists() for n in [*names, "five-bad.json"])


def test_a_burst_of_20_never_has_more_than_4_runs_in_progress(stack):
    inbox = stack.home / "inbox"
    inbox.mkdir(exist_ok=True)
    names = [f"burst-{i:02d}.txt" for i in range(20)]
    for i, name in enumerate(names):
        (inbox / f".{name}").write_text(f"Burst topic {i}")
    for name in names:  # appear at once, as complete files
        (inbox / f".{name}").rename(inbox / name)

    seen = []

    def all_succeeded():
        runs = _runs(stack)
        return all(runs.get(n, ("", ""))[1] == "SUCCESS" for n in names)

    _wait_until("20 successful runs", all_succeeded, timeout_s=600,
                each=lambda: seen.append(_in_progress(stack)))
    assert max(seen) <= 4, f"at most 4 runs may be in progress; saw {max(seen)}"
    assert max(seen) >= 2, "the burst should have run in parallel"
    runs = _runs(stack)
    assert len({runs[n][0] for n in names}) == 20
