"""Files at rest that hold personal data or keys: created 0600, refused when others can read them.

The SQLite database (names, phones, villages), the development ID key (``INSTANCE_DIR/id_key``)
and what ``jobbridge export`` writes are created readable by their owner only, whatever the
umask. An *existing* database or key file that its group or other users can read or write is a
refusal to start — the CLI and the app factory say so with the ``chmod`` to run — unless the
setting ``ALLOW_LOOSE_PERMISSIONS`` (``JOBBRIDGE_ALLOW_LOOSE_PERMISSIONS=1``) says that is
intended (a shared group on a managed host, say).

On systems without POSIX modes (Windows) nothing is checked.
"""

from __future__ import annotations

import os
import shlex
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

PRIVATE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
ALLOW_KEY = "ALLOW_LOOSE_PERMISSIONS"
_POSIX = os.name == "posix"


class LoosePermissions(RuntimeError):
    """A database or key file that others can read; the message names the ``chmod`` to run."""


def allowed(config: Mapping[str, Any]) -> bool:
    """Whether ``ALLOW_LOOSE_PERMISSIONS`` is on (``1``/``true``/``yes``/``on``, any case)."""
    from api.config import as_bool

    return as_bool(config.get(ALLOW_KEY, False))


def loose_mode(path: str | os.PathLike[str]) -> int | None:
    """The file's permission bits when its group or others have any, else ``None``."""
    if not _POSIX:
        return None
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return None
    return mode if mode & 0o077 else None


def require_private(path: str | os.PathLike[str], what: str, config: Mapping[str, Any]) -> None:
    """Raise :class:`LoosePermissions` when ``path`` exists and others may read or write it."""
    mode = loose_mode(path)
    if mode is None or allowed(config):
        return
    quoted = shlex.quote(os.fspath(path))
    raise LoosePermissions(
        f"{what} {os.fspath(path)} 的权限是 {mode:04o}，同组或其他用户也能读取，拒绝启动；"
        f"请运行 `chmod 600 {quoted}` 后重试"
        f"（确属有意时可设置环境变量 JOBBRIDGE_{ALLOW_KEY}=1）。"
    )


def sqlite_file(database_url: str) -> Path | None:
    """The file of a SQLite URL; ``None`` for an in-memory database or another backend."""
    from sqlalchemy.engine import make_url

    try:
        url = make_url(database_url)
    except Exception:  # an unparsable URL is make_engine's to report
        return None
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    if url.database.startswith("file:"):  # URI form: its mode is the caller's business
        return None
    return Path(url.database)


def make_private_dir(path: str | os.PathLike[str]) -> None:
    """Create a folder (and its parents) for private files; new folders are 0700."""
    Path(path).mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)


def create_private(path: str | os.PathLike[str]) -> bool:
    """Create an empty file with mode 0600 unless it exists; True when it was created.

    SQLite creates its database file on first connect with the process's umask (0644);
    creating it here first, empty (which SQLite reads as an empty database), keeps it 0600,
    and SQLite gives its ``-wal`` and ``-shm`` files the same mode as the database.
    """
    make_private_dir(Path(path).parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def open_private(path: str | os.PathLike[str]) -> IO[bytes]:
    """Open ``path`` for writing (truncated) with mode 0600, tightening an existing file too."""
    make_private_dir(Path(path).parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE)
    try:
        if _POSIX:
            os.fchmod(fd, PRIVATE_MODE)
        return os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        raise


def write_private(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` readable by its owner only (exports with personal fields)."""
    with open_private(path) as fh:
        fh.write(data)


def check_private_files(config: Mapping[str, Any]) -> None:
    """Refuse to start when the SQLite database or the development ID key is loose.

    The key file counts only when it is the key in use (``ID_KEY`` unset).
    """
    from api.crypto import key_file_path

    database = sqlite_file(str(config.get("DATABASE_URL") or ""))
    if database is not None:
        require_private(database, "数据库文件", config)
    if not config.get("ID_KEY"):
        require_private(key_file_path(config), "身份证加密密钥文件", config)


__all__ = [
    "ALLOW_KEY",
    "LoosePermissions",
    "PRIVATE_MODE",
    "allowed",
    "check_private_files",
    "create_private",
    "loose_mode",
    "make_private_dir",
    "open_private",
    "require_private",
    "sqlite_file",
    "write_private",
]
