"""Run the deployment without Docker: Postgres, code server, webserver and daemon on 127.0.0.1.

    python -m ecl_dagster.stack.local [--home DIR] [--web-port 3000]

It starts a throwaway Postgres cluster (unless ``--postgres-url`` names a database), writes
``deploy/postgres/dagster.yaml`` and a gRPC workspace into DAGSTER_HOME, starts the three
Dagster services with the commands of ``ecl_dagster.stack.services``, waits until each is
healthy and prints the UI's address. Ctrl-C or SIGTERM stops everything it started, by PID.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from ecl_dagster.stack import services
from ecl_dagster.stack.postgres import create_database, free_port, throwaway_cluster
from ecl_dagster.triggers.inbox import (
    analysis_inbox_folder,
    review_inbox_folder,
    topic_inbox_folder,
)

__all__ = ["LocalStack", "banner", "local_stack", "main"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


@dataclass(frozen=True)
class LocalStack:
    """A running stack: where it lives and how to reach it."""

    home: Path
    web_url: str
    grpc_port: int
    postgres_url: str
    env: dict[str, str]
    pids: dict[str, int]
    api_url: str | None = None


def _bin(command: list[str]) -> list[str]:
    exe = Path(sys.executable).with_name(command[0])
    return [str(exe) if exe.exists() else command[0], *command[1:]]


def _wait(what: str, ready: Callable[[], bool], process: subprocess.Popen[bytes], log: Path,
          timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}; see {log}")
        if ready():
            return
        time.sleep(0.3)
    raise TimeoutError(f"{what} not healthy after {timeout_s:g} s; see {log}")


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _grpc_ok(port: int, env: dict[str, str]) -> bool:
    check = subprocess.run(
        _bin(["dagster", "api", "grpc-health-check", "-p", str(port), "--host", HOST]),
        env=env, capture_output=True,
    )
    return check.returncode == 0


def _daemon_ok(env: dict[str, str]) -> bool:
    check = subprocess.run(_bin(["dagster-daemon", "liveness-check"]), env=env,
                           capture_output=True)
    return check.returncode == 0


@contextmanager
def _service(name: str, command: list[str], env: dict[str, str], logs: Path
             ) -> Iterator[subprocess.Popen[bytes]]:
    log = logs / f"{name}.log"
    with log.open("ab") as out:
        process = subprocess.Popen(_bin(command), cwd=PROJECT_ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield process
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextmanager
def local_stack(home: Path, *, web_port: int = 3000, postgres_url: str | None = None,
                extra_env: dict[str, str] | None = None, api_port: int | None = None,
                ) -> Iterator[LocalStack]:
    """Start the stack in ``home`` (DAGSTER_HOME); stop all of it on exit.

    With ``api_port``, ECL's HTTP API is started too; its keys file is the one
    ``ECL_API_KEYS_FILE`` names (in the environment or ``extra_env``).
    """
    with ExitStack() as stack:
        if postgres_url is None:
            server = stack.enter_context(throwaway_cluster())
            postgres_url = create_database(server, "ecl")
        url = sa.make_url(postgres_url)
        home.mkdir(parents=True, exist_ok=True)
        logs = home / "service_logs"
        logs.mkdir(exist_ok=True)
        shutil.copy(PROJECT_ROOT / "deploy" / "postgres" / "dagster.yaml", home / "dagster.yaml")
        grpc_port = free_port()
        workspace = home / "workspace.yaml"
        workspace.write_text(
            "load_from:\n  - grpc_server:\n"
            f"      host: {HOST}\n      port: {grpc_port}\n      location_name: ecl\n"
        )
        env = {
            **os.environ,
            **(extra_env or {}),
            "DAGSTER_HOME": str(home),
            "DAGSTER_PG_HOST": url.host or HOST,
            "DAGSTER_PG_PORT": str(url.port or 5432),
            "DAGSTER_PG_USER": url.username or "postgres",
            "DAGSTER_PG_PASSWORD": url.password or "",
            "DAGSTER_PG_DB": url.database or "postgres",
        }
        code = stack.enter_context(
            _service("code-server", services.code_server(HOST, grpc_port), env, logs))
        _wait("code server", lambda: _grpc_ok(grpc_port, env), code, logs / "code-server.log")
        web = stack.enter_context(
            _service("webserver", services.webserver(HOST, web_port, str(workspace)), env, logs))
        web_url = f"http://{HOST}:{web_port}"
        _wait("webserver", lambda: _http_ok(f"{web_url}/server_info"), web,
              logs / "webserver.log")
        daemon = stack.enter_context(
            _service("daemon", services.daemon(str(workspace)), env, logs))
        _wait("daemon", lambda: _daemon_ok(env), daemon, logs / "daemon.log")
        pids = {"code-server": code.pid, "webserver": web.pid, "daemon": daemon.pid}
        api_url = None
        if api_port is not None:
            api = stack.enter_context(_service(
                "api", services.api_server(HOST, api_port, str(workspace)), env, logs))
            api_url = f"http://{HOST}:{api_port}"
            _wait("API server", lambda: _http_ok(f"{api_url}/health/live"), api,
                  logs / "api.log")
            pids["api"] = api.pid
        yield LocalStack(home=home, web_url=web_url, grpc_port=grpc_port,
                         postgres_url=postgres_url, env=env, pids=pids, api_url=api_url)


def banner(running: LocalStack) -> str:
    """What the stack prints once it is up.

    The UI, the HTTP API when it runs, DAGSTER_HOME, the inboxes its sensors read
    (``$ECL_INBOX_DIR``, ``$ECL_ANALYSIS_INBOX_DIR`` and ``$ECL_REVIEW_INBOX_DIR`` of its
    services, else the folders in DAGSTER_HOME), its logs and its processes.
    """
    api = (f"  HTTP API:       {running.api_url} (docs at {running.api_url}/docs)\n"
           if running.api_url else "")
    return (
        f"ECL local stack is up.\n  UI:             {running.web_url}\n{api}"
        f"  DAGSTER_HOME    {running.home}\n"
        f"  inbox:          {topic_inbox_folder(running.home, running.env)}\n"
        f"  analysis inbox: {analysis_inbox_folder(running.home, running.env)}\n"
        f"  review inbox:   {review_inbox_folder(running.home, running.env)}\n"
        f"  logs:           {running.home / 'service_logs'}\n  pids:           {running.pids}\n"
        "Stop with Ctrl-C.\n"
    )


def main(argv: list[str] | None = None) -> int:
    """Start the stack, print where it is, and stop it on Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m ecl_dagster.stack.local",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=PROJECT_ROOT / ".dagster_home" / "stack",
                        help="DAGSTER_HOME of the stack")
    parser.add_argument("--web-port", type=int, default=3000)
    parser.add_argument("--postgres-url", help="use this database instead of a throwaway cluster")
    parser.add_argument("--api-port", type=int, help="also serve ECL's HTTP API on this port "
                        "(keys: the file ECL_API_KEYS_FILE names)")
    args = parser.parse_args(argv)
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    with local_stack(args.home.resolve(), web_port=args.web_port,
                     postgres_url=args.postgres_url, api_port=args.api_port) as running:
        sys.stdout.write(banner(running))
        sys.stdout.flush()
        while not stop:
            time.sleep(0.5)
    sys.stdout.write("ECL local stack stopped.\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
