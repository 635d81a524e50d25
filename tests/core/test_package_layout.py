"""The shape of the packages: domain folders a reader can find their way in."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_MODULES = 12
DOMAINS = {
    "analyzer": "Codebase Migration Analyzer",
    "cli": "ecl",
    "review": "person",
    "runs": "Runs",
    "service": "HTTP API",
    "stack": "deployment",
    "storage": "ECL keeps",
    "triggers": "sensors",
    "usage": "cost",
    "workflows": "Workflows",
}


def _packages(top: str) -> list[Path]:
    return sorted(p.parent for p in (ROOT / top).rglob("__init__.py"))


@pytest.mark.parametrize("package", _packages("ecl_dagster"), ids=lambda p: p.name)
def test_no_folder_of_ecl_dagster_holds_more_than_twelve_modules(package: Path) -> None:
    modules = [p.name for p in package.glob("*.py") if p.name != "__init__.py"]
    assert len(modules) <= MAX_MODULES, f"{package.relative_to(ROOT)}: {sorted(modules)}"


def test_each_domain_of_ecl_dagster_says_what_it_holds() -> None:
    found = {p.name for p in _packages("ecl_dagster")} - {"ecl_dagster"}
    assert found == set(DOMAINS)
    for name, words in DOMAINS.items():
        source = (ROOT / "ecl_dagster" / name / "__init__.py").read_text()
        docstring = ast.get_docstring(ast.parse(source)) or ""
        assert words in docstring.splitlines()[0], f"ecl_dagster.{name}: {docstring[:80]!r}"


def test_each_built_in_step_type_lives_beside_its_function() -> None:
    from ecl_core.steps.builtin import default_registry

    registry = default_registry()
    homes = {registry.get(name).__module__ for name in registry.names()}
    assert homes == {
        "ecl_core.steps.generate", "ecl_core.steps.critique", "ecl_core.steps.revise",
        "ecl_core.steps.summarize", "ecl_core.steps.review",
    }
    assert not (ROOT / "ecl_core" / "workflow" / "builtin.py").exists()
