"""Code, comment and blank lines per file, counted by hand in each case."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecl_core.codebase.lines import LineCount, count_lines, language_of, split_lines


@pytest.mark.parametrize(
    ("path", "text", "expected"),
    [
        # Preprocessor lines are code; a comment over two lines is two comment lines.
        ("main.c", "#include <stdio.h>\n/* A comment\n   over two lines. */\n\n"
         "int main(void) {\n    return 0; // done\n}\n", LineCount("C", 4, 2, 1)),
        # A docstring is comment, a blank line inside it blank; code and comment on one
        # line is code.
        ("m.py", 'def f():\n    """Doc.\n\n    More."""\n    return 1  # one\n',
         LineCount("Python", 2, 2, 1)),
        # A string that is not a docstring is code, its blank lines blank.
        ("m.py", 'x = """\n\nabc\n"""\n', LineCount("Python", 3, 0, 1)),
        # \r\n and \r end lines; a form feed does not, and a line of it is blank.
        ("m.py", "x = 1\r\n# c\r\n\x0c\r\ny = 2\rz = 3\n", LineCount("Python", 3, 1, 1)),
        # A last line without a newline counts; an empty file has no lines.
        ("m.go", "package m\n\nvar x = 1", LineCount("Go", 2, 0, 1)),
        ("m.go", "", LineCount("Go", 0, 0, 0)),
        # No lexer: lines that are not blank are code.
        ("LICENSE", "MIT\n\n  \nText\n", LineCount("Other", 2, 0, 2)),
        ("go.mod", "module m\n\n// a comment\n", LineCount("Other", 2, 0, 1)),
    ],
    ids=["c", "docstring", "string", "line ends", "no final newline", "empty", "other",
         "go.mod"],
)
def test_lines_by_kind(path, text, expected):
    assert count_lines(path, text) == expected


@pytest.mark.parametrize(
    ("path", "language"),
    [
        ("CMakeLists.txt", "CMake"), ("notes.txt", "Text only"), ("ops/Dockerfile", "Docker"),
        ("page.html.j2", "HTML+Django/Jinja"), ("src/a.test.ts", "TypeScript"),
        ("src/a.tsx", "TSX"), ("a.go", "Go"), ("go.mod", "Other"), ("LICENSE", "Other"),
        ("Gemfile", "Ruby"), (".bashrc", "Bash"),
    ],
)
def test_language_by_file_name(path, language):
    assert language_of(path) == language


def test_split_lines_ends_lines_at_newlines_only():
    assert split_lines("a\r\nb\rc\x0cd\u2028e\n\n") == ["a", "b", "c\x0cd\u2028e", ""]
    assert split_lines("") == []


@given(st.text(alphabet="ab #/*\"'\n\r\t\x0c{}", max_size=80),
       st.sampled_from(["x.py", "x.ts", "x.go", "x.c", "x.md", "LICENSE"]))
def test_every_line_is_counted_once(text, path):
    counted = count_lines(path, text)
    assert counted.code + counted.comment + counted.blank == len(split_lines(text))
    assert min(counted.code, counted.comment, counted.blank) >= 0
