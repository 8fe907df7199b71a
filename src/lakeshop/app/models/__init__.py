"""A project's own tables: ``models/*.sql`` with their declarations, joined to the built-in
pipeline (:mod:`~lakeshop.app.models.resolve`), their unit tests
(:mod:`~lakeshop.app.models.unittests`), scaffolding and compilation."""
