r"""Code, comment and blank lines of a file, by its language, with pygments' lexers.

Lines are split at ``\n``, ``\r\n`` and ``\r`` only (as pygments splits them;
a form feed or a ``U+2028`` does not end a line); a last line without a newline counts.
A line is *code* if it holds any token that is neither whitespace nor a comment;
*comment* if it holds a comment (docstrings included, as pygount counts them) and no
code; *blank* otherwise. Preprocessor directives (``#include``) are code, as in pygount.

The language is the name of the lexer pygments chooses by file name alone (no content
sniffing, so the answer is the same for every file of a kind); a file no lexer claims
(and Go's ``go.mod``, which pygments would take for Modula-2) is ``Other``, and its lines
that are not blank are code.
"""

from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pygments.lexer import Lexer

__all__ = ["OTHER", "LineCount", "count_lines", "language_of", "split_lines"]

OTHER = "Other"
"""The language of a file no pygments lexer claims."""


@dataclass(frozen=True)
class LineCount:
    """One file's lines by kind."""

    language: str
    code: int
    comment: int
    blank: int


@cache
def _names_and_compound_suffixes() -> tuple[frozenset[str], frozenset[str]]:
    """What a lexer choice depends on besides the last suffix, read once, at the first file.

    pygments is imported then, not with this module: its lexer table costs about 7 ms that
    loading ECL's definitions need not pay.

    Returns:
        The whole file names lexers claim (``CMakeLists.txt``), and the suffixes of two
        parts they claim (``.html.j2``).
    """
    from pygments.lexers import get_all_lexers

    names: set[str] = set()
    compounds: set[str] = set()
    for _name, _aliases, patterns, _mimetypes in get_all_lexers(plugins=False):
        for pattern in patterns:
            wild = [c for c in pattern[1:] if c in "*?["]
            if not wild and not pattern.startswith("*"):
                names.add(pattern)
            elif not wild and pattern.startswith("*.") and pattern.count(".") == 2:
                compounds.add(pattern[1:])
    return frozenset(names), frozenset(compounds)


_UNLEXED_NAMES = frozenset({"go.mod", "go.sum", "go.work", "go.work.sum"})
"""Go's module files, which pygments would read as Modula-2 (``*.mod``): ``Other``."""


def _key(path: str) -> str:
    """The part of ``path`` the lexer choice depends on, so one lexer serves many files."""
    exact_names, compound_suffixes = _names_and_compound_suffixes()
    name = PurePosixPath(path).name
    suffixes = PurePosixPath(name).suffixes
    if name in exact_names or name in _UNLEXED_NAMES or not suffixes or name.startswith("."):
        return name
    compound = "".join(suffixes[-2:])
    return "x" + (compound if compound in compound_suffixes else suffixes[-1])


@lru_cache(maxsize=1024)
def _lexer(key: str) -> "Lexer | None":
    from pygments.lexers import get_lexer_for_filename
    from pygments.util import ClassNotFound

    if key in _UNLEXED_NAMES:
        return None
    try:
        return get_lexer_for_filename(key, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


def language_of(path: str) -> str:
    """The language pygments gives ``path`` by its name, or ``Other``."""
    lexer = _lexer(_key(path))
    return lexer.name if lexer is not None else OTHER


@cache
def _is_comment(kind: object) -> bool:
    from pygments.token import Comment, String

    return (kind in Comment and kind not in Comment.Preproc) or kind in String.Doc


def split_lines(text: str) -> list[str]:
    """``text``'s lines as this module counts them (module docstring), without their ends."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return lines[:-1] if lines[-1] == "" else lines


def count_lines(path: str, text: str) -> LineCount:
    """Count ``text``'s lines by kind (module docstring); ``path`` chooses the language.

    Args:
        path: The file's path (only its name is used).
        text: The file's text.

    Returns:
        The language and the code, comment and blank lines; they add up to the lines.
    """
    lines = split_lines(text)
    total = len(lines)
    lexer = _lexer(_key(path))
    if lexer is None:
        blank = sum(1 for line in lines if not line.strip())
        return LineCount(OTHER, total - blank, 0, blank)
    text = "".join(line + "\n" for line in lines)
    has_code = bytearray(total + 1)
    has_comment = bytearray(total + 1)
    line = 0
    for kind, value in lexer.get_tokens(text):
        if value.isspace():
            line += value.count("\n")
            continue
        marks = has_comment if _is_comment(kind) else has_code
        for k, part in enumerate(value.split("\n")):
            line += 1 if k else 0
            if part and not part.isspace():
                marks[min(line, total)] = 1
    code = sum(has_code[:total])
    comment = sum(1 for n in range(total) if has_comment[n] and not has_code[n])
    return LineCount(lexer.name, code, comment, total - code - comment)
