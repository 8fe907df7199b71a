"""The command line: ``lakeshop COMMAND``.

:mod:`~lakeshop.cli.commands` holds the typer app, its global options and error handling; the
commands are grouped by concern in :mod:`~lakeshop.cli.run`, :mod:`~lakeshop.cli.read`,
:mod:`~lakeshop.cli.quality`, :mod:`~lakeshop.cli.ops`, :mod:`~lakeshop.cli.demo` and
:mod:`~lakeshop.cli.alerts`; :mod:`~lakeshop.cli.output` prints what they show.
"""

from lakeshop.cli.commands import app, main

__all__ = ["app", "main"]
