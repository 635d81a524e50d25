"""The most relevant source for a model judging a codebase, within a token budget.

Tokens are estimated at 4 characters each (``CHARS_PER_TOKEN``), so the budget is
``budget_tokens * 4`` characters of excerpt text, each line counted with its newline
(headers a prompt puts around an excerpt are not counted). Candidates, in this order,
while the budget lasts:

1. the dependency manifests (their first ``MAX_EXCERPT_LINES`` lines);
2. the entry points: ``ENTRY_POINT_LINES`` lines from ``CONTEXT_LINES`` lines before the
   line that declares each (a manifest's entries: its start);
3. the most complex functions, most complex first: their lines and ``CONTEXT_LINES``
   lines either side;
4. the start of the largest source files that are not tests (``MAX_EXCERPT_LINES``).

A line already given is never given again: a candidate keeps its first run of new lines,
cut where the budget ends; a run of blank lines only is dropped. Line numbers are 1-based,
lines as ``ecl_core.codebase.lines.split_lines`` splits them (as lizard numbers them).
"""

from pydantic import BaseModel, ConfigDict, Field

from ecl_core.codebase.facts import CodebaseFacts, is_source_file, is_test_file
from ecl_core.codebase.lines import split_lines
from ecl_core.codebase.tree import SourceTree

__all__ = [
    "CHARS_PER_TOKEN",
    "CONTEXT_LINES",
    "ENTRY_POINT_LINES",
    "MAX_EXCERPT_LINES",
    "Excerpt",
    "select_excerpts",
]

CHARS_PER_TOKEN = 4
CONTEXT_LINES = 3
ENTRY_POINT_LINES = 60
MAX_EXCERPT_LINES = 120


class Excerpt(BaseModel):
    """Lines of one file, and why they were chosen."""

    model_config = ConfigDict(frozen=True)

    path: str
    start_line: int = Field(description="1-based, inclusive.")
    end_line: int = Field(description="1-based, inclusive.")
    text: str = Field(description="The lines, joined by newlines.")
    why: str = Field(description="e.g. 'manifest', 'most complex function f (CCN 12)'.")


def _candidates(tree: SourceTree, facts: CodebaseFacts) -> list[tuple[str, int, int, str]]:
    """(path, first line, last line, why) in the order of the module docstring."""
    wanted = [(m.path, 1, MAX_EXCERPT_LINES, "manifest") for m in facts.manifests]
    wanted += [
        (e.path, max(1, e.line - CONTEXT_LINES), max(1, e.line - CONTEXT_LINES)
         + ENTRY_POINT_LINES - 1, f"entry point ({e.kind})")
        for e in facts.entry_points
    ]
    wanted += [
        (f.path, max(1, f.start_line - CONTEXT_LINES), f.end_line + CONTEXT_LINES,
         f"most complex function {f.name} (CCN {f.cyclomatic_complexity})")
        for f in facts.most_complex
    ]
    largest = sorted((f for f in tree.files if is_source_file(f.path) and not
                      is_test_file(f.path)), key=lambda f: (-f.size, f.path))
    wanted += [(f.path, 1, MAX_EXCERPT_LINES, "largest file") for f in largest]
    return wanted


def select_excerpts(
    tree: SourceTree, facts: CodebaseFacts, *, budget_tokens: int
) -> list[Excerpt]:
    """Excerpts of ``tree`` (module docstring).

    Args:
        tree: The scanned tree.
        facts: Its facts (``compute_facts(tree)``).
        budget_tokens: Most tokens of excerpt text, at ``CHARS_PER_TOKEN`` characters each.

    Returns:
        The excerpts in the order chosen; their lines with newlines add up to at most
        ``budget_tokens * CHARS_PER_TOKEN`` characters, and no line is given twice.
    """
    texts = {f.path: f.text for f in tree.files}
    lines: dict[str, list[str]] = {}
    taken: dict[str, set[int]] = {}
    budget = budget_tokens * CHARS_PER_TOKEN
    found: list[Excerpt] = []
    for path, start, end, why in _candidates(tree, facts):
        if budget <= 0:
            break
        if path not in texts:
            continue
        if path not in lines:
            lines[path] = split_lines(texts[path])
        file_lines = lines[path]
        seen = taken.setdefault(path, set())
        kept: list[int] = []
        left = budget
        for n in range(start, min(end, len(file_lines)) + 1):
            if n in seen:
                if kept:
                    break
                continue
            cost = len(file_lines[n - 1]) + 1
            if cost > left:
                break
            kept.append(n)
            left -= cost
        text = "\n".join(file_lines[n - 1] for n in kept)
        if text.strip():
            budget = left
            seen.update(kept)
            found.append(Excerpt(
                path=path, start_line=kept[0], end_line=kept[-1], text=text, why=why,
            ))
    return found
