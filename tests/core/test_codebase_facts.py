"""Facts of small codebases in Python, TypeScript and Go, asserted exactly."""

import json
from pathlib import Path

import lizard

from ecl_core.codebase.excerpts import select_excerpts
from ecl_core.codebase.facts import compute_facts, is_test_file
from ecl_core.codebase.render import facts_markdown
from ecl_core.codebase.tree import scan_tree

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
PYTHON_TEST = '''from app import classify


def test_classify():
    assert classify([1, -1]) == {"positive": 1, "negative": 1}
'''
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
GO_TEST = '''package main

import "testing"

func TestSum(t *testing.T) {
\tif Sum([]int{1, 2}) != 3 {
\t\tt.Fatal("sum")
\t}
}
'''


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def languages(facts) -> dict[str, tuple[int, int, int, int]]:
    return {lang.language: (lang.files, lang.code, lang.comment, lang.blank)
            for lang in facts.languages}


def test_python_lines_complexity_tests_and_entry_points(tmp_path):
    facts = compute_facts(scan_tree(write(tmp_path, {
        "app.py": PYTHON_APP,
        "tests/test_app.py": PYTHON_TEST,
        "pyproject.toml": '[project]\nname = "app"\ndependencies = ["requests>=2", "click"]\n'
        '[project.optional-dependencies]\ndev = ["pytest"]\n'
        '[project.scripts]\napp = "app:main"\n',
        "requirements.txt": "# pinned\nflask==3.0 ; python_version > '3'\n-r base.txt\n",
        "requirements-dev.txt": "ruff\n",
    })))
    # app.py: 11 code, 2 comment (docstring, comment), 5 blank; the test: 3 code, 2 blank.
    assert languages(facts)["Python"] == (2, 14, 2, 7)
    (classify,) = [f for f in facts.most_complex if f.name == "classify"]
    assert (classify.cyclomatic_complexity, classify.start_line, classify.length) == (4, 6, 9)
    lizard_says = lizard.analyze_file.analyze_source_code("app.py", PYTHON_APP)
    assert classify.cyclomatic_complexity == lizard_says.function_list[0].cyclomatic_complexity
    assert facts.test_files == ["tests/test_app.py"]
    assert (facts.test_code_lines, facts.non_test_code_lines) == (3, 11)
    assert facts.test_ratio == 3 / 11
    assert {(e.path, e.kind, e.detail) for e in facts.entry_points} == {
        ("app.py", "python __main__", "app.py"),
        ("pyproject.toml", "python console script", "app = app:main"),
    }
    manifests = {m.path: (m.kind, m.dependencies, m.dev_dependencies) for m in facts.manifests}
    assert manifests == {
        "pyproject.toml": ("python", ["click", "requests"], ["pytest"]),
        "requirements.txt": ("python", ["flask"], []),
        "requirements-dev.txt": ("python", [], ["ruff"]),
    }


def test_typescript_lines_complexity_and_package_json(tmp_path):
    facts = compute_facts(scan_tree(write(tmp_path, {
        "src/server.ts": TYPESCRIPT,
        "src/server.test.ts": "import { route } from './server';\n\ntest('root', () => {\n"
        "  expect(route('/')).toBe(200);\n});\n",
        "package.json": json.dumps({
            "name": "srv", "main": "dist/server.js", "bin": {"srv": "bin/srv.js"},
            "dependencies": {"express": "^4"}, "peerDependencies": {"react": "*"},
            "devDependencies": {"jest": "^29", "typescript": "^5"},
        }),
    })))
    # server.ts: 9 code, 2 comment, 2 blank; the test: 4 code, 1 blank.
    assert languages(facts)["TypeScript"] == (2, 13, 2, 3)
    (route,) = [f for f in facts.most_complex if f.name == "route"]
    assert (route.cyclomatic_complexity, route.length) == (4, 6)  # if, &&, ?:
    assert facts.test_files == ["src/server.test.ts"]
    assert facts.test_ratio == 4 / 9
    (npm,) = facts.manifests
    assert (npm.kind, npm.dependencies, npm.dev_dependencies) == (
        "npm", ["express", "react"], ["jest", "typescript"]
    )
    assert {(e.kind, e.detail) for e in facts.entry_points} == {
        ("npm main", "dist/server.js"), ("npm bin", "srv: bin/srv.js")
    }


