"""Runs: starting, re-executing and cancelling them, and what a person reads of them.

``launching`` starts runs the way Dagster's UI and CLI do; ``llm_choice`` checks the LLM
settings a run chooses; ``views`` is the shapes the CLI and the API show; ``orphans`` finds
runs whose process is gone; ``origin_tags`` says which API request made a run.
"""
