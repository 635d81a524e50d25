"""Reading trees safely: ignore rules, skips with reasons, limits, hostile trees."""

import errno
import os
import queue
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from ecl_core.codebase.tree import TreeLimits, read_user_file, scan_tree
from ecl_core.errors import ValidationError

T = TypeVar("T")


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


def reasons(tree) -> dict[str, str]:
    return {s.path: s.reason for s in tree.skipped}


def within(seconds: float, call: Callable[[], T]) -> T:
    """``call()`` in a daemon thread; fails if it does not return within ``seconds``."""
    outcome: queue.Queue[tuple[bool, object]] = queue.Queue()

    def run() -> None:
        try:
            outcome.put((True, call()))
        except BaseException as err:  # handed to the test's thread
            outcome.put((False, err))

    threading.Thread(target=run, daemon=True).start()
    try:
        ok, value = outcome.get(timeout=seconds)
    except queue.Empty:
        raise AssertionError(f"still running after {seconds} s: it blocked") from None
    if not ok:
        raise value  # type: ignore[misc]
    return value  # type: ignore[return-value]


def refusal(call: Callable[[], object]) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        within(5, call)
    return caught.value


def test_gitignore_root_and_nested_with_negations_and_skipped_folders(tmp_path):
    write(tmp_path, {
        ".gitignore": "*.log\n!keep.log\n/generated/\n",
        "app.py": "x = 1\n", "debug.log": "no\n", "keep.log": "yes: negated\n",
        "generated/out.py": "no\n", "lib/generated/in.py": "yes: /generated/ is anchored\n",
        "lib/.gitignore": "secret.txt\n!important.log\n",
        "lib/secret.txt": "no\n", "secret.txt": "yes: the nested rule is lib's only\n",
        "lib/important.log": "yes: the nested negation wins\n", "lib/other.log": "no\n",
        "node_modules/x/index.js": "no\n", "vendor/a.go": "no\n", "target/a.rs": "no\n",
        "dist/a.js": "no\n", "build/a.py": "no\n", "src/target/b.rs": "no: any depth\n",
        "__pycache__/a.txt": "no\n", ".git/config": "no\n", ".venv/lib/site.py": "no\n",
        "venv/x.py": "no\n", ".mypy_cache/x.json": "no\n", ".pytest_cache/x": "no\n",
        ".ruff_cache/x": "no\n", ".tox/x.py": "no\n",
        "env/pyvenv.cfg": "home = /usr\n", "env/lib/site.py": "no: a virtualenv\n",
        "tools/py311/pyvenv.cfg": "home = /usr\n", "tools/py311/x.py": "no: a virtualenv\n",
        "config/env/settings.py": "yes: no pyvenv.cfg\n",
    })
    (tmp_path / "old.log").symlink_to(tmp_path / "keep.log")  # ignored: not even listed
    tree = scan_tree(tmp_path)
    assert sorted(tree.paths()) == [
        ".gitignore", "app.py", "config/env/settings.py", "keep.log", "lib/.gitignore",
        "lib/generated/in.py", "lib/important.log", "secret.txt",
    ]
    assert tree.skipped == []
    assert tree.root == str(tmp_path.resolve())
    assert [f.path for f in tree.files] == sorted(tree.paths())
    assert (tree.files[1].path, tree.files[1].size, tree.files[1].text) == ("app.py", 6, "x = 1\n")
    assert tree.total_bytes == sum(len(f.text.encode()) for f in tree.files)


def test_symlinks_are_skipped_and_nothing_outside_the_root_is_opened(tmp_path, monkeypatch):
    root = write(tmp_path / "root", {"src/a.py": "a = 1\n"})
    (root / "etc").symlink_to("/etc")
    (root / "passwd.txt").symlink_to("/etc/passwd")
    (root / "alias").symlink_to(root / "src", target_is_directory=True)
    (root / "copy.py").symlink_to(root / "src" / "a.py")
    (root / "dangling.py").symlink_to(root / "nowhere.py")
    (root / "src" / ".gitignore").symlink_to("/etc/hostname")  # not used, not listed: ignored
    (root / ".gitignore").write_text(".gitignore\n")
    touched: list[str] = []
    real_open, real_scandir = os.open, os.scandir

    def spy_open(path, *args, **kwargs):
        touched.append(os.fspath(path))
        return real_open(path, *args, **kwargs)

    def spy_scandir(path="."):
        touched.append(os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "open", spy_open)
    monkeypatch.setattr(os, "scandir", spy_scandir)
    tree = scan_tree(root)
    monkeypatch.undo()
    assert tree.paths() == {"src/a.py"}
    assert reasons(tree) == {
        name: "symlink (not followed)"
        for name in ("alias", "copy.py", "dangling.py", "etc", "passwd.txt")
    }
    base = root.resolve()
    # The root's .gitignore, the root, src (its .gitignore is a link: not opened), a.py.
    assert touched == [
        str(base / ".gitignore"), str(base), str(base / "src"), str(base / "src" / "a.py"),
    ]


