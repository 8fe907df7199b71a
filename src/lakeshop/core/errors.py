"""The one error root of lakeshop; the CLI turns each into one line and an exit code."""

from __future__ import annotations


class LakeshopError(Exception):
    """Base of every error lakeshop raises on purpose; ``str()`` is the user-facing line."""

    exit_code = 1


class ConfigError(LakeshopError):
    """A setting in ``lakeshop.yml`` (or an argument) is missing or wrong."""

    exit_code = 2

    def __init__(self, key: str, expected: str, found: object = None, file: str | None = None):
        self.key, self.expected, self.found, self.file = key, expected, found, file
        where = f"{file}: " if file else ""
        got = f", found {found!r}" if found is not None else ""
        super().__init__(f"{where}setting '{key}': expected {expected}{got}")


class SecretValueError(ValueError):
    """A configuration value refused because it holds a secret (a password in a URI): the
    message about it never repeats the value."""


class DeltaSparkUnavailable(ConfigError):
    """``spark.delta_writer: spark`` was asked for, but the Spark session has no Delta Lake for
    Spark (its jars and SQL extension); names the setting and the two ways out."""

    def __init__(self, key: str, reason: str):
        self.reason = reason
        super().__init__(
            key,
            f"auto or deltalake, as this Spark session has no Delta Lake for Spark ({reason}); "
            "or start Spark with Delta's jars and spark.sql.extensions="
            "io.delta.sql.DeltaSparkSessionExtension",
            "spark",
        )


class MissingDependency(LakeshopError):
    """An optional component (an engine's library, Java) is not installed; says how to get it."""


class SqlError(LakeshopError):
    """A transformation's SQL failed to parse or execute."""

    def __init__(self, table: str, message: str, sql_file: str | None = None):
        self.table, self.sql_file = table, sql_file
        where = f" ({sql_file})" if sql_file else ""
        super().__init__(f"table {table}{where}: {message}")


class ModelError(LakeshopError):
    """A project model (``models/<name>.sql`` and its declaration) is wrong: names the file,
    the line and, when known, the column, e.g. ``models/x.sql:3:12: unknown column 'foo'``."""

    exit_code = 2

    def __init__(self, file: str, line: int | None, message: str, column: int | None = None):
        self.file, self.line, self.column, self.message = file, line, column, message
        where = file + (f":{line}" if line else "") + (f":{column}" if line and column else "")
        super().__init__(f"{where}: {message}")


class ExpectationFailed(LakeshopError):
    """A ``fail`` expectation was violated: the table's update is not committed."""

    def __init__(self, table: str, expectation: str, failed: int):
        self.table, self.expectation, self.failed = table, expectation, failed
        super().__init__(
            f"table {table}: expectation '{expectation}' (action fail) failed on {failed} row(s); "
            "nothing was committed"
        )


class TableNotFound(LakeshopError):
    """A query referenced a table that the lakehouse does not hold."""

    def __init__(self, name: str, known: list[str] | None = None):
        self.name = name
        hint = f"; known tables: {', '.join(sorted(known))}" if known else ""
        super().__init__(f"no table '{name}' in the lakehouse{hint}")


class QueryRefused(LakeshopError):
    """A read-only query would do more than read lakehouse tables: refused before it ran.

    ``reason`` says what was refused and why, e.g. ``COPY reads and writes files``.
    """

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(
            f"query refused: {reason}; a query is one SELECT over lakehouse tables (schema.table)"
        )


class SourceFileError(LakeshopError):
    """A landing file cannot be read at all; recorded in ``_system.files``, the run goes on."""

    def __init__(self, path: str, reason: str):
        self.path, self.reason = path, reason
        super().__init__(f"{path}: {reason}")


def first_line(exc: BaseException) -> str:
    """An error's first line (its class name when it has no text): what lakeshop reports of an
    error raised by a library (an engine's, sqlglot's)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
