"""What a landing file holds never reaches an error message, a log line or a ``_system``
table: file-supplied names are shown only when they look like column names, engine messages
lose their quoted values. Positions and byte lengths are reported instead."""

from __future__ import annotations

import re

#: a file-supplied name shown as is in a message: a word, a few separators, at most 64 chars
#: the quote around a name shown in a message
Q = "'"
_NAME = re.compile(r"^\w[\w .\-/#()%]{0,63}$")


def shown(names: list[str], quote: str = "") -> str:
    """File-supplied names for a message, comma-separated: a name that looks like a column
    name as is (between ``quote``), any other as ``#3 (212 bytes)`` (position and length,
    never the text)."""
    return ", ".join(
        f"{quote}{n}{quote}"
        if _NAME.match(n)
        else f"#{i} ({len(n.encode('utf-8', 'replace'))} bytes)"
        for i, n in enumerate(names, 1)
    )


def without_values(message: str) -> str:
    """An engine's error message with every quoted value (``'…'``, ``"…"``) and a CSV parser's
    row text replaced by its byte length: what a file holds never reaches a message."""
    text = re.sub(r"(got \d+( columns)?)\s*:.*$", r"\1", message, flags=re.S)

    def length(m: re.Match[str]) -> str:
        return f"{m.group(1)}<{len(m.group(2).encode('utf-8', 'replace'))} bytes>{m.group(1)}"

    return re.sub(r"(['\"])(.*?)\1", length, text, flags=re.S)
