"""Dependency manifests and the dependencies they declare (names only), with the stdlib.

Each manifest is (kind; dependencies; dev dependencies), names sorted and unique:

* ``package.json``: npm; dependencies, peerDependencies, optionalDependencies;
  devDependencies.
* ``pyproject.toml``: python; PEP 621 ``project.dependencies`` and Poetry's
  ``dependencies`` (not ``python``); ``project.optional-dependencies``, PEP 735
  ``dependency-groups``, Poetry's ``dev-dependencies`` and groups.
* ``requirements*.txt`` and ``requirements/*.txt``: python; each requirement's name
  (comments, options such as ``-r`` or ``--hash``, URLs and paths ignored); all of them
  are dev dependencies when the file name holds ``dev`` or ``test``.
* ``setup.cfg`` with an ``[options]`` section (else it configures tools and is not
  listed): python; ``install_requires``; ``extras_require`` and ``tests_require``.
* ``Pipfile``: python; ``[packages]``; ``[dev-packages]``.
* ``Cargo.toml``: cargo; ``[dependencies]``, target and workspace ones;
  ``[dev-dependencies]`` and ``[build-dependencies]``.
* ``go.mod``: go; every ``require`` line and block entry, ``// indirect`` ones too.
* ``pom.xml``: maven; ``groupId:artifactId`` of the project's and profiles' dependencies
  (not ``dependencyManagement``, not plugins'); those of ``test`` scope.
* ``Gemfile``: ruby; ``gem "x"`` lines; those in a ``development`` or ``test`` group (a
  ``group ... do`` block or a ``group:`` option).
* ``build.gradle``, ``build.gradle.kts``: gradle; ``group:name`` of string notations in
  configurations such as ``implementation``, ``api``, ``compileOnly``; those of
  configurations whose name holds ``test``.

A manifest that cannot be parsed is listed with no dependency, never an error.
"""

import configparser
import json
import re
import tomllib
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath

from pydantic import BaseModel, ConfigDict

__all__ = ["MANIFEST_ERRORS", "Manifest", "find_manifests", "manifest_kind"]

