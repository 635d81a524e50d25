"""Secret redaction in logs, and prompt templates."""

import json
import subprocess
import sys

import pytest
import structlog

from ecl_core.errors import ConfigError
from ecl_core.logging import configure_logging, register_secret
from ecl_core.prompts import load_prompt


def test_registered_secrets_and_credential_keys_are_redacted(capsys):
    configure_logging("DEBUG", force=True)
    register_secret("sk-ant-logging-test-123456")
    structlog.get_logger("t").info(
        "event", note="key is sk-ant-logging-test-123456", api_key="anything"
    )
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["note"] == "key is [REDACTED]"
    assert line["api_key"] == "[REDACTED]"


def test_prompts_have_system_prompt_user_template_and_a_content_version():
    for name in ("generate", "critique", "revise"):
        prompt = load_prompt(name)
        assert prompt.system and prompt.user
        assert len(prompt.version) == 12
    request = load_prompt("critique").request(max_tokens=50, topic="Tea", draft="Tea is hot.")
    assert "Tea is hot." in request.messages[0].content
    assert '"decision"' in request.system


def test_a_missing_template_variable_is_a_config_error():
    with pytest.raises(ConfigError, match="needs variable 'draft'"):
        load_prompt("critique").request(max_tokens=50, topic="Tea")


def test_ecl_core_never_imports_dagster():
    code = (
        "import pkgutil, importlib, sys, ecl_core\n"
        "for m in pkgutil.walk_packages(ecl_core.__path__, 'ecl_core.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] == 'dagster'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
