"""The defect ledger: what was injected where, and how many records each file holds."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .defects import Injected
from .formats import join_lines


@dataclass
class Ledger:
    """Collects defect entries (as JSON text, built vectorised) and per-file row counts."""

    entries: list[bytes] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Number of defect entries so far."""
        return sum(self.counts.values())

    def extend(self, other: Ledger) -> None:
        """Append the entries and files of a later part (a day written elsewhere)."""
        self.entries += other.entries
        self.files += other.files
        for kind, n in other.counts.items():
            self.counts[kind] = self.counts.get(kind, 0) + n

    def add_rows(self, source: str, file: str, inj: Injected) -> None:
        """Record the row defects of one written file."""
        if len(inj.rows) == 0:
            return
        head = json.dumps({"source": source, "file": file})[:-1] + ',"row":'
        kinds = pa.array(inj.kinds, pa.string())
        fields = pc.fill_null(pc.binary_join_element_wise('"', inj.fields, '"', ""), "null")
        text = pc.binary_join_element_wise(
            head,
            pa.array(inj.rows).cast(pa.string()),
            ',"key":',
            inj.keys,
            ',"kind":"',
            kinds,
            '","field":',
            fields,
            "}",
            "",
        )
        self.entries.append(join_lines(text))
        for kind in set(inj.kinds):
            self.counts[kind] = self.counts.get(kind, 0) + inj.kinds.count(kind)

    def add_file_defect(
        self, source: str, file: str, kind: str, field_name: str | None, detail: str | None = None
    ) -> None:
        """Record a whole-file defect (schema_drift, unreadable_file)."""
        entry: dict[str, Any] = {
            "source": source,
            "file": file,
            "row": None,
            "key": None,
            "kind": kind,
            "field": field_name,
        }
        if detail:
            entry["detail"] = detail
        self.entries.append((json.dumps(entry, ensure_ascii=False) + "\n").encode())
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def add_file(
        self,
        source: str,
        file: str,
        rows: int,
        readable: bool = True,
        late: dict[str, Any] | None = None,
    ) -> None:
        """Record a written file and its number of data records (and lateness, if late)."""
        entry: dict[str, Any] = {"file": file, "source": source, "rows": rows}
        if not readable:
            entry["unreadable"] = True
        if late:
            entry |= late
        self.files.append(entry)

    def write(
        self,
        path: Path,
        seed: int,
        scale: float,
        start: date,
        days: int,
        rate: float,
        incidents: list[dict[str, Any]] | None = None,
        signals: dict[str, Any] | None = None,
    ) -> None:
        """Write ``_ledger.json`` (entries streamed, one per line inside the array); with
        ``signals``, the planted ground truth (:mod:`lakeshop.datagen.signals`) too."""
        header: dict[str, Any] = {
            "seed": seed,
            "scale": scale,
            "start_date": start.isoformat(),
            "days": days,
            "defect_rate": rate,
        }
        if incidents:
            header["incidents"] = incidents
        if signals:
            header["signals"] = signals
        meta = json.dumps(header)
        with path.open("wb") as fh:
            fh.write(meta[:-1].encode() + b',\n"defects": [\n')
            first = True
            for chunk in self.entries:
                body = chunk.rstrip(b"\n").replace(b"\n", b",\n")
                fh.write((b"" if first else b",\n") + body)
                first = False
            fh.write(b'\n],\n"files": [\n')
            fh.write(",\n".join(json.dumps(f) for f in self.files).encode())
            fh.write(b"\n]}\n")
