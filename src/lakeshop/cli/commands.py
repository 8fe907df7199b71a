"""The ``lakeshop`` command line: one clear line and an exit code for every error.

The typer app, its global options and the error handling live here; the commands live in
the modules of this package by concern and are registered below, in the order ``--help``
lists them.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from lakeshop.cli import (
    access,
    alerts,
    demo,
    env,
    ml,
    models,
    ops,
    quality,
    read,
    run,
    schedule,
    serve,
    sync,
)
from lakeshop.cli.options import State
from lakeshop.cli.output import error, out
from lakeshop.core.errors import LakeshopError

# click's base exception (typer vendors click in recent versions, so it is found, not imported)
_ClickException: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"
)


class _Group(TyperGroup):
    """The command group; turns every error into one line on stderr and an exit code.

    Lives here rather than in ``main()`` so that ``CliRunner`` sees what a user sees.
    ``--debug`` lets lakeshop's own and unexpected errors through with their traceback.
    """

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        State.debug = False
        code: int
        try:
            rv = super().main(
                args,
                prog_name,
                complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
            code = rv if isinstance(rv, int) else 0
        except _ClickException as exc:  # a usage error: unknown option, invalid value …
            code = int(getattr(exc, "exit_code", 2))
            if type(exc).__name__ == "NoArgsIsHelpError":
                help_text = exc.format_message()  # type: ignore[attr-defined]
                if help_text:
                    out.print(help_text, markup=False, highlight=False)
            else:
                ctx = getattr(exc, "ctx", None)
                hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
                message = exc.format_message().replace("Value error, ", "")  # type: ignore[attr-defined]
                error(f"{message}{hint}")
        except typer.Abort:
            error("aborted")
            code = 1
        except LakeshopError as exc:
            if State.debug:
                raise
            error(str(exc))
            code = exc.exit_code
        except Exception as exc:
            if State.debug:
                raise
            error(f"{type(exc).__name__}: {exc} (run with --debug for the traceback)")
            code = 1
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    name="lakeshop",
    help="A retail sales lakehouse on your laptop: landing files → bronze → silver → gold.",
    cls=_Group,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class LogFormat(StrEnum):
    text = "text"
    json = "json"


class LogLevel(StrEnum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


@app.callback()
def _main(
    project: Annotated[
        Path, typer.Option("--project", "-p", help="Project folder (holds lakeshop.yml).")
    ] = Path("."),
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    log_format: Annotated[
        LogFormat | None,
        typer.Option(
            "--log-format",
            help="Log lines on stderr, each with its run id: text, or json (one object a line).",
        ),
    ] = None,
    log_level: Annotated[
        LogLevel | None,
        typer.Option(
            "--log-level",
            help="Lowest level logged (default: info with --log-format, else warning).",
        ),
    ] = None,
) -> None:
    from lakeshop.core import logs

    State.project_dir, State.debug = project, debug
    level = log_level or (LogLevel.info if log_format is not None else LogLevel.warning)
    logs.configure("json" if log_format is LogFormat.json else "text", level.value.upper())


for _command in (
    demo.generate,
    run.run,
    run.replay,
    schedule.backfill,
    schedule.schedule,
    read.sql,
    read.query,
    read.status,
    quality.quality,
    demo.demo,
    quality.report,
    ops.doctor,
    ops.maintain,
    ops.backup,
    ops.restore,
    ops.migrate,
    ops.unlock,
    read.lineage,
    read.history,
    alerts.alerts,
    models.test,
    serve.serve,
):
    app.command()(_command)
app.command("compile")(models.compile_sql)
app.add_typer(sync.app)
app.add_typer(env.app, name="env")
app.add_typer(models.app)
app.add_typer(ml.app)
app.add_typer(access.app)


def main() -> None:
    """Entry point of the ``lakeshop`` console script."""
    if "--debug" not in sys.argv:
        from lakeshop.cli.panics import hide_rust_panics

        hide_rust_panics()
    app()


if __name__ == "__main__":
    main()
