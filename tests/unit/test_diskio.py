"""diskio's test hook (REDISLITE_TEST_DISK_FAULT) and the fork children's socket clean-up."""

import errno
import os
import socket
import subprocess
import sys

from redislite.persistence import diskio


def test_control_file_fault(tmp_path):
    ctl = tmp_path / "fault"
    check = diskio.control_file_fault(str(ctl))
    assert check("write", "/x") is None                    # no file: no fault
    ctl.write_text("")
    assert check("write", "/x") is None
    ctl.write_text("ENOSPC\n")
    e = check("write", "/x")
    assert e.errno == errno.ENOSPC and e.strerror == os.strerror(errno.ENOSPC) and e.filename == "/x"
    assert check("rename", "/x").errno == errno.ENOSPC     # no op named: every op
    ctl.write_text("EIO fsync")
    assert check("write", "/x") is None
    assert check("fsync", "/x").errno == errno.EIO
    ctl.write_text("NOSUCHERRNO write")
    assert check("write", "/x").errno == errno.EIO


def test_the_hook_is_read_from_the_environment_at_import_only(tmp_path):
    ctl = tmp_path / "fault"
    ctl.write_text("ENOSPC write")
    code = ("import os, sys; from redislite.persistence import diskio\n"
            "try:\n"
            "    diskio.write_all(os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT), b'x')\n"
            "    print('wrote')\n"
            "except OSError as e:\n"
            "    print(e.errno)\n")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=root)
    env.pop("REDISLITE_TEST_DISK_FAULT", None)
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "f")], env=env,
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == ["wrote"]
    env["REDISLITE_TEST_DISK_FAULT"] = str(ctl)
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "f")], env=env,
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == [str(errno.ENOSPC)]


def test_a_forked_child_closes_inherited_sockets_but_the_kept_ones():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    kept = socket.socket()
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:                                       # the child
        code = 1
        try:
            diskio.close_sockets_after_fork(keep=(kept.fileno(),))
            alive = []
            for fd in (listener.fileno(), kept.fileno(), wfd):
                try:
                    os.fstat(fd)
                    alive.append(b"1")
                except OSError:
                    alive.append(b"0")
            os.write(wfd, b"".join(alive))
            code = 0
        finally:
            os._exit(code)
    os.close(wfd)
    got = os.read(rfd, 16)
    os.close(rfd)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert got == b"011"                               # listener closed; kept socket and pipe open
    # the parent's copies are untouched: the port still accepts
    c = socket.create_connection(listener.getsockname(), 2)
    c.close()
    listener.close()
    kept.close()
