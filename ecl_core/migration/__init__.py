"""The Codebase Migration Analyzer, engine-free: requests, documents, the loop, the gates.

``request`` (what to analyze), ``intake`` (the validated bundle), ``documents`` (the
pydantic models of every document), ``refine`` (a document through ECL's critique-revise
loop), ``grounding`` (required sections, cited paths), ``offline`` (documents from facts
when no model is configured). ``ecl_dagster.analyzer`` makes them a Dagster asset graph.
"""
