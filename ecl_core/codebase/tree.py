"""Reading a user's source tree safely: ignore rules, limits, no escape from the root.

``scan_tree`` follows git's and ripgrep's rules:

* ``.gitignore`` files are honoured (``ecl_core.codebase.ignores``, pathspec's
  ``GitIgnoreSpec``): the root's and nested ones, each relative to its own folder, the
  deepest match winning (so a nested ``!keep.log`` re-includes what a parent ignored).
  Ignored paths are not listed.
* The folders of ``SKIPPED_FOLDERS`` and any folder holding a ``pyvenv.cfg`` (a
  virtualenv, whatever its name) are never entered and not listed. A folder merely named
  ``env`` is read unless it holds a ``pyvenv.cfg``.
* Nothing is followed or opened that is not a regular file: a symlink (to a file or a
  folder), a FIFO, a socket or a device is a recorded skip, found by ``lstat`` without
  opening it, so nothing can block. Files are opened with ``O_NOFOLLOW`` after their
  resolved path is checked to be inside the root, so nothing outside the root is read.
* A file with a NUL byte in its first 8 KiB is binary (git's rule); a file that does not
  decode as UTF-8 is not text; a name that is not valid UTF-8 is not read; an unreadable
  file or folder is not read; a file over ``max_file_bytes`` is not opened. Each is a
  recorded skip (``SkippedPath``) with its reason.

Limits are settings (``TreeLimits``). ``read_user_file`` (``ecl_core.codebase.safe_read``)
reads the single files a request names (a vision document, deployment files).
"""

import os
import stat
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from ecl_core.codebase.ignores import SKIPPED_FOLDERS, GitIgnores, is_skipped_folder
from ecl_core.codebase.safe_read import read_regular, read_user_file, refusal
from ecl_core.errors import ValidationError
from ecl_core.progress import Ticker, progress

__all__ = [
    "BINARY_PROBE_BYTES",
    "DEFAULT_LIMITS",
    "SKIPPED_FOLDERS",
    "SkippedPath",
    "SourceFile",
    "SourceTree",
    "TreeLimits",
    "read_user_file",
    "scan_tree",
]

BINARY_PROBE_BYTES = 8192
"""A NUL byte in the first 8 KiB makes a file binary (git's rule)."""


class TreeLimits(BaseModel):
    """How much of a tree may be read."""

    model_config = ConfigDict(frozen=True)

    max_files: int = Field(
        20_000, ge=1,
        description="Most files: regular files not ignored, binary and oversized ones included.",
    )
    max_total_bytes: int = Field(52_428_800, ge=1, description="Most bytes of text (50 MB).")
    max_file_bytes: int = Field(
        1_048_576, ge=1, description="A larger file is skipped and listed (1 MB)."
    )


class SkippedPath(BaseModel):
    """A path that was not read, and why."""

    model_config = ConfigDict(frozen=True)

    path: str = Field(description="POSIX, relative to the root; a non-UTF-8 name escaped.")
    reason: str = Field(description="e.g. 'symlink (not followed)', 'binary file'.")


class SourceFile(BaseModel):
    """A text file of the tree."""

    model_config = ConfigDict(frozen=True)

    path: str = Field(description="POSIX, relative to the root, e.g. 'src/app.py'.")
    size: int = Field(description="Bytes.")
    text: str = Field(description="The file's UTF-8 text.")


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


DEFAULT_LIMITS = TreeLimits()


def _shown(relative: str) -> str:
    """``relative`` as text; bytes that are not UTF-8 (surrogate escapes) shown escaped."""
    return os.fsencode(relative).decode("utf-8", errors="backslashreplace")


def _special_kind(mode: int) -> str:
    """What a file that is neither regular, a folder nor a symlink is."""
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


