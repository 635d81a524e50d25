"""Run tags that say which API request made a run (``ecl_dagster.service``).

They are read where runs execute, so they live apart from the service: loading the code
location never imports the HTTP stack.
"""

import re

__all__ = [
    "API_KEY_TAG",
    "MAX_CALLER_TAGS",
    "MAX_TAG_VALUE_CHARS",
    "REQUEST_ID_TAG",
    "caller_tag_problems",
]

API_KEY_TAG = "ecl/api_key"
"""Run tag: the name of the API key that submitted or re-executed the run."""
REQUEST_ID_TAG = "ecl/request_id"
"""Run tag: the id of the HTTP request that made the run, as the API's request log has it;
the run's own ECL log lines carry it as ``api_request_id`` (``request_id`` is the
LLM API's)."""

MAX_CALLER_TAGS = 20
"""The most tags a caller may give one run."""
MAX_TAG_VALUE_CHARS = 256
"""The longest value of a caller's tag, in characters."""
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def caller_tag_problems(tags: dict[str, str]) -> list[tuple[str, str]]:
    """What is wrong with a caller's own run tags (``ecl run --tag``, the API's ``tags``).

    A caller's tag key is a plain name: a letter or digit, then letters, digits, ``_``, ``.``
    or ``-``, at most 63 characters, and no ``/``. Namespaced keys are the deployment's:
    Dagster's (``dagster/``), ECL's (``ecl/``), and run launchers' own, such as
    ``dagster-k8s/config``, which K8sRunLauncher turns into the run worker's pod spec. So the
    rule is an allow-list, not a list of refused prefixes. At most 20 tags; values of at most
    256 characters, with no control characters.

    Returns:
        ``(key, problem)`` pairs, empty when the tags are acceptable (``""`` as the key for
        a problem of the whole set).
    """
    problems: list[tuple[str, str]] = []
    if len(tags) > MAX_CALLER_TAGS:
        problems.append(("", f"{len(tags)} tags; at most {MAX_CALLER_TAGS}"))
    for key, value in tags.items():
        if not _PLAIN_NAME.match(key):
            problems.append((key[:80], "a tag key is a plain name: letters, digits, _ . -, "
                             "at most 63 characters, no '/' (namespaced tags such as "
                             "dagster/..., ecl/... and dagster-k8s/config are the deployment's)"))
        elif len(value) > MAX_TAG_VALUE_CHARS or _CONTROL.search(value):
            problems.append((key, f"a value has at most {MAX_TAG_VALUE_CHARS} characters and "
                             "no control characters"))
    return problems
