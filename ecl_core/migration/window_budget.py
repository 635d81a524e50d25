"""The analyzer's budgets fitted to the model's context window.

A document's output (``document_max_tokens``) takes at most half the window, and no more than
the model's output limit: the other half holds the prompt, which for a critique or a revision
carries the document itself. Source excerpts take what the window leaves once the rest of the
prompt and the output are counted (``prompt_room``), converted at
``CHARS_PER_TOKEN_FLOOR`` characters a token, since source code tokenizes more densely than
the 4 characters a token that ``ecl_core.codebase.excerpts`` reckons with. The request is
sized again when it is sent (``ecl_core.llm.windows``), so an estimate here can only lower
``max_tokens``, never overflow the window.
"""

from ecl_core.codebase.excerpts import CHARS_PER_TOKEN
from ecl_core.llm.windows import ModelLimits

__all__ = ["CHARS_PER_TOKEN_FLOOR", "document_budget", "excerpt_budget"]

CHARS_PER_TOKEN_FLOOR = 3
"""Characters a token of source code takes at least, for the excerpts' share of the window."""


def document_budget(configured: int, limits: ModelLimits | None) -> int:
    """``configured`` output tokens of a document, within half the window and the output limit.

    Args:
        configured: The ``document_max_tokens`` setting, in tokens.
        limits: The model's limits; None leaves ``configured`` as it is.
    """
    if limits is None:
        return configured
    cap = limits.context_window_tokens // 2
    if limits.max_output_tokens:
        cap = min(cap, limits.max_output_tokens)
    return max(1, min(configured, cap))


def excerpt_budget(configured: int, room: int | None) -> int:
    """Tokens of excerpts (at ``CHARS_PER_TOKEN`` characters each) that fit ``room``.

    Args:
        configured: The ``excerpt_budget_tokens`` setting.
        room: Tokens the window leaves for more prompt (``prompt_room``); None when unknown.
    """
    if room is None:
        return configured
    fits = room * CHARS_PER_TOKEN_FLOOR // CHARS_PER_TOKEN
    return max(0, min(configured, fits))
