"""``ecl server start|new-key``: serve the HTTP API, or make an API key for it.

The service (FastAPI, uvicorn) is imported only by these commands, so every other command
and ``ecl --help`` start without it.
"""

import os
from pathlib import Path

import click

from ecl_dagster.cli.common import Refused, echo_json, format_option

__all__ = ["server"]


@click.group()
def server() -> None:
    """The HTTP API: serve it, or make a key for it."""


@server.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to bind.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--workspace", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The workspace.yaml of the code location (default: $DAGSTER_HOME's, else "
                   "the project's).")
def start(host: str, port: int, workspace: Path | None) -> None:
    """Serve the HTTP API on the instance at DAGSTER_HOME until interrupted.

    API keys are read from the keys file named by $ECL_API_KEYS_FILE.
    """
    if not os.environ.get("DAGSTER_HOME"):
        raise Refused("set DAGSTER_HOME to the instance's directory")
    from ecl_core.errors import ConfigError
    from ecl_dagster.service.server import serve

    try:
        serve(host, port, workspace)
    except ConfigError as err:
        raise Refused(str(err)) from None


@server.command("new-key")
@click.argument("name")
@click.option("--keys-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Append the key's entry to this keys file (created if missing) instead of "
                   "only printing it.")
@format_option
def new_key(name: str, keys_file: Path | None, fmt: str) -> None:
    """Make an API key named NAME: the key on stdout, shown once; its entry on stderr.

    Only the key's SHA-256 goes into the entry. Add it to the keys file that
    $ECL_API_KEYS_FILE names (or give --keys-file), then restart the server.
    JSON: {"name", "key", "entry"}.
    """
    from ecl_core.errors import ConfigError
    from ecl_dagster.service import keys

    try:
        key, entry = keys.new_key(name)
    except ConfigError as err:
        raise click.BadParameter(str(err), param_hint="NAME") from None
    if keys_file is not None:
        keys_file.parent.mkdir(parents=True, exist_ok=True)
        with keys_file.open("a", encoding="utf-8") as out:
            out.write(("\n" if out.tell() else "") + entry)
        keys_file.chmod(0o600)
    if fmt == "json":
        echo_json({"name": name, "key": key, "entry": entry})
    else:
        click.echo(key)
    if fmt == "table":
        if keys_file is not None:
            click.echo(f"ecl: the key is shown once; its entry was added to {keys_file}. "
                       "Restart the server to use it.", err=True)
        else:
            named = os.environ.get(keys.KEYS_FILE_VARIABLE) or f"${keys.KEYS_FILE_VARIABLE}"
            click.echo(f"ecl: the key is shown once. Add this entry to the keys file ({named}) "
                       f"and restart the server:\n\n{entry}", err=True)
