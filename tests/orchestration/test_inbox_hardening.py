"""One bad file never blocks an inbox (issue 10, defect 3): both sensors, one tick each.

A file that cannot be read for any reason (JSON nested too deeply for Python, a symlink, a
FIFO) moves to ``failed/`` with its reason, and the good request beside it gets its run.
Nothing is followed or opened that is not a regular file, so no tick can block.
"""

import json
import os
import threading

import dagster as dg
import pytest

from ecl_dagster.assets import migration_request_sensor
from ecl_dagster.assets.settings import MigrationSettings
from ecl_dagster.sensors import topic_request_sensor

from analysis import make_codebase

NESTED = "[" * 30_000 + "]" * 30_000  # 60 KB: RecursionError in json.loads
TICK_WITHIN_S = 60


def _tick(sensor, context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """Evaluate ``sensor`` once in a thread, so that a read that blocks fails the test."""
    results: list[dg.SensorResult] = []
    worker = threading.Thread(target=lambda: results.append(sensor(context)), daemon=True)
    worker.start()
    worker.join(TICK_WITHIN_S)
    assert results, f"the sensor tick did not end within {TICK_WITHIN_S} s"
    return results[0]


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

    result = _tick(topic_request_sensor, dg.build_sensor_context(instance=instance))

    (run,) = result.run_requests
    assert run.run_config["ops"]["generate_draft"]["config"]["topic"] == "Tea"
    reasons = _reasons(inbox)
    assert sorted(reasons) == ["link.json", "nested.json", "pipe.json"]
    assert "file: nests JSON too deeply to be read" in reasons["nested.json"]
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
    assert "is a symlink; symlinks are not followed" in reasons["link.json"]
    assert "is not a regular file" in reasons["pipe.json"]
