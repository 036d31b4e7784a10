"""The file layer every persistence write goes through.

Why a module of its own: it is the seam for fault injection.  Tests set
``diskio.fault`` to a callable ``fault(op, path) -> OSError | None`` and every
write/fsync/rename asks it first, so a full disk or a failing fsync can be
simulated without root or a tiny tmpfs (``op`` is "write", "fsync", "rename").
"""

import errno
import os

#: fault(op, path) -> an OSError to raise, or None (tests only).
fault = None


def _check(op, path):
    if fault is not None:
        e = fault(op, path)
        if e is not None:
            raise e


def enospc(path=None):
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)


def write_all(fd, data, path=None):
    """os.write until everything is written; returns the bytes written.

    On error the OSError carries ``written`` (how much did reach the file) so
    the AOF can undo a partial write, as Redis does.
    """
    view = memoryview(data)
    done = 0
    total = len(view)
    while done < total:
        try:
            _check("write", path)
            n = os.write(fd, view[done:])
        except InterruptedError:
            continue
        except OSError as e:
            e.written = done
            raise
        done += n
    return done


def fsync(fd, path=None):
    _check("fsync", path)
    os.fsync(fd)


def fsync_dir(dirpath):
    """Make a rename durable (fsync of the directory entry)."""
    fd = os.open(dirpath or ".", os.O_RDONLY)
    try:
        _check("fsync", dirpath)
        os.fsync(fd)
    finally:
        os.close(fd)


def rename(src, dst):
    _check("rename", dst)
    os.rename(src, dst)


def write_atomic(tmp, path, chunks, do_fsync=True):
    """Write chunks to *tmp*, fsync, rename over *path*, fsync the directory.

    Returns the number of bytes written.  On failure the temp file is removed
    and the old *path* is untouched.
    """
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    size = 0
    try:
        for chunk in chunks:
            size += write_all(fd, chunk, tmp)
        if do_fsync:
            fsync(fd, tmp)
    except BaseException:
        os.close(fd)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    os.close(fd)
    try:
        rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if do_fsync:
        fsync_dir(os.path.dirname(path))
    return size
