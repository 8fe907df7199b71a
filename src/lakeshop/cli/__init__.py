"""The command line: ``lakeshop COMMAND``; see :mod:`lakeshop.cli.main`."""

from lakeshop.cli.main import app, main

__all__ = ["app", "main"]
