"""Walking a JSON schema: every object node of it, for the transforms ECL makes before sending.

``ecl_core.llm.providers.openai_provider`` (strict and capped schemas),
``ecl_core.llm.schema_budget`` (schemas fitted to ``max_tokens``) and
``ecl_core.migration.grounding`` (citations as an ``enum``) each change nodes in place, on a
copy of the schema.
"""

from collections.abc import Iterator
from typing import Any

__all__ = ["object_nodes"]


def object_nodes(node: Any) -> Iterator[dict[str, Any]]:
    """Every dict in ``node`` (a schema, or any part of one), parents before children.

    A node may be changed when it is yielded: its values are walked after that.
    """
    if isinstance(node, dict):
        yield node
        for value in list(node.values()):
            yield from object_nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from object_nodes(value)
