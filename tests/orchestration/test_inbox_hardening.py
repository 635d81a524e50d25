"""One bad file never blocks an inbox: both sensors, one tick each.

A file that cannot be read for any reason (JSON nested too deeply for Python, a symlink, a
FIFO, a name that is not UTF-8) moves to ``failed/`` with its reason, and the good request
beside it gets its run. Nothing is followed or opened that is not a regular file, so no
tick can block; a file that cannot be moved stays, is logged, and stops nothing.
"""

import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
from structlog.testing import capture_logs

from ecl_dagster.analyzer import migration_request_sensor
from ecl_dagster.analyzer.settings import MigrationSettings
from ecl_dagster.definitions import defs
from ecl_dagster.triggers.sensors import topic_request_sensor

from analysis import make_codebase

NESTED = "[" * 30_000 + "]" * 30_000  # 60 KB: RecursionError in json.loads
TICK_WITHIN_S = 60
NOT_UTF8_NAME = os.fsdecode(b"caf\xe9.json")  # a Latin-1 name, as an old tool writes it


def _tick(sensor, context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """Evaluate ``sensor`` once in a thread, so that a read that blocks fails the test."""
    outcome: list[dg.SensorResult | BaseException] = []

    def evaluate() -> None:
        try:
            outcome.append(sensor(context))
        except BaseException as err:  # noqa: BLE001 - raised again below
            outcome.append(err)

    worker = threading.Thread(target=evaluate, daemon=True)
    worker.start()
    worker.join(TICK_WITHIN_S)
    assert outcome, f"the sensor tick did not end within {TICK_WITHIN_S} s"
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def _bad_files(inbox, secret_file):
    (inbox / "nested.json").write_text(NESTED)
    (inbox / "link.json").symlink_to(secret_file)
    os.mkfifo(inbox / "pipe.json")


def _reasons(inbox) -> dict[str, str]:
    failed = inbox / "failed"
    return {p.name.removesuffix(".reason.txt"): p.read_text()
            for p in failed.iterdir() if p.name.endswith(".reason.txt")}


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "private.json"
    path.write_text(json.dumps({"topic": "private topic", "code_path": ".", "target": "Go"}))
    return path


def test_the_topic_inbox_goes_on_past_files_it_cannot_read(
    instance, tmp_path, monkeypatch, secret_file
):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    monkeypatch.setenv("ECL_INBOX_DIR", str(inbox))
    _bad_files(inbox, secret_file)
    (inbox / "tea.json").write_text(json.dumps({"topic": "Tea", "max_revisions": 1}))
    (inbox / "squared.json").write_text(json.dumps({"topic": "Tea", "budget_tokens": "²"}))

    result = _tick(topic_request_sensor, dg.build_sensor_context(instance=instance))

    (run,) = result.run_requests
    assert run.run_config["ops"]["generate_draft"]["config"]["topic"] == "Tea"
    reasons = _reasons(inbox)
    assert sorted(reasons) == ["link.json", "nested.json", "pipe.json", "squared.json"]
    assert "budget_tokens: is '²'; it must be a whole number of tokens (digits 0-9)" in (
        reasons["squared.json"])
    assert "file: nests JSON too deeply to be read (RecursionError)" in reasons["nested.json"]
    assert "is a symlink; symlinks are not followed" in reasons["link.json"]
    assert "is not a regular file" in reasons["pipe.json"]
    assert sorted(p.name for p in inbox.iterdir()) == ["failed", "tea.json"]
    assert secret_file.exists() and "private topic" not in str(result.run_requests)


def test_the_analysis_inbox_goes_on_past_files_it_cannot_read(
    instance, tmp_path, monkeypatch, secret_file
):
    inbox = tmp_path / "analysis_inbox"
    inbox.mkdir()
    monkeypatch.setenv("ECL_ANALYSIS_INBOX_DIR", str(inbox))
    _bad_files(inbox, secret_file)
    make_codebase(inbox / "lookup")
    (inbox / "lookup.json").write_text(json.dumps({"code_path": "lookup", "target": "Go"}))

    context = dg.build_sensor_context(
        instance=instance, resources={"migration": MigrationSettings()}
    )
    result = _tick(migration_request_sensor, context)

    (run,) = result.run_requests
    assert run.partition_key == "lookup"
    reasons = _reasons(inbox)
    assert sorted(reasons) == ["link.json", "nested.json", "pipe.json"]
    assert "file: nests JSON too deeply to be read (RecursionError)" in reasons["nested.json"]
    assert "is a symlink; symlinks are not followed" in reasons["link.json"]
    assert "is not a regular file" in reasons["pipe.json"]


@dataclass
class Inbox:
    """One inbox as its sensor sees it: the folder, one tick, and how to write a request."""

    folder: Path
    job_name: str
    tick: Callable[[], dg.SensorResult]
    request: Callable[[str], str]  # the content of a good request named by the argument
    rejected_event: str


@pytest.fixture(params=["topic", "analysis"])
def inbox(request, instance, tmp_path, monkeypatch) -> Inbox:
    folder = tmp_path / request.param
    folder.mkdir()
    if request.param == "topic":
        monkeypatch.setenv("ECL_INBOX_DIR", str(folder))
        context = dg.build_sensor_context(instance=instance)
        return Inbox(folder, "critique_revise", lambda: _tick(topic_request_sensor, context),
                     lambda name: json.dumps({"topic": f"Tea for {name}"}),
                     "inbox.request_rejected")
    monkeypatch.setenv("ECL_ANALYSIS_INBOX_DIR", str(folder))
    make_codebase(folder / "lookup")
    context = dg.build_sensor_context(
        instance=instance, resources={"migration": MigrationSettings()}
    )
    return Inbox(folder, "migration_analysis", lambda: _tick(migration_request_sensor, context),
                 lambda name: json.dumps({"name": name, "code_path": "lookup", "target": "Go"}),
                 "inbox.analysis_rejected")


def test_a_file_whose_name_is_not_utf8_leaves_the_inbox_with_its_reason(inbox):
    (inbox.folder / NOT_UTF8_NAME).write_text(inbox.request("cafe"))
    (inbox.folder / "tea.json").write_text(inbox.request("tea"))

    with capture_logs() as logs:
        result = inbox.tick()

    (run,) = result.run_requests
    assert run.tags["ecl/request_file"] == "tea.json"
    reasons = _reasons(inbox.folder)
    assert list(reasons) == [NOT_UTF8_NAME]
    assert "file: name 'caf\\xe9.json' is not valid UTF-8; rename it" in reasons[NOT_UTF8_NAME]
    (rejected,) = [e for e in logs if e["event"] == inbox.rejected_event]
    assert rejected["file"] == "caf\\xe9.json"


def test_files_that_cannot_be_moved_stop_nothing(inbox, instance):
    """``done`` and ``failed`` are files here, so neither folder can be made: the unreadable
    files and the request whose run exists stay, each logged, and the new request runs."""
    (inbox.folder / "old.json").write_text(inbox.request("old"))
    (old,) = inbox.tick().run_requests
    job = defs.resolve_job_def(inbox.job_name)
    instance.create_run_for_job(job, run_config=old.run_config, tags=old.tags)  # the daemon
    (inbox.folder / "done").write_text("")
    (inbox.folder / "failed").write_text("")
    (inbox.folder / "nested.json").write_text(NESTED)
    (inbox.folder / "new.json").write_text(inbox.request("new"))

    with capture_logs() as logs:
        result = inbox.tick()

    (run,) = result.run_requests
    assert run.tags["ecl/request_file"] == "new.json"
    stuck = {e["file"]: e for e in logs if e["event"] == "inbox.request_stuck"}
    assert sorted(stuck) == ["done", "failed", "nested.json", "old.json"]
    assert stuck["old.json"]["folder"] == "done" and stuck["old.json"]["reason"] is None
    assert stuck["nested.json"]["folder"] == "failed"
    assert "nests JSON too deeply" in stuck["nested.json"]["reason"]
    assert stuck["nested.json"]["error"].startswith("FileExistsError: ")
    assert sorted(p.name for p in inbox.folder.iterdir() if p.is_file()) == [
        "done", "failed", "nested.json", "new.json", "old.json",
    ]
