"""Reading a text or markdown document and splitting it into sections to summarize.

Markdown headings (``#`` to ``######`` at the start of a line) open sections; text before
the first heading is a section of its own. A document without headings is cut at blank
lines into parts of at most ``max_section_chars``. A section longer than that is cut the
same way, so no LLM call gets more than ``max_section_chars`` characters of document.
"""

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from ecl_core.codebase.safe_read import read_user_file
from ecl_core.errors import FieldError, ValidationError

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "MAX_SECTIONS",
    "MAX_SECTION_CHARS",
    "SUFFIXES",
    "Section",
    "SplitDocument",
    "read_document",
    "split_sections",
]

MAX_DOCUMENT_BYTES = 1_048_576
"""The largest document accepted: 1 MB (1,048,576 bytes), the summarize_document limit."""
MAX_SECTION_CHARS = 8000
"""The longest section, in characters, unless a workflow's step config says otherwise."""
MAX_SECTIONS = 50
"""The most sections a document may have, so that one file cannot start hundreds of calls."""
SUFFIXES = (".txt", ".md", ".markdown")
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_BLANK_LINES = re.compile(r"\n\s*\n")


class Section(BaseModel):
    """One section of a document."""

    model_config = ConfigDict(frozen=True)

    index: int = Field(ge=1, description="1 for the first section.")
    heading: str = Field(description="The markdown heading, or 'Part k' for plain text.")
    text: str = Field(description="The section's text, without its heading line.")


class SplitDocument(BaseModel):
    """A document cut into sections."""

    model_config = ConfigDict(frozen=True)

    document: str = Field(description="The file name.")
    title: str = Field(description="The first heading, else the file name without suffix.")
    sections: list[Section]


def _problem(path: Path, problem: str) -> ValidationError:
    return ValidationError(f"cannot summarize {path}", [FieldError("path", problem)])


def read_document(path: Path) -> str:
    """The document's text (UTF-8), read as every user file is read (``read_user_file``).

    The file itself must be a regular file with an allowed suffix, within 1 MB. A
    symlink is refused, not followed, even to a regular file with an allowed
    suffix: stricter than checking the link's resolved target, on purpose, so that one rule
    holds for every file a user names (``read_user_file``) and for the analyzer's tree
    (``scan_tree``). A FIFO, a device, a folder or an oversized file is refused from
    ``lstat`` before anything is opened, so nothing can block the run. Folders on the way
    to the file are resolved.

    Raises:
        ValidationError: On field ``path``: a suffix other than .txt, .md or .markdown, a
            missing file, a symlink, not a regular file, more than 1,048,576 bytes, text
            that is not UTF-8, or no text.
    """
    if path.suffix.lower() not in SUFFIXES:
        raise _problem(path, f"'{path.name}' is not a text or markdown file "
                            f"({', '.join(SUFFIXES)})")
    try:
        text = read_user_file(path, field="path", max_bytes=MAX_DOCUMENT_BYTES)
    except ValidationError as err:
        raise ValidationError(f"cannot summarize {path}", err.details) from None
    if not text.strip():
        raise _problem(path, "has no text")
    return text


def _cut(text: str, limit: int) -> list[str]:
    """``text`` in parts of at most ``limit`` characters, cut at blank lines when possible."""
    parts: list[str] = []
    current = ""
    for paragraph in (p.strip() for p in _BLANK_LINES.split(text)):
        while len(paragraph) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(paragraph[:limit])
            paragraph = paragraph[limit:].strip()
        if not paragraph:
            continue
        if current and len(current) + 2 + len(paragraph) > limit:
            parts.append(current)
            current = ""
        current = f"{current}\n\n{paragraph}" if current else paragraph
    return [*parts, current] if current else parts


def split_sections(
    path: Path, *, max_section_chars: int = MAX_SECTION_CHARS, max_sections: int = MAX_SECTIONS
) -> SplitDocument:
    """Read ``path`` and split it into sections (see the module docstring).

    Args:
        path: A .txt, .md or .markdown file of at most 1 MB.
        max_section_chars: The longest section, in characters.
        max_sections: The most sections, so that one document cannot start hundreds of calls.

    Raises:
        ValidationError: On field ``path``: the file cannot be read (see ``read_document``)
            or has more than ``max_sections`` sections.
    """
    text = read_document(path)
    blocks: list[tuple[str | None, list[str]]] = [(None, [])]
    for line in text.splitlines():
        found = _HEADING.match(line)
        if found:
            blocks.append((found.group(2), []))
        else:
            blocks[-1][1].append(line)
    title = next((h for h, _ in blocks if h), path.stem)
    named: list[tuple[str, str]] = []
    for heading, lines in blocks:
        parts = _cut("\n".join(lines), max_section_chars)
        for number, part in enumerate(parts, start=1):
            base = heading or "Introduction"
            if heading is None and len(blocks) == 1:
                name = f"Part {number}"
            else:
                name = base if len(parts) == 1 else f"{base} (part {number})"
            named.append((name, part))
    if len(named) > max_sections:
        raise _problem(path, f"has {len(named)} sections; the limit is {max_sections}")
    return SplitDocument(
        document=path.name,
        title=title,
        sections=[Section(index=i, heading=h, text=t) for i, (h, t) in enumerate(named, start=1)],
    )
