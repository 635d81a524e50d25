"""The LLM settings a run may choose on every way in, checked, and merged into its run config.

``ecl run``, ``ecl analyze``, the HTTP API and the analysis inbox take the same three names
(``LLM_CHOICE_FIELDS``): each value is checked by ``llm_choice`` and goes into the run config
under ``resources.llm.config`` (``with_llm_choice``). Light to import: the definitions load it
(the inbox sensor), so it imports no Dagster internals.
"""

import reprlib
from collections.abc import Mapping
from typing import Any, get_args

from ecl_core.bounds import LLM_SETTING_RANGES
from ecl_core.errors import FieldError, ValidationError
from ecl_core.llm.factory import ProviderName

__all__ = ["LLM_CHOICE_FIELDS", "MAX_MODEL_CHARS", "PROVIDERS", "llm_choice", "with_llm_choice"]

PROVIDERS: tuple[str, ...] = get_args(ProviderName)
"""The LLM providers a run may choose (``resources.llm.config.provider``)."""
LLM_CHOICE_FIELDS = ("provider", "model", "context_window_tokens")
"""The LLM settings every way in lets a run choose, by their run config names."""
MAX_MODEL_CHARS = 200
"""The longest model name a way in accepts (a name, not a prompt)."""


def llm_choice(
    provider: object = None,
    model: object = None,
    context_window_tokens: object = None,
    names: tuple[str, str, str] = LLM_CHOICE_FIELDS,
) -> dict[str, Any]:
    """The LLM resource's settings a run chose, each checked; ``None`` means not chosen.

    Args:
        provider: One of ``PROVIDERS``.
        model: The model's name: a string of 1 to ``MAX_MODEL_CHARS`` characters, not blank.
        context_window_tokens: The model's context window, a whole number in the LLM
            resource's range (0, ask the server, to 10,000,000).
        names: What the caller calls the three values (``--provider``, ...), for the error.

    Returns:
        ``resources.llm.config`` entries for the values given:
        ``{"provider": str, "model": str, "context_window_tokens": int}``, each key only
        when its value is not ``None``.

    Raises:
        ValidationError: One detail per value that breaks its rule, named as in ``names``.
    """
    chosen: dict[str, Any] = {}
    problems: list[FieldError] = []
    if provider is not None:
        if provider in PROVIDERS:
            chosen["provider"] = provider
        else:
            problems.append(FieldError(names[0], f"is {reprlib.repr(provider)}; it must be "
                                       f"one of {', '.join(PROVIDERS)}"))
    if model is not None:
        if isinstance(model, str) and model.strip() and len(model) <= MAX_MODEL_CHARS:
            chosen["model"] = model
        else:
            shown = (f"is {len(model):,} characters long"
                     if isinstance(model, str) and model.strip() else f"is {reprlib.repr(model)}")
            problems.append(FieldError(names[1], f"{shown}; it must be a model name of 1 to "
                                       f"{MAX_MODEL_CHARS} characters, not blank"))
    if context_window_tokens is not None:
        window = LLM_SETTING_RANGES["context_window_tokens"]
        problem = window.problem(context_window_tokens)
        if problem is None and isinstance(context_window_tokens, int):
            chosen["context_window_tokens"] = context_window_tokens
        else:
            problems.append(FieldError(names[2], problem or (
                f"is {reprlib.repr(context_window_tokens)}; it must be a whole number of "
                f"tokens from {window.low:,.0f} to {window.high:,.0f}")))
    if problems:
        raise ValidationError("invalid LLM settings", problems)
    return chosen


def with_llm_choice(run_config: Mapping[str, Any], choice: Mapping[str, Any]) -> dict[str, Any]:
    """``run_config`` with ``choice`` (``llm_choice``) merged into ``resources.llm.config``.

    Settings ``run_config`` already gives the LLM resource stay unless ``choice`` names them;
    an empty ``choice`` leaves the run config as it is.
    """
    merged = dict(run_config)
    if not choice:
        return merged
    resources = dict(merged.get("resources") or {})
    llm = dict(resources.get("llm") or {})
    llm["config"] = {**(llm.get("config") or {}), **choice}
    resources["llm"] = llm
    merged["resources"] = resources
    return merged
