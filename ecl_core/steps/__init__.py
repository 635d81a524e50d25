"""ECL's built-in steps: each a pure function over a provider and the ``Step`` type that runs it.

``generate``, ``critique``, ``revise`` (and ``final_draft``), ``summarize`` (split, summarize a
section, combine), ``review`` (``human_review``); ``base`` is what every call shares (repair
requests, cut-off answers, the calls a step made); ``builtin.default_registry`` lists them.
"""
