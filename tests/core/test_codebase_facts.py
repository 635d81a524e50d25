"""Facts of small codebases in Python, TypeScript and Go, asserted exactly.

Expected line counts are counted by hand in the comments beside each file.
"""

import json
from pathlib import Path

import lizard
import pytest

from ecl_core.codebase.facts import compute_facts, is_source_file, is_test_file
from ecl_core.codebase.tree import SkippedPath, scan_tree

# 18 lines: 11 code; 2 comment (the docstring, the comment); 5 blank.
PYTHON_APP = '''"""The app."""

import sys


def classify(values):
    # count the kinds
    kinds = {}
    for value in values:
        if value > 0:
            kinds["positive"] = kinds.get("positive", 0) + 1
        elif value < 0:
            kinds["negative"] = kinds.get("negative", 0) + 1
    return kinds


if __name__ == "__main__":
    print(classify([int(a) for a in sys.argv[1:]]))
'''
# 5 lines: 3 code, 2 blank.
PYTHON_TEST = '''from app import classify


def test_classify():
    assert classify([1, -1]) == {"positive": 1, "negative": 1}
'''
# 13 lines: 9 code; 2 comment (lines 1 and 11); 2 blank.
TYPESCRIPT = '''// A tiny server.
import express from "express";

export function route(path: string): number {
  if (path === "/") {
    return 200;
  }
  return path.startsWith("/api") && path.length > 4 ? 200 : 404;
}

/* The app. */
const app = express();
app.listen(3000);
'''
# 5 lines: 4 code, 1 blank.
TYPESCRIPT_TEST = '''import { route } from './server';

test('root', () => {
  expect(route('/')).toBe(200);
});
'''
# 18 lines: 14 code; 1 comment (line 5); 3 blank.
GO = '''package main

import "fmt"

// Sum adds the positive numbers.
func Sum(xs []int) int {
\ttotal := 0
\tfor _, x := range xs {
\t\tif x > 0 {
\t\t\ttotal += x
\t\t}
\t}
\treturn total
}

func main() {
\tfmt.Println(Sum([]int{1, -2, 3}))
}
'''
# 9 lines: 7 code, 2 blank.
GO_TEST = '''package main

import "testing"

func TestSum(t *testing.T) {
\tif Sum([]int{1, 2}) != 3 {
\t\tt.Fatal("sum")
\t}
}
'''
# 9 lines: 7 code, 2 blank.
PYPROJECT = '''[project]
name = "app"
dependencies = ["requests>=2", "click"]

[project.optional-dependencies]
dev = ["pytest"]

[project.scripts]
app = "app:main"
'''
# 9 lines: 7 code, 2 blank (no lexer: Other).
GO_MOD = '''module example.com/sum

go 1.22

require (
\tgithub.com/pkg/errors v0.9.1
\tgolang.org/x/sync v0.7.0 // indirect
)
require github.com/stretchr/testify v1.9.0
'''
PACKAGE_JSON = json.dumps({  # 1 line of JSON
    "name": "srv", "main": "dist/server.js", "bin": {"srv": "bin/srv.js"},
    "dependencies": {"express": "^4"}, "devDependencies": {"jest": "^29"},
})


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def languages(facts) -> list[tuple[str, int, int, int, int]]:
    return [(lang.language, lang.files, lang.code, lang.comment, lang.blank)
            for lang in facts.languages]


def functions(facts) -> list[tuple[str, str, int, int, int, int]]:
    return [(f.path, f.name, f.start_line, f.cyclomatic_complexity, f.length, f.nloc)
            for f in facts.most_complex]


def test_python_lines_complexity_tests_and_entry_points(tmp_path):
    facts = compute_facts(scan_tree(write(tmp_path, {
        "app.py": PYTHON_APP, "tests/test_app.py": PYTHON_TEST,
    })))
    assert languages(facts) == [("Python", 2, 14, 2, 7)]
    assert facts.code_lines == 14
    # classify: a for, an if, an elif: CCN 4, lines 6 to 14, 8 of them code (NLOC);
    # lizard says the same.
    assert functions(facts) == [
        ("app.py", "classify", 6, 4, 9, 8),
        ("tests/test_app.py", "test_classify", 4, 1, 2, 2),
    ]
    (lizard_says,) = lizard.analyze_file.analyze_source_code("app.py", PYTHON_APP).function_list
    assert facts.most_complex[0].cyclomatic_complexity == lizard_says.cyclomatic_complexity
    assert facts.most_complex[0].end_line == lizard_says.end_line == 14
    assert (facts.functions, facts.average_complexity) == (2, 2.5)
    assert facts.test_files == ["tests/test_app.py"]
    assert (facts.test_code_lines, facts.non_test_code_lines) == (3, 11)
    assert facts.test_ratio == 3 / 11
    assert [(e.path, e.kind, e.detail) for e in facts.entry_points] == [
        ("app.py", "python __main__", 'if __name__ == "__main__"'),
    ]


def test_typescript_lines_complexity_and_tests(tmp_path):
    facts = compute_facts(scan_tree(write(tmp_path, {
        "src/server.ts": TYPESCRIPT, "src/server.test.ts": TYPESCRIPT_TEST,
    })))
    assert languages(facts) == [("TypeScript", 2, 13, 2, 3)]
    # route: an if, a &&, a ?: : CCN 4, lines 4 to 9; the test's arrow function: CCN 1.
    assert functions(facts) == [
        ("src/server.ts", "route", 4, 4, 6, 6),
        ("src/server.test.ts", "(anonymous)", 3, 1, 3, 3),
    ]
    assert facts.test_files == ["src/server.test.ts"]
    assert (facts.test_code_lines, facts.non_test_code_lines, facts.test_ratio) == (4, 9, 4 / 9)


