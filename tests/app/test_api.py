"""What ``lakeshop.app.api`` costs a run before any table: the run's imports."""

from __future__ import annotations

import subprocess
import sys


def test_a_run_without_a_sync_imports_neither_the_sync_nor_pandas() -> None:
    """The sync's modules import pandas (pyarrow scalars made from Python values): 0.4 s of a
    run with nothing to do, a fifth of it. They are imported when ``sync.after_run`` is set."""
    code = (
        "import sys\n"
        "import lakeshop.app.api, lakeshop.cli.run\n"
        "print(sorted(m for m in ('pandas', 'lakeshop.app.sync.ship') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
