"""Targets as environments: ``mode: development`` (one's own tables, prefixed with one's
name) and ``mode: production`` (guarded: named explicitly, whole runs, committed project).

A development target's schemas are prefixed with the user's name (``$LAKESHOP_USER``, else
the login name), before the target's own ``schema_prefix``: Alice's ``gold`` is
``alice_gold``, Bob's ``bob_gold``, each with its own ``_system``, raw copies and writer
lock, so two people's development targets on one machine never touch each other's tables.
A development target is not scheduled. A production target is written only when named with
``--target``, by a run of every table (no ``--select``), and, when the project is a git
checkout, with no uncommitted change to its tracked files.
"""

from __future__ import annotations

import getpass
import os
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

from lakeshop.app.config import Target
from lakeshop.core.errors import ConfigError, LakeshopError

USER_VARIABLE = "LAKESHOP_USER"


def user_name() -> str:
    """The user's name as a schema prefix part: lower case letters, digits and ``_``."""
    raw = os.environ.get(USER_VARIABLE) or getpass.getuser()
    name = re.sub(r"[^a-z0-9_]+", "_", raw.lower()).strip("_")
    if not name:
        raise ConfigError(USER_VARIABLE, "a user name of letters or digits", raw)
    return name


def schema_prefix(target: Target) -> str:
    """The prefix of every schema of the target (the user's, in development)."""
    if target.mode == "development":
        return f"{user_name()}_{target.schema_prefix}"
    return target.schema_prefix


def foreign_schemas(own: str, others: dict[str, Target], schemas: Iterable[str]) -> str | None:
    """A pattern of the schema folders of ``others`` (targets sharing the catalog folder of
    the target whose prefix is ``own``): ``alice_gold``, ``bob__system``, ``ci_silver`` … but
    never one of the target's own (see ``Lakehouse.foreign``). None when no target shares."""
    if not others:
        return None
    # the schemas, and the folders a target keeps beside them under its prefix
    folders = {"_system", "_raw", "_models", "_mlflow"}
    known = "|".join(re.escape(s) for s in sorted({*schemas, *folders}))
    prefixes = sorted(
        {
            rf"[a-z0-9_]+_{re.escape(o.schema_prefix)}"  # any user's
            if o.mode == "development"
            else re.escape(schema_prefix(o))
            for o in others.values()
        }
    )
    return rf"(?!{re.escape(own)}(?:{known})$)(?:{'|'.join(prefixes)})(?:{known})"


def check_run(
    directory: Path, name: str, target: Target, named: bool, select: Iterable[str] | None
) -> None:
    """Refuse a run a production target does not take (see the module)."""
    if target.mode != "production":
        return
    if not named:
        raise ConfigError(
            "--target",
            f"the production target named explicitly (--target {name}): the default target "
            "is production, and it is never written by accident",
        )
    chosen = list(select or [])
    if chosen:
        raise ConfigError(
            "--select",
            f"a run of every table on production target {name} (select in development)",
            ", ".join(chosen),
        )
    changed = uncommitted(directory)
    if changed:
        more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
        raise LakeshopError(
            f"target {name} is production and the project has uncommitted changes "
            f"({', '.join(changed[:3])}{more}): commit them (or run a development target)"
        )


def uncommitted(directory: Path) -> list[str]:
    """Tracked files of the project changed since the last commit (none when the project is
    not in a git checkout, or git is not installed)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(directory), "status", "--porcelain", "--untracked-files=no", "."],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    if done.returncode != 0:
        return []
    return [line[3:] for line in done.stdout.splitlines() if line.strip()]
