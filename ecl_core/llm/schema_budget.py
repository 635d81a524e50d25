"""A structured output's JSON schema tightened until its longest answer fits ``max_tokens``.

A model that decodes under a schema (llama.cpp's grammars, vLLM's guided decoding) writes
whatever the schema allows; a small model fills every string to its ``maxLength`` and every
array to its ``maxItems``, and is cut off at ``max_tokens`` long before the object closes.
``fit_schema`` estimates the longest JSON text the schema allows (``longest_chars``) and, while
that exceeds ``max_tokens * CHARS_PER_TOKEN_ESTIMATE`` characters, lowers every
``maxLength`` and ``maxItems`` by the same small factor, round after round (never below
their ``minLength``, ``minItems``, or ``MIN_STRING_CHARS``). A string with no ``maxLength``
gets one. The answer still validates against the document's own model, whose bounds are the
same or looser.

It is a setting (``fit_output_schema``), off by default: the longest answer is far longer than
what a capable model writes, so fitting it to ``max_tokens`` shortens what such a model may
write (a 16,000-token plan gets at most 3 phases). The characters a token covers are an
estimate (English and JSON run 3 to 4 characters a
token), so a cut-off stays possible; it then fails as ``OutputCutOff``, never as a repair.
"""

import copy
import json
import math
from typing import Any

from ecl_core.json_schema import object_nodes

__all__ = ["CHARS_PER_TOKEN_ESTIMATE", "MIN_STRING_CHARS", "fit_schema", "longest_chars"]

CHARS_PER_TOKEN_ESTIMATE = 3
"""Characters of JSON text one output token is reckoned to cover."""
MIN_STRING_CHARS = 24
"""A string's ``maxLength`` is never lowered below this (or its ``minLength``)."""
_NUMBER_CHARS = 24
_ROUNDS = 200


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        resolved = root.get("$defs", {}).get(ref.split("/")[-1])
        if isinstance(resolved, dict):
            return resolved
    return node


def longest_chars(schema: dict[str, Any], *, unbounded: int) -> int:
    """The longest JSON text ``schema`` allows, in characters (an estimate, no whitespace).

    Args:
        schema: A JSON schema with local ``$defs``.
        unbounded: Characters counted for a string with no ``maxLength`` and for each item
            of an array with no ``maxItems`` (counted as ``unbounded`` items).
    """
    def walk(node: Any, depth: int) -> float:
        if not isinstance(node, dict) or depth > 32:
            return _NUMBER_CHARS
        node = _resolve(node, schema)
        if "enum" in node:
            return max((len(json.dumps(value)) for value in node["enum"]), default=4)
        options = node.get("anyOf") or node.get("oneOf")
        if options:
            return max(walk(option, depth + 1) for option in options)
        kind = node.get("type")
        if kind == "string":
            return int(node.get("maxLength", unbounded)) + 2
        if kind == "array":
            count = int(node.get("maxItems", unbounded))
            return 2 + count * (walk(node.get("items", {}), depth + 1) + 1)
        if kind == "object":
            properties = node.get("properties", {})
            return 2 + sum(len(name) + 4 + walk(value, depth + 1)
                           for name, value in properties.items())
        return _NUMBER_CHARS

    return math.ceil(walk(schema, 0))


def _scale(schema: dict[str, Any], factor: float) -> bool:
    """Lower every ``maxLength`` and ``maxItems`` in ``schema`` by ``factor``; True if any fell."""
    changed = False
    for node in object_nodes(schema):
        if node.get("type") == "string" and isinstance(node.get("maxLength"), int):
            floor = max(int(node.get("minLength", 0)), MIN_STRING_CHARS)
            lowered = min(node["maxLength"], max(floor, math.floor(node["maxLength"] * factor)))
            changed |= lowered < node["maxLength"]
            node["maxLength"] = lowered
        if node.get("type") == "array" and isinstance(node.get("maxItems"), int):
            least = max(int(node.get("minItems", 0)), 1)
            lowered = min(node["maxItems"], max(least, math.floor(node["maxItems"] * factor)))
            changed |= lowered < node["maxItems"]
            node["maxItems"] = lowered
    return changed


def _bound_strings(schema: dict[str, Any], chars: int) -> None:
    """Give every string without a ``maxLength`` (nor an ``enum``) one of ``chars``."""
    for node in object_nodes(schema):
        if node.get("type") == "string" and "maxLength" not in node and "enum" not in node:
            node["maxLength"] = max(chars, int(node.get("minLength", 0)))


def fit_schema(schema: dict[str, Any], max_tokens: int) -> dict[str, Any]:
    """``schema`` tightened so its longest answer fits ``max_tokens`` (module docstring).

    Args:
        schema: The answer's JSON schema; not changed.
        max_tokens: The output tokens the request allows.

    Returns:
        A copy with lower ``maxLength`` and ``maxItems`` where needed; the schema as it was
        when its longest answer already fits. An array with no ``maxItems`` is left so:
        it is bounded only by the tokens.
    """
    budget = max_tokens * CHARS_PER_TOKEN_ESTIMATE
    fitted = copy.deepcopy(schema)
    _bound_strings(fitted, budget)
    for _ in range(_ROUNDS):
        longest = longest_chars(fitted, unbounded=1)
        if longest <= budget:
            break
        factor = max(0.8, min(0.97, (budget / longest) ** 0.25))
        if not _scale(fitted, factor):
            break
    return fitted
