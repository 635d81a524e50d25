"""Dependency manifests and the dependencies they declare (names only), from the stdlib.

Recognised: ``package.json`` (npm: dependencies, peer and optional ones as dependencies,
devDependencies as dev), ``pyproject.toml`` (PEP 621 ``project.dependencies``, optional
dependencies as dev; Poetry's tables), ``requirements*.txt`` (python; ``*dev*``/``*test*``
files as dev), ``Cargo.toml`` (cargo), ``go.mod`` (go; indirect requirements count),
``pom.xml`` (maven: ``groupId:artifactId``, test scope as dev), ``Gemfile`` (ruby; gems in a
development or test group as dev). A manifest that cannot be parsed is listed with no
dependency, never an error.
"""

import json
import re
import tomllib
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath

from pydantic import BaseModel, ConfigDict

__all__ = ["Manifest", "find_manifests"]

_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_GEM = re.compile(r"""^\s*gem\s+['"]([^'"]+)['"]""")
_GROUP = re.compile(r"^\s*group\s+(.+?)\s+do\b")


class Manifest(BaseModel):
    """A dependency manifest and what it declares."""

    model_config = ConfigDict(frozen=True)

    path: str
    kind: str
    dependencies: list[str]
    dev_dependencies: list[str]


Parsed = tuple[Iterable[str], Iterable[str]]


def _requirement(line: str) -> str | None:
    line = line.split("#", 1)[0].strip()
    if not line or line.startswith("-"):
        return None
    found = _REQUIREMENT_NAME.match(line)
    return found.group(1) if found else None


def _npm(text: str) -> Parsed:
    data = json.loads(text)
    runtime = [*data.get("dependencies", {}), *data.get("peerDependencies", {}),
               *data.get("optionalDependencies", {})]
    return runtime, data.get("devDependencies", {})


def _pyproject(text: str) -> Parsed:
    data = tomllib.loads(text)
    project = data.get("project", {})
    runtime = [_requirement(r) for r in project.get("dependencies", [])]
    dev = [_requirement(r) for group in project.get("optional-dependencies", {}).values()
           for r in group]
    poetry = data.get("tool", {}).get("poetry", {})
    runtime += [n for n in poetry.get("dependencies", {}) if n != "python"]
    dev += list(poetry.get("dev-dependencies", {}))
    dev += [n for group in poetry.get("group", {}).values() for n in group.get("dependencies", {})]
    return [n for n in runtime if n], [n for n in dev if n]


def _requirements(text: str) -> Parsed:
    return [n for n in (_requirement(line) for line in text.splitlines()) if n], []


def _cargo(text: str) -> Parsed:
    data = tomllib.loads(text)
    return data.get("dependencies", {}), data.get("dev-dependencies", {})


def _go(text: str) -> Parsed:
    names: list[str] = []
    in_block = False
    for raw in text.splitlines():
        line = raw.split("//", 1)[0].strip()
        if line.startswith("require ("):
            in_block = True
        elif in_block and line == ")":
            in_block = False
        elif in_block and line:
            names.append(line.split()[0])
        elif line.startswith("require "):
            names.append(line.split()[1])
    return names, []


def _maven(text: str) -> Parsed:
    root = ElementTree.fromstring(text)
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    runtime: list[str] = []
    dev: list[str] = []
    for dep in root.iter(f"{ns}dependency"):
        name = f"{dep.findtext(f'{ns}groupId', '')}:{dep.findtext(f'{ns}artifactId', '')}"
        (dev if dep.findtext(f"{ns}scope", "") == "test" else runtime).append(name)
    return runtime, dev


def _gemfile(text: str) -> Parsed:
    runtime: list[str] = []
    dev: list[str] = []
    depth_dev: list[bool] = []
    for line in text.splitlines():
        group = _GROUP.match(line)
        if group:
            depth_dev.append(bool(re.search(r":(development|test)\b", group.group(1))))
        elif line.strip() == "end" and depth_dev:
            depth_dev.pop()
        else:
            gem = _GEM.match(line)
            if gem:
                (dev if any(depth_dev) else runtime).append(gem.group(1))
    return runtime, dev


def _parser(name: str) -> tuple[str, Callable[[str], Parsed]] | None:
    if name == "package.json":
        return "npm", _npm
    if name == "pyproject.toml":
        return "python", _pyproject
    if name.startswith("requirements") and name.endswith(".txt"):
        return "python", _requirements
    return {
        "Cargo.toml": ("cargo", _cargo),
        "go.mod": ("go", _go),
        "pom.xml": ("maven", _maven),
        "Gemfile": ("ruby", _gemfile),
    }.get(name)


def find_manifests(files: Iterable[tuple[str, str]]) -> list[Manifest]:
    """The manifests among ``(path, text)`` pairs, in path order."""
    found = []
    for path, text in sorted(files):
        name = PurePosixPath(path).name
        parser = _parser(name)
        if parser is None:
            continue
        kind, parse = parser
        try:
            runtime, dev = parse(text)
            runtime_names, dev_names = sorted(set(runtime)), sorted(set(dev))
        except (ValueError, TypeError, AttributeError, KeyError, RecursionError,
                ElementTree.ParseError):
            runtime_names, dev_names = [], []
        if name.startswith("requirements") and re.search(r"dev|test", name):
            runtime_names, dev_names = [], runtime_names
        found.append(Manifest(
            path=path, kind=kind, dependencies=runtime_names, dev_dependencies=dev_names
        ))
    return found
