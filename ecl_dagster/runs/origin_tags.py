"""Run tags that say which API request made a run (``ecl_dagster.service``).

They are read where runs execute, so they live apart from the service: loading the code
location never imports the HTTP stack.
"""

__all__ = ["API_KEY_TAG", "REQUEST_ID_TAG", "RESERVED_TAG_PREFIXES"]

API_KEY_TAG = "ecl/api_key"
"""Run tag: the name of the API key that submitted or re-executed the run."""
REQUEST_ID_TAG = "ecl/request_id"
"""Run tag: the id of the HTTP request that made the run, as the API's request log has it;
the run's own ECL log lines carry it as ``api_request_id`` (``request_id`` is the
LLM API's)."""

RESERVED_TAG_PREFIXES = ("dagster/", "ecl/", ".dagster")
"""Tags Dagster and ECL set themselves: a caller's own run tags (``ecl run --tag``, the API's
``tags``) may not use them."""
