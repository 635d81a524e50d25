"""summarize_document reads only the regular file it is given.

A symlink is refused rather than followed, and a FIFO or a folder is refused before anything
is opened, so the run ends with an error that names ``path`` and the rule, no request reaches
the Messages API, and nothing of a linked file is stored.
"""

import os
import threading
from pathlib import Path

import dagster as dg
import pytest

from ecl_dagster.definitions import defs

from jobrun import anthropic_llm, failure_text, step_failure

SECRET = "internal notes: the staging password is hunter2-staging"
FINISH_WITHIN_S = 120
LINK = "is a symlink; symlinks are not followed"


def _summarize(instance: dg.DagsterInstance, path: Path, llm: dict) -> dg.ExecuteInProcessResult:
    """Run summarize_document on ``path`` in a thread, so that a read that blocks fails the
    test instead of hanging it."""
    results: list[dg.ExecuteInProcessResult] = []

    def run() -> None:
        results.append(defs.get_job_def("summarize_document").execute_in_process(
            run_config={"ops": {"split_sections": {"config": {"path": str(path)}}},
                        "resources": {"llm": {"config": llm}}},
            instance=instance, raise_on_error=False,
        ))

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(FINISH_WITHIN_S)
    assert not worker.is_alive(), f"the run did not end within {FINISH_WITHIN_S} s"
    (result,) = results  # none: the run raised, and pytest shows the thread's exception
    return result


def _outside_file(tmp_path: Path) -> Path:
    outside = tmp_path / "elsewhere" / "notes.md"
    outside.parent.mkdir()
    outside.write_text(f"# Notes\n\n{SECRET}\n", encoding="utf-8")
    return outside


@pytest.mark.parametrize(
    ("name", "make", "rule"),
    [
        ("x.md", lambda p, t: p.symlink_to("/etc/passwd"), LINK),
        ("notes.md", lambda p, t: p.symlink_to(_outside_file(t)), LINK),
        ("f.md", lambda p, t: os.mkfifo(p), "is not a regular file"),
        ("d.md", lambda p, t: p.mkdir(), "is not a regular file"),
    ],
    ids=["link-to-etc-passwd", "link-to-a-markdown-file", "fifo", "directory"],
)
def test_only_a_regular_file_is_read(messages_api, api_key, instance, tmp_path, name, make, rule):
    docs = tmp_path / "docs"
    docs.mkdir()
    path = docs / name
    make(path, tmp_path)

    result = _summarize(instance, path, anthropic_llm(messages_api))

    assert not result.success
    text = failure_text(step_failure(result, "split_sections"))
    assert text.startswith(f"ValidationError: cannot summarize {path}: path: ")
    assert f"'{path}' {rule}" in text
    assert messages_api.requests == []
    stored = Path(instance.storage_directory())
    for file in (f for f in stored.rglob("*") if f.is_file()):
        content = file.read_bytes()
        assert b"hunter2" not in content and b"root:x:0:0" not in content, file
