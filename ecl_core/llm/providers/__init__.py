"""The providers ECL calls, each speaking one API, and how their errors are classified.

``anthropic_provider`` (the Messages API), ``openai_provider`` (chat completions of any
OpenAI-compatible server) with ``openai_server`` (what such a server says of its model) and
``openai_errors``; ``sdk_errors`` and ``http_status`` sort the SDKs' failures into
transient and permanent; ``offline`` (rule-based, no network) and ``scripted`` (answers
given in advance). The layers around a provider are in ``ecl_core.llm``.
"""
