"""``lakeshop serve``: the governed SQL/HTTP API (and, mounted on it, the dashboards).

- :mod:`.app`: :func:`create_app` builds the FastAPI application and its shared
  :class:`~.context.ServeContext`; routers are mounted there (add new ones in ``ROUTERS``).
- :mod:`.context`: what every request shares (project, policy, tokens, sessions, audit).
- :mod:`.auth`: who is asking (bearer token or browser session), login/logout, CSRF.
- :mod:`.api`: ``POST /api/sql``, ``GET /api/query/{name}``; :mod:`.catalog`: ``GET /api/tables``.
- :mod:`.formats`: JSON, Arrow IPC and CSV answers (CSV safe from formula injection).
- :mod:`.server`: running it with uvicorn.

fastapi and uvicorn are imported only in this package (an import-linter contract).
"""
