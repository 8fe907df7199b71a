"""What lakeshop writes into a Delta commit and reads back: the upstream watermarks an
incremental table has processed, and its other ``lakeshop.*`` keys, whichever writer made the
commit (``deltalake`` as commit-information keys, Delta Lake for Spark as ``userMetadata``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from deltalake import CommitProperties, DeltaTable, Transaction

WATERMARK_KEY = "lakeshop.watermarks"
#: the prefix of every commit metadata key lakeshop writes
METADATA_PREFIX = "lakeshop."
#: the commit information field Delta Lake for Spark writes custom metadata to (one string;
#: lakeshop puts its keys there as one JSON object, see :func:`commit_metadata`)
USER_METADATA = "userMetadata"
#: commits searched at first for the latest watermarks (maintenance commits carry none)
RECENT_COMMITS = 20


def watermarks_of(dt: DeltaTable) -> dict[str, int]:
    for limit in (RECENT_COMMITS, None):
        for commit in dt.history(limit):
            marks = commit_watermarks(commit)
            if marks is not None:
                return marks
    return {}


def commit_metadata(commit: Mapping[str, Any]) -> dict[str, str]:
    """lakeshop's keys (``lakeshop.*``) in one commit's information, whichever writer made it.

    ``deltalake`` writes them as keys of the commit information itself; Delta Lake for Spark
    can only write one string, ``userMetadata``, which then holds them as a JSON object. A
    ``userMetadata`` that is not such an object (someone's free text) holds none.
    """
    found: dict[str, str] = {}
    user = commit.get(USER_METADATA)
    if isinstance(user, str) and user.lstrip().startswith("{"):
        try:
            parsed = json.loads(user)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            found |= {k: _text(v) for k, v in parsed.items() if k.startswith(METADATA_PREFIX)}
    found |= {k: _text(v) for k, v in commit.items() if k.startswith(METADATA_PREFIX)}
    return found


def commit_watermarks(commit: Mapping[str, Any]) -> dict[str, int] | None:
    """The upstream watermarks one commit recorded, or None when it recorded none."""
    raw = commit_metadata(commit).get(WATERMARK_KEY)
    if raw is None:
        return None
    return {k: int(v) for k, v in json.loads(raw).items()}


def carried_watermarks(dt: DeltaTable) -> CommitProperties:
    """Commit properties repeating the newest watermarks of the table's history (for commits
    that write no rows of their own, such as maintenance's)."""
    for commit in dt.history():
        # written by deltalake or, as userMetadata, by Delta Lake for Spark
        marks = commit_watermarks(commit)
        if marks is not None:
            return CommitProperties(custom_metadata={WATERMARK_KEY: json.dumps(marks)})
    return CommitProperties()


def commit_strings(metadata: Mapping[str, Any] | None) -> dict[str, str]:
    """Commit metadata as Delta stores it: every value a string (others as JSON)."""
    return {k: _text(v) for k, v in (metadata or {}).items()}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def commit_properties(
    metadata: dict[str, Any] | None, txn: tuple[str, int] | None
) -> CommitProperties:
    """lakeshop's commit metadata and, for an idempotent write, its application transaction."""
    custom = commit_strings(metadata)
    txns = [Transaction(app_id=txn[0], version=txn[1])] if txn else None
    return CommitProperties(custom_metadata=custom or None, app_transactions=txns)
