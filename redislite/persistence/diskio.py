"""The file layer every persistence write goes through.

Why a module of its own: it is the seam for fault injection.  Tests set
``diskio.fault`` to a callable ``fault(op, path) -> OSError | None`` and every
write/fsync/rename asks it first, so a full disk or a failing fsync can be
simulated without root or a tiny tmpfs (``op`` is "write", "fsync", "rename").

A live server (tests/integration/test_faults.py) gets the same seam through one
environment variable read once at import: ``REDISLITE_TEST_DISK_FAULT=<path of a
control file>``.  While the file holds an errno name ("ENOSPC", "EIO"),
optionally followed by the ops it applies to ("EIO fsync"), those ops fail with
that errno; an empty or missing file means no fault.  Off by default, and no
command or config parameter can turn it on: only whoever starts the process.
Forked save children inherit it, so a BGSAVE fails too.
"""

import errno
import os
import stat

#: fault(op, path) -> an OSError to raise, or None (tests only).
fault = None


def control_file_fault(control):
    """The ``fault`` callable behind REDISLITE_TEST_DISK_FAULT (re-reads *control* on each op)."""
    def check(op, path):
        try:
            with open(control) as f:
                words = f.read().split()
        except OSError:
            return None
        if not words or (len(words) > 1 and op not in words[1:]):
            return None
        code = getattr(errno, words[0], errno.EIO)
        return OSError(code, os.strerror(code), path)
    return check


if os.environ.get("REDISLITE_TEST_DISK_FAULT"):
    fault = control_file_fault(os.environ["REDISLITE_TEST_DISK_FAULT"])


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


def close_sockets_after_fork(keep=()):
    """In a forked save or sync child: close every inherited socket but *keep*.

    Redis's closeChildUnusedResourceAfterFork: a child that outlives a crashed
    parent must not hold the listening ports (the restarted server could not
    bind them) nor the client connections (clients would not see the crash).
    Closing them in the child leaves the parent's copies untouched.
    """
    try:
        fds = [int(n) for n in os.listdir("/proc/self/fd")]
    except OSError:
        return
    for fd in fds:
        if fd in keep or fd <= 2:
            continue
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                os.close(fd)
        except OSError:
            pass
