"""Code, comment and blank lines of a file, by its language, with pygments' lexers.

A line is *code* if it holds any token that is neither whitespace nor a comment, *comment*
if it holds comments (docstrings count as comments, as pygount counts them) and nothing
else, and *blank* otherwise. The language is the lexer's name, chosen by file name; a file
no lexer claims is ``Other`` and its non-blank lines are code.
"""

from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePosixPath

from pygments.lexer import Lexer
from pygments.lexers import get_lexer_for_filename
from pygments.token import Comment, String
from pygments.util import ClassNotFound

__all__ = ["OTHER", "LineCount", "count_lines", "language_of"]

OTHER = "Other"


@dataclass(frozen=True)
class LineCount:
    """One file's lines by kind."""

    language: str
    code: int
    comment: int
    blank: int


@lru_cache(maxsize=512)
def _lexer(key: str) -> Lexer | None:
    try:
        return get_lexer_for_filename(key, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


def _key(path: str) -> str:
    """What the lexer depends on: the suffix, or the whole name when it has none."""
    name = PurePosixPath(path).name
    suffix = PurePosixPath(name).suffix
    return f"x{suffix}" if suffix and not name.startswith(".") else name


def language_of(path: str) -> str:
    """The language pygments gives ``path`` by its name, or ``Other``."""
    lexer = _lexer(_key(path))
    return lexer.name if lexer is not None else OTHER


def count_lines(path: str, text: str) -> LineCount:
    """Count ``text``'s lines (``str.splitlines`` lines) by kind (module docstring)."""
    total = len(text.splitlines())
    lexer = _lexer(_key(path))
    if lexer is None:
        blank = sum(1 for line in text.splitlines() if not line.strip())
        return LineCount(OTHER, total - blank, 0, blank)
    has_code = [False] * (total + 1)
    has_comment = [False] * (total + 1)
    line = 0
    for kind, value in lexer.get_tokens(text):
        is_comment = kind in Comment or kind in String.Doc
        for k, part in enumerate(value.split("\n")):
            if k:
                line += 1
            if part.strip() and line <= total:
                if is_comment:
                    has_comment[line] = True
                else:
                    has_code[line] = True
    code = sum(has_code[:total])
    comment = sum(1 for i in range(total) if has_comment[i] and not has_code[i])
    return LineCount(lexer.name, code, comment, total - code - comment)
