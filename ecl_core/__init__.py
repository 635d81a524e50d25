"""ECL's engine-agnostic core: types, errors, LLM providers, resilience, prompts and steps.

Nothing in this package imports Dagster; ``ecl_dagster`` maps it onto Dagster
(see ``docs/architecture.md``).
"""
