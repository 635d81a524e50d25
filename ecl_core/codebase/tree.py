"""Reading a user's source tree safely: ignore rules, limits, no escape from the root.

``scan_tree`` follows git's and ripgrep's rules, with ``.gitignore`` files read by pathspec
(the root's and nested ones, each relative to its own folder, the deepest match winning).
It never follows a symlink (file or folder) and never opens anything but a regular file,
so a FIFO or a device cannot block it; it never reads outside the root. What it does not
read is recorded with the reason (``SkippedPath``), except ignored paths and the folders
it never enters (``SKIPPED_FOLDERS``, virtualenvs). Limits are settings (``TreeLimits``).
"""

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pathspec
from pydantic import BaseModel, ConfigDict, Field

from ecl_core.errors import FieldError, ValidationError

__all__ = [
    "SKIPPED_FOLDERS",
    "SkippedPath",
    "SourceFile",
    "SourceTree",
    "TreeLimits",
    "read_user_file",
    "scan_tree",
]

SKIPPED_FOLDERS = frozenset({
    ".git", ".hg", ".svn", "node_modules", "vendor", "target", "dist", "build", "__pycache__",
    ".venv", "venv", ".tox", ".mypy_cache", ".pytest_cache", ".ruff_cache",
})
"""Dependency, build and tool folders that are never entered; so is any folder holding a
``pyvenv.cfg`` (a virtualenv)."""
BINARY_PROBE_BYTES = 8192
"""A NUL byte in the first 8 KiB makes a file binary (git's rule)."""


class TreeLimits(BaseModel):
    """How much of a tree may be read."""

    model_config = ConfigDict(frozen=True)

    max_files: int = Field(20_000, ge=1, description="Most files read.")
    max_total_bytes: int = Field(52_428_800, ge=1, description="Most bytes of text (50 MB).")
    max_file_bytes: int = Field(
        1_048_576, ge=1, description="A larger file is skipped and listed (1 MB)."
    )


class SkippedPath(BaseModel):
    """A path that was not read, and why."""

    model_config = ConfigDict(frozen=True)

    path: str = Field(description="POSIX, relative to the root; a non-UTF-8 name escaped.")
    reason: str


class SourceFile(BaseModel):
    """A text file of the tree."""

    model_config = ConfigDict(frozen=True)

    path: str = Field(description="POSIX, relative to the root, e.g. 'src/app.py'.")
    size: int = Field(description="Bytes.")
    text: str


class SourceTree(BaseModel):
    """The readable text of a tree, and what was skipped."""

    root: str = Field(description="Absolute and resolved.")
    files: list[SourceFile] = Field(description="Sorted by path.")
    skipped: list[SkippedPath] = Field(description="Sorted by path.")

    @property
    def total_bytes(self) -> int:
        """Bytes of text read."""
        return sum(f.size for f in self.files)

    def paths(self) -> set[str]:
        """Every file's path."""
        return {f.path for f in self.files}


def _refused(field: str, message: str, problem: str) -> ValidationError:
    return ValidationError(message, [FieldError(field, problem)])


def _printable(name: str) -> str:
    """``name`` as text; bytes that are not UTF-8 (surrogate escapes) are shown escaped."""
    return os.fsencode(name).decode("utf-8", errors="backslashreplace")


class _Ignores:
    """The ``.gitignore`` specs in force in one folder: (folder prefix, spec), root first."""

    def __init__(self, specs: tuple[tuple[str, pathspec.GitIgnoreSpec], ...] = ()) -> None:
        self.specs = specs

    def entering(self, folder: Path, prefix: str) -> "_Ignores":
        ignore_file = folder / ".gitignore"
        try:
            if not ignore_file.is_symlink() and ignore_file.is_file():
                lines = ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
                spec = pathspec.GitIgnoreSpec.from_lines(lines)
                return _Ignores((*self.specs, (prefix, spec)))
        except OSError:
            pass
        return self

    def ignored(self, relative: str, is_dir: bool) -> bool:
        verdict = False
        for prefix, spec in self.specs:
            inside = relative[len(prefix):] if prefix else relative
            result = spec.check_file(inside + "/" if is_dir else inside)
            if result.include is not None:
                verdict = result.include
        return verdict


