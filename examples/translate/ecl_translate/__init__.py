"""ECL example: translate a text, critique the translation, revise it at most 3 times.

``ecl_translate.steps`` holds a custom LLM step (``translate``: its own prompt template and
structured output model) and a plain Python step (``as_draft``); ``translate.yaml`` beside
this package wires them to ECL's built-in critique and revise steps.
"""
