"""Request files dropped into an inbox folder: listing, reading and moving them aside.

Every inbox sensor (topic requests, analysis requests, answers to reviews) follows one rule:
whatever goes wrong with one file, that file leaves the inbox for ``failed/`` with its
reason, or stays and is logged if it cannot be moved, and the tick goes on with the others.
"""

import hashlib
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecl_core.codebase.safe_read import read_user_file
from ecl_core.errors import FieldError, ValidationError
from ecl_core.logging import get_logger
from ecl_core.loop import MAX_REVISIONS_CAP, check_brief
from ecl_dagster.usage.budgets import budget_tags

__all__ = [
    "ANALYSIS_INBOX_ENV_VAR",
    "INBOX_ENV_VAR",
    "MAX_REQUEST_BYTES",
    "REVIEW_INBOX_ENV_VAR",
    "TopicRequest",
    "analysis_inbox_folder",
    "move_aside",
    "parse_json",
    "pending_files",
    "read_inbox_file",
    "read_request",
    "reject",
    "retire",
    "review_inbox_folder",
    "topic_inbox_folder",
]

MAX_REQUEST_BYTES = 64 * 1024
INBOX_ENV_VAR = "ECL_INBOX_DIR"
ANALYSIS_INBOX_ENV_VAR = "ECL_ANALYSIS_INBOX_DIR"
REVIEW_INBOX_ENV_VAR = "ECL_REVIEW_INBOX_DIR"
_log = get_logger("ecl.sensors")
_IGNORED_SUFFIXES = (".tmp", ".part", ".swp")


def topic_inbox_folder(home: Path, env: Mapping[str, str] = os.environ) -> Path:
    """Where topic requests are read: ``$ECL_INBOX_DIR``, else ``inbox/`` in ``home``."""
    return Path(env.get(INBOX_ENV_VAR) or home / "inbox")


def analysis_inbox_folder(home: Path, env: Mapping[str, str] = os.environ) -> Path:
    """Where analysis requests are read: ``$ECL_ANALYSIS_INBOX_DIR``, else ``analysis_inbox/``."""
    return Path(env.get(ANALYSIS_INBOX_ENV_VAR) or home / "analysis_inbox")


def review_inbox_folder(home: Path, env: Mapping[str, str] = os.environ) -> Path:
    """Where answers to reviews are read: ``$ECL_REVIEW_INBOX_DIR``, else ``review_inbox/``."""
    return Path(env.get(REVIEW_INBOX_ENV_VAR) or home / "review_inbox")


_BUDGET_FIELDS = ("budget_tokens", "budget_usd")


@dataclass(frozen=True)
class TopicRequest:
    """One request: topic, revision cap, a key unique to its content, its budget's run tags."""

    path: Path
    topic: str
    max_revisions: int
    key: str
    budget_tags: dict[str, str] = field(default_factory=dict)


def _is_pending(entry: os.DirEntry[str]) -> bool:
    if entry.name.startswith(".") or entry.name.endswith(_IGNORED_SUFFIXES):
        return False
    try:
        return not entry.is_dir(follow_symlinks=False)
    except OSError:  # gone since the folder was listed
        return False


def pending_files(inbox: Path) -> list[Path]:
    """Entries waiting in ``inbox`` that are not folders, by name (hidden and partial skipped).

    Symlinks, FIFOs and other special files are listed, not followed or opened, so that
    reading refuses them with a reason and they leave the inbox. An entry that vanishes
    while the folder is listed is skipped.
    """
    with os.scandir(inbox) as listing:
        return sorted(Path(entry.path) for entry in listing if _is_pending(entry))


def _shown(name: str) -> str:
    """``name`` as text; bytes that are not UTF-8 (surrogate escapes) shown escaped."""
    return os.fsencode(name).decode("utf-8", errors="backslashreplace")


def _rejected(field: str, problem: str) -> ValidationError:
    return ValidationError("request rejected", [FieldError(field, problem)])


def read_inbox_file(path: Path) -> str:
    """The text of one inbox file, read as every user file is (``read_user_file``).

    A symlink, a FIFO or anything else that is not a regular file is refused without being
    opened, so no file can block a tick or make it read outside the inbox.

    Raises:
        ValidationError: On field ``file``: the name is not valid UTF-8 (it could not be a
            run tag), or the file is not a regular file, over 64 KiB or not UTF-8 text.
    """
    if _shown(path.name) != path.name:
        raise _rejected("file", f"name '{_shown(path.name)}' is not valid UTF-8; rename it")
    return read_user_file(path, field="file", max_bytes=MAX_REQUEST_BYTES)