def _walk(
    folder: Path, prefix: str, ignores: _Ignores, skipped: list[SkippedPath]
) -> Iterator[tuple[str, Path, os.stat_result]]:
    """Regular files under ``folder`` as (relative path, path, lstat), never following links."""
    ignores = ignores.entering(folder, prefix)
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as err:
        skipped.append(SkippedPath(path=prefix or ".", reason=f"unreadable: {err.strerror}"))
        return
    for entry in entries:
        relative = prefix + entry.name
        shown = _printable(relative)
        try:
            entry.name.encode("utf-8")
        except UnicodeEncodeError:
            skipped.append(SkippedPath(path=shown, reason="name is not valid UTF-8"))
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError as err:
            skipped.append(SkippedPath(path=shown, reason=f"unreadable: {err.strerror}"))
            continue
        if stat.S_ISLNK(info.st_mode):
            skipped.append(SkippedPath(path=relative, reason="symlink (not followed)"))
        elif stat.S_ISDIR(info.st_mode):
            path = Path(entry.path)
            if entry.name in SKIPPED_FOLDERS or (path / "pyvenv.cfg").exists():
                continue
            if not ignores.ignored(relative, is_dir=True):
                yield from _walk(path, relative + "/", ignores, skipped)
        elif not stat.S_ISREG(info.st_mode):
            skipped.append(SkippedPath(path=relative, reason="not a regular file"))
        elif not ignores.ignored(relative, is_dir=False):
            yield relative, Path(entry.path), info


def _read(path: Path, root: Path) -> bytes:
    """The file's bytes, opened without following a link and checked to be inside ``root``."""
    if not path.resolve().is_relative_to(root):
        raise PermissionError(f"{path} resolves outside the root")
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise PermissionError(f"{path} is not a regular file")
        return handle.read()


def scan_tree(
    root: str | Path, limits: TreeLimits | None = None, *, field: str = "code_path"
) -> SourceTree:
    """Read every text file under ``root`` (module docstring).

    A root given as a symlink to a folder is resolved once; links inside it are skipped.

    Args:
        root: The folder to read.
        limits: Most files, most bytes of text, largest file; None for the defaults.
        field: The request field that named ``root``, for errors.

    Raises:
        ValidationError: On ``field``: the root is missing or not a folder, holds more than
            ``max_files`` files or ``max_total_bytes`` of text (the problem names the path and
            the limit), or holds no text file.
    """
    limits = limits or TreeLimits()
    message = f"cannot analyze {root}"
    base = Path(root).expanduser().resolve()
    if not base.exists():
        raise _refused(field, message, f"'{base}' does not exist")
    if not base.is_dir():
        raise _refused(field, message, f"'{base}' is not a folder")
    files: list[SourceFile] = []
    skipped: list[SkippedPath] = []
    total = 0
    for relative, path, info in _walk(base, "", _Ignores(), skipped):
        if info.st_size > limits.max_file_bytes:
            skipped.append(SkippedPath(path=relative, reason=(
                f"has {info.st_size:,} bytes; the per-file limit is {limits.max_file_bytes:,}"
            )))
            continue
        try:
            raw = _read(path, base)
        except OSError as err:
            skipped.append(SkippedPath(path=relative, reason=f"unreadable: {err.strerror or err}"))
            continue
        if b"\0" in raw[:BINARY_PROBE_BYTES]:
            skipped.append(SkippedPath(path=relative, reason="binary file"))
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            skipped.append(SkippedPath(path=relative, reason="not UTF-8 text"))
            continue
        if len(files) + 1 > limits.max_files:
            raise _refused(field, message, f"'{base}' holds more than {limits.max_files:,} "
                           f"files (max_files); stopped at '{relative}'")
        total += len(raw)
        if total > limits.max_total_bytes:
            raise _refused(field, message, f"'{base}' holds more than "
                           f"{limits.max_total_bytes:,} bytes of text (max_total_bytes); "
                           f"stopped at '{relative}'")
        files.append(SourceFile(path=relative, size=len(raw), text=text))
    if not files:
        raise _refused(field, message, f"'{base}' holds no text file to analyze")
    return SourceTree(
        root=str(base),
        files=sorted(files, key=lambda f: f.path),
        skipped=sorted(skipped, key=lambda s: s.path),
    )


def read_user_file(path: str | Path, *, field: str, max_bytes: int = 1_048_576) -> str:
    """The UTF-8 text of one file a request names (a vision document, a deployment file).

    The path is resolved (a symlink to a regular file is read as its target); the target
    must be a regular file, checked with ``stat`` before it is opened, so a FIFO, a device
    or a folder is refused without blocking.

    Raises:
        ValidationError: On ``field``: missing, not a regular file, over ``max_bytes``, or
            not UTF-8 text; the problem names the path and the rule.
    """
    message = f"cannot read {path}"
    target = Path(path).expanduser().resolve()
    try:
        info = target.stat()
    except OSError:
        raise _refused(field, message, f"'{target}' does not exist") from None
    if not stat.S_ISREG(info.st_mode):
        raise _refused(field, message, f"'{target}' is not a regular file")
    if info.st_size > max_bytes:
        raise _refused(field, message,
                       f"'{target}' has {info.st_size:,} bytes; the limit is {max_bytes:,}")
    try:
        raw = _read(target, target.parent)
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _refused(field, message, f"'{target}' is not UTF-8 text") from None
    except OSError as err:
        raise _refused(field, message, f"'{target}' is unreadable: {err.strerror}") from None
