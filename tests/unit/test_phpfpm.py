"""php-fpm -tt parsing on real captured output (Debian 12 php8.2-fpm), and the collector's failures."""

import socket
import sys

import pytest
from conftest import FIXTURES

from ansible_collections.acceptq.remediation.plugins.module_utils.backlog import collect as _phpfpm


def parse(name):
    return _phpfpm.parse_test_output((FIXTURES / "php-fpm" / ("%s.txt" % name)).read_text())


def test_stock_pool_has_the_modern_default_backlog():
    parsed = parse("tt-stock")
    assert parsed["ok"] and parsed["errors"] == []
    (pool,) = parsed["pools"]
    record = _phpfpm.pool_record("/usr/sbin/php-fpm8.2", pool)
    assert record["name"] == "www" and record["listen"] == "/run/php/php8.2-fpm.sock"
    assert record["listen_kind"] == "unix" and record["listen_backlog"] == -1
    assert record["settings"]["pm"] == "dynamic" and record["settings"]["pm.max_children"] == "5"
    assert parsed["global"]["error_log"] == "/var/log/php8.2-fpm.log"


def test_seed_pool_beside_the_stock_one():
    pools = {pool["name"]: _phpfpm.pool_record("b", pool) for pool in parse("tt-two-pools")["pools"]}
    assert pools["seed"]["listen"] == "127.0.0.1:9000" and pools["seed"]["listen_kind"] == "tcp"
    assert pools["seed"]["listen_backlog"] == 65535
    assert pools["seed"]["settings"]["pm.status_path"] == "/fpm-status"


def test_broken_pool_reports_file_and_line():
    parsed = parse("tt-broken")
    assert not parsed["ok"] and parsed["pools"] == []
    first = parsed["errors"][0]
    assert (first["file"], first["line"]) == ("/etc/php/8.2/fpm/pool.d/bad.conf", 4)
    assert "pm.max_children" in first["message"]


def test_collector_turns_failures_into_errors(tmp_path):
    broken = tmp_path / "php-fpm9.9"
    broken.write_text("#!/bin/sh\ncat %s\nexit 78\n" % (FIXTURES / "php-fpm" / "tt-broken.txt"))
    broken.chmod(0o755)
    context = {"errors": []}
    section = _phpfpm.collect_php_fpm(context, binaries=[str(tmp_path / "missing"), str(broken)])
    assert section["pools"] == [] and section["binaries"][0]["ok"] is False
    messages = [error["message"] for error in context["errors"]]
    assert any("No such file" in message for message in messages)
    assert any(message.startswith("/etc/php/8.2/fpm/pool.d/bad.conf:4: unable to parse") for message in messages)


def test_collector_times_out_cleanly(tmp_path):
    context = {"errors": []}
    _phpfpm.collect_php_fpm(context, binaries=[sys.executable], timeout=0.001)
    assert context["errors"] and "timed out" in context["errors"][0]["message"]


def test_helpers_are_not_taken_for_binaries(tmp_path):
    for name in ("php-fpm8.2", "php-fpm-socket-helper", "php-fpm"):
        (tmp_path / name).write_text("")
        (tmp_path / name).chmod(0o755)
    assert [path.rsplit("/", 1)[1] for path in _phpfpm.find_binaries([str(tmp_path), str(tmp_path / "none")])] == [
        "php-fpm",
        "php-fpm8.2",
    ]


# The status php8.2-fpm returned for the seed's TCP pool in the lab image (headers as php-fpm sends them).
STATUS_BODY = (
    b'{"pool":"seed","process manager":"static","start time":1795474090,"start since":1,"accepted conn":1,'
    b'"listen queue":0,"max listen queue":0,"listen queue len":4096,"idle processes":1,"active processes":1,'
    b'"total processes":2,"max active processes":1,"max children reached":3,"slow requests":0}'
)
STATUS_RESPONSE = (
    b"Expires: Thu, 01 Jan 1970 00:00:00 GMT\r\nCache-Control: no-cache, no-store, must-revalidate, max-age=0\r\n"
    b"Content-type: application/json\r\n\r\n" + STATUS_BODY
)


