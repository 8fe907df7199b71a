"""Reading ``access.yml``: YAML, then pydantic, then the cross-checks; every mistake one
:class:`~lakeshop.core.errors.ConfigError` naming the file and the setting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from lakeshop.app.access.checks import check_policy
from lakeshop.app.access.policy import AccessConfig, Policy, policy_path
from lakeshop.core.errors import ConfigError

_UNION_MEMBERS = frozenset({"str", "int", "float", "bool"})


def load_policy(directory: Path) -> Policy:
    """Read and check the project's ``access.yml``; a missing file is an error saying how to
    write one (nobody is let in without a policy)."""
    path = policy_path(directory)
    file = str(path)
    if not path.exists():
        raise ConfigError(
            "(file)",
            f"an access policy in {file} (roles, masks, users); `lakeshop demo` writes an "
            "example, see README 'Dashboards and access'",
            file=file,
        )
    try:
        raw: Any = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError("(YAML syntax)", "valid YAML", str(exc).splitlines()[0], file) from exc
    if not isinstance(raw, dict):
        raise ConfigError(
            "(top level)", "a mapping with roles, masks, users", type(raw).__name__, file
        )
    try:
        config = AccessConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        # pydantic names the member of a union type a value did not fit: not a setting
        parts = [str(p) for p in first["loc"] if str(p) not in _UNION_MEMBERS]
        key = ".".join(parts) or "(top level)"
        raise ConfigError(key, first["msg"], first.get("input"), file) from exc
    policy = Policy(config, file)
    check_policy(policy)
    return policy
