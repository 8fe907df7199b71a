"""The landing folder as a jail: globs stay inside it, every file read resolves inside it, raw
copies are never more readable than their source, and no file's content reaches a message.

- A source's (or lookup's) ``path`` is a glob relative to the landing folder: an absolute one
  (``/etc/*``, ``~/x``) or one with a ``..`` part is a configuration error.
- A file or folder whose name starts with ``_`` or ``.`` is not a delivery (files held back,
  hidden files): a glob matches it only when it names such a part itself (``_late/*.csv``).
- A matching file is resolved (``realpath``): a symbolic link to a file inside the landing
  folder is followed; one whose target lies outside it (``/etc/shadow``) is refused without
  being opened (the run names it, as a refused file).
- Raw copies are written ``0600``, or ``0640`` when the source file is group-readable.
- Names a file supplies (CSV headers, JSON keys) are shown in messages only when they look
  like column names (:func:`lakeshop.core.redact.shown`).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from pathlib import Path, PurePosixPath

from lakeshop.engines import storage

#: why a link out of the landing folder is refused (``_system.files``, logs, run summary)
OUTSIDE = "refused: resolves outside the landing folder (a symbolic link out of landing)"
#: raw copies: owner read/write, group read when the source has it, nothing for others
_RAW_MODE = 0o640


def check_glob(pattern: str) -> str:
    """``pattern`` when it is a glob relative to the landing folder; ValueError otherwise (the
    configuration loader turns it into one line naming the setting)."""
    text = pattern.strip()
    if not text:
        raise ValueError("a glob relative to the landing folder (found an empty one)")
    if text.startswith(("/", "\\", "~")) or re.match(r"^[A-Za-z]:", text):
        raise ValueError(f"a glob relative to the landing folder, not an absolute path ({text})")
    if ".." in PurePosixPath(text.replace("\\", "/")).parts:
        raise ValueError(f"a glob inside the landing folder, without '..' ({text})")
    return pattern


def matching(landing: Path, pattern: str) -> tuple[list[Path], list[Path]]:
    """Files matching ``pattern`` under ``landing`` that resolve inside it, and those that
    resolve outside it (symbolic links out), each in name order."""
    if not landing.is_dir():
        return [], []
    root = Path(os.path.realpath(landing))
    inside: list[Path] = []
    outside: list[Path] = []
    named = {part[0] for part in PurePosixPath(pattern).parts if part[:1] in _NOT_DELIVERED}
    folders: dict[Path, Path] = {}  # a listed file's folder → that folder resolved
    for path in sorted(landing.glob(check_glob(pattern))):
        if _held_or_hidden(path.relative_to(landing), named):
            continue
        real = _real_file(path, folders)
        if real is not None:
            (inside if real == root or root in real.parents else outside).append(path)
    return inside, outside


def _real_file(path: Path, folders: dict[Path, Path]) -> Path | None:
    """The file ``path`` names, links resolved, or None when it names no file (a folder, a
    link to one, a broken link, gone since the listing).

    A file that is not a link is its folder resolved plus its name: the folder is resolved
    once (``folders``), where ``realpath`` of every file would look up each part of its path
    again, thousands of lookups a run as a landing folder's history grows."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        folder = folders.get(path.parent)
        if folder is None:
            folder = folders[path.parent] = Path(os.path.realpath(path.parent))
        return folder / path.name
    if stat.S_ISLNK(mode):
        real = Path(os.path.realpath(path))
        return real if real.is_file() else None
    return None


#: first characters of landing names that are not deliveries: ``_late/`` (files held back),
#: ``_ledger.json``, hidden files (``.~lock.orders.csv#``, macOS's ``._orders.csv``)
_NOT_DELIVERED = "_."


def _held_or_hidden(relative: Path, named: set[str]) -> bool:
    """Whether a part of the landing path starts with ``_`` or ``.`` while the glob names no
    such part itself: as a shell's ``*`` skips hidden files, ``**/*.csv`` skips ``_late/x.csv``
    and ``._x.csv``, and ``_late/*.csv`` reads them."""
    return any(part[:1] in _NOT_DELIVERED and part[0] not in named for part in relative.parts)


def resolved(path: Path) -> Path:
    """The file a landing path names, links resolved: what is read, hashed and copied (so a
    link swapped after listing cannot redirect the read)."""
    return Path(os.path.realpath(path))


def copy_private(src: Path, dest: Path, sha256: str | None = None) -> None:
    """Copy ``src`` to ``dest`` atomically (``.partial`` then rename), the copy created
    ``0600`` and widened to ``0640`` only when the source is group-readable. On an object
    store the copy is one upload, visible whole once complete (its access is the bucket's).

    With ``sha256``, the bytes copied must have that digest (the file as it was hashed when
    listed), else :class:`ChangedWhileRead` is raised and nothing is kept."""
    digest = hashlib.sha256()
    if storage.is_remote(dest):
        with src.open("rb") as fh, dest.open("wb") as out:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
        if sha256 is not None and digest.hexdigest() != sha256:
            dest.unlink(missing_ok=True)
            raise ChangedWhileRead(str(src))
        return
    mode = stat.S_IMODE(src.stat().st_mode) & _RAW_MODE | 0o600
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(dest.suffix + ".partial")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out, src.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
        os.chmod(tmp, mode)
        if sha256 is not None and digest.hexdigest() != sha256:
            raise ChangedWhileRead(str(src))
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(dest)


class ChangedWhileRead(OSError):
    """A landing file whose bytes changed between being hashed and being copied (a file
    still being written): neither its rows nor a raw copy are kept; the next run reads it."""
