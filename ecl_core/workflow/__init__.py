"""Workflows as data: steps with typed input and output, and definitions that wire them.

A workflow declares its steps, their dependencies and its bounded revision loops in a YAML
file (``workflows/*.yaml``); step types come from a ``StepRegistry``. Nothing here imports
Dagster.
"""
