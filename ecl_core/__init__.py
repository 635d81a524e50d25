"""ECL's engine-agnostic core: types, errors, LLM providers, resilience, prompts and steps.

Nothing in this package imports Dagster; ``ecl_dagster`` maps it onto Dagster
(see ``docs/architecture.md``).

What a step of your own needs is exported here (docs/write-your-own-workflow.md)::

    from ecl_core import Step, StepContext, complete_structured, load_prompt

- ``Step`` (the base class: typed ``input_model`` and ``output_model``, ``execute``),
  ``StepContext`` (the provider, run and step ids, the step's ``config``), ``StepRetryPolicy``
  and ``LLM_RETRY_POLICY`` (how a step is retried);
- ``load_prompt`` and ``PromptTemplate`` (a Markdown prompt template with a system prompt
  and a user template, from your own folder);
- ``complete_text`` and ``complete_structured`` (one LLM call, recorded in the step's
  metadata; the second asks for structured output in a pydantic model's JSON schema);
- ``Draft`` and ``Critique`` (the structured outputs the built-in critique-revise loop
  reads and writes: a step that feeds the loop writes a ``Draft``);
- ``ConfigError`` and ``ValidationError`` (what a step raises for bad settings or output).

They are imported on first use, so ``import ecl_core`` stays cheap.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ecl_core.errors import ConfigError, ValidationError
    from ecl_core.prompts import PromptTemplate, load_prompt
    from ecl_core.steps.calls import complete_structured, complete_text
    from ecl_core.types import Critique, Draft
    from ecl_core.workflow.step import LLM_RETRY_POLICY, Step, StepContext, StepRetryPolicy

_EXPORTS = {
    "ConfigError": "ecl_core.errors",
    "Critique": "ecl_core.types",
    "Draft": "ecl_core.types",
    "LLM_RETRY_POLICY": "ecl_core.workflow.step",
    "PromptTemplate": "ecl_core.prompts",
    "Step": "ecl_core.workflow.step",
    "StepContext": "ecl_core.workflow.step",
    "StepRetryPolicy": "ecl_core.workflow.step",
    "ValidationError": "ecl_core.errors",
    "complete_structured": "ecl_core.steps.calls",
    "complete_text": "ecl_core.steps.calls",
    "load_prompt": "ecl_core.prompts",
}

__all__ = [
    "LLM_RETRY_POLICY",
    "ConfigError",
    "Critique",
    "Draft",
    "PromptTemplate",
    "Step",
    "StepContext",
    "StepRetryPolicy",
    "ValidationError",
    "complete_structured",
    "complete_text",
    "load_prompt",
]


def __getattr__(name: str) -> Any:
    """The exported name ``name``, imported from its module on first use (PEP 562).

    Raises:
        AttributeError: ``ecl_core`` exports no such name.
    """
    if name not in _EXPORTS:
        raise AttributeError(f"module 'ecl_core' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
