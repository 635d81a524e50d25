"""Quality gates on a document, engine-free: required sections and cited paths.

The Dagster asset checks (``ecl_dagster.assets``) report these; a document that cites a
file the analyzed tree does not hold, or leaves a required section empty, fails its check.
"""

import re
from collections.abc import Iterable

from ecl_core.migration.documents import Document

__all__ = ["citation_path", "missing_citations", "missing_sections"]

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
