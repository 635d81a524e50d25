"""A throwaway PostgreSQL cluster for tests: initdb into a temp dir, trust auth, 127.0.0.1.

PostgreSQL refuses to run as root, so as root the cluster runs as the ``postgres`` user.
``ECL_TEST_POSTGRES_URL`` (``postgresql+psycopg2://user@host:port/db``) names a server to
use instead. A machine with neither fails the tests that need Postgres; it never skips them.
"""

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

URL_ENV = "ECL_TEST_POSTGRES_URL"


def _bin_dir() -> Path:
    installed = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    found = sorted(installed, key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError(
        f"PostgreSQL is needed: install it (apt-get install postgresql) or set {URL_ENV}"
    )


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield a server URL (database ``postgres``) and stop the cluster afterwards."""
    if os.environ.get(URL_ENV):
        yield os.environ[URL_ENV]
        return
    bindir = _bin_dir()
    root = Path(tempfile.mkdtemp(prefix="ecl-pg-"))
    root.chmod(0o755)
    data = root / "data"
    user = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = _free_port()
    subprocess.run(
        _as_postgres([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", user,
                      "--no-sync", "-E", "UTF8"]),
        check=True, capture_output=True,
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l",
                      str(root / "log"), "-w", "start"]),
        check=True, capture_output=True,
    )
    try:
        yield f"postgresql+psycopg2://{user}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def create_database(server_url: str) -> str:
    """A new, empty database on the server; returns its URL."""
    name = f"ecl_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return str(sa.make_url(server_url).set(database=name).render_as_string(hide_password=False))
