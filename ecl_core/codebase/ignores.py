"""Which paths of a tree are never read: git's ignore files and well-known folders.

``.gitignore`` files are read by pathspec's ``GitIgnoreSpec`` (git's own rules, including
negations such as ``!keep.log``): the root's and nested ones, each relative to its own
folder, the deepest file that decides about a path winning, as in git. pathspec is
imported at the first ``.gitignore`` read, not with this module (about 9 ms: it probes its
optional regex backends), which loading ECL's definitions need not pay.
"""

import stat
from pathlib import Path
from typing import TYPE_CHECKING

from ecl_core.codebase.safe_read import read_regular

if TYPE_CHECKING:
    import pathspec

__all__ = ["MAX_IGNORE_FILE_BYTES", "SKIPPED_FOLDERS", "GitIgnores", "is_skipped_folder"]

MAX_IGNORE_FILE_BYTES = 1_048_576
"""A larger ``.gitignore`` is not used."""

SKIPPED_FOLDERS = frozenset({
    ".git", ".hg", ".svn", "node_modules", "vendor", "target", "dist", "build", "__pycache__",
    ".venv", "venv", ".tox", ".mypy_cache", ".pytest_cache", ".ruff_cache",
})
"""Version-control, dependency, build and tool folders that are never entered; so is any
folder holding a ``pyvenv.cfg`` (a virtualenv, whatever its name: ``env``, ``.env3``...)."""


def is_skipped_folder(folder: Path) -> bool:
    """Whether ``folder`` is never entered (``SKIPPED_FOLDERS``, or a ``pyvenv.cfg`` in it).

    The ``pyvenv.cfg`` is looked for with ``lstat``: it is never opened.
    """
    if folder.name in SKIPPED_FOLDERS:
        return True
    try:
        (folder / "pyvenv.cfg").lstat()
    except OSError:
        return False
    return True


class GitIgnores:
    """The ``.gitignore`` specs in force in one folder, root first.

    Args:
        specs: (folder prefix relative to the root, ending in ``/`` or empty; its spec).
    """

    def __init__(self, specs: tuple[tuple[str, "pathspec.GitIgnoreSpec"], ...] = ()) -> None:
        self.specs = specs

    def entering(self, folder: Path, prefix: str) -> "GitIgnores":
        """The specs in force inside ``folder`` (at ``prefix``): these, and its own file.

        The ``.gitignore`` is opened as safely as any file of the tree (``read_regular``:
        a regular file, no link, nothing that blocks); one that is something else, cannot
        be read or is over ``MAX_IGNORE_FILE_BYTES`` is not used. Bytes that are not UTF-8
        are replaced.
        """
        ignore_file = folder / ".gitignore"
        try:
            if not stat.S_ISREG(ignore_file.lstat().st_mode):
                return self
            raw = read_regular(ignore_file, inside=folder, max_bytes=MAX_IGNORE_FILE_BYTES)
        except OSError:
            return self
        if len(raw) > MAX_IGNORE_FILE_BYTES:
            return self
        import pathspec

        lines = raw.decode("utf-8", errors="replace").splitlines()
        return GitIgnores((*self.specs, (prefix, pathspec.GitIgnoreSpec.from_lines(lines))))

    def ignored(self, relative: str, *, is_dir: bool) -> bool:
        """Whether ``relative`` (POSIX, from the root) is ignored.

        Args:
            relative: The path from the root.
            is_dir: Whether it is a folder (patterns ending in ``/`` match folders only; a
                symlink is not a folder, as in git).
        """
        verdict = False
        for prefix, spec in self.specs:
            inside = relative[len(prefix):]
            result = spec.check_file(inside + "/" if is_dir else inside)
            if result.include is not None:
                verdict = result.include
        return verdict
