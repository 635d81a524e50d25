"""read_document reads only a regular file it is given, without Dagster.

A symlink is refused, not followed, whatever it points at (one rule for every user file);
a FIFO, a folder or an oversized file is refused from ``lstat``, before anything is opened,
so no read can block. Folders on the way to the file may be links: they are resolved.
"""

import os
import threading
from pathlib import Path

import pytest

from ecl_core.documents import MAX_DOCUMENT_BYTES, read_document
from ecl_core.errors import ValidationError

SECRET = "internal notes: the staging password is hunter2-staging"
REFUSED_WITHIN_S = 10
LINK = "is a symlink; symlinks are not followed"


def _refusal(path: Path) -> ValidationError:
    """The error of ``read_document(path)``, in a thread so that a read that blocks fails."""
    errors: list[BaseException] = []

    def read() -> None:
        try:
            read_document(path)
        except BaseException as err:  # noqa: BLE001 - handed to the test
            errors.append(err)

    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    worker.join(REFUSED_WITHIN_S)
    assert not worker.is_alive(), f"read_document({path}) did not end within {REFUSED_WITHIN_S} s"
    (err,) = errors
    assert isinstance(err, ValidationError), repr(err)
    return err


@pytest.fixture
def docs(tmp_path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    return folder


@pytest.fixture
def outside(tmp_path) -> Path:
    path = tmp_path / "elsewhere" / "notes.md"
    path.parent.mkdir()
    path.write_text(f"# Notes\n\n{SECRET}\n", encoding="utf-8")
    return path


def _link_beside(path: Path, _outside: Path) -> None:
    path.with_name("real.md").write_text("# Real\n", encoding="utf-8")
    path.symlink_to("real.md")


def _sparse(path: Path, _outside: Path) -> None:
    """A file one byte over the limit, with no data to read (its size is all ``lstat`` sees)."""
    path.touch()
    os.truncate(path, MAX_DOCUMENT_BYTES + 1)


@pytest.mark.parametrize(
    ("name", "make", "rule"),
    [
        ("x.md", lambda p, o: p.symlink_to("/etc/passwd"), LINK),
        ("notes.md", lambda p, o: p.symlink_to(o), LINK),
        ("copy.md", _link_beside, LINK),
        ("dangling.md", lambda p, o: p.symlink_to(p.with_name("nowhere.md")), LINK),
        ("f.md", lambda p, o: os.mkfifo(p), "is not a regular file"),
        ("d.md", lambda p, o: p.mkdir(), "is not a regular file"),
        ("big.md", _sparse, "has 1,048,577 bytes; the limit is 1,048,576"),
    ],
    ids=["link-to-etc-passwd", "link-outside", "link-inside", "dangling-link", "fifo",
         "directory", "over-1-MB"],
)
def test_only_a_regular_file_within_the_limit_is_read(docs, outside, name, make, rule):
    path = docs / name
    make(path, outside)

    err = _refusal(path)

    assert err.message == f"cannot summarize {path}"
    (detail,) = err.details
    assert detail.field == "path"
    assert detail.problem == f"'{path}' {rule}"
    assert "hunter2" not in str(err) and "root:x:0:0" not in str(err)


def test_a_special_file_with_another_suffix_is_refused_by_its_suffix(docs):
    os.mkfifo(docs / "pipe.pdf")
    (detail,) = _refusal(docs / "pipe.pdf").details
    assert detail.problem == "'pipe.pdf' is not a text or markdown file (.txt, .md, .markdown)"


def test_a_regular_file_is_read_through_a_linked_folder(docs, tmp_path):
    (docs / "guide.md").write_text("# Guide\n\nRead me.\n", encoding="utf-8")
    (tmp_path / "alias").symlink_to(docs, target_is_directory=True)
    assert read_document(tmp_path / "alias" / "guide.md") == "# Guide\n\nRead me.\n"
