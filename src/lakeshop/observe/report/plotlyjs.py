"""plotly.js, the charting library, as shipped inside the ``plotly`` Python package: the
report inlines it, ``lakeshop serve`` serves it from its own origin (no CDN, works offline).
plotly is imported only in this package (an import-linter contract), hence this door."""

from __future__ import annotations

import functools
import re

from lakeshop.core.errors import LakeshopError


@functools.cache
def plotly_js() -> str:
    """The minified plotly.js bundled with the installed ``plotly`` package."""
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def plotly_version() -> str:
    """The installed plotly's version (a cache key for the served script)."""
    import plotly

    return str(plotly.__version__)


#: where plotly.js declares its global style rules: ``<obj>={...};for(k in <obj>)…``, each
#: selector written with ``X`` for the plot and ``Y`` for the notifier
_RULES_LOOP = re.compile(
    r"for\((\w+) in ([\w$]+)\)[\w$]+=\1\.replace\(/\^,/,\" ,\"\)"
    r"\.replace\(/X/g,\"(?P<x>[^\"]+)\"\)\.replace\(/Y/g,\"(?P<y>[^\"]+)\"\)"
)
_PAIR = re.compile(r"""(?:"([^"\\]*)"|'([^'\\]*)')\s*:\s*(?:"([^"\\]*)"|'([^'\\]*)')""")


@functools.cache
def plotly_css() -> str:
    """plotly.js's own style rules as a style sheet.

    plotly.js adds them to the page as an inline ``<style>``, which a strict
    Content-Security-Policy (``style-src 'self'``) refuses. A page that links this sheet with
    ``id="plotly.js-style-global" class="no-inline-styles"`` gets the same rules from its own
    origin, and plotly.js skips the inline one (its documented switch for strict CSP).
    """
    text = plotly_js()
    loop = _RULES_LOOP.search(text)
    if loop is None:
        raise LakeshopError("plotly.js: its global style rules were not found (a new plotly?)")
    start = text.rfind(f"{loop.group(2)}={{", 0, loop.start())
    literal = text[start : loop.start()]
    rules = []
    for match in _PAIR.finditer(literal):
        selector = match.group(1) if match.group(1) is not None else match.group(2)
        body = match.group(3) if match.group(3) is not None else match.group(4)
        selector = re.sub(r"^,", " ,", selector)
        selector = selector.replace("X", loop.group("x")).replace("Y", loop.group("y"))
        rules.append(f"{selector}{{{body}}}")
    if start < 0 or not rules:
        raise LakeshopError("plotly.js: its global style rules were not found (a new plotly?)")
    return "\n".join(rules) + "\n"


_SHEET = re.compile(
    r'if\(!document\.getElementById\("([\w-]+)"\)\)\{var ([\w$]+)=document\.createElement\("style"\)'
)


@functools.cache
def plotly_sheet_ids() -> tuple[str, ...]:
    """The ids of the ``<style>`` sheets plotly.js adds on load unless an element with that id
    exists (its bundled map library's CSS). A strict-CSP page that draws no map puts a
    placeholder with each id, so nothing inline is attempted."""
    return tuple(dict.fromkeys(m.group(1) for m in _SHEET.finditer(plotly_js())))
