"""One strategy per table kind: how its rows are computed, checked, deduplicated and committed.

- :mod:`.base`: the contract (:class:`~.base.Strategy`, :class:`~.base.Inputs`), the names of a
  strategy's intermediate relations and helpers every kind uses;
- :mod:`.checked`: the shared steps of checked kinds (expectations, quarantine, commit);
- one module per kind: :mod:`.ingest`, :mod:`.append`, :mod:`.upsert` (both on :mod:`.keyed`),
  :mod:`.materialized`, :mod:`.scd2`, :mod:`.view`;
- :mod:`.registry`: which strategy maintains which kind (:func:`~.registry.strategy_for`).
"""
