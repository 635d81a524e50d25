"""Topic requests dropped as files into an inbox folder: reading them and moving them aside."""

import hashlib
import json
import os
import stat
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ecl_core.codebase.safe_read import read_user_file
from ecl_core.errors import FieldError, ValidationError
from ecl_core.logging import get_logger
from ecl_core.loop import MAX_REVISIONS_CAP, check_brief

__all__ = [
    "ANALYSIS_INBOX_ENV_VAR",
    "INBOX_ENV_VAR",
    "MAX_REQUEST_BYTES",
    "TopicRequest",
    "analysis_inbox_folder",
    "move_aside",
    "pending_files",
    "read_request",
    "reject",
    "topic_inbox_folder",
]

MAX_REQUEST_BYTES = 64 * 1024
INBOX_ENV_VAR = "ECL_INBOX_DIR"
ANALYSIS_INBOX_ENV_VAR = "ECL_ANALYSIS_INBOX_DIR"
_log = get_logger("ecl.sensors")
_IGNORED_SUFFIXES = (".tmp", ".part", ".swp")


def topic_inbox_folder(home: Path, env: Mapping[str, str] = os.environ) -> Path:
    """Where topic requests are read: ``$ECL_INBOX_DIR``, else ``inbox/`` in ``home``."""
    return Path(env.get(INBOX_ENV_VAR) or home / "inbox")


def analysis_inbox_folder(home: Path, env: Mapping[str, str] = os.environ) -> Path:
    """Where analysis requests are read: ``$ECL_ANALYSIS_INBOX_DIR``, else ``analysis_inbox/``."""
    return Path(env.get(ANALYSIS_INBOX_ENV_VAR) or home / "analysis_inbox")


@dataclass(frozen=True)
class TopicRequest:
    """One request: the topic, the revision cap, and a key unique to the file's content."""

    path: Path
    topic: str
    max_revisions: int
    key: str


def pending_files(inbox: Path) -> list[Path]:
    """Entries waiting in ``inbox`` that are not folders, by name (hidden and partial skipped).

    Symlinks, FIFOs and other special files are listed, not followed or opened, so that
    ``read_request`` refuses them with a reason and they leave the inbox.
    """
    return sorted(
        p
        for p in inbox.iterdir()
        if not stat.S_ISDIR(p.lstat().st_mode)
        and not p.name.startswith(".")
        and not p.name.endswith(_IGNORED_SUFFIXES)
    )


def _rejected(field: str, problem: str) -> ValidationError:
    return ValidationError("request rejected", [FieldError(field, problem)])


def read_request(path: Path) -> TopicRequest:
    """Read a request: JSON ``{"topic": ..., "max_revisions": ...}``, or plain text (the topic).

    The file is read as every user file is (``read_user_file``): a symlink, a FIFO or
    anything else that is not a regular file is refused without being opened.

    Raises:
        ValidationError: The file is not a regular file, too large, not UTF-8, not the JSON
            shape above (JSON nested too deep to read included), or its topic or
            max_revisions breaks the run config's rules.
    """
    text = read_user_file(path, field="file", max_bytes=MAX_REQUEST_BYTES)
    max_revisions = MAX_REVISIONS_CAP
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise _rejected("file", f"is not valid JSON: {err}") from None
        except RecursionError:
            raise _rejected("file", "nests JSON too deeply to be read") from None
        if not isinstance(data, dict) or not isinstance(data.get("topic"), str):
            raise _rejected("topic", 'missing; a JSON request needs {"topic": "..."}')
        unknown = sorted(set(data) - {"topic", "max_revisions"})
        if unknown:
            raise _rejected(unknown[0], "is not a request field (topic, max_revisions)")
        topic = data["topic"]
        max_revisions = data.get("max_revisions", MAX_REVISIONS_CAP)
        if not isinstance(max_revisions, int) or isinstance(max_revisions, bool):
            raise _rejected("max_revisions", f"is {max_revisions!r}; it must be an integer 0 to 3")
    else:
        topic = text
    topic = check_brief(topic, max_revisions)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return TopicRequest(path, topic, max_revisions, key=f"{path.name}:{digest}")


def move_aside(path: Path, folder: Path, reason: str | None = None) -> Path:
    """Move ``path`` into ``folder`` (never overwriting), with ``<name>.reason.txt`` if given."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    if target.exists():
        target = folder / f"{path.stem}.{time.time_ns()}{path.suffix}"
    path.replace(target)
    if reason is not None:
        target.with_name(target.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
    return target


def reject(path: Path, inbox: Path, err: Exception, event: str) -> None:
    """Move a request that cannot be read to ``<inbox>/failed/`` with its reason, and log it.

    The reason is a ValidationError's own text, else the exception's type and message. A
    file that cannot be moved is logged as ``inbox.request_stuck`` and left in place, so
    that one file never stops a tick.
    """
    reason = str(err) if isinstance(err, ValidationError) else f"{type(err).__name__}: {err}"
    _log.warning(event, file=path.name, reason=reason)
    try:
        move_aside(path, inbox / "failed", reason=reason)
    except OSError as move_error:
        _log.error("inbox.request_stuck", file=path.name, reason=reason,
                   error=f"{type(move_error).__name__}: {move_error}")
