"""The rules of docs/contributing.md, "The repository stands on its own"."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README_MAX_LINES = 200
ISSUE_NUMBER = re.compile(r"\bissue [0-9]", re.IGNORECASE)
UP_PATH = re.compile(r"(?<![\w.])((?:\.\./)+[\w.-]+)")


def _tracked(*suffixes: str) -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.split()
    return [ROOT / name for name in listed if name.endswith(suffixes)]


def _outside(path: Path, line: str) -> bool:
    """A ``../`` path in ``line`` that leads out of the repository from ``path``'s folder."""
    return any(not (path.parent / found).resolve().is_relative_to(ROOT)
               for found in UP_PATH.findall(line))


def test_no_file_points_outside_the_repository_or_names_an_issue():
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _tracked(".py", ".md", ".sh", ".yaml", ".yml", ".toml")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        # The tests' own ``../`` paths are hostile input to refuse, not pointers.
        if ISSUE_NUMBER.search(line) or ("tests" not in path.parts and _outside(path, line))
    ]
    assert found == []


def test_readme_is_a_quickstart_that_opens_with_the_two_commands():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES
    opening = "\n".join(lines[:8])
    assert "bash scripts/run.sh" in opening and "bash scripts/test.sh" in opening


def test_the_design_notes_live_in_the_docs():
    for page in ("architecture.md", "dagster-notes.md"):
        assert (ROOT / "docs" / page).read_text(encoding="utf-8").startswith("# ")
    cited = {match for path in _tracked(".py") if "tests" not in path.parts
             for match in re.findall(r"docs/[\w-]+\.md", path.read_text(encoding="utf-8"))}
    assert cited and all((ROOT / name).is_file() for name in cited), cited