def test_status_response_parses():
    status = _phpfpm.parse_status_response(STATUS_RESPONSE)
    assert status["listen queue len"] == 4096 and status["max children reached"] == 3


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (b"Status: 404 Not Found\r\nContent-type: text/html\r\n\r\nFile not found.", "answered Status: 404"),
        (b"Content-type: text/html\r\n\r\n<html>pool www</html>", "not JSON"),
        (b'Content-type: application/json\r\n\r\n{"hello": 1}', "without the status fields"),
    ],
)
def test_bad_status_pages_are_errors(response, message):
    with pytest.raises(_phpfpm.StatusError, match=message):
        _phpfpm.parse_status_response(response)


def test_unreachable_status_page_is_an_error():
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    pool = {"listen": "127.0.0.1:%d" % port, "settings": {"pm.status_path": "/status"}}
    with pytest.raises(_phpfpm.StatusError, match="unreachable at"):
        _phpfpm.read_status(pool, timeout=1)


def test_status_page_that_hangs_up_is_an_error():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    pool = {"listen": "127.0.0.1:%d" % server.getsockname()[1], "settings": {"pm.status_path": "/status"}}
    import threading

    def hang_up():
        conn, _ = server.accept()
        conn.recv(4096)
        conn.sendall(b"garbage")
        conn.close()

    thread = threading.Thread(target=hang_up)
    thread.start()
    with pytest.raises(_phpfpm.StatusError, match="closed the connection"):
        _phpfpm.read_status(pool, timeout=2)
    thread.join()
    server.close()


@pytest.mark.parametrize(
    ("listen", "status_listen", "expected"),
    [
        ("9000", None, (socket.AF_INET, ("127.0.0.1", 9000))),
        ("0.0.0.0:9000", None, (socket.AF_INET, ("127.0.0.1", 9000))),
        ("[::1]:9001", None, (socket.AF_INET6, ("::1", 9001))),
        ("[::]:9001", None, (socket.AF_INET6, ("::1", 9001))),
        ("/run/php/php8.2-fpm.sock", None, (socket.AF_UNIX, "/run/php/php8.2-fpm.sock")),
        ("/run/php/php8.2-fpm.sock", "127.0.0.1:9100", (socket.AF_INET, ("127.0.0.1", 9100))),
    ],
)
def test_status_address_forms(listen, status_listen, expected):
    settings = {"pm.status_listen": status_listen} if status_listen else {}
    assert _phpfpm.status_address({"listen": listen, "settings": settings}) == expected


def test_max_children_finding():
    from ansible_collections.acceptq.remediation.plugins.module_utils.registry import run_checks

    pool = {
        "name": "seed",
        "binary": "/usr/sbin/php-fpm8.2",
        "listen": "127.0.0.1:9000",
        "settings": {"pm.max_children": "2"},
        "status": _phpfpm.parse_status_response(STATUS_RESPONSE),
    }
    (finding,) = run_checks("lab", {"errors": [], "php_fpm": {"pools": [pool]}})
    assert finding.id == "AQ-ROT-003" and "max children reached 3 times" in finding.observed


def test_the_running_masters_configuration_is_the_one_read(tmp_path):
    binary = tmp_path / "php-fpm8.2"
    binary.write_text("")
    other = tmp_path / "php-fpm7.4"
    other.write_text("")
    proc = tmp_path / "proc"
    for pid, exe, title in (
        ("812", binary, "php-fpm: master process (/etc/php/8.2/fpm/alt/php-fpm.conf)"),
        ("813", binary, "php-fpm: pool www"),
        ("900", other, "php-fpm: master process (/etc/php/7.4/fpm/php-fpm.conf)"),
    ):
        (proc / pid).mkdir(parents=True)
        (proc / pid / "cmdline").write_bytes(title.encode() + b"\0")
        (proc / pid / "exe").symlink_to(exe)
    assert _phpfpm.running_configs(str(proc), str(binary)) == ["/etc/php/8.2/fpm/alt/php-fpm.conf"]
    assert _phpfpm.running_configs(str(proc), str(other)) == ["/etc/php/7.4/fpm/php-fpm.conf"]
    assert _phpfpm.running_configs(str(tmp_path / "none"), str(binary)) == []
