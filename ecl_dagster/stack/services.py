"""The commands of ECL's services, shared by the local stack and docker-compose.yml.

``tests`` checks that docker-compose.yml and the Dockerfile run exactly these, so the two
ways of running the deployment cannot drift apart.
"""

__all__ = ["CODE_LOCATION_MODULE", "api_server", "code_server", "daemon", "webserver"]

CODE_LOCATION_MODULE = "ecl_dagster"


def code_server(host: str, port: int) -> list[str]:
    """The code location served over gRPC."""
    return ["dagster", "code-server", "start", "-m", CODE_LOCATION_MODULE,
            "-h", host, "-p", str(port)]


def webserver(host: str, port: int, workspace: str) -> list[str]:
    """The Dagster UI, loading the code location from the workspace file."""
    return ["dagster-webserver", "-h", host, "-p", str(port), "-w", workspace]


def daemon(workspace: str) -> list[str]:
    """The daemon: run queue, sensors, run retries, run monitoring."""
    return ["dagster-daemon", "run", "-w", workspace]


def api_server(host: str, port: int, workspace: str) -> list[str]:
    """ECL's HTTP API (``ecl_dagster.service``), submitting runs to the workspace's location."""
    return ["ecl", "server", "start", "--host", host, "--port", str(port),
            "--workspace", workspace]
