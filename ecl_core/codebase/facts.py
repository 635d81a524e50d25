"""The deterministic facts of a tree, no LLM: lines, complexity, manifests, tests, entry points.

* Lines per language: ``ecl_core.codebase.lines`` (pygments' lexers; one counter for the
  language table and for the test-to-code ratio).
* Functions: lizard on every file whose language lizard reads (``is_source_file``), giving
  lizard's own cyclomatic complexity (CCN) and NLOC; a function's length is
  ``end_line - start_line + 1`` lines.
* Manifests: ``ecl_core.codebase.manifests``; entry points:
  ``ecl_core.codebase.entry_points``.
* Test files: source files (lizard reads them) inside a folder named ``test``, ``tests``,
  ``__tests__``, ``spec`` or ``specs`` (``TEST_FOLDERS``), or named ``test_*.py``,
  ``*_test.py``, ``*_test.go``, ``*.test.<ext>``, ``*.spec.<ext>``, ``*Test.java``,
  ``*Tests.java`` or ``*_spec.rb`` (``TEST_FILE``). The test-to-code ratio is their code
  lines over the code lines of the other source files; data and documentation (JSON,
  Markdown, YAML...) count in neither.
"""

import re
from collections import defaultdict
from pathlib import PurePosixPath

from pydantic import BaseModel, ConfigDict, Field

from ecl_core.codebase.entry_points import EntryPoint, find_entry_points
from ecl_core.codebase.lines import count_lines
from ecl_core.codebase.manifests import Manifest, find_manifests
from ecl_core.codebase.render import facts_markdown
from ecl_core.codebase.tree import SkippedPath, SourceFile, SourceTree
from ecl_core.progress import progress

__all__ = [
    "TEST_FILE",
    "TEST_FOLDERS",
    "CodebaseFacts",
    "EntryPoint",
    "FunctionComplexity",
    "LanguageLines",
    "Manifest",
    "compute_facts",
    "facts_markdown",
    "is_source_file",
    "is_test_file",
]

TEST_FOLDERS = frozenset({"test", "tests", "__tests__", "spec", "specs"})
TEST_FILE = re.compile(
    r"^(test_.*\.py|.*_test\.(py|go)|.*\.(test|spec)\.[A-Za-z0-9]+|.*Tests?\.java|.*_spec\.rb)$"
)


class LanguageLines(BaseModel):
    """Files and lines of one language (``ecl_core.codebase.lines``)."""

    model_config = ConfigDict(frozen=True)

    language: str
    files: int
    code: int
    comment: int
    blank: int


class FunctionComplexity(BaseModel):
    """One function as lizard measures it."""

    model_config = ConfigDict(frozen=True)

    path: str
    name: str = Field(description="Lizard's name, e.g. 'Server::route' or 'handle'.")
    start_line: int
    end_line: int
    cyclomatic_complexity: int
    length: int = Field(description="Lines: end_line - start_line + 1.")
    nloc: int = Field(description="Lizard's lines of code, without comments and blanks.")


class CodebaseFacts(BaseModel):
    """The measured facts of a tree (module docstring)."""

    model_config = ConfigDict(frozen=True)

    root: str
    files: int
    total_bytes: int
    languages: list[LanguageLines] = Field(description="By code lines descending, then name.")
    code_lines: int = Field(description="The sum of code lines over languages.")
    functions: int
    average_complexity: float = Field(description="Mean CCN over functions; 0.0 when none.")
    most_complex: list[FunctionComplexity] = Field(
        description="By CCN descending, then path, then start line; the top few."
    )
    manifests: list[Manifest] = Field(description="In path order.")
    test_files: list[str] = Field(description="Sorted.")
    test_code_lines: int
    non_test_code_lines: int
    test_ratio: float = Field(description="test_code_lines / non_test_code_lines; 0.0 when none.")
    entry_points: list[EntryPoint] = Field(description="In path order, then as they appear.")
    paths: list[str] = Field(description="Every file read, sorted.")
    skipped: list[SkippedPath]


def is_test_file(path: str) -> bool:
    """Whether ``path`` is a test by its folders or name (module docstring)."""
    parts = PurePosixPath(path).parts
    return bool(TEST_FOLDERS.intersection(parts[:-1])) or bool(TEST_FILE.match(parts[-1]))


def is_source_file(path: str) -> bool:
    """Whether lizard reads ``path``: a programming language, not data or prose."""
    import lizard  # about 60 ms to import: only when a tree is measured (docs/dagster-notes.md)

    return lizard.get_reader_for(path) is not None


def _functions(file: SourceFile) -> list[FunctionComplexity]:
    import lizard

    analyzed = lizard.analyze_file.analyze_source_code(file.path, file.text)
    return [
        FunctionComplexity(
            path=file.path, name=f.name, start_line=f.start_line, end_line=f.end_line,
            cyclomatic_complexity=f.cyclomatic_complexity,
            length=f.end_line - f.start_line + 1, nloc=f.nloc,
        )
        for f in analyzed.function_list
    ]


def compute_facts(tree: SourceTree, *, top_functions: int = 15) -> CodebaseFacts:
    """Measure ``tree`` (module docstring).

    Args:
        tree: The scanned tree.
        top_functions: How many of the most complex functions ``most_complex`` keeps.

    Returns:
        The facts; the same tree always gives the same facts.
    """
    by_language: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    functions: list[FunctionComplexity] = []
    test_files: list[str] = []
    test_lines = other_lines = 0
    entry_points: list[EntryPoint] = []
    with progress("measuring code", len(tree.files), unit="files") as ticker:
        for file in tree.files:
            ticker.tick()
            lines = count_lines(file.path, file.text)
            totals = by_language[lines.language]
            for k, value in enumerate((1, lines.code, lines.comment, lines.blank)):
                totals[k] += value
            entry_points += find_entry_points(file.path, file.text)
            if not is_source_file(file.path):
                continue
            functions += _functions(file)
            if is_test_file(file.path):
                test_files.append(file.path)
                test_lines += lines.code
            else:
                other_lines += lines.code
    languages = sorted(
        (LanguageLines(language=name, files=t[0], code=t[1], comment=t[2], blank=t[3])
         for name, t in by_language.items()),
        key=lambda lang: (-lang.code, lang.language),
    )
    ranked = sorted(functions, key=lambda f: (-f.cyclomatic_complexity, f.path, f.start_line))
    return CodebaseFacts(
        root=tree.root,
        files=len(tree.files),
        total_bytes=tree.total_bytes,
        languages=languages,
        code_lines=sum(lang.code for lang in languages),
        functions=len(functions),
        average_complexity=(
            sum(f.cyclomatic_complexity for f in functions) / len(functions) if functions else 0.0
        ),
        most_complex=ranked[:top_functions],
        manifests=find_manifests((f.path, f.text) for f in tree.files),
        test_files=sorted(test_files),
        test_code_lines=test_lines,
        non_test_code_lines=other_lines,
        test_ratio=test_lines / other_lines if other_lines else 0.0,
        entry_points=entry_points,
        paths=sorted(f.path for f in tree.files),
        skipped=tree.skipped,
    )
