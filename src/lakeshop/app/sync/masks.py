"""The access policy applied to what a sync ships, when ``sync.postgres.role`` (or ``user``)
names who the database is for.

The rows are those the role reads through ``lakeshop serve``: the same SELECT
(:meth:`~lakeshop.app.access.govern.GovernedSession.governed_select`: each column through its
mask, only the rows its row filters keep) runs over every Arrow batch before it is rendered
for COPY, so a raw value of a masked column or a filtered row never leaves the process. A
table the role is not granted is not shipped. The checksum a sync verifies is taken of the
batches as sent, so PostgreSQL is compared with the masked, filtered rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa
from sqlglot import exp

from lakeshop.app.access.govern import AccessDenied, GovernedSession
from lakeshop.app.access.load import load_policy
from lakeshop.app.access.policy import Policy, Principal
from lakeshop.app.project import Project
from lakeshop.app.sync_config import PostgresSync
from lakeshop.core import sqltext
from lakeshop.core.errors import ConfigError
from lakeshop.engines.batch_sql import result_schema, select_batches

if TYPE_CHECKING:
    from lakeshop.engines.snapshots import Snapshot

#: the name each batch is read under by the governed SELECT
ROWS = "rows"
#: the principal's name in messages when only a role is named
SYNC_USER = "lakeshop sync"


@dataclass(frozen=True)
class TableView:
    """How the role sees one table: the SELECT run over each batch and what it changes."""

    table: str
    #: the governed SELECT over :data:`ROWS`
    select: str
    #: column -> ``mask: kind``, for the masked columns
    masked: dict[str, str]
    #: the row filters (DuckDB SQL), with the user's attributes in
    filters: list[str]
    #: the columns the row filters read
    filter_columns: list[str]
    #: the count of the rows the filters keep, over :data:`ROWS` (None: no filter)
    count: str | None
    #: the columns as shipped (a masked column may change type, e.g. a hash is text)
    schema: pa.Schema

    def apply(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """The batches as the role sees them (same column names; filtered rows left out)."""
        for batch in select_batches(batches, self.select, ROWS):
            yield batch.cast(self.schema)

    def rows(self, snap: Snapshot, batch_rows: int) -> int:
        """How many rows of ``snap`` the role sees (reads only the filters' columns)."""
        if self.count is None:
            return snap.rows if snap.rows is not None else snap.dataset().count_rows()
        batches = snap.dataset().to_batches(columns=self.filter_columns, batch_size=batch_rows)
        return sum(int(b.column(0)[0].as_py()) for b in select_batches(batches, self.count, ROWS))

    def describe(self) -> str:
        """What the policy does to the table (a change makes the sync replace it)."""
        return self.select


class Governance:
    """The access policy (``access.yml``) as the principal of ``sync.postgres`` sees it."""

    def __init__(self, project: Project, settings: PostgresSync, target: str | None = None):
        policy = load_policy(project.directory)
        self.principal = _principal(policy, settings)
        self.session = GovernedSession(project, self.principal, policy, target)
        self.policy = policy

    @classmethod
    def of(
        cls, project: Project, settings: PostgresSync, target: str | None = None
    ) -> Governance | None:
        """The policy of ``sync.postgres.role``/``user``; None when neither is set."""
        if settings.role is None and settings.user is None:
            return None
        return cls(project, settings, target)

    def denied(self, table: str) -> str | None:
        """Why the role may not read ``table`` (None: it may)."""
        if self.session.role.grant_for(table) is not None:
            return None
        grants = ", ".join(self.session.role.grants) or "nothing"
        return (
            f"role {self.principal.role} may not read {table} (it is granted {grants} in "
            f"{self.policy.file}): not shipped"
        )

    def view(self, table: str, schema: pa.Schema) -> TableView | None:
        """How the role sees ``table`` of ``schema``; None: every column and row as stored."""
        names = schema.names
        role = self.principal.role
        masked = {}
        for c in names:
            found = self.policy.masks_for(role, table, c)
            if found is not None:
                masked[c] = f"{found[0]}: {found[1].kind}"
        try:
            query = self.session.governed_select(table, names, sqltext.to_table(ROWS))
        except AccessDenied as exc:
            raise AccessDenied(
                f"{exc}; sync.postgres.user names a user of {self.policy.file} whose "
                "attributes the row filters read"
            ) from None
        where = query.args.get("where")
        filters = [p.sql(dialect=sqltext.DUCKDB) for p in _conjuncts(where)]
        if not masked and not filters:
            return None
        select = sqltext.render(query)
        found = result_schema(schema, select, ROWS)
        # unmasked columns keep Delta's types exactly (DuckDB's may differ: tz, decimals)
        fields = [schema.field(n) if n not in masked else found.field(n) for n in names]
        used: set[str] = set()
        count = None
        if where is not None:
            used = {c.name for c in where.find_all(exp.Column)}
            counted = exp.select(exp.alias_(exp.Count(this=exp.Star()), "n"))
            count = sqltext.render(counted.from_(sqltext.to_table(ROWS)).where(where.this))
        return TableView(
            table,
            select,
            masked,
            filters,
            [n for n in names if n in used],
            count,
            pa.schema(fields),
        )


def _conjuncts(where: exp.Expr | None) -> list[exp.Expr]:
    if where is None:
        return []
    condition = where.this if isinstance(where, exp.Where) else where
    return list(condition.flatten()) if isinstance(condition, exp.And) else [condition]


def _principal(policy: Policy, settings: PostgresSync) -> Principal:
    """The user of ``sync.postgres.user`` (their role and attributes), else the role alone."""
    roles = policy.config.roles
    if settings.user is not None:
        principal = policy.principal(settings.user)
        if settings.role is not None and settings.role != principal.role:
            raise ConfigError(
                "sync.postgres.role",
                f"the role of user {settings.user} in {policy.file} ({principal.role}), or no role",
                settings.role,
            )
        return principal
    assert settings.role is not None
    if settings.role not in roles:
        known = ", ".join(sorted(roles))
        raise ConfigError(
            "sync.postgres.role", f"a role of {policy.file} (known: {known})", settings.role
        )
    return Principal(SYNC_USER, settings.role)
