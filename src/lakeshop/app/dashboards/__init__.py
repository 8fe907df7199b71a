"""Dashboards declared as files: ``dashboards/*.yml`` in the project (pages of tiles, each a
saved SQL over the lakehouse with a chart type, and filters bound to its parameters).

- :mod:`.model`: the YAML's settings (pydantic) and a tile's SQL rendered with the filters'
  values through :class:`lakeshop.core.sqltext.Template` (never pasted as text).
- :mod:`.load`: reading a project's dashboards (or the packaged defaults), every mistake a
  :class:`~lakeshop.core.errors.ConfigError` naming the file and the setting;
  :func:`~.load.write_default_dashboards` is what ``lakeshop demo`` writes.
"""
