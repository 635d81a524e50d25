"""What runs cost, on Dagster: usage tags and cost tables, and the budget a run sets.

``tags`` writes a run's calls, tokens and cost as run tags and renders cost tables;
``budgets`` reads a run's budget from its run config or run tags.
"""
