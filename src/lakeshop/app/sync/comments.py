"""Table and column comments for PostgreSQL, taken from docs/gold.md (the definitions a BI
user reads in the tool's data browser).

docs/gold.md is shipped in the package (``lakeshop/retail/gold.md`` links to it). A table's
comment is its grain (dimensions, marts) or the sentence that introduces it (facts); a
column's is its definition where the page gives one: ``col`` = …, ``col`` is …, ``col`` (…),
or ``col = expression``, up to the end of that clause. Columns the page lists without a
definition get none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from lakeshop.retail.docs import gold_page

#: a definition longer than this is cut (with …): a comment is a tooltip, not the page
LONGEST = 400

_ROW = re.compile(r"^\|\s*`(\w+)`\s*\|\s*(.+?)\s*\|\s*(.+?)\s*\|\s*$")
_FACT = re.compile(r"^\*\*`(\w+)`\*\*\s*[—-]\s*(.+)$")
_DEFINED = re.compile(r"`(\w+)`\s*(=|is|\()\s*")
_EQUATION = re.compile(r"`(\w+) = ([^`]+)`")


@dataclass
class Described:
    """A table's comment and its columns' comments."""

    comment: str
    columns: dict[str, str] = field(default_factory=dict)


#: markdown's code marks, left out of a comment (Markdown, not SQL quoting)
_CODE = re.compile("`")


def _clip(text: str) -> str:
    text = " ".join(_CODE.sub("", text).split()).strip(" ;,.")
    return text if len(text) <= LONGEST else text[: LONGEST - 1].rstrip() + "…"


def _clause(text: str, start: int, opened: bool) -> str:
    """From ``start``: up to the ``;`` or ``. `` that ends the clause (outside brackets), or
    the closing bracket when the definition opened one."""
    depth = 1 if opened else 0
    for i in range(start, len(text)):
        ch = text[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if opened and depth == 0:
                return text[start:i]
        elif depth == 0 and _ends(text, i):
            return text[start:i]
    return text[start:]


def _ends(text: str, i: int) -> bool:
    """Whether the character at ``i`` ends a clause: ``;``, a full stop, or the comma before
    a list's next item (a backticked name)."""
    ch, after = text[i], text[i + 1 : i + 3]
    return ch == ";" or (ch == "." and after[:1] in (" ", "")) or (ch == "," and after == " `")


def _definitions(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for match in _EQUATION.finditer(text):
        found.setdefault(match.group(1), _clip("= " + match.group(2)))
    for match in _DEFINED.finditer(text):
        name, sign = match.group(1), match.group(2)
        body = _clause(text, match.end(), sign == "(")
        if body.strip():
            prefix = {"=": "= ", "is": "", "(": ""}[sign]
            found.setdefault(name, _clip(prefix + body))
    return found


def parse(markdown: str) -> dict[str, Described]:
    """The comments of every table docs/gold.md defines, by its name without schema."""
    out: dict[str, Described] = {}
    lines = markdown.splitlines()
    for i, line in enumerate(lines):
        row = _ROW.match(line)
        if row and row.group(1) not in out:
            name, grain, body = row.groups()
            out[name] = Described(_clip(f"one row per {grain}"), _definitions(body))
            continue
        fact = _FACT.match(line)
        if fact:
            name = fact.group(1)
            paragraph = [fact.group(2)]
            for more in lines[i + 1 :]:
                if not more.strip():
                    break
                paragraph.append(more)
            text = " ".join(paragraph)
            lead = text.split(":", 1)[0]
            out[name] = Described(_clip(lead), _definitions(text))
    return out


@lru_cache(maxsize=1)
def gold_comments() -> dict[str, Described]:
    """docs/gold.md's comments (empty when the page is not installed)."""
    return parse(gold_page())