def test_a_root_given_as_a_symlink_is_resolved_once(tmp_path):
    write(tmp_path / "real", {"a.py": "a = 1\n"})
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    tree = scan_tree(tmp_path / "link")
    assert tree.root == str((tmp_path / "real").resolve())
    assert tree.paths() == {"a.py"}


def test_binary_non_utf8_oversized_special_and_badly_named_files_are_recorded(tmp_path):
    write(tmp_path, {
        "ok.py": "print('ok')\n",
        "blob.bin": b"\x89PNG\r\n\x00\x00data",
        "nul_at_8191.txt": b"a" * 8191 + b"\x00",
        "nul_at_8192.txt": b"a" * 8192 + b"\x00",  # past the probe: text, as in git
        "latin1.txt": "café".encode("latin-1"),
        "exactly_limit.txt": b"x" * 9000,
        "over_limit.txt": b"x" * 9001,
    })
    os.mkfifo(tmp_path / "pipe.md")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "app.sock"))
    (tmp_path / os.fsdecode(b"bad\xffname.py")).write_text("x = 1\n")
    (tmp_path / os.fsdecode(b"bad\xfedir")).mkdir()
    (tmp_path / os.fsdecode(b"bad\xfedir") / "inner.py").write_text("x = 1\n")
    try:
        tree = within(10, lambda: scan_tree(tmp_path, TreeLimits(max_file_bytes=9000)))
    finally:
        server.close()
    assert tree.paths() == {"ok.py", "nul_at_8192.txt", "exactly_limit.txt"}
    assert reasons(tree) == {
        "app.sock": "socket (not opened)",
        "bad\\xfedir": "name is not valid UTF-8",
        "bad\\xffname.py": "name is not valid UTF-8",
        "blob.bin": "binary file",
        "latin1.txt": "not UTF-8 text",
        "nul_at_8191.txt": "binary file",
        "over_limit.txt": "has 9,001 bytes; the per-file limit is 9,000",
        "pipe.md": "FIFO (not opened)",
    }
    assert [s.path for s in tree.skipped] == sorted(reasons(tree))


def test_unreadable_files_and_folders_are_recorded(tmp_path, monkeypatch):
    write(tmp_path, {"ok.py": "x = 1\n", "secret.py": "x = 2\n", "locked/a.py": "x = 3\n"})
    real_open, real_scandir = os.open, os.scandir

    def open_but_secret(path, *args, **kwargs):
        if os.fspath(path).endswith("secret.py"):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, *args, **kwargs)

    def scandir_but_locked(path="."):
        if os.fspath(path).endswith("locked"):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "open", open_but_secret)
    monkeypatch.setattr(os, "scandir", scandir_but_locked)
    tree = scan_tree(tmp_path)
    assert tree.paths() == {"ok.py"}
    assert reasons(tree) == {
        "locked": "unreadable: Permission denied",
        "secret.py": "unreadable: Permission denied",
    }
    error = refusal(lambda: scan_tree(tmp_path / "locked"))
    assert str(error) == (
        f"cannot analyze {tmp_path / 'locked'}: code_path: "
        f"'{tmp_path.resolve() / 'locked'}' cannot be listed: Permission denied"
    )


