"""The live backlog change and the idle wait, on real sockets held by a real child process.

The child stands in for php-fpm's master: it listens and never accepts, so
connections made here stay queued. The module itself is run as Ansible runs
it (a JSON args file), with and without CAP_SYS_PTRACE.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest
from conftest import ROOT

from ansible_collections.acceptq.remediation.plugins.module_utils.backlog import live as _live

HOLDER = """
import socket, sys, time
unix = socket.socket(socket.AF_UNIX)
unix.bind(sys.argv[1])
unix.listen(64)
tcp = socket.socket()
tcp.bind(("127.0.0.1", 0))
tcp.listen(5)
print(tcp.getsockname()[1], flush=True)
time.sleep(60)
"""

needs_pidfd = pytest.mark.skipif(
    not sys.platform.startswith("linux") or tuple(int(x) for x in os.uname().release.split(".")[:2]) < (5, 6),
    reason="pidfd_getfd needs Linux >= 5.6",
)
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="taking another process's fd needs CAP_SYS_PTRACE")


@pytest.fixture
def holder(tmp_path):
    path = str(tmp_path / "pool.sock")
    child = subprocess.Popen([sys.executable, "-c", HOLDER, path], stdout=subprocess.PIPE, text=True)
    port = int(child.stdout.readline())
    yield {"unix": path, "tcp": "127.0.0.1:%d" % port, "pid": child.pid}
    child.kill()
    child.wait()


def send_q(listen):
    return _live.find_listener(listen)["send_q"]


@needs_pidfd
@needs_root
def test_unix_listener_gets_the_new_backlog_with_its_queue_intact(holder):
    queued = [socket.socket(socket.AF_UNIX) for _ in range(3)]
    for client in queued:
        client.connect(holder["unix"])
    result = _live.apply(holder["unix"], 256)
    assert result["pid"] == holder["pid"] and result["changed"]
    assert (result["send_q_before"], result["send_q"]) == (64, 256)
    after = _live.find_listener(holder["unix"])
    assert after["inode"] == result["inode"] and after["recv_q"] == 3  # same socket, nothing dropped
    for client in queued:
        client.close()


@needs_pidfd
@needs_root
def test_tcp_listener_and_idempotence(holder):
    assert _live.apply(holder["tcp"], 100)["send_q"] == 100
    again = _live.apply(holder["tcp"], 100)
    assert not again["changed"] and again["send_q_before"] == 100


@needs_pidfd
@needs_root
def test_check_mode_touches_nothing(holder):
    result = _live.apply(holder["unix"], 300, check_mode=True)
    assert result["changed"] and send_q(holder["unix"]) == 64


@needs_pidfd
@needs_root
def test_backlog_above_somaxconn_is_cut_as_the_kernel_cuts_it(holder):
    limit = _live.somaxconn()
    result = _live.apply(holder["unix"], limit + 1000)
    assert result["send_q"] == limit


@needs_pidfd
@needs_root
def test_a_stale_owner_hint_is_looked_up_again(holder):
    result = _live.apply(holder["unix"], 128, owner=[1, 999])
    assert result["pid"] == holder["pid"] and result["send_q"] == 128


def test_nothing_listening_names_the_address(tmp_path):
    with pytest.raises(_live.ListenerMissing, match="nothing listens on .*none.sock"):
        _live.apply(str(tmp_path / "none.sock"), 10)


@pytest.mark.parametrize("listen", ["", "host:port", "unix:"])
def test_unreadable_listen_values_are_refused(listen):
    with pytest.raises(ValueError):
        _live.parse_listen(listen) if listen != "unix:" else _live.apply(listen, 0)


@pytest.mark.parametrize(
    "listen, expected",
    [
        ("/run/php/php8.2-fpm.sock", ("unix", "/run/php/php8.2-fpm.sock")),
        ("unix:/run/x.sock", ("unix", "/run/x.sock")),
        ("9000", ("tcp", "*", 9000)),
        ("127.0.0.1:9000", ("tcp", "127.0.0.1", 9000)),
        ("[::]:9001", ("tcp", "*", 9001)),
        ("0.0.0.0:9002", ("tcp", "*", 9002)),
    ],
)
def test_listen_values(listen, expected):
    assert _live.parse_listen(listen) == expected


def test_wait_idle_sees_queued_connections_then_silence(holder):
    client = socket.socket()
    host, port = holder["tcp"].split(":")
    client.connect((host, int(port)))
    busy = _live.wait_idle(holder["tcp"], timeout=0.3, settle=0.1)
    assert not busy["idle"] and busy["queue_depth"] == 1 and busy["connections"] >= 1
    client.close()
    # The closed connection still sits in the queue until accepted: never idle without an accept.
    assert not _live.wait_idle(holder["tcp"], timeout=0.3, settle=0.1)["idle"]


def test_wait_idle_on_an_untouched_listener(holder):
    started = time.monotonic()
    result = _live.wait_idle(holder["unix"], timeout=5, settle=0.2)
    assert result["idle"] and result["connections"] == 0 and time.monotonic() - started < 2


def test_master_is_the_holder_whose_parent_does_not_hold(tmp_path):
    proc = tmp_path / "proc"
    for pid, ppid in ((100, 1), (101, 100), (102, 100)):
        (proc / str(pid)).mkdir(parents=True)
        (proc / str(pid) / "stat").write_text("%d (php-fpm: pool (x)) S %d 0 0\n" % (pid, ppid))
    assert _live.master_of({101: 7, 100: 5, 102: 7}, str(proc)) == (100, 5)
    assert _live.master_of({}, str(proc)) is None


def run_module(args, wrapper=()):
    """The module as Ansible runs it: python module.py args.json, with the collection importable."""
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "listen_backlog_args_%d.json" % os.getpid())
    with open(path, "w") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    env = dict(os.environ, PYTHONPATH=str(ROOT / ".ansible" / "collections"))
    done = subprocess.run(
        list(wrapper) + [sys.executable, str(ROOT / "plugins" / "modules" / "listen_backlog.py"), path],
        capture_output=True,
        text=True,
        env=env,
    )
    os.unlink(path)
    assert "Traceback" not in done.stderr, done.stderr
    return json.loads(done.stdout)


@needs_pidfd
@needs_root
def test_module_applies_and_reports(holder):
    result = run_module({"listen": holder["unix"], "backlog": 200})
    assert result["applied"] and result["changed"] and result["send_q"] == 200 and result["reason"] == ""


@needs_pidfd
@needs_root
@pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv (util-linux) drops the capability")
def test_module_without_cap_sys_ptrace_says_why_and_does_not_fail(holder):
    result = run_module(
        {"listen": holder["unix"], "backlog": 200},
        wrapper=("setpriv", "--bounding-set", "-sys_ptrace", "--inh-caps", "-sys_ptrace"),
    )
    assert not result.get("failed") and not result["applied"] and not result["changed"]
    assert "CAP_SYS_PTRACE" in result["reason"]
    assert send_q(holder["unix"]) == 64


def test_module_fails_clearly_when_a_drain_never_finishes(holder):
    client = socket.socket(socket.AF_UNIX)
    client.connect(holder["unix"])
    result = run_module({"listen": holder["unix"], "wait_idle_timeout": 0.3, "idle_settle_s": 0.1})
    assert result["failed"] and not result["idle"]
    assert result["msg"].startswith(holder["unix"] + " did not drain within 0.3s: 1 connection(s) still queued")
    client.close()


def test_module_names_a_missing_listener(tmp_path):
    result = run_module({"listen": str(tmp_path / "gone.sock"), "backlog": 10})
    assert result["failed"] and "nothing listens on" in result["msg"]


def fastcgi_responder(tmp_path, answer):
    """A one-shot FastCGI server on a unix socket: reads the request, sends ``answer`` records, closes."""
    import struct
    import threading

    path = str(tmp_path / "fcgi.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(1)

    def serve():
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            for record_type, content in answer:
                conn.sendall(struct.pack("!BBHHBx", 1, record_type, 1, len(content), 0) + content)
        server.close()

    threading.Thread(target=serve, daemon=True).start()
    return path


def test_probe_reads_the_status_line_of_a_real_fastcgi_answer(tmp_path):
    stdout = b"Status: 404 Not Found\r\nContent-type: text/html\r\n\r\nFile not found.\n"
    path = fastcgi_responder(tmp_path, [(6, stdout), (3, b"\0" * 8)])
    assert _live.probe(path) == "Status: 404 Not Found"


def test_probe_fails_when_the_pool_closes_without_answering(tmp_path):
    path = fastcgi_responder(tmp_path, [])
    with pytest.raises(ValueError, match="closed before the end"):
        _live.probe(path)
    with pytest.raises(OSError):
        _live.probe(str(tmp_path / "nothing.sock"))


def test_a_pool_that_does_not_answer_its_status_page_is_never_taken_as_drained(holder):
    # The holder never accepts: the status request waits in its queue and is never answered, so
    # nothing says no request is in flight (the drain scenario reads a real php-fpm status page).
    result = _live.wait_idle(holder["unix"], timeout=3, settle=0.2, status_path="/fpm-status")
    assert not result["idle"] and result["in_flight"] is None
