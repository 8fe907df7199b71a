"""``lakeshop access``: tokens, the audit log, and what a user may see (``access.yml``)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from lakeshop.cli.options import Format, Target, load_project
from lakeshop.cli.output import OutputFormat, out, print_table

app = typer.Typer(
    name="access",
    help="Governed reads (access.yml): API tokens, the audit log, what a user may see.",
    no_args_is_help=True,
)
token_app = typer.Typer(
    name="token", help="API tokens: create (shown once), list, revoke.", no_args_is_help=True
)
app.add_typer(token_app)


@token_app.command("create")
def token_create(user: Annotated[str, typer.Argument(help="A user of access.yml.")]) -> None:
    """Create a token for USER and print it once (only its hash is kept)."""
    from lakeshop.app.access.load import load_policy
    from lakeshop.app.access.tokens import TokenStore

    project = load_project()
    load_policy(project.directory).principal(user)  # a declared user, or a clear error
    token = TokenStore(project.directory).create(user)
    typer.echo(token)
    typer.echo(
        f"(token for {user}: shown once, keep it secret; "
        "`lakeshop access token revoke ID` revokes it)",
        err=True,
    )


@token_app.command("list")
def token_list() -> None:
    """The tokens' ids, users and dates (never the tokens)."""
    from lakeshop.app.access.tokens import TokenStore

    project = load_project()
    for t in TokenStore(project.directory).list():
        state = f"revoked {t.revoked_at}" if t.revoked_at else "active"
        out.print(f"{t.id}  {escape(t.user)}  created {t.created_at}  {state}", highlight=False)


@token_app.command("revoke")
def token_revoke(token: Annotated[str, typer.Argument(help="The token, or its id.")]) -> None:
    """Revoke a token: the server refuses it from its next request on."""
    from lakeshop.app.access.tokens import TokenStore

    project = load_project()
    info = TokenStore(project.directory).revoke(token)
    out.print(f"revoked token {info.id} of {escape(info.user)}", highlight=False)


@app.command()
def check(
    user: Annotated[str, typer.Argument(help="A user of access.yml.")],
    sql: Annotated[
        str | None,
        typer.Argument(help="The query to explain (default: every table USER may read)."),
    ] = None,
    target: Target = None,
) -> None:
    """Explain what USER would see of SQL (or of every table), and why: grants, masks, row
    filters; runs nothing."""
    from lakeshop.app.access.govern import GovernedSession
    from lakeshop.app.access.load import load_policy

    project = load_project()
    policy = load_policy(project.directory)
    session = GovernedSession(project, policy.principal(user), policy, target)
    plan = session.plan(sql) if sql is not None else session.overview()
    for line in plan.explain():
        out.print(escape(line), highlight=False)


@app.command()
def audit(
    user: Annotated[str | None, typer.Option(help="Only this user's requests.")] = None,
    days: Annotated[float | None, typer.Option(min=0, help="Only the last DAYS days.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many rows, newest first.")] = 50,
    fmt: Format = OutputFormat.table,
    target: Target = None,
) -> None:
    """The access audit log (_system.access): one row per request to `lakeshop serve`."""
    from lakeshop.app.access.audit import read_audit

    project = load_project()
    rows = read_audit(project.lakehouse(target), user, days).slice(0, limit)
    columns = ["event_time", "user_name", "role", "action", "object", "status", "rows"]
    # a terminal's table shows the main columns; csv and json every one
    print_table(rows.select(columns) if fmt is OutputFormat.table else rows, fmt)
