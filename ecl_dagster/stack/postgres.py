"""A throwaway PostgreSQL cluster: initdb into a folder, trust auth, 127.0.0.1 only.

PostgreSQL refuses to run as root, so as root the cluster runs as the ``postgres`` user.
For development and tests only: trust authentication, fsync off.
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

__all__ = ["PostgresNotFound", "create_database", "free_port", "throwaway_cluster"]


class PostgresNotFound(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bin_dir() -> Path:
    installed = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if installed:
        return Path(max(installed, key=lambda p: int(p.split("/")[4]))).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise PostgresNotFound("PostgreSQL server binaries not found: apt-get install postgresql")


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextmanager
def throwaway_cluster() -> Iterator[str]:
    """Start a cluster; yield its URL (database ``postgres``); stop and delete it afterwards.

    Raises:
        PostgresNotFound: PostgreSQL is not installed.
        subprocess.CalledProcessError: initdb or pg_ctl failed.
    """
    bindir = _bin_dir()
    root = Path(tempfile.mkdtemp(prefix="ecl-pg-"))
    root.chmod(0o755)
    user = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data, port = root / "data", free_port()
    try:
        subprocess.run(
            _as_postgres(
                [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", user,
                 "--no-sync", "-E", "UTF8"]
            ),
            check=True, capture_output=True,
        )
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            _as_postgres(
                [str(bindir / "pg_ctl"), "-D", str(data), "-o", options,
                 "-l", str(root / "postgres.log"), "-w", "start"]
            ),
            check=True, capture_output=True,
        )
        yield f"postgresql+psycopg2://{user}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def create_database(server_url: str, name: str | None = None) -> str:
    """Create a database on the server (a random ``ecl_...`` name by default); return its URL."""
    name = name or f"ecl_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return sa.make_url(server_url).set(database=name).render_as_string(hide_password=False)
