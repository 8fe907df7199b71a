"""The PostgreSQL sync: lakehouse tables shipped to PostgreSQL for BI tools, incrementally
and verified (see :mod:`~lakeshop.app.sync.ship`).

- :mod:`~lakeshop.app.sync.tables`: which tables, where to, the column changes go by;
- :mod:`~lakeshop.app.sync.pgtypes`: Arrow types as PostgreSQL types, the checksum;
- :mod:`~lakeshop.app.sync.postgres`: the connection (psycopg's only home), COPY, statements;
- :mod:`~lakeshop.app.sync.masks`: the access policy's column masks (extension point);
- :mod:`~lakeshop.app.sync.ship`: the sync itself and ``--verify``.
"""
