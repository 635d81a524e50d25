"""A person in the loop, on Dagster: runs that end at a pending review, and their continuation.

``awaiting`` ends a run at an unanswered review; ``resume`` stores answers and starts
continuations (``continuation``: a re-execution from the review step); ``sensor`` reads the
review inbox, applies deadlines and continues answered runs.
"""
