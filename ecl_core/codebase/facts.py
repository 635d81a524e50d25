"""The deterministic facts of a tree, no LLM: lines, complexity, manifests, tests, entry points.

* Lines per language: ``ecl_core.codebase.lines`` (pygments' lexers).
* Functions: lizard on every file whose language lizard reads, giving lizard's own
  cyclomatic complexity; a function's length is ``end_line - start_line + 1``.
* Manifests: ``ecl_core.codebase.manifests``.
* Test files (``TEST_FOLDERS``, ``TEST_FILE``): files lizard reads inside a ``test``,
  ``tests``, ``__tests__``, ``spec`` or ``specs`` folder, or named ``test_*.py``,
  ``*_test.py``, ``*_test.go``, ``*.test.*``, ``*.spec.*``, ``*Test.java``, ``*Tests.java``
  or ``*_spec.rb``. The test-to-code ratio is their code lines over the code lines of the
  other files lizard reads (so data and documentation files count in neither).
* Entry points: Python files with ``if __name__ == "__main__":`` and ``__main__.py``;
  ``[project.scripts]`` of pyproject.toml; package.json ``main`` and ``bin``; Go files of
  ``package main`` with ``func main(``; Rust ``src/main.rs`` and ``src/bin/*.rs``; Java
  ``public static void main(``; a Dockerfile's ``CMD`` and ``ENTRYPOINT``.
"""

import json
import re
import tomllib
from collections import defaultdict
from pathlib import PurePosixPath

import lizard
from pydantic import BaseModel, ConfigDict

from ecl_core.codebase.lines import count_lines
from ecl_core.codebase.manifests import Manifest, find_manifests
from ecl_core.codebase.tree import SkippedPath, SourceFile, SourceTree

__all__ = [
    "TEST_FILE",
    "TEST_FOLDERS",
    "CodebaseFacts",
    "EntryPoint",
    "FunctionComplexity",
    "LanguageLines",
    "Manifest",
    "compute_facts",
    "is_source_file",
    "is_test_file",
]

TEST_FOLDERS = frozenset({"test", "tests", "__tests__", "spec", "specs"})
TEST_FILE = re.compile(
    r"^(test_.*\.py|.*_test\.(py|go)|.*\.(test|spec)\.[a-z]+|.*Tests?\.java|.*_spec\.rb)$"
)
_PY_MAIN = re.compile(r"""^if\s+__name__\s*==\s*['"]__main__['"]\s*:""", re.MULTILINE)
_GO_MAIN = re.compile(r"^package\s+main\b", re.MULTILINE)
_GO_FUNC_MAIN = re.compile(r"^func\s+main\s*\(", re.MULTILINE)
_JAVA_MAIN = re.compile(r"public\s+static\s+void\s+main\s*\(")
_DOCKER_RUN = re.compile(r"^\s*(CMD|ENTRYPOINT)\s+(.+)$", re.MULTILINE | re.IGNORECASE)


class _Fact(BaseModel):
    model_config = ConfigDict(frozen=True)


class LanguageLines(_Fact):
    """Files and lines of one language."""

    language: str
    files: int
    code: int
    comment: int
    blank: int


class FunctionComplexity(_Fact):
    """One function as lizard measures it."""

    path: str
    name: str
    start_line: int
    end_line: int
    cyclomatic_complexity: int
    length: int
    nloc: int


class EntryPoint(_Fact):
    """Where the program starts."""

    path: str
    kind: str
    detail: str


class CodebaseFacts(_Fact):
    """The measured facts of a tree (module docstring)."""

    root: str
    files: int
    total_bytes: int
    languages: list[LanguageLines]
    code_lines: int
    functions: int
    average_complexity: float
    most_complex: list[FunctionComplexity]
    manifests: list[Manifest]
    test_files: list[str]
    test_code_lines: int
    non_test_code_lines: int
    test_ratio: float
    entry_points: list[EntryPoint]
    paths: list[str]
    skipped: list[SkippedPath]


