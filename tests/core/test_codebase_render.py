"""The facts as a person reads them in the Dagster UI, and excerpts within a budget."""

from pathlib import Path

import pytest

from ecl_core.codebase.excerpts import select_excerpts
from ecl_core.codebase.facts import CodebaseFacts, compute_facts, facts_markdown
from ecl_core.codebase.lines import split_lines
from ecl_core.codebase.render import facts_markdown as rendered
from ecl_core.codebase.tree import SkippedPath, scan_tree

from test_codebase_facts import GO, GO_TEST

# Lines 3 to 22: constants; Clamp: lines 25 to 33; 35 lines.
CALC = (
    "package calc\n\n" + "".join(f"const C{k} = {k}\n" for k in range(1, 21))
    + "\n// Clamp limits x.\nfunc Clamp(x, lo, hi int) int {\n\tif x < lo {\n\t\treturn lo\n"
    "\t}\n\tif x > hi {\n\t\treturn hi\n\t}\n\treturn x\n}\n\nconst B = 2\n"
)


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def test_facts_markdown_is_what_a_person_reads(tmp_path):
    root = write(tmp_path, {"main.go": GO, "main_test.go": GO_TEST, "go.mod": "module m\n"})
    (root / "we|ird`.bin").write_bytes(b"\x00")
    facts = compute_facts(scan_tree(root))
    size = len(GO) + len(GO_TEST) + len("module m\n")
    assert facts_markdown(facts) == f"""\
**3 files**, {size:,} bytes of text, 22 code lines, 3 functions \
(mean cyclomatic complexity 2.00).

### Languages

| Language | Files | Code | Comment | Blank |
| --- | --- | --- | --- | --- |
| Go | 2 | 21 | 1 | 5 |
| Other | 1 | 1 | 0 | 0 |
| **Total** | 3 | 22 | 1 | 5 |

### Most complex functions

| Where | Function | CCN | Length (lines) |
| --- | --- | --- | --- |
| `main.go:6` | Sum | 3 | 9 |
| `main_test.go:5` | TestSum | 2 | 5 |
| `main.go:16` | main | 1 | 3 |

### Dependency manifests

| Manifest | Kind | Dependencies | Dev dependencies |
| --- | --- | --- | --- |
| `go.mod` | go | - | - |

### Tests

1 test file; 7 test code lines for 14 other code lines: test-to-code ratio 0.50.

- `main_test.go`

### Entry points

| File | Kind | Detail |
| --- | --- | --- |
| `main.go` | go main | func main() |

### Skipped paths

| Path | Why |
| --- | --- |
| ``we\\|ird`.bin`` | binary file |"""
    assert rendered is facts_markdown


def test_long_lists_are_cut_and_empty_sections_say_so():
    facts = CodebaseFacts(
        root="/r", files=60, total_bytes=100, languages=[], code_lines=0, functions=0,
        average_complexity=0.0, most_complex=[], manifests=[],
        test_files=[f"tests/t{k:02}.py" for k in range(52)], test_code_lines=0,
        non_test_code_lines=0, test_ratio=0.0, entry_points=[], paths=[],
        skipped=[SkippedPath(path=f"s{k:02}\nx", reason="binary file") for k in range(51)],
    )
    text = facts_markdown(facts)
    assert "- `tests/t49.py`\n- ... and 2 more\n\n### Entry points" in text
    assert "tests/t50.py" not in text
    assert "| `s49\\nx` | binary file |\n| ... and 1 more |  |" in text
    for empty in ("No function found.", "No dependency manifest found.", "No entry point found."):
        assert empty in text
    assert "**60 files**, 100 bytes of text, 0 code lines, 0 functions" in text


def tree_and_facts(tmp_path):
    root = write(tmp_path, {
        "go.mod": "module m\n\ngo 1.22\n", "main.go": GO, "main_test.go": GO_TEST,
        "calc.go": CALC, "README.md": "# M\n" * 200,
    })
    tree = scan_tree(root)
    return tree, compute_facts(tree)


def test_excerpts_in_order_without_repeating_a_line(tmp_path):
    tree, facts = tree_and_facts(tmp_path)
    excerpts = select_excerpts(tree, facts, budget_tokens=10_000)
    # main.go's entry point: func main() at line 16, from 3 lines before; Sum's lines 3 to
    # 17 less those given; main's all given; main_test.go is a test, so no "largest file"
    # for it; README.md is not source.
    assert [(e.path, e.start_line, e.end_line, e.why) for e in excerpts] == [
        ("go.mod", 1, 3, "manifest"),
        ("main.go", 13, 18, "entry point (go main)"),
        ("calc.go", 22, 35, "most complex function Clamp (CCN 3)"),
        ("main.go", 3, 12, "most complex function Sum (CCN 3)"),
        ("main_test.go", 2, 9, "most complex function TestSum (CCN 2)"),
        ("calc.go", 1, 21, "largest file"),
        ("main.go", 1, 2, "largest file"),
    ]
    texts = {f.path: split_lines(f.text) for f in tree.files}
    for e in excerpts:
        assert e.text == "\n".join(texts[e.path][e.start_line - 1:e.end_line])


@pytest.mark.parametrize("budget_tokens", [0, 1, 5, 13, 40, 77, 150, 400])
def test_excerpts_never_pass_the_budget(tmp_path, budget_tokens):
    tree, facts = tree_and_facts(tmp_path)
    excerpts = select_excerpts(tree, facts, budget_tokens=budget_tokens)
    assert sum(len(e.text) + 1 for e in excerpts) <= budget_tokens * 4
    lines = [(e.path, n) for e in excerpts for n in range(e.start_line, e.end_line + 1)]
    assert len(lines) == len(set(lines))
    assert all(e.text.strip() for e in excerpts)


def test_a_small_budget_keeps_what_comes_first(tmp_path):
    tree, facts = tree_and_facts(tmp_path)
    # 20 characters: go.mod's 18 fit; no other line but a blank one would, and a blank
    # excerpt is dropped.
    assert [(e.path, e.text) for e in select_excerpts(tree, facts, budget_tokens=5)] == [
        ("go.mod", "module m\n\ngo 1.22"),
    ]
    assert select_excerpts(tree, facts, budget_tokens=0) == []