def test_go_lines_complexity_go_mod_and_main(tmp_path):
    facts = compute_facts(scan_tree(write(tmp_path, {
        "main.go": GO,
        "main_test.go": GO_TEST,
        "go.mod": "module example.com/sum\n\ngo 1.22\n\nrequire (\n"
        "\tgithub.com/pkg/errors v0.9.1\n\tgolang.org/x/sync v0.7.0 // indirect\n)\n"
        "require github.com/stretchr/testify v1.9.0\n",
    })))
    # main.go: 14 code, 1 comment, 3 blank; main_test.go: 7 code, 2 blank.
    assert languages(facts)["Go"] == (2, 21, 1, 5)
    ranked = [(f.name, f.cyclomatic_complexity, f.length) for f in facts.most_complex]
    assert ranked == [("Sum", 3, 9), ("TestSum", 2, 5), ("main", 1, 3)]
    assert facts.functions == 3 and facts.average_complexity == 2.0
    assert facts.test_files == ["main_test.go"] and facts.test_ratio == 7 / 14
    (mod,) = facts.manifests
    assert mod.dependencies == [
        "github.com/pkg/errors", "github.com/stretchr/testify", "golang.org/x/sync"
    ]
    assert [(e.path, e.kind) for e in facts.entry_points] == [("main.go", "go main")]


def test_other_manifests_and_a_broken_one(tmp_path):
    facts = compute_facts(scan_tree(write(tmp_path, {
        "Cargo.toml": '[package]\nname = "x"\n[dependencies]\nserde = "1"\ntokio = { version = '
        '"1" }\n[dev-dependencies]\nproptest = "1"\n',
        "Gemfile": "source 'https://rubygems.org'\ngem 'rails', '~> 7'\n"
        "group :development, :test do\n  gem 'rspec'\nend\ngem \"puma\"\n",
        "pom.xml": '<project xmlns="http://maven.apache.org/POM/4.0.0"><dependencies>'
        "<dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId>"
        "</dependency><dependency><groupId>junit</groupId><artifactId>junit</artifactId>"
        "<scope>test</scope></dependency></dependencies></project>",
        "web/package.json": "{ not json",
    })))
    manifests = {m.path: (m.kind, m.dependencies, m.dev_dependencies) for m in facts.manifests}
    assert manifests == {
        "Cargo.toml": ("cargo", ["serde", "tokio"], ["proptest"]),
        "Gemfile": ("ruby", ["puma", "rails"], ["rspec"]),
        "pom.xml": ("maven", ["org.slf4j:slf4j-api"], ["junit:junit"]),
        "web/package.json": ("npm", [], []),
    }


def test_test_file_conventions():
    assert is_test_file("tests/helpers.py") and is_test_file("pkg/__tests__/a.js")
    assert is_test_file("a_test.go") and is_test_file("src/UserTest.java")
    assert is_test_file("spec/models/user_spec.rb") and is_test_file("x.spec.tsx")
    assert not is_test_file("src/testing.py") and not is_test_file("contest.py")


def test_facts_as_markdown_tables_and_excerpts_within_budget(tmp_path):
    tree = scan_tree(write(tmp_path, {"main.go": GO, "go.mod": "module m\n"}))
    facts = compute_facts(tree)
    text = facts_markdown(facts)
    assert "| Go | 1 | 14 | 1 | 3 |" in text
    assert "| Sum | `main.go:6` | 3 | 9 |" in text
    assert "| `main.go` | go main | func main() |" in text
    excerpts = select_excerpts(tree, facts, budget_tokens=40)
    assert sum(len(e.text) + 1 for e in excerpts) <= 160
    assert [(e.path, e.why) for e in excerpts][0] == ("go.mod", "manifest")
    everything = select_excerpts(tree, facts, budget_tokens=10_000)
    ranges = [(e.path, n) for e in everything for n in range(e.start_line, e.end_line + 1)]
    assert len(ranges) == len(set(ranges))  # no line is given twice
    assert {e.path for e in everything} == {"main.go", "go.mod"}
