"""The API key reaches the API and nowhere else: not logs, event log, outputs or storage."""

from pathlib import Path

from ecl_core.logging import configure_logging

from jobrun import anthropic_llm, run_job
from messages_api import error
from scenarios import pass_after


def test_the_api_key_is_nowhere_but_on_the_wire(messages_api, api_key, instance, capfd):
    configure_logging("DEBUG", force=True)  # prompts and responses too
    messages_api.script([*pass_after(1), error(401, "invalid x-api-key")])
    succeeded = run_job(instance, llm=anthropic_llm(messages_api))
    failed = run_job(instance, llm=anthropic_llm(messages_api))
    assert succeeded.success and not failed.success

    sent = messages_api.requests[0].headers
    assert api_key in sent.get("x-api-key", "") + sent.get("authorization", "")

    captured = capfd.readouterr()
    assert '"event": "llm.request"' in captured.err, "debug logging must have been on"
    assert api_key not in captured.out + captured.err

    for run in (succeeded, failed):
        for record in instance.all_logs(run.run_id):
            assert api_key not in str(record)
        assert api_key not in str(instance.get_run_by_id(run.run_id))

    root = Path(instance.root_directory)
    files = [p for p in root.rglob("*") if p.is_file()]
    assert any(p.suffix == ".db" for p in files) and any(p.suffix == ".json" for p in files)
    for path in files:
        assert api_key.encode() not in path.read_bytes(), path