def parse_json(text: str) -> Any:
    """``text`` decoded as JSON.

    Raises:
        ValidationError: On field ``file``: not JSON, or nested too deeply for Python to
            decode (``RecursionError``, e.g. 30,000 ``[`` in a 60 KB file).
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise _rejected("file", f"is not valid JSON: {err}") from None
    except RecursionError:
        raise _rejected("file", "nests JSON too deeply to be read (RecursionError)") from None


def read_request(path: Path) -> TopicRequest:
    """Read a request: JSON, or plain text (the topic).

    JSON: ``{"topic": ..., "max_revisions": ..., "budget_tokens": ..., "budget_usd": ...}``,
    all but the topic optional; a budget becomes run tags (``ecl_dagster.usage.tags``).

    Raises:
        ValidationError: The file cannot be read (``read_inbox_file``), is not the JSON
            shape above (``parse_json``), or its topic, max_revisions or budget breaks the
            run config's rules.
    """
    text = read_inbox_file(path)
    max_revisions = MAX_REVISIONS_CAP
    if path.suffix.lower() == ".json":
        data = parse_json(text)
        if not isinstance(data, dict) or not isinstance(data.get("topic"), str):
            raise _rejected("topic", 'missing; a JSON request needs {"topic": "..."}')
        unknown = sorted(set(data) - {"topic", "max_revisions", *_BUDGET_FIELDS})
        if unknown:
            raise _rejected(unknown[0], "is not a request field (topic, max_revisions, "
                            "budget_tokens, budget_usd)")
        budget = budget_tags(data.get("budget_tokens"), data.get("budget_usd"),
                             names=_BUDGET_FIELDS)
        topic = data["topic"]
        max_revisions = data.get("max_revisions", MAX_REVISIONS_CAP)
        if not isinstance(max_revisions, int) or isinstance(max_revisions, bool):
            raise _rejected("max_revisions", f"is {max_revisions!r}; it must be an integer 0 to 3")
    else:
        topic, budget = text, {}
    topic = check_brief(topic, max_revisions)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return TopicRequest(path, topic, max_revisions, key=f"{path.name}:{digest}",
                        budget_tags=budget)


def move_aside(path: Path, folder: Path, reason: str | None = None) -> Path:
    """Move ``path`` into ``folder`` (never overwriting), with ``<name>.reason.txt`` if given.

    Raises:
        OSError: ``folder`` cannot be made, or the file cannot be moved or its reason written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    if target.exists():
        target = folder / f"{path.stem}.{time.time_ns()}{path.suffix}"
    path.replace(target)
    if reason is not None:
        target.with_name(target.name + ".reason.txt").write_text(
            reason + "\n", encoding="utf-8", errors="backslashreplace"
        )
    return target


def _move_or_log(path: Path, folder: Path, reason: str | None) -> None:
    """``move_aside``, or an ``inbox.request_stuck`` error line if the file cannot move."""
    try:
        move_aside(path, folder, reason=reason)
    except OSError as err:
        _log.error("inbox.request_stuck", file=_shown(path.name), folder=folder.name,
                   reason=reason, error=f"{type(err).__name__}: {err}")


def reject(path: Path, inbox: Path, err: Exception, event: str) -> None:
    """Move a request that cannot be read to ``<inbox>/failed/`` with its reason, and log it.

    The reason is a ValidationError's own text, else the exception's type and message. A
    file that cannot be moved is logged as ``inbox.request_stuck`` and left in place, so
    that one file never stops a tick.
    """
    reason = str(err) if isinstance(err, ValidationError) else f"{type(err).__name__}: {err}"
    _log.warning(event, file=_shown(path.name), reason=reason)
    _move_or_log(path, inbox / "failed", reason)


def retire(path: Path, inbox: Path) -> None:
    """Move a request whose run exists to ``<inbox>/done/``.

    A file that cannot be moved is logged as ``inbox.request_stuck`` and left in place (its
    run is not started again: its run key exists), so that it never stops a tick.
    """
    _move_or_log(path, inbox / "done", None)
