"""The landing folder as a jail: globs stay inside it, every file read resolves inside it, raw
copies are never more readable than their source, and no file's content reaches a message.

- A source's (or lookup's) ``path`` is a glob relative to the landing folder: an absolute one
  (``/etc/*``, ``~/x``) or one with a ``..`` part is a configuration error.
- A matching file is resolved (``realpath``): a symbolic link to a file inside the landing
  folder is followed; one whose target lies outside it (``/etc/shadow``) is refused without
  being opened (the run names it, as a refused file).
- Raw copies are written ``0600``, or ``0640`` when the source file is group-readable.
- Names a file supplies (CSV headers, JSON keys) are shown in messages only when they look
  like column names (:func:`lakeshop.core.redact.shown`).
"""

from __future__ import annotations

import os
import re
import shutil
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
    for path in sorted(landing.glob(check_glob(pattern))):
        if not path.is_file():
            continue
        (inside if within(root, path) else outside).append(path)
    return inside, outside


def within(root: Path, path: Path) -> bool:
    """Whether ``path`` (links resolved) lies under ``root`` (already resolved)."""
    real = Path(os.path.realpath(path))
    return real == root or root in real.parents


def resolved(path: Path) -> Path:
    """The file a landing path names, links resolved: what is read, hashed and copied (so a
    link swapped after listing cannot redirect the read)."""
    return Path(os.path.realpath(path))


def copy_private(src: Path, dest: Path) -> None:
    """Copy ``src`` to ``dest`` atomically (``.partial`` then rename), the copy created
    ``0600`` and widened to ``0640`` only when the source is group-readable. On an object
    store the copy is one upload, visible whole once complete (its access is the bucket's)."""
    if storage.is_remote(dest):
        with src.open("rb") as fh, dest.open("wb") as out:
            shutil.copyfileobj(fh, out, 1 << 20)
        return
    mode = stat.S_IMODE(src.stat().st_mode) & _RAW_MODE | 0o600
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(dest.suffix + ".partial")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out, src.open("rb") as fh:
            shutil.copyfileobj(fh, out, 1 << 20)
        os.chmod(tmp, mode)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(dest)
