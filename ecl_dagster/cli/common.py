"""What every ``ecl`` command shares: the instance, ``--format``, run ids, refusals, JSON.

This module imports no Dagster at load time: ``ecl --help`` and shell completion load only
the command they need (``ecl_dagster.cli.LazyGroup``).
"""

import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click
from click.shell_completion import CompletionItem
from pydantic import BaseModel

from ecl_dagster.runs.origin_tags import caller_tag_problems

if TYPE_CHECKING:
    import dagster as dg

    from ecl_dagster.runs.views import UnknownRun

__all__ = [
    "FORMATS",
    "LLM_OPTIONS",
    "RUN",
    "Refused",
    "RunId",
    "Session",
    "echo_json",
    "echo_model",
    "format_option",
    "instance",
    "llm_options",
    "parse_tags",
    "stdout_to_stderr",
]

FORMATS = ("table", "json", "quiet")

F = TypeVar("F", bound=Callable[..., Any])


class Refused(click.ClickException):
    """What was asked cannot be done (an unknown id, a run that has ended...): exit 2.

    Shown as ``ecl: <message>`` on stderr, without the usage text.
    """

    exit_code = 2

    def show(self, file: IO[Any] | None = None) -> None:
        """Write ``ecl: <message>`` to stderr."""
        click.echo(f"ecl: {self.format_message()}", file=file, err=file is None)


class Session:
    """The ``ecl`` group's context object: the instance at DAGSTER_HOME, opened on first use.

    ``ecl workflows`` and ``--help`` never open it, so they need no DAGSTER_HOME.
    """

    def __init__(self) -> None:
        self._instance: dg.DagsterInstance | None = None

    @property
    def instance(self) -> "dg.DagsterInstance":
        """The instance at DAGSTER_HOME.

        Raises:
            Refused: DAGSTER_HOME is not set, or is not a directory.
        """
        if self._instance is None:
            home = os.environ.get("DAGSTER_HOME")
            if not home:
                raise Refused("set DAGSTER_HOME to the instance's directory")
            if not os.path.isdir(home):
                raise Refused(f"DAGSTER_HOME {home!r} is not a directory: create it "
                              f"(mkdir -p {home}) or point DAGSTER_HOME at the instance's")
            import dagster as dg

            self._instance = dg.DagsterInstance.get()
        return self._instance

    def close(self) -> None:
        """Dispose of the instance, if it was opened."""
        if self._instance is not None:
            self._instance.dispose()
            self._instance = None


def instance(ctx: click.Context | None = None) -> "dg.DagsterInstance":
    """The instance of the current ``ecl`` invocation (opened on first use, closed at its end).

    Raises:
        Refused: DAGSTER_HOME is not set, or is not a directory.
    """
    ctx = ctx or click.get_current_context()
    session = ctx.find_object(Session)
    if session is None:  # a command invoked without the ``ecl`` group (a test's CliRunner)
        root = ctx.find_root()
        session = root.ensure_object(Session)
        root.call_on_close(session.close)
    return session.instance


def format_option(function: F) -> F:
    """``--format table|json|quiet``, spelled the same on every command."""
    return click.option(
        "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
        help="table: for a person; json: the HTTP API's shapes; quiet: only ids, one per line.",
    )(function)


LLM_OPTIONS = ("--provider", "--model", "--context-window-tokens")
"""The options of ``llm_options``, in the order of
``ecl_dagster.runs.llm_choice.LLM_CHOICE_FIELDS``."""


