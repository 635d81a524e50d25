"""Names the code location's other domains take, which no workflow may take too.

Dagster wants job and op names unique in a code location: a workflow (or one of its steps)
named like the analyzer's job or one of its assets' ops would take the whole location down,
so ``compiled_workflows`` treats it as a broken file instead.
"""

import dagster as dg

__all__ = ["other_domains", "taken_names"]


def other_domains() -> list[dg.Definitions]:
    """The domains besides the workflows: the analyzer, and the review sensor."""
    from ecl_dagster.analyzer import analyzer_defs  # imported here: both import workflows
    from ecl_dagster.review.sensor import review_defs

    return [analyzer_defs(), review_defs()]


def taken_names(*domains: dg.Definitions) -> set[str]:
    """The job and op names of ``domains`` (default: ``other_domains()``)."""
    found = domains or tuple(other_domains())
    names = {job.name for d in found for job in d.jobs or []}
    for domain in found:
        for asset in domain.assets or []:
            if isinstance(asset, dg.AssetsDefinition) and asset.is_executable:
                names.add(asset.node_def.name)
    return names
