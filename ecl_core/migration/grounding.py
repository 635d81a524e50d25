"""Grounding, engine-free: citations constrained by construction, and the quality gates.

Where the provider takes a JSON schema (structured outputs), ``grounded_schema`` limits every
citation field of a document (marked ``CITATION`` in ``ecl_core.migration.documents``) to an
``enum`` of the analyzed tree's files, so a model cannot cite a file that does not exist.
Above ``CITATION_ENUM_MAX_PATHS`` files the schema keeps free strings. Either way the Dagster
asset checks (``ecl_dagster.analyzer``) report the gates below: a document that cites a file the
tree does not hold, or leaves a required section empty, fails its check.
"""

import re
from collections.abc import Iterable, Sequence
from typing import Any

from ecl_core.json_schema import object_nodes
from ecl_core.migration.documents import CITATION, Document

__all__ = [
    "CITATION_ENUM_MAX_PATHS",
    "citation_path",
    "grounded_schema",
    "missing_citations",
    "missing_sections",
]

CITATION_ENUM_MAX_PATHS = 500
"""Most files of a tree whose paths become a citation ``enum`` (docs/getting-started.md,
"Using a local model", gives the grammar and request costs measured at this size)."""

_LINE_SUFFIX = re.compile(r":\d+(?:-\d+)?$")


def citation_path(cited: str) -> str:
    """The path of a citation: ``./src/a.py:12-30`` -> ``src/a.py`` (a folder keeps no ``/``)."""
    path = _LINE_SUFFIX.sub("", cited.strip().strip("`"))
    while path.startswith("./"):
        path = path[2:]
    return path.rstrip("/")


def missing_sections(document: Document) -> list[str]:
    """Required section headings that are absent or empty, in the order they are required."""
    sections = document.sections()
    return [h for h in document.REQUIRED_SECTIONS if not sections.get(h, "").strip()]


def missing_citations(document: Document, tree_paths: Iterable[str]) -> list[str]:
    """Cited paths that are neither a file of the tree nor a folder holding one.

    Args:
        document: The document whose ``cited_paths()`` are checked.
        tree_paths: Every file of the tree, POSIX and relative to its root.

    Returns:
        The citations as written, without duplicates, in the order they appear.
    """
    files = set(tree_paths)
    folders = {"/".join(p.split("/")[:i]) for p in files for i in range(1, p.count("/") + 1)}
    missing: list[str] = []
    for cited in document.cited_paths():
        path = citation_path(cited)
        if path not in files and path not in folders and cited not in missing:
            missing.append(cited)
    return missing


def grounded_schema(model: type[Document], tree_paths: Sequence[str] | None) -> dict[str, Any]:
    """``model``'s JSON schema, its citation fields an ``enum`` of ``tree_paths``.

    Args:
        model: The document's model.
        tree_paths: Every file of the analyzed tree; None, or more than
            ``CITATION_ENUM_MAX_PATHS`` files, leaves citations free strings.

    Returns:
        The schema without ECL's ``CITATION`` marks: a field marked on a string gets the
        ``enum``, one marked on an array gets it on its items.
    """
    schema = model.model_json_schema()
    files = sorted(set(tree_paths or ()))
    paths = files if 0 < len(files) <= CITATION_ENUM_MAX_PATHS else None

    for node in object_nodes(schema):
        if node.pop(CITATION, False) and paths is not None:
            target = node["items"] if node.get("type") == "array" else node
            target["enum"] = list(paths)
    return schema