_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?=$|[\[<>=!~;@,(])")
_GEM = re.compile(r"""^\s*gem\s*\(?\s*['"]([^'"]+)['"](.*)$""")
_GEM_DEV_OPTION = re.compile(r"group[s]?\b.*:(development|test)\b")
_BLOCK_START = re.compile(r"(\bdo\s*(\|[^|]*\|)?\s*$)|^\s*(if|unless|case|begin|while)\b")
_GEM_GROUP = re.compile(r"^\s*group\b(.*)\bdo\b")
_GRADLE = re.compile(
    r"""^\s*(\w+)\s*\(?\s*(?:['"]([^'"]+)['"]"""
    r"""|group\s*[:=]\s*['"]([^'"]+)['"]\s*,\s*name\s*[:=]\s*['"]([^'"]+)['"])"""
)
_GRADLE_CONFIGURATION = re.compile(
    r"^\w*?(implementation|api|compile|compileOnly|runtimeOnly|runtime|kapt|ksp"
    r"|annotationProcessor)$",
    re.IGNORECASE,
)

MANIFEST_ERRORS = (
    ValueError, TypeError, AttributeError, KeyError, RecursionError,
    ElementTree.ParseError, configparser.Error,
)
"""What a malformed manifest may raise while parsed; it is then listed with no dependency."""


class Manifest(BaseModel):
    """A dependency manifest and what it declares (module docstring)."""

    model_config = ConfigDict(frozen=True)

    path: str
    kind: str
    dependencies: list[str]
    dev_dependencies: list[str]


Parsed = tuple[Iterable[str], Iterable[str]] | None
"""Dependencies and dev dependencies; None when the file is not a manifest after all."""


def _keys(table: object) -> list[str]:
    """The keys of a table (a dict), or nothing when it is something else."""
    return [str(k) for k in table] if isinstance(table, dict) else []


def _table(data: object, key: str) -> dict[str, object]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def _requirement(line: object) -> str | None:
    """The project name a requirement line names, or None (comments, options, URLs)."""
    if not isinstance(line, str):
        return None
    found = _REQUIREMENT.match(line.split("#", 1)[0])
    return found.group(1) if found and not line.lstrip().startswith("-") else None


def _requirements(lines: object) -> list[str]:
    """The names of a list of requirement strings; nothing when it is not a list."""
    return [name for name in map(_requirement, lines) if name] if isinstance(lines, list) else []


def _npm(text: str) -> Parsed:
    data = json.loads(text)
    runtime = [name for key in ("dependencies", "peerDependencies", "optionalDependencies")
               for name in _keys(_table(data, key))]
    return runtime, _keys(_table(data, "devDependencies"))


def _pyproject(text: str) -> Parsed:
    data = tomllib.loads(text)
    project = _table(data, "project")
    runtime = _requirements(project.get("dependencies"))
    dev = [name for group in _table(project, "optional-dependencies").values()
           for name in _requirements(group)]
    dev += [name for group in _table(data, "dependency-groups").values()
            for name in _requirements(group)]
    poetry = _table(_table(data, "tool"), "poetry")
    runtime += [n for n in _keys(_table(poetry, "dependencies")) if n != "python"]
    dev += _keys(_table(poetry, "dev-dependencies"))
    dev += [n for group in _table(poetry, "group").values()
            for n in _keys(_table(group, "dependencies"))]
    return runtime, dev


def _requirements_txt(text: str) -> Parsed:
    return _requirements(text.splitlines()), []


def _setup_cfg(text: str) -> Parsed:
    config = configparser.ConfigParser(interpolation=None)
    config.read_string(text)
    if not config.has_section("options"):
        return None

    def names(value: str) -> list[str]:
        return [] if value.strip().startswith("file:") else _requirements(value.splitlines())

    runtime = names(config.get("options", "install_requires", fallback=""))
    dev = names(config.get("options", "tests_require", fallback=""))
    if config.has_section("options.extras_require"):
        dev += [n for _, value in config.items("options.extras_require") for n in names(value)]
    return runtime, dev


def _pipfile(text: str) -> Parsed:
    data = tomllib.loads(text)
    return _keys(_table(data, "packages")), _keys(_table(data, "dev-packages"))


def _cargo(text: str) -> Parsed:
    data = tomllib.loads(text)
    tables = [data, *_table(data, "target").values()]
    runtime = [n for t in tables for n in _keys(_table(t, "dependencies"))]
    runtime += _keys(_table(_table(data, "workspace"), "dependencies"))
    dev = [n for t in tables for key in ("dev-dependencies", "build-dependencies")
           for n in _keys(_table(t, key))]
    return runtime, dev


def _go(text: str) -> Parsed:
    names: list[str] = []
    in_block = False
    for raw in text.splitlines():
        words = raw.split("//", 1)[0].replace("(", " ( ").split()
        if words[:2] == ["require", "("]:
            in_block = True
        elif in_block and words[:1] == [")"]:
            in_block = False
        elif in_block and words:
            names.append(words[0])
        elif words[:1] == ["require"] and len(words) > 1:
            names.append(words[1])
    return names, []


def _maven(text: str) -> Parsed:
    root = ElementTree.fromstring(text)
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    paths = [f"{ns}dependencies/{ns}dependency",
             f"{ns}profiles/{ns}profile/{ns}dependencies/{ns}dependency"]
    runtime: list[str] = []
    dev: list[str] = []
    for dep in (d for path in paths for d in root.iterfind(path)):
        group, artifact = (dep.findtext(f"{ns}{tag}", "").strip()
                           for tag in ("groupId", "artifactId"))
        name = f"{group}:{artifact}"
        (dev if dep.findtext(f"{ns}scope", "").strip() == "test" else runtime).append(name)
    return runtime, dev


def _gemfile(text: str) -> Parsed:
    runtime: list[str] = []
    dev: list[str] = []
    blocks: list[bool] = []  # one per open block: whether it is a development or test group
    for line in text.splitlines():
        code = line.split("#", 1)[0]
        gem = _GEM.match(code)
        if gem:
            in_dev = any(blocks) or bool(_GEM_DEV_OPTION.search(gem.group(2)))
            (dev if in_dev else runtime).append(gem.group(1))
        elif code.strip() == "end" and blocks:
            blocks.pop()
        elif _BLOCK_START.search(code):
            group = _GEM_GROUP.match(code)
            blocks.append(bool(group and re.search(r":(development|test)\b", group.group(1))))
    return runtime, dev


def _gradle(text: str) -> Parsed:
    runtime: list[str] = []
    dev: list[str] = []
    for line in text.splitlines():
        found = _GRADLE.match(line)
        if not found or not _GRADLE_CONFIGURATION.match(found.group(1)):
            continue
        notation = found.group(2) or f"{found.group(3)}:{found.group(4)}"
        parts = notation.split(":")
        if len(parts) >= 2:
            target = dev if "test" in found.group(1).lower() else runtime
            target.append(f"{parts[0]}:{parts[1]}")
    return runtime, dev


_BY_NAME: dict[str, tuple[str, Callable[[str], Parsed]]] = {
    "package.json": ("npm", _npm),
    "pyproject.toml": ("python", _pyproject),
    "setup.cfg": ("python", _setup_cfg),
    "Pipfile": ("python", _pipfile),
    "Cargo.toml": ("cargo", _cargo),
    "go.mod": ("go", _go),
    "pom.xml": ("maven", _maven),
    "Gemfile": ("ruby", _gemfile),
    "build.gradle": ("gradle", _gradle),
    "build.gradle.kts": ("gradle", _gradle),
}


def _is_requirements(path: PurePosixPath) -> bool:
    return path.suffix == ".txt" and (
        path.name.startswith("requirements") or path.parent.name == "requirements"
    )


def manifest_kind(path: str) -> str | None:
    """The kind of manifest ``path`` is by its name (module docstring), or None."""
    posix = PurePosixPath(path)
    if _is_requirements(posix):
        return "python"
    found = _BY_NAME.get(posix.name)
    return found[0] if found else None


def _parse(path: str, text: str) -> Manifest | None:
    posix = PurePosixPath(path)
    kind, parse = ("python", _requirements_txt) if _is_requirements(posix) else _BY_NAME[posix.name]
    try:
        parsed = parse(text)
    except MANIFEST_ERRORS:
        parsed = [], []
    if parsed is None:
        return None
    runtime, dev = sorted(set(parsed[0])), sorted(set(parsed[1]))
    if parse is _requirements_txt and re.search(r"dev|test", posix.name):
        runtime, dev = [], runtime
    return Manifest(path=path, kind=kind, dependencies=runtime, dev_dependencies=dev)


def find_manifests(files: Iterable[tuple[str, str]]) -> list[Manifest]:
    """The manifests among ``(path, text)`` pairs, in path order (module docstring)."""
    found = (_parse(path, text) for path, text in sorted(files) if manifest_kind(path))
    return [manifest for manifest in found if manifest is not None]