def test_go_lines_complexity_and_tests(tmp_path):
    facts = compute_facts(scan_tree(write(tmp_path, {"main.go": GO, "main_test.go": GO_TEST})))
    assert languages(facts) == [("Go", 2, 21, 1, 5)]
    # Sum: a for, an if: CCN 3, lines 6 to 14. TestSum: an if. main: straight.
    assert functions(facts) == [
        ("main.go", "Sum", 6, 3, 9, 9),
        ("main_test.go", "TestSum", 5, 2, 5, 5),
        ("main.go", "main", 16, 1, 3, 3),
    ]
    assert (facts.functions, facts.average_complexity) == (3, 2.0)
    assert facts.test_files == ["main_test.go"]
    assert (facts.test_code_lines, facts.non_test_code_lines, facts.test_ratio) == (7, 14, 0.5)
    assert [(e.path, e.kind, e.detail) for e in facts.entry_points] == [
        ("main.go", "go main", "func main()"),
    ]


def test_a_mixed_tree_gives_every_fact(tmp_path):
    root = write(tmp_path, {
        "app.py": PYTHON_APP, "tests/test_app.py": PYTHON_TEST,
        "src/server.ts": TYPESCRIPT, "src/server.test.ts": TYPESCRIPT_TEST,
        "main.go": GO, "main_test.go": GO_TEST,
        "pyproject.toml": PYPROJECT, "go.mod": GO_MOD, "package.json": PACKAGE_JSON,
    })
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    facts = compute_facts(scan_tree(root), top_functions=3)
    # By code lines descending, then by name: Other (go.mod) before TOML at 7.
    assert languages(facts) == [
        ("Go", 2, 21, 1, 5), ("Python", 2, 14, 2, 7), ("TypeScript", 2, 13, 2, 3),
        ("Other", 1, 7, 0, 2), ("TOML", 1, 7, 0, 2), ("JSON", 1, 1, 0, 0),
    ]
    assert (facts.files, facts.code_lines) == (9, 63)
    assert facts.total_bytes == sum((root / p).stat().st_size for p in facts.paths)
    # The top 3 of 7 functions: two at CCN 4 (by path), then Sum.
    assert [(f.path, f.name) for f in facts.most_complex] == [
        ("app.py", "classify"), ("src/server.ts", "route"), ("main.go", "Sum"),
    ]
    # CCNs 4 + 1 (Python), 4 + 1 (TypeScript), 3 + 2 + 1 (Go), over 7 functions.
    assert (facts.functions, facts.average_complexity) == (7, 16 / 7)
    assert facts.test_files == ["main_test.go", "src/server.test.ts", "tests/test_app.py"]
    assert (facts.test_code_lines, facts.non_test_code_lines) == (3 + 4 + 7, 11 + 9 + 14)
    assert facts.test_ratio == 14 / 34
    assert [(m.path, m.kind, m.dependencies, m.dev_dependencies) for m in facts.manifests] == [
        ("go.mod", "go",
         ["github.com/pkg/errors", "github.com/stretchr/testify", "golang.org/x/sync"], []),
        ("package.json", "npm", ["express"], ["jest"]),
        ("pyproject.toml", "python", ["click", "requests"], ["pytest"]),
    ]
    assert [(e.path, e.kind, e.detail, e.line) for e in facts.entry_points] == [
        ("app.py", "python __main__", 'if __name__ == "__main__"', 17),
        ("main.go", "go main", "func main()", 16),
        ("package.json", "npm main", "dist/server.js", 1),
        ("package.json", "npm bin", "srv: bin/srv.js", 1),
        ("pyproject.toml", "python console script", "app = app:main", 1),
    ]
    assert facts.paths == sorted([
        "app.py", "tests/test_app.py", "src/server.ts", "src/server.test.ts", "main.go",
        "main_test.go", "pyproject.toml", "go.mod", "package.json",
    ])
    assert facts.skipped == [SkippedPath(path="logo.png", reason="binary file")]
    assert compute_facts(scan_tree(root), top_functions=3) == facts  # deterministic


def test_a_tree_without_code_has_zero_averages_and_ratios(tmp_path):
    facts = compute_facts(scan_tree(write(tmp_path, {
        "README.md": "# Notes\n\nNothing to run.\n", "tests/data.json": "{}\n",
    })))
    assert languages(facts) == [("Markdown", 1, 2, 0, 1), ("JSON", 1, 1, 0, 0)]
    assert (facts.functions, facts.average_complexity, facts.most_complex) == (0, 0.0, [])
    # Data in a tests folder is not a test file: only source files are.
    assert (facts.test_files, facts.test_ratio, facts.non_test_code_lines) == ([], 0.0, 0)


@pytest.mark.parametrize("path", [
    "tests/helpers.py", "test/a.c", "pkg/__tests__/a.js", "spec/models/user_spec.rb",
    "specs/a.ts", "test_app.py", "app_test.py", "a_test.go", "x.test.ts", "x.test.jsx",
    "x.spec.tsx", "x.spec.js", "src/UserTest.java", "src/UserTests.java", "user_spec.rb",
])
def test_test_file_conventions_match(path):
    assert is_test_file(path)


@pytest.mark.parametrize("path", [
    "src/testing.py", "contest.py", "src/latest.go", "attest/a.py", "testdata.py",
    "src/Tester.java", "specification.md", "src/inspect.ts",
])
def test_test_file_conventions_do_not_match(path):
    assert not is_test_file(path)


def test_source_files_are_those_lizard_reads():
    assert [p for p in ("a.py", "a.ts", "a.go", "a.rs", "a.java", "a.md", "a.json", "a.toml")
            if is_source_file(p)] == ["a.py", "a.ts", "a.go", "a.rs", "a.java"]
