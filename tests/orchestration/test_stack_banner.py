"""The local stack's banner names the inboxes its sensors read."""

from pathlib import Path

from ecl_dagster.stack.local import LocalStack, banner


def _stack(home: Path, env: dict[str, str]) -> LocalStack:
    return LocalStack(home=home, web_url="http://127.0.0.1:3000", grpc_port=4266,
                      postgres_url="postgresql://ecl@127.0.0.1/ecl", env=env, pids={"daemon": 1})


def test_the_banner_names_the_configured_inboxes(tmp_path):
    env = {"ECL_INBOX_DIR": "/srv/ecl/topics", "ECL_ANALYSIS_INBOX_DIR": "/srv/ecl/analyses",
           "ECL_REVIEW_INBOX_DIR": "/srv/ecl/answers"}
    text = banner(_stack(tmp_path, env))
    assert "  inbox:          /srv/ecl/topics\n" in text
    assert "  analysis inbox: /srv/ecl/analyses\n" in text
    assert "  review inbox:   /srv/ecl/answers\n" in text
    assert str(tmp_path / "inbox") not in text


def test_without_settings_the_inboxes_are_in_dagster_home(tmp_path):
    text = banner(_stack(tmp_path, {}))
    assert f"  inbox:          {tmp_path / 'inbox'}\n" in text
    assert f"  analysis inbox: {tmp_path / 'analysis_inbox'}\n" in text
    assert f"  review inbox:   {tmp_path / 'review_inbox'}\n" in text
