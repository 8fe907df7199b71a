"""plotly.js, the charting library, as shipped inside the ``plotly`` Python package: the
report inlines it, ``lakeshop serve`` serves it from its own origin (no CDN, works offline).
plotly is imported only in this package (an import-linter contract), hence this door."""

from __future__ import annotations

import functools


@functools.cache
def plotly_js() -> str:
    """The minified plotly.js bundled with the installed ``plotly`` package."""
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def plotly_version() -> str:
    """The installed plotly's version (a cache key for the served script)."""
    import plotly

    return str(plotly.__version__)
