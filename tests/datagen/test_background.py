"""Days are written on a background thread: results in order, errors raised in the caller."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from lakeshop.datagen import generate, writer
from lakeshop.datagen.background import OrderedBackground


def test_results_in_submission_order_and_bounded() -> None:
    got: list[int] = []
    running = {"now": 0, "max": 0}
    lock = threading.Lock()

    def work(i: int) -> int:
        with lock:
            running["now"] += 1
            running["max"] = max(running["max"], running["now"])
        time.sleep(0.02 if i % 2 == 0 else 0.0)  # later items may finish first
        with lock:
            running["now"] -= 1
        return i * 10

    with OrderedBackground(work, got.append, workers=2, depth=2) as bg:
        for i in range(7):
            bg.submit(i)
            assert len(got) >= i - 2  # never more than `depth` items outstanding
        bg.finish()
    assert got == [i * 10 for i in range(7)]
    assert running["max"] <= 2


def test_worker_error_is_raised_in_the_caller_and_later_items_dropped() -> None:
    started: list[int] = []

    def work(i: int) -> int:
        started.append(i)
        if i == 1:
            raise OSError("disk full")
        time.sleep(0.01)
        return i

    done: list[int] = []
    with (
        pytest.raises(OSError, match="disk full"),
        OrderedBackground(work, done.append, workers=1, depth=1) as bg,
    ):
        for i in range(50):
            bg.submit(i)
        bg.finish()
    assert done == [0]
    assert max(started) < 5  # the queue was bounded and the rest cancelled


def test_generate_reraises_a_write_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    emit = writer.SourceWriter._emit

    def failing(self: writer.SourceWriter, ctx: Any, source: str, rel: str, *parts: Any) -> Any:
        if rel == "payments/payments_2026-01-02.jsonl":
            raise PermissionError(f"cannot write {rel}")
        return emit(self, ctx, source, rel, *parts)

    monkeypatch.setattr(writer.SourceWriter, "_emit", failing)
    with pytest.raises(PermissionError, match="payments_2026-01-02"):
        generate(tmp_path, days=6, scale=0.02, seed=3)
    assert not (tmp_path / "_ledger.json").exists()
    assert (tmp_path / "payments" / "payments_2026-01-01.jsonl").is_file()