def test_a_tree_of_any_depth_is_read_without_recursion(tmp_path):
    folders = [tmp_path / ("d/" * depth) for depth in range(1, 1501)]
    try:
        for folder in folders:
            folder.mkdir()
        (folders[-1] / "bottom.py").write_text("x = 1\n")
        tree = scan_tree(tmp_path)
        assert tree.paths() == {"d/" * 1500 + "bottom.py"}
    finally:  # bottom up: pytest's own clean-up of old temp folders recurses
        (folders[-1] / "bottom.py").unlink(missing_ok=True)
        for folder in reversed(folders):
            if folder.exists():
                folder.rmdir()


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda p: p / "missing", "'{root}' does not exist"),
        (lambda p: write(p, {"file.py": "x"}) / "file.py", "'{root}' is not a folder"),
        (lambda p: (p / "empty").mkdir() or p / "empty", "'{root}' holds no text file to analyze"),
        (lambda p: write(p / "bin", {"a.bin": b"\x00"}), "'{root}' holds no text file to analyze"),
        (lambda p: write(p / "ign", {".gitignore": "*\n", "a.py": "x"}),
         "'{root}' holds no text file to analyze"),
    ],
    ids=["missing", "a file", "empty", "only binary", "only ignored"],
)
def test_unusable_roots_are_errors_on_the_field(tmp_path, make, problem):
    root = make(tmp_path)
    error = refusal(lambda: scan_tree(root, field="new_code_path"))
    assert error.message == f"cannot analyze {root}"
    (detail,) = error.details
    assert detail.field == "new_code_path"
    assert detail.problem == problem.format(root=root.resolve())


def test_a_tree_past_a_limit_fails_with_the_path_the_limit_and_where_it_stopped(tmp_path):
    write(tmp_path, {"a.py": "x = 1\n" * 5, "b.py": "x = 1\n" * 5, "c.py": "x = 1\n" * 5})
    assert len(scan_tree(tmp_path, TreeLimits(max_files=3)).files) == 3
    error = refusal(lambda: scan_tree(tmp_path, TreeLimits(max_files=2)))
    assert error.details[0].problem == (
        f"'{tmp_path.resolve()}' holds more than 2 files (max_files); stopped at 'c.py'"
    )
    assert scan_tree(tmp_path, TreeLimits(max_total_bytes=90)).total_bytes == 90
    error = refusal(lambda: scan_tree(tmp_path, TreeLimits(max_total_bytes=89)))
    assert error.details[0].problem == (
        f"'{tmp_path.resolve()}' holds more than 89 bytes of text (max_total_bytes); "
        "stopped at 'c.py'"
    )
    (tmp_path / "d.bin").write_bytes(b"\x00")  # binary files count: each must be opened
    error = refusal(lambda: scan_tree(tmp_path, TreeLimits(max_files=3)))
    assert error.details[0].problem.endswith(
        "holds more than 3 files (max_files); stopped at 'd.bin'"
    )


def test_read_user_file_reads_a_regular_utf8_file_within_the_limit(tmp_path):
    write(tmp_path, {"docs/vision.md": "# Vision ✓\n"})
    (tmp_path / "via").symlink_to(tmp_path / "docs", target_is_directory=True)
    assert read_user_file(tmp_path / "docs" / "vision.md", field="vision_doc") == "# Vision ✓\n"
    size = len("# Vision ✓\n".encode())
    assert read_user_file(tmp_path / "docs/vision.md", field="v", max_bytes=size) == "# Vision ✓\n"
    # Folders on the way are resolved; only the file itself must not be a link.
    assert read_user_file(str(tmp_path / "via" / "vision.md"), field="v") == "# Vision ✓\n"


def test_read_user_file_refuses_what_is_not_a_regular_utf8_file(tmp_path):
    write(tmp_path, {"big.md": "x" * 11, "latin.md": "é".encode("latin-1"), "real.md": "ok\n"})
    os.mkfifo(tmp_path / "fifo.md")
    (tmp_path / "dir.md").mkdir()
    (tmp_path / "passwd.md").symlink_to("/etc/passwd")
    (tmp_path / "link.md").symlink_to(tmp_path / "real.md")
    base = tmp_path.resolve()
    cases = {
        "fifo.md": f"'{base}/fifo.md' is not a regular file",
        "dir.md": f"'{base}/dir.md' is not a regular file",
        "passwd.md": f"'{base}/passwd.md' is a symlink; symlinks are not followed",
        "link.md": f"'{base}/link.md' is a symlink; symlinks are not followed",
        "big.md": f"'{base}/big.md' has 11 bytes; the limit is 10",
        "latin.md": f"'{base}/latin.md' is not UTF-8 text (byte 0)",
        "nope.md": f"'{base}/nope.md' does not exist",
    }
    for name, problem in cases.items():
        path = tmp_path / name
        error = refusal(lambda path=path: read_user_file(path, field="vision_doc", max_bytes=10))
        assert error.message == f"cannot read {path}"
        assert [(d.field, d.problem) for d in error.details] == [("vision_doc", problem)]
