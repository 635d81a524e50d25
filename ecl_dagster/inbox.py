"""Topic requests dropped as files into an inbox folder: reading them and moving them aside."""

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

from ecl_core.errors import FieldError, ValidationError
from ecl_core.loop import MAX_REVISIONS_CAP, check_brief

__all__ = ["MAX_REQUEST_BYTES", "TopicRequest", "move_aside", "pending_files", "read_request"]

MAX_REQUEST_BYTES = 64 * 1024
_IGNORED_SUFFIXES = (".tmp", ".part", ".swp")


@dataclass(frozen=True)
class TopicRequest:
    """One request: the topic, the revision cap, and a key unique to the file's content."""

    path: Path
    topic: str
    max_revisions: int
    key: str


def pending_files(inbox: Path) -> list[Path]:
    """Request files waiting in ``inbox``, oldest name first (hidden and partial files skipped)."""
    return sorted(
        p
        for p in inbox.iterdir()
        if p.is_file() and not p.name.startswith(".") and not p.name.endswith(_IGNORED_SUFFIXES)
    )


def _rejected(field: str, problem: str) -> ValidationError:
    return ValidationError("request rejected", [FieldError(field, problem)])


def read_request(path: Path) -> TopicRequest:
    """Read a request: JSON ``{"topic": ..., "max_revisions": ...}``, or plain text (the topic).

    Raises:
        ValidationError: The file is too large, not UTF-8, not the JSON shape above, or its
            topic or max_revisions breaks the run config's rules.
    """
    raw = path.read_bytes()
    if len(raw) > MAX_REQUEST_BYTES:
        raise _rejected("file", f"has {len(raw):,} bytes; the limit is {MAX_REQUEST_BYTES:,}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _rejected("file", "is not UTF-8 text") from None
    max_revisions = MAX_REVISIONS_CAP
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise _rejected("file", f"is not valid JSON: {err}") from None
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
    digest = hashlib.sha256(raw).hexdigest()[:16]
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
