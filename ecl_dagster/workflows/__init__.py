"""Workflows on Dagster: workflow files compiled into jobs, their ops, outputs and result assets.

``compiler`` turns an ``ecl_core`` workflow definition into a job; ``ops`` and ``mapped``
are the ops it is made of, ``step_execution`` runs a step inside one; ``jobs`` compiles every
workflow file; ``assets`` declares each workflow's accepted result in the Catalog; ``metadata``
is what the UI shows of a step; ``views`` is what the CLI and the API show of a definition.
"""
