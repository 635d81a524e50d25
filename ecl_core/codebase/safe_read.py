"""Opening a user's files safely: regular files only, no symlink, nothing that can block.

``read_regular`` is the one place that opens a file of a user's tree; ``read_user_file``
reads the single files a request names (a vision document, deployment files).
"""

import os
import stat
from pathlib import Path

from ecl_core.errors import FieldError, ValidationError

__all__ = ["read_regular", "read_user_file", "refusal"]

_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def refusal(field: str, message: str, problem: str) -> ValidationError:
    """A ``ValidationError`` with one broken rule on ``field``."""
    return ValidationError(message, [FieldError(field, problem)])


def read_regular(path: Path, *, inside: Path, max_bytes: int) -> bytes:
    """At most ``max_bytes + 1`` bytes of ``path``, a regular file under ``inside``.

    The resolved path is checked to be under ``inside`` before it is opened; it is opened
    with ``O_NOFOLLOW | O_NONBLOCK`` and checked with ``fstat`` to be a regular file before
    it is read, so a link swapped in or a FIFO neither escapes nor blocks. One byte more
    than ``max_bytes`` is read so the caller can tell a file that grew past the limit.

    Raises:
        OSError: ``path`` resolves outside ``inside`` or is not a regular file
            (``PermissionError``), is a symlink (``ELOOP``), or cannot be read.
    """
    if not path.resolve().is_relative_to(inside):
        raise PermissionError(f"'{path}' resolves outside '{inside}'")
    fd = os.open(path, _OPEN_FLAGS)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise PermissionError(f"'{path}' is not a regular file")
        return handle.read(max_bytes + 1)


def read_user_file(path: str | Path, *, field: str, max_bytes: int = 1_048_576) -> str:
    """The UTF-8 text of one file a request names (a vision document, a deployment file).

    The folders on the way are resolved, but the file itself must not be a symlink: a link
    is refused, not followed, as ``scan_tree`` refuses them. Files under ``/proc``, ``/sys``
    and ``/dev`` are refused: ``/proc/self/environ`` is a "regular file" holding every
    secret of the process. It must be a regular file,
    checked with ``lstat`` before it is opened (and with ``fstat`` after), so a FIFO, a
    device or a folder is refused without blocking.

    Args:
        path: The file.
        field: The request field that named it, for errors.
        max_bytes: Largest size read, in bytes.

    Returns:
        The file's text.

    Raises:
        ValidationError: On ``field``, message ``cannot read <path>``: the file is missing,
            a symlink, not a regular file, over ``max_bytes``, unreadable or not UTF-8 text;
            the problem names the resolved path and the rule.
    """
    message = f"cannot read {path}"
    given = Path(path).expanduser()
    target = given.parent.resolve() / given.name
    if target.parts[1:2] in (("proc",), ("sys",), ("dev",)):
        raise refusal(field, message, f"'{target}' is on a pseudo-filesystem (/proc, /sys, "
                      "/dev: a process's environment, devices); name a document")
    try:
        info = target.lstat()
    except OSError:
        raise refusal(field, message, f"'{target}' does not exist") from None
    if stat.S_ISLNK(info.st_mode):
        raise refusal(field, message, f"'{target}' is a symlink; symlinks are not followed")
    if not stat.S_ISREG(info.st_mode):
        raise refusal(field, message, f"'{target}' is not a regular file")
    if info.st_size > max_bytes:
        raise refusal(field, message,
                      f"'{target}' has {info.st_size:,} bytes; the limit is {max_bytes:,}")
    try:
        raw = read_regular(target, inside=target.parent, max_bytes=max_bytes)
    except OSError as err:
        raise refusal(field, message, f"'{target}' is unreadable: {err.strerror or err}") from None
    if len(raw) > max_bytes:
        raise refusal(field, message,
                      f"'{target}' has more than {max_bytes:,} bytes; the limit is {max_bytes:,}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise refusal(field, message, f"'{target}' is not UTF-8 text (byte {err.start})") from None