class _Scan:
    """One walk of a tree: the files read, the skips, and the limits' running totals."""

    def __init__(
        self, base: Path, limits: TreeLimits, field: str, message: str, ticker: Ticker
    ) -> None:
        self.base = base
        self.ticker = ticker
        self.limits = limits
        self.field = field
        self.message = message
        self.files: list[SourceFile] = []
        self.skipped: list[SkippedPath] = []
        self.seen_files = 0
        self.total_bytes = 0

    def skip(self, relative: str, reason: str) -> None:
        self.skipped.append(SkippedPath(path=_shown(relative), reason=reason))

    def refusal(self, problem: str) -> ValidationError:
        return refusal(self.field, self.message, f"'{self.base}' {problem}")

    def walk(self) -> None:
        """Visit every folder depth first, in name order, without recursion (any depth)."""
        pending: list[tuple[Path, str, GitIgnores]] = [(self.base, "", GitIgnores())]
        while pending:
            folder, prefix, ignores = pending.pop()
            ignores = ignores.entering(folder, prefix)
            try:
                with os.scandir(folder) as listing:
                    entries = sorted(listing, key=lambda e: e.name)
            except OSError as err:
                if not prefix:
                    raise self.refusal(f"cannot be listed: {err.strerror}") from None
                self.skip(prefix.rstrip("/"), f"unreadable: {err.strerror}")
                continue
            folders = [found for entry in entries
                       if (found := self.visit(entry, prefix, ignores)) is not None]
            pending += [(Path(e.path), prefix + e.name + "/", ignores) for e in reversed(folders)]

    def visit(
        self, entry: os.DirEntry[str], prefix: str, ignores: GitIgnores
    ) -> os.DirEntry[str] | None:
        """Read or skip one entry; return it if it is a folder to enter."""
        relative = prefix + entry.name
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError as err:
            self.skip(relative, f"unreadable: {err.strerror}")
            return None
        is_dir = stat.S_ISDIR(info.st_mode)
        if ignores.ignored(relative, is_dir=is_dir) or (
            is_dir and is_skipped_folder(Path(entry.path))
        ):
            return None
        if relative != _shown(relative):
            self.skip(relative, "name is not valid UTF-8")
        elif stat.S_ISLNK(info.st_mode):
            self.skip(relative, "symlink (not followed)")
        elif is_dir:
            return entry
        elif not stat.S_ISREG(info.st_mode):
            self.skip(relative, f"{_special_kind(info.st_mode)} (not opened)")
        else:
            self.read(relative, Path(entry.path), info.st_size)
        return None

    def read(self, relative: str, path: Path, size: int) -> None:
        """Read one regular file or record why not; fail past ``max_files`` or ``max_total_bytes``.

        Raises:
            ValidationError: The tree is past ``max_files`` or ``max_total_bytes``.
        """
        self.seen_files += 1
        self.ticker.tick()
        if self.seen_files > self.limits.max_files:
            raise self.refusal(f"holds more than {self.limits.max_files:,} files "
                               f"(max_files); stopped at '{relative}'")
        limit = self.limits.max_file_bytes
        if size > limit:
            self.skip(relative, f"has {size:,} bytes; the per-file limit is {limit:,}")
            return
        try:
            raw = read_regular(path, inside=self.base, max_bytes=limit)
        except OSError as err:
            self.skip(relative, f"unreadable: {err.strerror or err}")
            return
        if len(raw) > limit:
            self.skip(relative, f"has more than {limit:,} bytes; the per-file limit is {limit:,}")
        elif b"\0" in raw[:BINARY_PROBE_BYTES]:
            self.skip(relative, "binary file")
        else:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                self.skip(relative, "not UTF-8 text")
                return
            self.total_bytes += len(raw)
            if self.total_bytes > self.limits.max_total_bytes:
                raise self.refusal(
                    f"holds more than {self.limits.max_total_bytes:,} bytes of text "
                    f"(max_total_bytes); stopped at '{relative}'"
                )
            self.files.append(SourceFile(path=relative, size=len(raw), text=text))


def scan_tree(
    root: str | Path, limits: TreeLimits = DEFAULT_LIMITS, *, field: str = "code_path"
) -> SourceTree:
    """Read every text file under ``root`` by the rules of the module docstring.

    A root given as a symlink to a folder is resolved once; symlinks inside it are skipped.
    The files found are counted as they are read (``ecl_core.progress``).

    Args:
        root: The folder to read.
        limits: Most files, most bytes of text, largest file read.
        field: The request field that named ``root``, for errors.

    Returns:
        The tree's text files and its recorded skips, each sorted by path.

    Raises:
        ValidationError: On ``field``, message ``cannot analyze <root>``: the root is missing,
            not a folder or cannot be listed; it holds more than ``max_files`` files or more
            than ``max_total_bytes`` bytes of text (the problem names the path, the limit and
            the file where reading stopped); or it holds no text file.
    """
    base = Path(root).expanduser().resolve()
    message = f"cannot analyze {root}"
    if not base.exists():
        raise refusal(field, message, f"'{base}' does not exist")
    if not base.is_dir():
        raise refusal(field, message, f"'{base}' is not a folder")
    with progress(f"scanning {base.name or base}", unit="files") as ticker:
        scan = _Scan(base, limits, field, message, ticker)
        scan.walk()
    if not scan.files:
        raise refusal(field, message, f"'{base}' holds no text file to analyze")
    return SourceTree(
        root=str(base),
        files=sorted(scan.files, key=lambda f: f.path),
        skipped=sorted(scan.skipped, key=lambda s: s.path),
    )
