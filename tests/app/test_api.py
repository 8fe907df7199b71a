"""What ``lakeshop.app.api`` costs a run before any table: the run's imports."""

from __future__ import annotations

from tests.conftest import imported_by


def test_a_run_without_a_sync_imports_neither_the_sync_nor_pandas() -> None:
    """The sync's modules import pandas (pyarrow scalars made from Python values): 0.4 s of a
    run with nothing to do, a fifth of it. They are imported when ``sync.after_run`` is set."""
    code = "import lakeshop.app.api, lakeshop.cli.run"
    assert imported_by(code, ("pandas", "lakeshop.app.sync.ship")) == []
