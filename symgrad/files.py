"""Writing files safely: atomically, and never over an existing file unless asked."""

import os
import tempfile

from .errors import ArgumentError, FileExists

__all__ = ["write_atomic", "check_target", "FileExists"]     # FileExists lives in errors.py


def _umask():
    """The process umask, read without changing it (Linux), else the usual 0o022."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


def check_target(path: str | os.PathLike, *, force: bool = False) -> str:
    """Raise unless ``path`` can be written (``force`` to replace a file); return its directory.

    Call it before long work whose result goes to ``path``, so bad input costs nothing.
    """
    path = os.fspath(path)
    if not path:
        raise ArgumentError("the output file name is empty; give a file name")
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise ArgumentError("%s is a directory; give a file name" % path)
    if not os.path.isdir(directory):
        raise ArgumentError("directory %s does not exist; create it first" % directory)
    if os.path.exists(path) and not force:
        raise FileExists("%s already exists; pass --force (force=True in Python) to overwrite it" % path)
    return directory


def write_atomic(path: str | os.PathLike, text: str | bytes, *, force: bool = False) -> None:
    """Write ``text`` (str, or bytes) to ``path`` through a temporary file and a rename.

    An existing ``path`` is left untouched unless ``force`` is true. A reader
    never sees a half-written file, and a failed write leaves nothing behind.
    """
    path = os.fspath(path)
    directory = check_target(path, force=force)
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, 0o666 & ~_umask())    # what open() would have made, not mkstemp's 0600
        binary = isinstance(text, bytes)
        with (os.fdopen(fd, "wb") if binary else
              os.fdopen(fd, "w", encoding="utf-8", newline="\n")) as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if force:
            os.replace(tmp, path)
        else:
            # link() fails if path appeared meanwhile, so nothing is ever overwritten
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise FileExists("%s already exists; pass --force (force=True in Python) to overwrite it"
                                 % path) from None
            except OSError:
                if os.path.exists(path):
                    raise FileExists("%s already exists; pass --force (force=True in Python) to "
                                     "overwrite it" % path) from None
                os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
