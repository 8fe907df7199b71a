"""``lakeshop serve``: the governed SQL/HTTP API over the lakehouse (access.yml)."""

from __future__ import annotations

from typing import Annotated

import typer

from lakeshop.cli.options import Target, load_project
from lakeshop.cli.output import out


def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on (loopback by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8800,
    target: Target = None,
) -> None:
    """Serve the governed query API (and dashboards) until Ctrl-C; needs access.yml."""
    from lakeshop.app.access.load import load_policy
    from lakeshop.serve.server import serve as run_server

    project = load_project()
    load_policy(project.directory)  # a clear error before the server starts
    out.print(
        f"serving {project.directory} on http://{host}:{port} (Ctrl-C to stop)", highlight=False
    )
    run_server(project, host, port, target)
