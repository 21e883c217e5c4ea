"""php-fpm -tt parsing on real captured output (Debian 12 php8.2-fpm), and the collector's failures."""

import sys

from conftest import FIXTURES

from ansible_collections.acceptq.remediation.plugins.module_utils import _phpfpm


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
    assert [path.rsplit("/", 1)[1] for path in _phpfpm.find_binaries([str(tmp_path / "php-fpm*")])] == [
        "php-fpm",
        "php-fpm8.2",
    ]
