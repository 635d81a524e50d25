"""The offline provider's answer to a prompt it has no rule for: any step of any workflow.

A request with an ``output_schema`` (structured outputs) gets a JSON object that follows
the schema, built from it deterministically: every property present, strings that say they
are offline and quote the request (its template variables, else its last user turn),
numbers at their lowest allowed value, the first ``enum`` value, arrays of their fewest
items (at least one). A request without one gets a text that says it is offline and quotes
the request. So a workflow of your own runs end to end with no key; its answers show
their shape, not a model's judgment.
"""

import json
import math
from typing import Any

from ecl_core.errors import ConfigError
from ecl_core.types import CompletionRequest

__all__ = ["OFFLINE_ANSWER_MARK", "answer_any", "instance_of"]

OFFLINE_ANSWER_MARK = "(Offline answer: ECL's offline provider, not a language model.)"
_QUOTE_CHARS = 600
_MAX_DEPTH = 8


def _quote(request: CompletionRequest) -> str:
    """The template variables (``name: value; ...``), else the last user turn.

    Whitespace folded, at most 600 characters.
    """
    given = "; ".join(f"{name}: {value}" for name, value in request.variables.items())
    text = " ".join((given or request.messages[-1].content).split())
    return text if len(text) <= _QUOTE_CHARS else text[:_QUOTE_CHARS].rsplit(" ", 1)[0] + " ..."


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """``node``, with a local ``$ref`` (``#/$defs/Name``) replaced by what it names."""
    seen = 0
    while "$ref" in node and seen < _MAX_DEPTH:
        target: Any = root
        for part in str(node["$ref"]).removeprefix("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        node, seen = target if isinstance(target, dict) else {}, seen + 1
    return node


_FORMATS = {
    "date-time": "2000-01-01T00:00:00Z",
    "date": "2000-01-01",
    "time": "00:00:00",
    "duration": "P1D",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "uri": "https://example.invalid/offline",
    "email": "offline@example.invalid",
    "hostname": "offline.invalid",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
}
"""A fixed valid value for each string ``format`` pydantic writes (documentation addresses)."""


def _string(node: dict[str, Any], name: str, quote: str) -> str:
    """An offline string for ``node``.

    Raises:
        ConfigError: The string must match a ``pattern`` (or a ``format`` not in
            ``_FORMATS``) and has no ``default``: the offline provider cannot write it.
    """
    if node.get("format") in _FORMATS:
        return _FORMATS[node["format"]]
    if "pattern" in node or "format" in node:
        if "default" in node:
            return str(node["default"])
        rule = f"pattern {node['pattern']!r}" if "pattern" in node else f"format {node['format']}"
        raise ConfigError(f"the offline provider cannot write field {name or '(text)'!r}: it "
                          f"must match {rule}; give the field a default, or use a provider")
    text = f"Offline {name or 'text'}: {quote}" if quote else f"Offline {name or 'text'}."
    low, high = int(node.get("minLength", 0)), node.get("maxLength")
    if high is not None and len(text) > int(high):
        text = text[: int(high)]
    return text + "." * max(0, low - len(text))


def _number(node: dict[str, Any], integer: bool) -> int | float:
    """The lowest value ``node`` allows (0 when it allows 0), on its ``multipleOf``."""
    step = node.get("multipleOf")
    low: float | None = None
    if "minimum" in node:
        low = node["minimum"]
    if "exclusiveMinimum" in node:
        bound = node["exclusiveMinimum"]
        above = math.floor(bound) + 1 if integer else bound + (step or 1e-6)
        low = above if low is None else max(low, above)
    high: float | None = node.get("maximum")
    if "exclusiveMaximum" in node:
        bound = node["exclusiveMaximum"]
        below = math.ceil(bound) - 1 if integer else bound - (step or 1e-6)
        high = below if high is None else min(high, below)
    value: float = 0 if (low is None or low <= 0) and (high is None or high >= 0) else (
        low if low is not None else high)  # type: ignore[assignment]
    if integer:
        value = math.ceil(value)
    if step:
        value = math.ceil(value / step) * step
    return int(value) if integer else float(value)


def instance_of(
    node: dict[str, Any], root: dict[str, Any], *, name: str = "", quote: str = "", depth: int = 0
) -> Any:
    """A value that ``node`` (a JSON schema, or part of ``root``) accepts; see the module doc.

    Items of an array differ (their strings are numbered), so ``uniqueItems`` holds for
    strings; fixed values stand for string ``format``s (dates, UUIDs, URLs, emails).

    Args:
        node: The schema node.
        root: The whole schema, for ``$ref``.
        name: The property the value is for; strings name it.
        quote: Request text strings quote.
        depth: How deep the walk is; past 8 levels objects and arrays come out empty.

    Raises:
        ConfigError: A string must match a ``pattern`` and has no default; the message
            names the field.
    """
    node = _resolve(node, root)
    if "const" in node:
        return node["const"]
    if node.get("enum"):
        return node["enum"][0]
    for key in ("anyOf", "oneOf"):
        options = [o for o in node.get(key, []) if _resolve(o, root).get("type") != "null"]
        if options:
            return instance_of(options[0], root, name=name, quote=quote, depth=depth)
    if node.get("allOf"):
        merged: dict[str, Any] = {}
        for part in node["allOf"]:
            merged.update(_resolve(part, root))
        return instance_of(merged, root, name=name, quote=quote, depth=depth)
    kind = node.get("type", "object" if "properties" in node else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        if depth >= _MAX_DEPTH:
            return {}
        found = {
            key: instance_of(value, root, name=key, quote=quote, depth=depth + 1)
            for key, value in node.get("properties", {}).items()
        }
        extra = node.get("additionalProperties")
        for number in range(len(found), int(node.get("minProperties", 0))):
            found[f"offline_{number + 1}"] = instance_of(
                extra if isinstance(extra, dict) else {}, root, name=name, quote=quote,
                depth=depth + 1)
        return found
    if kind == "array":
        if "prefixItems" in node:  # a tuple
            return [instance_of(item, root, name=name, quote=quote, depth=depth + 1)
                    for item in node["prefixItems"]]
        count = max(1, int(node.get("minItems", 0)))
        if "maxItems" in node:
            count = min(count, int(node["maxItems"]))
        if depth >= _MAX_DEPTH:
            count = int(node.get("minItems", 0))
        items = node.get("items", {})
        return [instance_of(items if isinstance(items, dict) else {}, root,
                            name=f"{name} {k + 1}" if count > 1 else name, quote=quote,
                            depth=depth + 1) for k in range(count)]
    if kind in ("integer", "number"):
        return _number(node, kind == "integer")
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return _string(node, name, quote)


def answer_any(request: CompletionRequest) -> str:
    """The offline answer to ``request``: schema-valid JSON, or a text; both marked offline."""
    quote = _quote(request)
    if request.output_schema is not None:
        return json.dumps(instance_of(request.output_schema, request.output_schema,
                                      quote=quote))
    return f"{OFFLINE_ANSWER_MARK} Step '{request.step or 'unnamed'}' was asked: {quote}"
