"""Writing files safely: atomically, and never over an existing file unless asked."""

import os
import stat
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

    Only a new path or an existing regular file (with ``force``) is written: a
    symbolic link (dangling or not), a directory, a FIFO, a socket or a device is
    refused, even with ``force``. Call it before long work whose result goes to
    ``path``, so bad input costs nothing.
    """
    path = os.fspath(path)
    if not path:
        raise ArgumentError("the output file name is empty; give a file name")
    directory = os.path.dirname(os.path.abspath(path))
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as e:
        raise ArgumentError("cannot write %s: %s" % (path, e.strerror or e)) from None
    if mode is not None and not stat.S_ISREG(mode):
        raise ArgumentError("%s is %s, not a regular file; symgrad writes only regular files, so "
                            "give another file name" % (path, _kind(mode)))
    if not os.path.isdir(directory):
        raise ArgumentError("directory %s does not exist; create it first" % directory)
    if mode is not None and not force:
        raise FileExists("%s already exists; pass --force (force=True in Python) to overwrite it" % path)
    return directory


def _kind(mode):
    for test, name in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a directory"),
                       (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "a special file"


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
                if os.path.lexists(path):
                    raise FileExists("%s already exists; pass --force (force=True in Python) to "
                                     "overwrite it" % path) from None
                os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
