"""Column masks of the access policy, applied to what a sync ships (the extension point).

The access policy (``access.yml``, :mod:`lakeshop.app.access`: roles, grants, masks such as
hashing an email) governs ``lakeshop serve``; the sync does not apply it yet. When it does,
:func:`masks_for` returns,
for the role of ``sync.postgres.role``, a function rewriting each Arrow batch of a table
(masked columns replaced, with the same type) before it is sent; the sync calls it for every
batch already. Until then a role is refused rather than silently ignored.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa

from lakeshop.core.errors import ConfigError

#: rewrites one batch of a table (``schema.table``) for a role
Mask = Callable[[str, pa.RecordBatch], pa.RecordBatch]


def masks_for(role: str | None) -> Mask | None:
    """The masks of ``role`` (None: ship the columns as they are)."""
    if role is None:
        return None
    raise ConfigError(
        "sync.postgres.role",
        "no role yet: the sync does not apply access.yml's masks in this version (only "
        "lakeshop serve does), so no mask can be applied; leave it unset to ship the tables "
        "unmasked",
        role,
    )
