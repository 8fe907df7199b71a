"""The PostgreSQL sync: lakehouse tables shipped to PostgreSQL for BI tools, incrementally
and verified (see :mod:`~lakeshop.app.sync.ship`).

- :mod:`~lakeshop.app.sync.tables`: which tables, where to, the column changes go by;
- :mod:`~lakeshop.app.sync.pgtypes`: Arrow types as PostgreSQL types, the checksum;
- :mod:`~lakeshop.app.sync.postgres`: the connection (psycopg's only home), COPY, statements;
- :mod:`~lakeshop.app.sync.masks`: the access policy of ``sync.postgres.role`` (masks, row
  filters, grants) applied to every batch shipped;
- :mod:`~lakeshop.app.sync.pgbinary`: Arrow batches in PostgreSQL's binary COPY format;
- :mod:`~lakeshop.app.sync.ship`: the sync itself and ``--verify``.
"""
