"""The facts of a tree as markdown, for a person in the Dagster UI and for prompts.

A summary line, then one section per fact: languages (files, code, comment and blank
lines, with a total), the most complex functions (where, name, CCN, length), dependency
manifests, tests (files and the test-to-code ratio), entry points and skipped paths.
Lists longer than ``MAX_ROWS`` end with a row saying how many more there are.
"""

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ecl_core.codebase.facts import CodebaseFacts

__all__ = ["MAX_ROWS", "facts_markdown"]

MAX_ROWS = 50
"""Most rows shown per list (test files, skipped paths)."""


def _cell(text: str) -> str:
    """``text`` safe in a table cell: no line break, ``|`` escaped."""
    return " ".join(text.splitlines()).replace("|", "\\|")


def _code(text: str) -> str:
    """``text`` as inline code, fenced by more backticks than any run it holds.

    Line breaks (possible in a file name) are shown escaped, so the span stays on a line.
    """
    text = text.replace("\r", "\\r").replace("\n", "\\n")
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


def _more(total: int) -> str:
    return f"... and {total - MAX_ROWS:,} more"


def facts_markdown(facts: "CodebaseFacts") -> str:
    """The facts as markdown tables (module docstring)."""
    languages = [
        [lang.language, f"{lang.files:,}", f"{lang.code:,}", f"{lang.comment:,}",
         f"{lang.blank:,}"] for lang in facts.languages
    ]
    languages.append([
        "**Total**", f"{facts.files:,}", f"{facts.code_lines:,}",
        f"{sum(lang.comment for lang in facts.languages):,}",
        f"{sum(lang.blank for lang in facts.languages):,}",
    ])
    tests = [f"- {_code(path)}" for path in facts.test_files[:MAX_ROWS]]
    if len(facts.test_files) > MAX_ROWS:
        tests.append(f"- {_more(len(facts.test_files))}")
    skipped = [[_code(s.path), s.reason] for s in facts.skipped[:MAX_ROWS]]
    if len(facts.skipped) > MAX_ROWS:
        skipped.append([_more(len(facts.skipped)), ""])
    parts = [
        f"**{_count(facts.files, 'file')}**, {facts.total_bytes:,} bytes of text, "
        f"{facts.code_lines:,} code lines, {_count(facts.functions, 'function')} "
        f"(mean cyclomatic complexity {facts.average_complexity:.2f}).",
        "### Languages",
        _table(["Language", "Files", "Code", "Comment", "Blank"], languages),
        "### Most complex functions",
        _table(["Where", "Function", "CCN", "Length (lines)"], [
            [_code(f"{f.path}:{f.start_line}"), f.name, str(f.cyclomatic_complexity),
             f"{f.length:,}"] for f in facts.most_complex
        ]) if facts.most_complex else "No function found.",
        "### Dependency manifests",
        _table(["Manifest", "Kind", "Dependencies", "Dev dependencies"], [
            [_code(m.path), m.kind, ", ".join(m.dependencies) or "-",
             ", ".join(m.dev_dependencies) or "-"] for m in facts.manifests
        ]) if facts.manifests else "No dependency manifest found.",
        "### Tests",
        f"{_count(len(facts.test_files), 'test file')}; "
        f"{facts.test_code_lines:,} test code lines for "
        f"{facts.non_test_code_lines:,} other code lines: test-to-code ratio "
        f"{facts.test_ratio:.2f}.",
        "\n".join(tests),
        "### Entry points",
        _table(["File", "Kind", "Detail"], [
            [_code(e.path), e.kind, e.detail] for e in facts.entry_points
        ]) if facts.entry_points else "No entry point found.",
        "### Skipped paths",
        _table(["Path", "Why"], skipped) if skipped else "Nothing was skipped.",
    ]
    return "\n\n".join(part for part in parts if part)
