"""Entry points by convention, one file at a time."""

import json

import pytest

from ecl_core.codebase.entry_points import find_entry_points


def found(path: str, text: str) -> list[tuple[str, str, int]]:
    return [(e.kind, e.detail, e.line) for e in find_entry_points(path, text)]


@pytest.mark.parametrize(
    ("path", "text", "expected"),
    [
        ("tool.py", "def main():\n    pass\n\nif __name__ == '__main__':\n    main()\n",
         [("python __main__", 'if __name__ == "__main__"', 4)]),
        ("tool.py", 'import x\nif "__main__" == __name__:\n    x.run()\n',
         [("python __main__", 'if __name__ == "__main__"', 2)]),
        # Python 2 does not parse: the textual match stands.
        ("old.py", "print 'hi'\nif __name__ == '__main__':\n    print 'go'\n",
         [("python __main__", 'if __name__ == "__main__"', 2)]),
        ("pkg/__main__.py", "from pkg import run\nrun()\n", [("python __main__", "python -m", 1)]),
        ("cmd/server/main.go", "package main\n\nfunc main() {\n}\n",
         [("go main", "func main()", 3)]),
        ("src/main.rs", "use std::env;\n\n#[tokio::main]\nasync fn main() {}\n",
         [("rust main", "fn main()", 4)]),
        ("crates/cli/src/main.rs", "fn main() {}\n", [("rust main", "fn main()", 1)]),
        ("src/bin/tool.rs", "fn main() {}\n", [("rust main", "fn main()", 1)]),
        ("src/bin/multi/main.rs", "fn main() {}\n", [("rust main", "fn main()", 1)]),
        ("src/App.java", "class App {\n  public static void main(String[] args) {}\n}\n",
         [("java main", "static void main", 2)]),
    ],
)
def test_source_files_that_start_a_program(path, text, expected):
    assert found(path, text) == expected


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("lib.py", "def f():\n    if __name__ == '__main__':\n        pass\n"),  # not top level
        ("fixture.py", 'SOURCE = """\nif __name__ == "__main__":\n    run()\n"""\n'),  # a string
        ("helpers.go", "package main\n\nfunc helper() {}\n"),  # package main, no main()
        ("lib.go", "package lib\n\nfunc main() {}\n"),  # main() outside package main
        ("src/lib.rs", "fn main() {}\n"),
        ("src/bin/multi/util.rs", "pub fn util() {}\n"),
        ("src/App.java", "class App { static void main() {} }\n"),
        ("README.md", "Run `python -m app`; if __name__ == '__main__':\n"),
    ],
)
def test_files_that_do_not_start_a_program(path, text):
    assert found(path, text) == []


def test_manifests_that_name_programs():
    pyproject = (
        '[project.scripts]\necl = "ecl_dagster.cli:main"\nadmin = "app.admin:run"\n'
        '[project.gui-scripts]\nviewer = "app.gui:main"\n'
        '[tool.poetry.scripts]\nlegacy = "app.old:main"\n'
    )
    assert found("pyproject.toml", pyproject) == [
        ("python console script", "admin = app.admin:run", 1),
        ("python console script", "ecl = ecl_dagster.cli:main", 1),
        ("python console script", "viewer = app.gui:main", 1),
        ("python console script", "legacy = app.old:main", 1),
    ]
    package = json.dumps({"name": "srv", "main": "dist/index.js",
                          "bin": {"srv": "bin/srv.js", "admin": "bin/admin.js"}})
    assert found("package.json", package) == [
        ("npm main", "dist/index.js", 1), ("npm bin", "admin: bin/admin.js", 1),
        ("npm bin", "srv: bin/srv.js", 1),
    ]
    assert found("package.json", json.dumps({"name": "one", "bin": "cli.js"})) == [
        ("npm bin", "one: cli.js", 1),
    ]
    cargo = '[package]\nname = "x"\n[[bin]]\nname = "x-cli"\npath = "src/cli.rs"\n' \
            '[[bin]]\nname = "x"\n'
    assert found("Cargo.toml", cargo) == [
        ("rust bin", "x-cli: src/cli.rs", 1), ("rust bin", "x: src/main.rs", 1),
    ]


def test_dockerfiles_cmd_and_entrypoint():
    text = (
        "FROM python:3.11\nRUN pip install .\n"
        'ENTRYPOINT ["dagster", \\\n    "api", "grpc"]\ncmd  ["--port",   "4000"]\n'
    )
    expected = [("dockerfile", 'ENTRYPOINT ["dagster", "api", "grpc"]', 3),
                ("dockerfile", 'CMD ["--port", "4000"]', 5)]
    for name in ("Dockerfile", "deploy/Dockerfile.prod", "api.Dockerfile", "Containerfile"):
        assert found(name, text) == expected
    assert found("Dockerfile", "FROM scratch\n") == []
    assert found("notes.txt", text) == []


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("package.json", "{ broken"), ("package.json", "[]"),
        ("pyproject.toml", "[project.scripts\n"), ("pyproject.toml", "project = 1\n"),
        ("Cargo.toml", "[[bin]\n"), ("Cargo.toml", "bin = 1\n"),
    ],
)
def test_a_malformed_manifest_names_no_entry_point(path, text):
    assert found(path, text) == []
