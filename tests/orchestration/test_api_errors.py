"""An unexpected error in an endpoint: a 500 in the one error shape, and no secret anywhere."""

import dagster as dg
from fastapi.testclient import TestClient

from ecl_dagster.service import runs
from ecl_dagster.service.app import create_app
from ecl_dagster.service.context import Service
from ecl_dagster.service.keys import ApiKey, KeyRing, hash_key

from scenarios import API_KEY


def test_an_unexpected_error_is_a_redacted_500_with_the_request_id(home, monkeypatch, capfd):
    monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)

    def broken(*_args, **_kwargs):
        raise RuntimeError(f"the database said no to {API_KEY}")

    monkeypatch.setattr(runs, "list_runs", broken)  # a fault injected into one endpoint
    key = "ecl_test-key-0123456789"
    keys = KeyRing([ApiKey("ci", hash_key(key))])
    with dg.DagsterInstance.get() as instance:
        service = Service(instance, None, keys, home / "documents")  # type: ignore[arg-type]
        client = TestClient(create_app(keys, service=service), raise_server_exceptions=True)
        response = client.get("/workflows", headers={"X-API-Key": key,
                                                     "X-Request-ID": "trace-0001-abcd"})
        metrics = client.get("/metrics").text
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "internal" and error["details"] == []
    assert "RuntimeError" in error["message"] and "trace-0001-abcd" in error["message"]
    assert response.headers["x-request-id"] == "trace-0001-abcd"
    assert API_KEY not in response.text and key not in response.text
    logged = capfd.readouterr()
    assert "api.error" in logged.err and "[REDACTED]" in logged.err
    assert API_KEY not in logged.out + logged.err and key not in logged.out + logged.err
    assert 'ecl_api_requests_total{method="GET",route="/workflows",status="500"} 1.0' in metrics
