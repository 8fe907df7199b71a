"""The checks of a loaded ``access.yml`` that pydantic cannot make alone: names that refer to
each other (a user's role, a lifted mask), and SQL (masks, row filters) that must be one safe
expression over a table's columns."""

from __future__ import annotations

from lakeshop.app.access.masks import filter_parameters, parse_expression
from lakeshop.app.access.policy import Policy
from lakeshop.core.errors import ConfigError, LakeshopError


def check_policy(policy: Policy) -> None:
    """Raise a :class:`ConfigError` naming the file and setting of the first mistake."""
    config, file = policy.config, policy.file
    for name, mask in config.masks.items():
        if mask.kind == "sql":
            if not mask.sql:
                raise ConfigError(f"masks.{name}.sql", "a SQL expression (kind: sql)", file=file)
            _expression(mask.sql, f"masks.{name}.sql", file)
        elif mask.sql is not None:
            raise ConfigError(f"masks.{name}.sql", "no sql unless kind is sql", mask.sql, file)
    for name, role in config.roles.items():
        for lifted in role.unmasked:
            if lifted != "*" and lifted not in config.masks:
                known = ", ".join(sorted(config.masks)) or "none"
                raise ConfigError(
                    f"roles.{name}.unmasked", f"names of masks ({known}) or *", lifted, file
                )
        for table, predicate in role.row_filters.items():
            _expression(predicate, f"roles.{name}.row_filters.{table}", file, template=True)
    for user, declared in config.users.items():
        if declared.role not in config.roles:
            known = ", ".join(sorted(config.roles))
            raise ConfigError(
                f"users.{user}.role", f"one of the roles: {known}", declared.role, file
            )
        for table, predicate in config.roles[declared.role].row_filters.items():
            missing = sorted(filter_parameters(predicate) - declared.attributes.keys())
            if missing:
                raise ConfigError(
                    f"users.{user}.attributes",
                    f"the attribute(s) {', '.join(missing)} that role {declared.role}'s row "
                    f"filter on {table} reads",
                    file=file,
                )


def _expression(sql: str, key: str, file: str, *, template: bool = False) -> None:
    from lakeshop.core import sqltext

    text = sql
    if template:  # check the predicate with placeholder values for its $attributes
        params = filter_parameters(sql)
        text = sqltext.Template(sql, key).render(dict.fromkeys(params, 0))
    try:
        parse_expression(text, key)
    except LakeshopError as exc:
        raise ConfigError(
            key, "one SQL expression over the table's own columns", str(exc), file
        ) from exc
