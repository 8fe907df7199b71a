"""``lakeshop report``: one self-contained HTML file of charts over gold and ``_system``.

Every chart's data comes from a ``.sql`` file under ``lakeshop/observe/sql/report`` (or from
:mod:`lakeshop.observe.quality`) through :func:`lakeshop.app.api.query` (:mod:`.data`). plotly
draws the charts (:mod:`.charts`); its JavaScript is inlined once from the installed package, so
the file opens without a network (:mod:`.page`). Each chart has a stable element id
(:data:`CHARTS`) and a title; a chart without data is an explicit note, never an empty plot.
Once ``lakeshop ml`` has written its tables, :data:`ML_CHARTS` follow (forecast against actual
for the top product, the churn lift).
"""

from lakeshop.observe.report.charts import CHARTS, ML_CHARTS, WORST
from lakeshop.observe.report.page import ALERTS, TEMPLATE, Report, build, write

__all__ = ["ALERTS", "CHARTS", "ML_CHARTS", "TEMPLATE", "WORST", "Report", "build", "write"]
