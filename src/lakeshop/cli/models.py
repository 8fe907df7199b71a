"""``lakeshop test`` (the unit tests of the project's models), ``lakeshop compile`` (a
model's SQL on each engine) and ``lakeshop new model`` (a model to start from)."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from lakeshop.cli.options import EngineOption, load_project
from lakeshop.cli.output import err, out

if TYPE_CHECKING:
    from lakeshop.app.project import Project

app = typer.Typer(name="new", help="Write a starting point: `lakeshop new model NAME --kind K`.")


class KindChoice(StrEnum):
    append = "append"
    upsert = "upsert"
    scd2 = "scd2"
    materialized = "materialized"
    view = "view"


class CompileFormat(StrEnum):
    text = "text"
    json = "json"


def test(
    model: Annotated[
        str | None, typer.Argument(help="Only this model's cases (schema.table or its name).")
    ] = None,
    engine: EngineOption = None,
) -> None:
    """Run the unit tests of the project's models (tests/*.yml) in memory: given rows of
    the tables a model reads, the rows it must return. Exit code 1 when a case fails."""
    from lakeshop.app import api
    from lakeshop.app.models.unittests import side_by_side

    project = load_project()
    results = api.test_models(project, model, engine)
    if not results:
        out.print("no unit tests found (tests/*.yml of the project)", highlight=False)
        return
    for r in results:
        where = f"{r.case.file}:{r.case.line}"
        head = f"{r.engine} {r.case.spec.model} {r.case.name} ({where}) {r.seconds:.2f}s"
        if r.passed:
            out.print(f"[green]passed[/] {escape(head)}", soft_wrap=True, highlight=False)
            continue
        out.print(f"[red]FAILED[/] {escape(head)}", soft_wrap=True, highlight=False)
        if r.error:
            out.print(f"  {escape(r.error)}", soft_wrap=True, highlight=False, style="red")
            continue
        out.print(
            f"  {r.matched} row(s) as expected; {len(r.missing)} expected row(s) not returned, "
            f"{len(r.unexpected)} returned row(s) not expected:",
            soft_wrap=True,
            highlight=False,
        )
        for line in side_by_side(r):
            out.print(f"  {escape(line)}", soft_wrap=True, highlight=False, markup=True)
    failed = sum(not r.passed for r in results)
    colour = "red" if failed else "green"
    out.print(
        f"[{colour}]{len(results) - failed} passed, {failed} failed[/]",
        highlight=False,
    )
    if failed:
        raise typer.Exit(1)


def compile_sql(
    model: Annotated[
        str | None, typer.Argument(help="A model (schema.table or its name); default: every model.")
    ] = None,
    fmt: Annotated[
        CompileFormat, typer.Option("--format", help="Output format.")
    ] = CompileFormat.text,
) -> None:
    """Show a model's SQL as it runs on DuckDB and on Spark (templated, transpiled); fails
    naming file, line and column on an unknown table or column, a cycle, or SQL Spark lacks."""
    from lakeshop.app.models.compiled import compile_table

    project = load_project()
    names = sorted(project.models.files) if model is None else [_full_name(project, model)]
    if not names:
        err.print("no models in this project (models/*.sql)", highlight=False)
        return
    compiled = [compile_table(project.graph, project.models, n) for n in names]
    if fmt is CompileFormat.json:
        typer.echo(json.dumps([c.__dict__ for c in compiled], indent=2, default=list))
        return
    for c in compiled:
        out.print(
            f"[bold]{escape(c.name)}[/] {escape(f'[{c.kind}]')} defined by {escape(c.defined_by)}; reads "
            f"{escape(', '.join(c.reads) or 'nothing')}",
            soft_wrap=True,
            highlight=False,
        )
        out.print("-- duckdb", highlight=False, markup=False)
        out.print(c.duckdb, highlight=False, markup=False, soft_wrap=True)
        out.print("-- spark", highlight=False, markup=False)
        out.print(c.spark, highlight=False, markup=False, soft_wrap=True)
        out.print()


def _full_name(project: Project, model: str) -> str:
    if "." in model:
        return model
    mine = [n for n in sorted(project.models.files) if n.split(".", 1)[1] == model]
    return mine[0] if mine else f"gold.{model}"


@app.command("model")
def new_model(
    name: Annotated[str, typer.Argument(help="The model's name (gold unless schema.name).")],
    kind: Annotated[
        KindChoice, typer.Option("--kind", help="How it is kept.")
    ] = KindChoice.materialized,
) -> None:
    """Write models/NAME.sql and models/NAME.yml, a commented starting point of its kind."""
    from lakeshop.app.models.scaffold import new_model as write
    from lakeshop.cli.options import State

    for path in write(State.project_dir, name, kind.value):
        out.print(f"wrote {escape(str(path))}", soft_wrap=True, highlight=False)
