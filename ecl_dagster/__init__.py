"""ECL on Dagster: resources, ops, the critique_revise job and its Definitions."""

from ecl_dagster.definitions import defs

__all__ = ["defs"]