def is_test_file(path: str) -> bool:
    """Whether ``path`` is a test by the conventions of the module docstring."""
    parts = PurePosixPath(path).parts
    return bool(TEST_FOLDERS.intersection(parts[:-1])) or bool(TEST_FILE.match(parts[-1]))


def is_source_file(path: str) -> bool:
    """Whether lizard reads ``path`` (a programming language, not data or prose)."""
    return lizard.get_reader_for(path) is not None


def _functions(file: SourceFile) -> list[FunctionComplexity]:
    analyzed = lizard.analyze_file.analyze_source_code(file.path, file.text)
    return [
        FunctionComplexity(
            path=file.path, name=f.name, start_line=f.start_line, end_line=f.end_line,
            cyclomatic_complexity=f.cyclomatic_complexity,
            length=f.end_line - f.start_line + 1, nloc=f.nloc,
        )
        for f in analyzed.function_list
    ]


def _entry_points(file: SourceFile) -> list[EntryPoint]:
    name, text = PurePosixPath(file.path).name, file.text
    found: list[EntryPoint] = []
    if name.endswith(".py") and (_PY_MAIN.search(text) or name == "__main__.py"):
        found.append(EntryPoint(path=file.path, kind="python __main__", detail=name))
    elif name.endswith(".go") and _GO_MAIN.search(text) and _GO_FUNC_MAIN.search(text):
        found.append(EntryPoint(path=file.path, kind="go main", detail="func main()"))
    elif name.endswith(".rs") and (file.path.endswith("src/main.rs") or "/src/bin/" in
                                   f"/{file.path}"):
        found.append(EntryPoint(path=file.path, kind="rust main", detail="fn main()"))
    elif name.endswith(".java") and _JAVA_MAIN.search(text):
        found.append(EntryPoint(path=file.path, kind="java main", detail="static main()"))
    elif name == "Dockerfile" or name.endswith(".Dockerfile"):
        found += [EntryPoint(path=file.path, kind="dockerfile", detail=f"{m[0]} {m[1].strip()}")
                  for m in _DOCKER_RUN.findall(text)]
    elif name == "pyproject.toml":
        try:
            scripts = tomllib.loads(text).get("project", {}).get("scripts", {})
        except ValueError:
            scripts = {}
        found += [EntryPoint(path=file.path, kind="python console script",
                             detail=f"{k} = {v}") for k, v in sorted(scripts.items())]
    elif name == "package.json":
        try:
            data = json.loads(text)
        except ValueError:
            data = {}
        if isinstance(data, dict):
            if isinstance(data.get("main"), str):
                found.append(EntryPoint(path=file.path, kind="npm main", detail=data["main"]))
            bins = data.get("bin")
            bins = {data.get("name", "bin"): bins} if isinstance(bins, str) else bins
            if isinstance(bins, dict):
                found += [EntryPoint(path=file.path, kind="npm bin", detail=f"{k}: {v}")
                          for k, v in sorted(bins.items())]
    return found


def compute_facts(tree: SourceTree, *, top_functions: int = 15) -> CodebaseFacts:
    """Measure ``tree`` (module docstring); ``most_complex`` keeps ``top_functions``."""
    by_language: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    functions: list[FunctionComplexity] = []
    test_files: list[str] = []
    test_lines = other_lines = 0
    entry_points: list[EntryPoint] = []
    for file in tree.files:
        lines = count_lines(file.path, file.text)
        totals = by_language[lines.language]
        for k, value in enumerate((1, lines.code, lines.comment, lines.blank)):
            totals[k] += value
        entry_points += _entry_points(file)
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
        test_files=test_files,
        test_code_lines=test_lines,
        non_test_code_lines=other_lines,
        test_ratio=test_lines / other_lines if other_lines else 0.0,
        entry_points=entry_points,
        paths=sorted(f.path for f in tree.files),
        skipped=tree.skipped,
    )
