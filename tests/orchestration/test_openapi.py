"""The committed OpenAPI document (docs/openapi.json) is the one the API serves."""

import json
from typing import get_args

import dagster as dg

from ecl_dagster.runs.views import RunState
from ecl_dagster.service.openapi import COMMITTED, rendered


def test_the_committed_document_is_what_the_code_serves():
    assert COMMITTED.read_text(encoding="utf-8") == rendered(), (
        "docs/openapi.json is out of date: run `python -m ecl_dagster.service.openapi`"
    )


def test_every_endpoint_but_health_and_metrics_asks_for_a_key():
    document = json.loads(COMMITTED.read_text(encoding="utf-8"))
    scheme = document["components"]["securitySchemes"]["APIKeyHeader"]
    assert scheme == {"type": "apiKey", "in": "header", "name": "X-API-Key",
                      "description": scheme["description"]}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            open_ = path.startswith("/health") or path == "/metrics"
            assert ("security" in operation) != open_, (method, path)
            if not open_:
                assert "401" in operation["responses"], (method, path)


def test_the_run_states_are_dagsters():
    assert set(get_args(RunState)) == {status.value for status in dg.DagsterRunStatus}
