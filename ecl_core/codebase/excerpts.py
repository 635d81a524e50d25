"""The most relevant source for a model judging a codebase, within a token budget.

In this order, while the budget lasts (tokens estimated at 4 characters each): the
dependency manifests, the entry points, the most complex functions (their lines and 3
lines of context around them), then the start of the largest files that are not tests.
An excerpt is cut to what is left of the budget; no line range is given twice.
"""

from pydantic import BaseModel, ConfigDict

from ecl_core.codebase.facts import CodebaseFacts, is_test_file
from ecl_core.codebase.tree import SourceTree

__all__ = ["CHARS_PER_TOKEN", "Excerpt", "select_excerpts"]

CHARS_PER_TOKEN = 4
CONTEXT_LINES = 3
MAX_EXCERPT_LINES = 120


class Excerpt(BaseModel):
    """Lines of one file, and why they were chosen."""

    model_config = ConfigDict(frozen=True)

    path: str
    start_line: int
    end_line: int
    text: str
    why: str


def select_excerpts(
    tree: SourceTree, facts: CodebaseFacts, *, budget_tokens: int
) -> list[Excerpt]:
    """Excerpts of ``tree`` in the order of the module docstring, within ``budget_tokens``."""
    texts = {f.path: f.text.splitlines() for f in tree.files}
    wanted: list[tuple[str, int, int, str]] = [
        (m.path, 1, MAX_EXCERPT_LINES, "manifest") for m in facts.manifests
    ]
    wanted += [(e.path, 1, MAX_EXCERPT_LINES, f"entry point ({e.kind})")
               for e in facts.entry_points]
    wanted += [
        (f.path, max(1, f.start_line - CONTEXT_LINES), f.end_line + CONTEXT_LINES,
         f"most complex function {f.name} (complexity {f.cyclomatic_complexity})")
        for f in facts.most_complex
    ]
    largest = sorted((f for f in tree.files if not is_test_file(f.path)),
                     key=lambda f: (-f.size, f.path))
    wanted += [(f.path, 1, MAX_EXCERPT_LINES, "largest file") for f in largest]
    budget = budget_tokens * CHARS_PER_TOKEN
    taken: dict[str, set[int]] = {}
    found: list[Excerpt] = []
    for path, start, end, why in wanted:
        lines = texts.get(path, [])
        seen = taken.setdefault(path, set())
        numbers = [n for n in range(start, min(end, len(lines)) + 1) if n not in seen]
        if not numbers or budget <= 0:
            continue
        kept: list[int] = []
        for n in numbers:
            cost = len(lines[n - 1]) + 1
            if cost > budget or (kept and n != kept[-1] + 1):
                break
            kept.append(n)
            budget -= cost
        if kept:
            seen.update(kept)
            text = "\n".join(lines[n - 1] for n in kept)
            found.append(Excerpt(path=path, start_line=kept[0], end_line=kept[-1],
                                 text=text, why=why))
    return found
