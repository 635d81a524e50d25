"""docker-compose.yml and the Dockerfile: valid, and running what the local stack runs."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import yaml

from ecl_dagster.stack import services

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_WORKSPACE = "/opt/ecl/deploy/compose/workspace.yaml"


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_docker_compose_validates():
    docker_compose = shutil.which("docker-compose")
    assert docker_compose, "install Debian's docker-compose (scripts/test.sh does as root)"
    done = subprocess.run(
        [docker_compose, "-f", "docker-compose.yml", "config", "-q"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr


def test_the_services_run_the_local_stack_commands():
    compose = _compose()["services"]
    assert compose["code"]["command"] == services.code_server("0.0.0.0", 4000)
    assert compose["webserver"]["command"] == services.webserver("0.0.0.0", 3000, COMPOSE_WORKSPACE)
    assert compose["daemon"]["command"] == services.daemon(COMPOSE_WORKSPACE)
    dockerfile = (ROOT / "Dockerfile").read_text()
    (cmd,) = re.findall(r"^CMD (.+)$", dockerfile, flags=re.MULTILINE)
    assert json.loads(cmd) == services.code_server("0.0.0.0", 4000)


def test_the_compose_workspace_points_at_the_code_service():
    workspace = yaml.safe_load((ROOT / "deploy" / "compose" / "workspace.yaml").read_text())
    (entry,) = workspace["load_from"]
    assert entry["grpc_server"]["host"] == "code" and entry["grpc_server"]["port"] == 4000


def test_postgres_has_a_health_check_that_the_others_wait_for():
    compose = _compose()["services"]
    assert "pg_isready" in " ".join(compose["postgres"]["healthcheck"]["test"])
    for name in ("code", "webserver", "daemon"):
        assert compose[name]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_the_api_key_is_passed_through_never_baked_in():
    compose = _compose()
    for name in ("code", "webserver", "daemon"):
        assert compose["services"][name]["environment"]["ANTHROPIC_API_KEY"] == (
            "${ANTHROPIC_API_KEY:-}"
        )
    assert "ANTHROPIC" not in (ROOT / "Dockerfile").read_text()


def test_every_service_shares_one_outputs_volume():
    compose = _compose()["services"]
    for name in ("code", "webserver", "daemon"):
        assert "dagster-home:/opt/dagster/home/storage" in compose[name]["volumes"]


def test_the_image_holds_every_folder_the_code_location_reads():
    copied = {
        line.split()[1] for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.startswith("COPY ")
    }
    assert {"ecl_core", "ecl_dagster", "prompts", "workflows", "examples"} <= copied
