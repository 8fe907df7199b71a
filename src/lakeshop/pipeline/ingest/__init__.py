"""Bronze ingestion, by stage; :class:`~lakeshop.pipeline.strategies.ingest.IngestStrategy`
runs them for each ``ingest`` table.

- :mod:`.discovery`: which landing files (or raw copies, on a replay) to read, and what the
  ingestion log already knows of each (new, re-delivered, duplicate);
- :mod:`.mapping`: a file parsed and mapped onto its source's contract fields, with the audit
  columns, its rejected lines and its schema change;
- :mod:`.commit`: bronze rows, rejects and ``_system.files`` entries committed per batch of
  files, raw copies kept, and rows of a killed run's unlogged ingestion removed.
"""
