"""ECL on Dagster: resources, ops, the workflow compiler, the jobs and their Definitions.

``defs`` is loaded on first use (PEP 562), so that ``ecl workflows list`` can report an
invalid workflow file instead of failing while it imports this package; Dagster's
``-m ecl_dagster`` finds it through ``dir()`` as usual.
"""

from typing import Any

__all__ = ["defs"]


def __getattr__(name: str) -> Any:
    if name == "defs":
        from ecl_dagster.definitions import defs

        return defs
    raise AttributeError(f"module 'ecl_dagster' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "defs"])
