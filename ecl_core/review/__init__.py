"""Reviews by a person: the durable promise a review step waits on (docs/architecture.md).

``model`` says what a review and its answers are; ``book`` keeps them in ECL's database
(imported only where reviews are stored, so that SQLAlchemy loads only when used). Nothing
here imports Dagster: the engine ends a run that meets ``ReviewPending`` and starts its
continuation once the review is answered.
"""
