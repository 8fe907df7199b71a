"""Where a lakehouse's files are: the local disk or an object store (``s3://``, ``gs://``,
``az://``), behind one set of path operations.

A root such as ``s3://lake/shop`` becomes an :class:`ObjectPath`: it composes like a
``pathlib.Path`` (``/``, ``parent``, ``name``, ``relative_to``), so the code that places
tables, raw copies, the lock and reports is the same for both kinds of root, and its I/O
(``stat``, ``iterdir``, ``read_bytes``, ``write_bytes``, ``unlink`` ...) goes through
pyarrow's file system for that store. ``os.fspath`` refuses an object path: a call site that
would hand it to the local disk fails loudly instead of writing into a folder named ``s3:``.

The store's settings come only from the environment (endpoint, region, credentials; see
:func:`options`), never from ``lakeshop.yml``; they are not logged and never part of a
path's text. Delta tables take them as ``storage_options`` (:func:`delta_options`); commits
on S3 use conditional writes (``If-None-Match``), so no DynamoDB lock and no unsafe rename.
The writer lock's create-if-absent is :func:`create_exclusive` (obstore's conditional put).
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import re
import shutil
import stat as statmod
import tempfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path, PosixPath
from typing import TYPE_CHECKING, Any

from lakeshop.core.errors import ConfigError, LakeshopError, MissingDependency

if TYPE_CHECKING:
    import pyarrow.fs as pafs

#: the object stores a target's ``root`` may name
SCHEMES = ("s3", "gs", "az")
#: object-store ``root`` schemes that are refused, with what to write instead
_ALIASES = {"s3a": "s3", "s3n": "s3", "gcs": "gs", "abfs": "az", "abfss": "az", "adl": "az"}
_REGION = "us-east-1"


class StorageError(LakeshopError):
    """An object store refused or failed an operation (names the path, never a credential)."""


class ObjectPath(PosixPath):
    """A key in an object store, composed and read like a :class:`pathlib.Path`.

    The path part is ``/<bucket>/<key>``; the scheme is the class's (:class:`S3Path` ...).
    ``str()`` is the URI (``s3://bucket/key``) for absolute paths and the plain relative
    path otherwise (what ``relative_to`` gives).
    """

    scheme = ""

    # -- text -----------------------------------------------------------------------------
    def __str__(self) -> str:
        text = super().__str__()
        return f"{self.scheme}:/{text}" if self.is_absolute() else text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __fspath__(self) -> str:
        raise StorageError(f"{self}: an object-store path cannot be used as a local file")

    def __hash__(self) -> int:
        return hash((self.scheme, super().__hash__()))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ObjectPath) or other.scheme != self.scheme:
            return False
        return super().__eq__(other)

    def as_posix(self) -> str:
        return str(self)

    def as_uri(self) -> str:
        return str(self)

    @property
    def key(self) -> str:
        """``bucket/key`` as the store's file system names it."""
        return super().__str__().lstrip("/")

    # -- reading --------------------------------------------------------------------------
    def stat(self, *, follow_symlinks: bool = True) -> os.stat_result:
        import pyarrow.fs as pafs

        info = _call(self, lambda fs: fs.get_file_info(self.key))
        if info.type == pafs.FileType.NotFound:
            raise FileNotFoundError(2, "no such object", str(self))
        is_dir = info.type == pafs.FileType.Directory
        mode = (statmod.S_IFDIR | 0o750) if is_dir else (statmod.S_IFREG | 0o640)
        ns = int(info.mtime_ns or 0)
        size = int(info.size or 0)
        return os.stat_result(
            (mode, 0, 0, 1, 0, 0, size, ns // 10**9, ns // 10**9, ns // 10**9),
            {"st_mtime_ns": ns, "st_atime_ns": ns, "st_ctime_ns": ns},
        )

    def exists(self, *, follow_symlinks: bool = True) -> bool:
        try:
            self.stat()
        except FileNotFoundError:
            return False
        return True

    def is_file(self) -> bool:
        try:
            return statmod.S_ISREG(self.stat().st_mode)
        except FileNotFoundError:
            return False

    def is_dir(self) -> bool:
        try:
            return statmod.S_ISDIR(self.stat().st_mode)
        except FileNotFoundError:
            return False

    def iterdir(self) -> Iterator[ObjectPath]:  # type: ignore[override]
        for name, _, _ in entries(self):
            yield self / name

    def glob(self, pattern: str) -> Iterator[ObjectPath]:  # type: ignore[override]
        """Segment by segment (``*/*/_delta_log``): no ``**``."""
        level = [self]
        for part in pattern.split("/"):
            level = [
                c for p in level if p.is_dir() for c in p.iterdir() if fnmatch.fnmatch(c.name, part)
            ]
        yield from sorted(level)

    def read_bytes(self) -> bytes:
        def read(fs: pafs.FileSystem) -> bytes:
            with fs.open_input_stream(self.key) as fh:
                return bytes(fh.read())

        data: bytes = _call(self, read)
        return data

    def read_text(self, encoding: str | None = None, errors: str | None = None) -> str:
        return self.read_bytes().decode(encoding or "utf-8", errors or "strict")

    def open(self, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        """``rb`` (a seekable file) or ``wb`` (an upload, visible whole when closed)."""
        if mode == "rb":
            return _call(self, lambda fs: fs.open_input_file(self.key))
        if mode == "wb":
            return _call(self, lambda fs: fs.open_output_stream(self.key))
        raise StorageError(f"{self}: opened as {mode!r}; object paths open as 'rb' or 'wb'")

    # -- writing --------------------------------------------------------------------------
    def write_bytes(self, data: bytes) -> int:  # type: ignore[override,unused-ignore]
        def write(fs: pafs.FileSystem) -> int:
            with fs.open_output_stream(self.key) as out:
                out.write(data)
            return len(data)

        written: int = _call(self, write)
        return written

    def write_text(  # type: ignore[override,unused-ignore]
        self,
        data: str,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> int:
        return self.write_bytes(data.encode(encoding or "utf-8", errors or "strict"))

    def unlink(self, missing_ok: bool = False) -> None:
        if not self.is_file():
            if missing_ok:
                return
            raise FileNotFoundError(2, "no such object", str(self))
        _delete(self, [self])

    def mkdir(self, mode: int = 0o777, parents: bool = False, exist_ok: bool = False) -> None:
        """Nothing to do: an object store's folders are the prefixes of its keys."""

    def rmdir(self) -> None:
        """Nothing to do (see :meth:`mkdir`)."""

    def replace(self, target: str | os.PathLike[str]) -> ObjectPath:  # type: ignore[override,unused-ignore]
        dest = target if isinstance(target, ObjectPath) else None
        if dest is None or dest.scheme != self.scheme:
            raise StorageError(f"{self}: moved only within its store")
        _call(self, lambda fs: fs.move(self.key, dest.key))
        return dest

    def chmod(self, mode: int, *, follow_symlinks: bool = True) -> None:
        """Nothing to do: an object's access is the bucket's policy, not a file mode."""


class S3Path(ObjectPath):
    """A key in an S3 (or S3-compatible) bucket."""

    scheme = "s3"


class GsPath(ObjectPath):
    """A key in a Google Cloud Storage bucket."""

    scheme = "gs"


class AzPath(ObjectPath):
    """A blob in an Azure Blob Storage / ADLS Gen2 container."""

    scheme = "az"


_CLASSES: dict[str, type[ObjectPath]] = {"s3": S3Path, "gs": GsPath, "az": AzPath}


def is_remote(root: str | os.PathLike[str]) -> bool:
    """Whether ``root`` names an object store (``scheme://...``)."""
    return isinstance(root, ObjectPath) or (isinstance(root, str) and "://" in root)


def looks_remote(root: str) -> bool:
    """Whether a ``root`` setting names a store by a scheme (``s3://``, ``s3:/``, ``abfss:``):
    such a root is an object store or refused, never a local folder named ``s3:``."""
    return re.match(r"^[A-Za-z][A-Za-z0-9+.-]+:", root) is not None


def location(root: str, setting: str = "root") -> ObjectPath:
    """The object path of ``root`` (``s3://bucket/prefix``); any other scheme is refused,
    naming the setting and what it accepts."""
    scheme, sep, rest = root.partition("://")
    if not sep:
        scheme = root.partition(":")[0]
    kinds = ", ".join(f"{s}://bucket/prefix" for s in SCHEMES)
    if scheme.lower() in _ALIASES:
        raise ConfigError(setting, f"{_ALIASES[scheme.lower()]}://bucket/prefix", root)
    if scheme not in _CLASSES or not sep:
        raise ConfigError(setting, f"a local folder or one of {kinds}", root)
    bucket = rest.strip("/").split("/")[0]
    if not bucket:
        raise ConfigError(setting, f"{scheme}://bucket/prefix (a bucket name)", root)
    return _CLASSES[scheme]("/" + rest.strip("/"))


def options(scheme: str) -> dict[str, str]:
    """The store's settings from the environment, as object_store (deltalake, obstore) names
    them. S3: ``AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_S3``), ``AWS_REGION`` (or
    ``AWS_DEFAULT_REGION``), ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
    ``AWS_SESSION_TOKEN``; ``AWS_ALLOW_HTTP`` follows an ``http://`` endpoint. Google Cloud
    Storage and Azure read their own variables (``GOOGLE_*``, ``AZURE_*``) as given."""
    env = os.environ
    if scheme == "s3":
        out = {"region": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or _REGION}
        endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
        if endpoint:
            out["endpoint"] = endpoint
            if endpoint.startswith("http://"):
                out["allow_http"] = "true"
        for var, key in (
            ("AWS_ACCESS_KEY_ID", "access_key_id"),
            ("AWS_SECRET_ACCESS_KEY", "secret_access_key"),
            ("AWS_SESSION_TOKEN", "session_token"),
        ):
            if env.get(var):
                out[key] = env[var]
        # commits are created with If-None-Match: S3's conditional writes keep two writers
        # of one commit from both succeeding (no DynamoDB, no unsafe rename)
        out["conditional_put"] = "etag"
        return out
    prefix = "GOOGLE_" if scheme == "gs" else "AZURE_"
    return {k.lower(): v for k, v in env.items() if k.startswith(prefix)}


def delta_options(path: Path) -> dict[str, str] | None:
    """``storage_options`` for deltalake at ``path``: None on the local disk."""
    if not isinstance(path, ObjectPath):
        return None
    found = options(path.scheme)
    if path.scheme == "s3":
        found["aws_conditional_put"] = found.pop("conditional_put")
    return found


def arrow_filesystem(path: Path) -> tuple[pafs.FileSystem, str]:
    """pyarrow's file system for ``path`` and the path as it names it."""
    import pyarrow.fs as pafs

    if isinstance(path, ObjectPath):
        return _filesystem(path.scheme, _env_key(path.scheme)), path.key
    return pafs.LocalFileSystem(), str(path)


def arrow_path(uri: str, table_dir: Path) -> tuple[pafs.FileSystem, str]:
    """pyarrow's file system and path for one of a table's data files (a ``file_uris`` entry)."""
    if isinstance(table_dir, ObjectPath):
        fs, _ = arrow_filesystem(table_dir)
        return fs, uri.partition("://")[2]
    import pyarrow.fs as pafs

    return pafs.LocalFileSystem(), uri.removeprefix("file://")


def _env_key(scheme: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(options(scheme).items()))


@cache
def _filesystem(scheme: str, settings: tuple[tuple[str, str], ...]) -> pafs.FileSystem:
    """One file system per store and settings (a change of the environment opens another)."""
    import pyarrow.fs as pafs

    given = dict(settings)
    if scheme == "s3":
        endpoint = given.get("endpoint", "")
        http, _, host = endpoint.partition("://") if "://" in endpoint else ("https", "", endpoint)
        return pafs.S3FileSystem(
            access_key=given.get("access_key_id"),
            secret_key=given.get("secret_access_key"),
            session_token=given.get("session_token"),
            region=given["region"],
            endpoint_override=host.rstrip("/") or None,
            scheme=http,
            # the SDK's default (3 s without a byte) fails a busy store's answers
            request_timeout=30,
            connect_timeout=10,
            # a few retries: a writer must not hang on a store that is gone
            retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=3),
        )
    if scheme == "gs":
        return pafs.GcsFileSystem()
    account = given.get("azure_storage_account_name")
    if not account:
        raise ConfigError("AZURE_STORAGE_ACCOUNT_NAME", "the storage account of az:// roots")
    return pafs.AzureFileSystem(account, account_key=given.get("azure_storage_account_key"))


def _call(path: ObjectPath, op: Any) -> Any:
    """``op(filesystem)``; a store's failure becomes one line naming the path (a missing
    object stays ``FileNotFoundError``)."""
    fs = _filesystem(path.scheme, _env_key(path.scheme))
    try:
        return op(fs)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if "NoSuchKey" in str(exc) or "does not exist" in str(exc).lower():
            raise FileNotFoundError(2, "no such object", str(path)) from exc
        raise StorageError(f"{path}: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def entries(folder: Path) -> list[tuple[str, int, int]]:
    """``(name, size, mtime_ns)`` of each entry of ``folder`` (one listing); empty when it
    does not exist. Folders have size -1."""
    if not isinstance(folder, ObjectPath):
        try:
            with os.scandir(folder) as it:
                out = []
                for e in it:
                    st = e.stat()
                    out.append((e.name, -1 if e.is_dir() else st.st_size, st.st_mtime_ns))
                return out
        except (FileNotFoundError, NotADirectoryError):
            return []
    import pyarrow.fs as pafs

    selector = pafs.FileSelector(folder.key, allow_not_found=True)
    infos = _call(folder, lambda fs: fs.get_file_info(selector))
    return [
        (
            i.base_name,
            -1 if i.type == pafs.FileType.Directory else int(i.size or 0),
            int(i.mtime_ns or 0),
        )
        for i in infos
    ]


def remove_tree(path: Path) -> None:
    """Remove a folder and everything under it."""
    if isinstance(path, ObjectPath):
        import pyarrow.fs as pafs

        selector = pafs.FileSelector(path.key, allow_not_found=True, recursive=True)
        infos = _call(path, lambda fs: fs.get_file_info(selector))
        found = [type(path)("/" + i.path) for i in infos if i.type == pafs.FileType.File]
        _delete(path, found)
    else:
        shutil.rmtree(path)


def _delete(where: ObjectPath, paths: list[ObjectPath]) -> None:
    """Delete objects (obstore: pyarrow's file system would leave a marker object for the
    emptied folder behind)."""
    if not paths:
        return
    obstore = _obstore(where)
    bucket = where.key.partition("/")[0]
    store = _object_store(where.scheme, bucket, _env_key(where.scheme))
    try:
        obstore.delete(store, [p.key.partition("/")[2] for p in paths])
    except Exception as exc:
        raise StorageError(f"{where}: {_first_line(exc)}") from exc


def _obstore(path: ObjectPath) -> Any:
    try:
        import obstore
    except ImportError as exc:
        raise MissingDependency(
            f"{path}: a lakehouse on an object store needs obstore: pip install 'lakeshop[s3]'"
        ) from exc
    return obstore


def create_exclusive(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` only if nothing is there (``O_EXCL`` on the local disk, a
    conditional put, ``If-None-Match: *``, on an object store); whether it did."""
    if not isinstance(path, ObjectPath):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        return True
    obstore = _obstore(path)
    from obstore.exceptions import AlreadyExistsError, PreconditionError

    bucket, _, key = path.key.partition("/")
    try:
        obstore.put(
            _object_store(path.scheme, bucket, _env_key(path.scheme)), key, data, mode="create"
        )
    except (AlreadyExistsError, PreconditionError):
        return False
    except Exception as exc:  # obstore's errors carry the request, never the credentials
        raise StorageError(f"{path}: {_first_line(exc)}") from exc
    return True


@cache
def _object_store(scheme: str, bucket: str, settings: tuple[tuple[str, str], ...]) -> Any:
    from obstore.store import from_url

    given: dict[str, Any] = dict(settings)
    if scheme == "s3":
        config = {f"aws_{k}": v for k, v in given.items() if k != "allow_http"}
        client = {"allow_http": given.get("allow_http") == "true"}
        return from_url(f"s3://{bucket}", config=config, client_options=client)  # type: ignore[call-overload]
    return from_url(f"{scheme}://{bucket}", config=given)  # type: ignore[call-overload]


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path``'s content whole: a temporary file renamed over it on the local disk,
    one put (atomic by nature) on an object store."""
    if isinstance(path, ObjectPath):
        path.write_bytes(data)
        return
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{id(data):x}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


@contextlib.contextmanager
def local_copy(path: Path) -> Iterator[Path]:
    """``path`` as a local file for a reader that needs one (a raw copy read again from an
    object store is downloaded to a private temporary file, removed after)."""
    if not isinstance(path, ObjectPath):
        yield path
        return
    folder = tempfile.mkdtemp(prefix="lakeshop-object-")
    local = Path(folder) / path.name
    try:
        with path.open("rb") as src, open(local, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        yield local
    finally:
        shutil.rmtree(folder, ignore_errors=True)
