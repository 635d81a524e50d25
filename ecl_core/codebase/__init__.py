"""Reading a codebase safely and measuring it, with no LLM (docs/architecture.md).

``tree`` reads a tree (``scan_tree``), with ``ignores`` (git's ignore rules, folders never
entered) and ``safe_read`` (opening files; ``read_user_file`` for the single files a
request names); ``lines``, ``manifests``, ``entry_points`` and ``facts`` measure it
(``compute_facts``); ``render`` shows the facts as markdown (``facts_markdown``, also in
``facts``); ``excerpts`` picks the source a model should read within a token budget.
"""