def llm_options(function: F) -> F:
    """``--provider``, ``--model`` and ``--context-window-tokens``, the same on every command.

    Each goes to the run config's ``resources.llm.config`` under its own name; one not given
    leaves the run config's value. The command receives ``provider``, ``model`` and
    ``context_window_tokens`` (None when not given); a provider outside
    ``ecl_dagster.runs.llm_choice.PROVIDERS`` or a window outside its range is refused by
    click (exit 2, naming the option and the allowed values).
    """
    from ecl_core.bounds import LLM_SETTING_RANGES
    from ecl_dagster.runs.llm_choice import PROVIDERS

    window = LLM_SETTING_RANGES["context_window_tokens"]
    options = [
        click.option(LLM_OPTIONS[0], "provider", type=click.Choice(PROVIDERS),
                     help="The LLM provider (resources.llm.config.provider); auto: anthropic "
                     "when ANTHROPIC_API_KEY is set, else offline."),
        click.option(LLM_OPTIONS[1], "model", metavar="NAME",
                     help="The model the provider knows (resources.llm.config.model)."),
        click.option(LLM_OPTIONS[2], "context_window_tokens", metavar="N",
                     type=click.IntRange(int(window.low), int(window.high)),
                     help="The model's context window when its server does not report it "
                     f"(resources.llm.config.context_window_tokens): {window.low:,.0f} (ask "
                     f"the server) to {window.high:,.0f}."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def echo_json(document: Any) -> None:
    """``document`` as indented JSON on stdout."""
    click.echo(json.dumps(document, indent=2))


def echo_listing(fmt: str, models: Sequence[BaseModel], ids: Iterable[str],
                 table: Callable[[], None]) -> None:
    """A listing in ``fmt``: the models as a JSON list, their ids one per line, or ``table()``."""
    if fmt == "json":
        echo_json([m.model_dump(mode="json") for m in models])
    elif fmt == "quiet":
        for found in ids:
            click.echo(found)
    else:
        table()


def echo_model(model: BaseModel) -> None:
    """A run view (``ecl_dagster.runs.views``) as JSON: exactly what the HTTP API returns."""
    echo_json(model.model_dump(mode="json"))


def parse_tags(given: tuple[str, ...], own: bool = False, option: str = "--tag") -> dict[
        str, str]:
    """``KEY=VALUE`` pairs as a dict; with ``own``, tags for a new run.

    Raises:
        click.BadParameter: A pair without ``=``; with ``own``, tags a caller may not set
            (``ecl_dagster.runs.origin_tags.caller_tag_problems``: plain names only).
    """
    tags: dict[str, str] = {}
    for pair in given:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r}: write KEY=VALUE", param_hint=option)
        tags[key] = value
    problems = caller_tag_problems(tags) if own else []
    if problems:
        raise click.BadParameter("; ".join(f"{key!r}: {problem}" if key else problem
                                           for key, problem in problems), param_hint=option)
    return tags


@contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Point file descriptor 1 at stderr while the block runs.

    A workspace (``launching.open_workspace``) starts a code server process that inherits
    this process's stdout and logs to it for its whole life; ``--format json`` and ``quiet``
    promise a stdout with nothing else on it. Nothing may be printed inside the block.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _resolve_failure(given: str, err: "UnknownRun") -> str:
    if err.reason == "ambiguous":
        return str(err)
    shown = given if len(given) <= 40 else f"{given[:40]}..."
    where = f"no run {shown} in the instance at DAGSTER_HOME"
    return where if err.reason == "unknown" else f"{where}: {err}"


class RunId(click.ParamType):
    """A run id, or a unique prefix of one (4 characters or more; the UI shows 8).

    Converts to the full id; an unknown id, an ambiguous or too short prefix is refused (exit
    2) with the prefix named. Completes the ids of the latest runs.
    """

    name = "run"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> str:
        """The full id of the one run ``value`` names."""
        from ecl_dagster.runs.views import UnknownRun, resolve_run_id

        try:
            return resolve_run_id(instance(ctx), str(value))
        except UnknownRun as err:
            raise Refused(_resolve_failure(str(value), err)) from None

    def shell_complete(self, ctx: click.Context, param: click.Parameter,
                       incomplete: str) -> list[CompletionItem]:
        """The short ids of the latest 50 runs that start with ``incomplete``."""
        if not os.environ.get("DAGSTER_HOME"):
            return []
        import dagster as dg

        from ecl_dagster.runs.views import list_runs

        try:
            with dg.DagsterInstance.get() as found:
                page = list_runs(found, limit=50)
        except Exception:  # completion must never break the shell: no suggestions instead
            return []
        return [CompletionItem(run.short_id, help=f"{run.workflow} {run.state}")
                for run in page.runs if run.run_id.startswith(incomplete.lower())]


RUN = RunId()
