"""Prompt templates from ``prompts/*.md``: a system prompt and a user template each.

A template file has two sections, headed ``## System prompt`` and ``## User template``, and
may have a third between them, ``## Cached context``: what every call of that prompt
re-sends unchanged within a run (the request, the facts, the topic). A template with it makes
requests whose prefix (system prompt, then that context) is marked for prompt caching
(``CompletionRequest.cache``); one without it is sent uncached. Variables are written
``${name}`` (``string.Template``), so JSON examples in a prompt need no escaping. A
template's version is the first 12 hex digits of the SHA-256 of its file, so a run's
metadata says exactly which wording it used.
"""

import hashlib
import os
import re
import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pydantic

from ecl_core.errors import ConfigError, FieldError, ValidationError
from ecl_core.types import CompletionRequest, Message

__all__ = ["PromptTemplate", "default_prompts_dir", "load_prompt"]

_SYSTEM, _CONTEXT, _USER = "## System prompt", "## Cached context", "## User template"
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class PromptTemplate:
    """One prompt: name, system prompt, cached context (or None), user template, version."""

    name: str
    system: str
    context: str | None
    user: str
    version: str

    def request(self, *, max_tokens: int, **variables: str) -> CompletionRequest:
        """Render the template; build the request for step ``self.name``.

        Raises:
            ConfigError: The template uses a variable that was not given.
            ValidationError: A variable holds a lone surrogate (text no API can encode), or
                ``max_tokens`` is not a positive integer; the details name the field.
        """
        problems = [
            FieldError(name, f"has a lone surrogate at character {match.start()}; "
                       "it is not valid Unicode text")
            for name, value in variables.items()
            if (match := _SURROGATE.search(value))
        ]
        if problems:
            raise ValidationError(f"prompt '{self.name}' cannot be sent", problems)
        try:
            system = string.Template(self.system).substitute(variables)
            context = string.Template(self.context or "").substitute(variables)
            user = string.Template(self.user).substitute(variables)
        except KeyError as err:
            raise ConfigError(f"prompt '{self.name}' needs variable {err.args[0]!r}") from err
        try:
            return CompletionRequest(
                system=system,
                context=context,
                messages=(Message(role="user", content=user),),
                max_tokens=max_tokens,
                cache=self.context is not None,
                step=self.name,
                variables=variables,
            )
        except pydantic.ValidationError as err:
            details = [FieldError(".".join(str(p) for p in e["loc"]), e["msg"])
                       for e in err.errors()]
            raise ValidationError(f"prompt '{self.name}' cannot be sent", details) from None


def default_prompts_dir() -> Path:
    """``ECL_PROMPTS_DIR`` if set, else the ``prompts/`` folder at the project root."""
    configured = os.environ.get("ECL_PROMPTS_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parent.parent / "prompts"


@lru_cache(maxsize=32)
def _load(path: Path) -> PromptTemplate:
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read prompt template {path}: {err}") from err
    if _SYSTEM not in raw or _USER not in raw:
        raise ConfigError(f"prompt template {path} needs '{_SYSTEM}' and '{_USER}' sections")
    system_part, user_part = raw.split(_SYSTEM, 1)[1].split(_USER, 1)
    context: str | None = None
    if _CONTEXT in system_part:
        system_part, context = (part.strip() for part in system_part.split(_CONTEXT, 1))
    return PromptTemplate(
        name=path.stem,
        system=system_part.strip(),
        context=context,
        user=user_part.strip(),
        version=hashlib.sha256(raw.encode("utf-8")).hexdigest()[:12],
    )


def load_prompt(name: str, directory: Path | None = None) -> PromptTemplate:
    """Load ``<directory>/<name>.md`` (cached per path).

    Raises:
        ConfigError: The file is missing or lacks a section.
    """
    return _load((directory or default_prompts_dir()).resolve() / f"{name}.md")
