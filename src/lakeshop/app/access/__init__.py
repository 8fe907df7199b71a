"""Governance of reads: ``access.yml`` (roles, grants, masks, row filters, users), the
governed session running SQL as a principal, API tokens and the ``_system.access`` audit log.

- :mod:`.policy`: the file's model and loader; :mod:`.checks`: its cross-checks;
- :mod:`.masks`: the SQL of masks and row filters; :mod:`.govern`: :class:`GovernedSession`;
- :mod:`.tokens`: hashed API tokens; :mod:`.audit`: the buffered audit log;
- :mod:`.default`: the example policy ``lakeshop demo`` writes.
"""
