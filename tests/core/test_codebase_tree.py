"""Reading trees safely: ignore rules, skips with reasons, limits, hostile trees."""

import os
import queue
import threading
from pathlib import Path

import pytest

from ecl_core.codebase.tree import TreeLimits, read_user_file, scan_tree
from ecl_core.errors import ValidationError


def reasons(tree) -> dict[str, str]:
    return {s.path: s.reason for s in tree.skipped}


def test_gitignore_rules_root_and_nested_and_skipped_folders(tmp_path):
    files = {
        ".gitignore": "*.log\n!keep.log\n/generated/\n",
        "app.py": "x = 1\n", "debug.log": "no\n", "keep.log": "yes\n",
        "generated/out.py": "no\n", "lib/generated/in.py": "yes: /generated/ is anchored\n",
        "lib/.gitignore": "secret.txt\n", "lib/secret.txt": "no\n", "secret.txt": "yes\n",
        "node_modules/x/index.js": "no\n", "build/a.py": "no\n", ".git/config": "no\n",
        "env/pyvenv.cfg": "home = /usr\n", "env/lib/site.py": "no\n",
        "__pycache__/a.cpython-311.pyc": "no\n", "src/target/keep.rs": "no: target\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    tree = scan_tree(tmp_path)
    assert sorted(tree.paths()) == [
        ".gitignore", "app.py", "keep.log", "lib/.gitignore", "lib/generated/in.py", "secret.txt",
    ]
    assert tree.skipped == []
    assert tree.root == str(tmp_path.resolve())


def test_hostile_entries_are_recorded_skips(tmp_path):
    (tmp_path / "ok.py").write_text("print('ok')\n")
    (tmp_path / "etc").symlink_to("/etc")
    (tmp_path / "passwd.txt").symlink_to("/etc/passwd")
    (tmp_path / "blob.bin").write_bytes(b"\x89PNG\r\n\x00\x00data")
    (tmp_path / "latin1.txt").write_bytes("café".encode("latin-1"))
    (tmp_path / "big.txt").write_text("x" * 2048)
    os.mkfifo(tmp_path / "pipe.md")
    (tmp_path / os.fsdecode(b"bad\xffname.py")).write_text("x = 1\n")
    tree = scan_tree(tmp_path, TreeLimits(max_file_bytes=1024))
    assert tree.paths() == {"ok.py"}
    assert reasons(tree) == {
        "etc": "symlink (not followed)",
        "passwd.txt": "symlink (not followed)",
        "blob.bin": "binary file",
        "latin1.txt": "not UTF-8 text",
        "big.txt": "has 2,048 bytes; the per-file limit is 1,024",
        "pipe.md": "not a regular file",
        "bad\\xffname.py": "name is not valid UTF-8",
    }


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda p: p / "missing", "does not exist"),
        (lambda p: (p / "file.py").write_text("x") and p / "file.py", "is not a folder"),
        (lambda p: (p / "empty").mkdir() or p / "empty", "holds no text file to analyze"),
    ],
)
def test_unusable_roots_are_errors_on_the_field(tmp_path, make, problem):
    root = make(tmp_path)
    with pytest.raises(ValidationError) as caught:
        scan_tree(root, field="new_code_path")
    (detail,) = caught.value.details
    assert detail.field == "new_code_path"
    assert str(root) in detail.problem and problem in detail.problem


def test_a_tree_past_a_limit_fails_with_the_path_and_the_limit(tmp_path):
    for k in range(3):
        (tmp_path / f"f{k}.py").write_text("x = 1\n" * 10)
    with pytest.raises(ValidationError, match=r"more than 2 files \(max_files\)"):
        scan_tree(tmp_path, TreeLimits(max_files=2))
    with pytest.raises(ValidationError) as caught:
        scan_tree(tmp_path, TreeLimits(max_total_bytes=100))
    assert "more than 100 bytes of text (max_total_bytes); stopped at 'f1.py'" in str(
        caught.value.details[0]
    )
    assert str(tmp_path) in str(caught.value.details[0])


def test_read_user_file_refuses_what_is_not_a_regular_text_file(tmp_path):
    vision = tmp_path / "vision.md"
    vision.write_text("# Vision\n")
    assert read_user_file(vision, field="vision_doc") == "# Vision\n"
    os.mkfifo(tmp_path / "fifo.md")
    (tmp_path / "dir.md").mkdir()
    (tmp_path / "big.md").write_text("x" * 11)
    (tmp_path / "latin.md").write_bytes("é".encode("latin-1"))
    cases = {
        "fifo.md": "is not a regular file", "dir.md": "is not a regular file",
        "big.md": "has 11 bytes; the limit is 10", "latin.md": "is not UTF-8 text",
        "nope.md": "does not exist",
    }
    for name, problem in cases.items():
        error = _refusal(tmp_path / name)
        assert error.details[0].field == "vision_doc" and problem in error.details[0].problem


def _refusal(path: Path) -> ValidationError:
    """The error of reading ``path``, from a daemon thread, failing if the read blocks."""
    found: queue.Queue[ValidationError] = queue.Queue()

    def read() -> None:
        try:
            read_user_file(path, field="vision_doc", max_bytes=10)
        except ValidationError as err:
            found.put(err)

    threading.Thread(target=read, daemon=True).start()
    try:
        return found.get(timeout=5)
    except queue.Empty:
        raise AssertionError(f"reading {path.name} blocked or raised nothing") from None
