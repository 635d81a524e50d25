"""Write the API's OpenAPI document to ``docs/openapi.json`` (the committed copy).

    python -m ecl_dagster.service.openapi

``tests/orchestration/test_openapi.py`` fails when the committed copy differs from what
the code serves at ``/openapi.json``; run this after changing an endpoint or a model.
"""

import json
from pathlib import Path

from ecl_dagster.service.app import openapi_document

__all__ = ["COMMITTED", "main", "rendered"]

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def rendered() -> str:
    """The document as committed: indented JSON, keys in the order FastAPI gives them."""
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    """Write ``rendered()`` to ``docs/openapi.json``."""
    COMMITTED.parent.mkdir(exist_ok=True)
    COMMITTED.write_text(rendered(), encoding="utf-8")


if __name__ == "__main__":
    main()
