"""Where a program starts, found by well-known conventions (no code is run).

Each entry point is (path, kind, detail):

* a ``*.py`` file with a top-level ``if __name__ == "__main__":`` (found in the text, then
  confirmed with ``ast``, so one inside a string does not count): ``python __main__``,
  ``if __name__ == "__main__"``; a ``__main__.py``: ``python __main__``, ``python -m``;
* ``pyproject.toml``: ``python console script``, ``name = module:function``, one per entry
  of ``[project.scripts]``, ``[project.gui-scripts]`` and ``[tool.poetry.scripts]``;
* ``package.json``: ``npm main``, its ``main``; ``npm bin``, ``name: path`` per ``bin``
  (a ``bin`` string is named after the package);
* a ``*.go`` file of ``package main`` with ``func main(``: ``go main``, ``func main()``;
* ``src/main.rs``, ``src/bin/*.rs``, ``src/bin/*/main.rs``: ``rust main``, ``fn main()``;
  ``Cargo.toml``: ``rust bin``, ``name: path`` per ``[[bin]]``;
* a ``*.java`` file with ``public static void main(``: ``java main``, ``static void main``;
* ``Dockerfile``, ``Dockerfile.*``, ``*.Dockerfile``, ``Containerfile``: ``dockerfile``,
  each ``CMD`` and ``ENTRYPOINT`` instruction, line continuations joined.

Each also has the line where it is declared (1 for a manifest's entries). A manifest that
cannot be parsed gives no entry point, never an error.
"""

import ast
import json
import re
import tomllib
from pathlib import PurePosixPath

from pydantic import BaseModel, ConfigDict, Field

from ecl_core.codebase.lines import split_lines
from ecl_core.codebase.manifests import MANIFEST_ERRORS

__all__ = ["EntryPoint", "find_entry_points"]

_PY_MAIN = re.compile(
    r"""^if\s+(__name__\s*==\s*(['"])__main__\2|(['"])__main__\3\s*==\s*__name__)\s*:""",
    re.MULTILINE,
)
_GO_PACKAGE_MAIN = re.compile(r"^package\s+main\b", re.MULTILINE)
_GO_FUNC_MAIN = re.compile(r"^func\s+main\s*\(", re.MULTILINE)
_RUST_FN_MAIN = re.compile(r"^\s*(pub\s+)?(async\s+)?fn\s+main\s*\(", re.MULTILINE)
_JAVA_MAIN = re.compile(r"\bpublic\s+static\s+void\s+main\s*\(")
_DOCKER_START = re.compile(r"^\s*(CMD|ENTRYPOINT)\s+(.*)$", re.IGNORECASE)
_RUST_BIN = re.compile(r"(^|/)src/(main\.rs|bin/[^/]+\.rs|bin/[^/]+/main\.rs)$")

Found = list[tuple[str, str, int]]
"""(kind, detail, line) of each entry point of a file."""


class EntryPoint(BaseModel):
    """Where a program starts (module docstring)."""

    model_config = ConfigDict(frozen=True)

    path: str
    kind: str
    detail: str
    line: int = Field(1, description="1-based line of the declaration in a source file or "
                                     "Dockerfile; 1 for a manifest's entries.")


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _is_dockerfile(name: str) -> bool:
    return name in ("Dockerfile", "Containerfile") or name.endswith(".Dockerfile") or (
        name.startswith("Dockerfile.")
    )


def _dockerfile(text: str) -> Found:
    lines = split_lines(text)
    found: Found = []
    for number, line in enumerate(lines, start=1):
        start = _DOCKER_START.match(line)
        if not start:
            continue
        parts = [start.group(2)]
        following = number
        while parts[-1].rstrip().endswith("\\") and following < len(lines):
            parts[-1] = parts[-1].rstrip()[:-1]
            parts.append(lines[following])
            following += 1
        command = " ".join(" ".join(parts).split())
        found.append(("dockerfile", f"{start.group(1).upper()} {command}", number))
    return found


def _is_main_guard(node: ast.stmt) -> bool:
    """Whether ``node`` is ``if __name__ == "__main__":`` (either way round)."""
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    test = node.test
    sides = [test.left, *test.comparators]
    return (len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)
            and any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
            and any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides))


def _python_main(text: str) -> int | None:
    """The line of a top-level ``if __name__ == "__main__":``, or None.

    The text is searched first; a match is confirmed with ``ast`` (so one inside a string
    does not count); a file that does not parse keeps the textual match.
    """
    match = _PY_MAIN.search(text)
    if match is None:
        return None
    try:
        module = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return _line_of(text, match.start())
    return next((node.lineno for node in module.body if _is_main_guard(node)), None)


def _pyproject(text: str) -> Found:
    data = tomllib.loads(text)
    project = data.get("project", {})
    tables = [project.get("scripts"), project.get("gui-scripts"),
              data.get("tool", {}).get("poetry", {}).get("scripts")]
    return [("python console script", f"{name} = {target}", 1)
            for table in tables if isinstance(table, dict)
            for name, target in sorted(table.items()) if isinstance(target, str)]


def _package_json(text: str) -> Found:
    data = json.loads(text)
    if not isinstance(data, dict):
        return []
    found: Found = [("npm main", data["main"], 1)] if isinstance(data.get("main"), str) else []
    bins = data.get("bin")
    if isinstance(bins, str):
        bins = {str(data.get("name", "bin")): bins}
    if isinstance(bins, dict):
        found += [("npm bin", f"{name}: {path}", 1) for name, path in sorted(bins.items())]
    return found


def _cargo(text: str) -> Found:
    bins = tomllib.loads(text).get("bin", [])
    return [("rust bin", f"{b.get('name', '?')}: {b.get('path', 'src/main.rs')}", 1)
            for b in (bins if isinstance(bins, list) else []) if isinstance(b, dict)]


def _in_manifest(name: str, text: str) -> Found:
    parse = {"pyproject.toml": _pyproject, "package.json": _package_json,
             "Cargo.toml": _cargo}.get(name)
    if parse is None:
        return []
    try:
        return parse(text)
    except MANIFEST_ERRORS:
        return []


def _first(pattern: re.Pattern[str], text: str) -> int | None:
    match = pattern.search(text)
    return _line_of(text, match.start()) if match else None


def _in_source(path: str, name: str, text: str) -> Found:
    if name == "__main__.py":
        return [("python __main__", "python -m", 1)]
    if name.endswith(".py"):
        line = _python_main(text)
        return [("python __main__", 'if __name__ == "__main__"', line)] if line else []
    if name.endswith(".go") and _GO_PACKAGE_MAIN.search(text):
        line = _first(_GO_FUNC_MAIN, text)
        return [("go main", "func main()", line)] if line else []
    if name.endswith(".rs") and _RUST_BIN.search(path):
        return [("rust main", "fn main()", _first(_RUST_FN_MAIN, text) or 1)]
    if name.endswith(".java"):
        line = _first(_JAVA_MAIN, text)
        return [("java main", "static void main", line)] if line else []
    if _is_dockerfile(name):
        return _dockerfile(text)
    return []


def find_entry_points(path: str, text: str) -> list[EntryPoint]:
    """The entry points one file declares (module docstring), in the order they appear.

    Args:
        path: The file's path, POSIX, relative to the root.
        text: The file's text.
    """
    name = PurePosixPath(path).name
    found = _in_manifest(name, text) or _in_source(path, name, text)
    return [EntryPoint(path=path, kind=kind, detail=detail, line=line)
            for kind, detail, line in found]
