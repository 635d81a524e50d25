"""Reading a codebase safely and measuring it, with no LLM (architecture.md).

``tree`` reads a tree (ignore rules, limits, no escape from the root); ``lines``,
``manifests`` and ``facts`` measure it; ``render`` shows the facts as markdown;
``excerpts`` picks the source a model should read within a token budget.
"""
