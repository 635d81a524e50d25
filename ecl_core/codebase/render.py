"""The facts of a tree as markdown tables, for a person in the Dagster UI and for prompts."""

from ecl_core.codebase.facts import CodebaseFacts

__all__ = ["facts_markdown"]

MAX_ROWS = 50
"""Longest list shown per table (skipped paths, test files)."""


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _capped(items: list[str]) -> list[str]:
    extra = len(items) - MAX_ROWS
    return items[:MAX_ROWS] + ([f"... and {extra} more"] if extra > 0 else [])


def facts_markdown(facts: CodebaseFacts) -> str:
    """Languages, most complex functions, manifests, tests, entry points and skipped paths."""
    parts = [
        f"**{facts.files} files**, {facts.total_bytes:,} bytes of text, "
        f"{facts.code_lines:,} code lines, {facts.functions} functions "
        f"(mean cyclomatic complexity {facts.average_complexity:.2f}).",
        "### Languages",
        _table(["Language", "Files", "Code", "Comment", "Blank"], [
            [lang.language, str(lang.files), str(lang.code), str(lang.comment), str(lang.blank)]
            for lang in facts.languages
        ]),
        "### Most complex functions",
        _table(["Function", "Where", "Complexity", "Lines"], [
            [f.name, f"`{f.path}:{f.start_line}`", str(f.cyclomatic_complexity), str(f.length)]
            for f in facts.most_complex
        ]) if facts.most_complex else "No function found.",
        "### Dependency manifests",
        _table(["Manifest", "Kind", "Dependencies", "Dev dependencies"], [
            [f"`{m.path}`", m.kind, ", ".join(m.dependencies) or "-",
             ", ".join(m.dev_dependencies) or "-"]
            for m in facts.manifests
        ]) if facts.manifests else "No dependency manifest found.",
        "### Tests",
        f"{len(facts.test_files)} test files; {facts.test_code_lines} test code lines for "
        f"{facts.non_test_code_lines} other code lines: test-to-code ratio "
        f"{facts.test_ratio:.2f}.",
        "\n".join(f"- `{p}`" for p in _capped(facts.test_files)),
        "### Entry points",
        _table(["File", "Kind", "Detail"], [
            [f"`{e.path}`", e.kind, e.detail] for e in facts.entry_points
        ]) if facts.entry_points else "No entry point found.",
        "### Skipped paths",
        _table(["Path", "Why"], [[f"`{s.path}`", s.reason] for s in facts.skipped[:MAX_ROWS]])
        if facts.skipped else "Nothing was skipped.",
    ]
    return "\n\n".join(part for part in parts if part)
