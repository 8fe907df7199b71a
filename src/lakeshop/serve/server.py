"""Run the application with uvicorn (one process; queries run in its thread pool)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import uvicorn

from lakeshop.serve.app import create_app

if TYPE_CHECKING:
    from lakeshop.app.project import Project


def serve(
    project: Project, host: str = "127.0.0.1", port: int = 8800, target: str | None = None
) -> None:
    """Serve ``project`` until interrupted (Ctrl-C); the audit log is flushed on the way out.

    uvicorn's access log is off: the audit log ``_system.access`` records every request.
    """
    app = create_app(project, target=target)
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")
