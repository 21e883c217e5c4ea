"""php_flock_logging on a real nginx + php8.2-fpm app: the audit saw the herd, the codemod removed the
safe locks, refused the rotating one, and requests no longer queue behind a held lock."""

import json
import os
import re
from pathlib import Path

import pytest

EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent"))
STATE = "/var/lib/acceptq-test"
URL = "http://127.0.0.1:8090/index.php"
LINE = re.compile(r"^req=\S+ pid=\d+ uri=\S+ pad=x{300} end$")


@pytest.fixture(scope="module")
def before(host):
    return json.loads(host.file(STATE + "/before.json").content_string)


@pytest.fixture(scope="module")
def audit():
    return json.loads((EPHEMERAL / "audit-before.json").read_text())


@pytest.fixture(scope="module")
def plan(host):
    return json.loads(host.file(STATE + "/plan.json").content_string)


def burst(host, hold, count):
    result = host.run("aq-burst /var/log/app/app.log %s %s %s", str(hold), str(count), URL)
    assert result.rc == 0, result.stderr
    return json.loads(result.stdout)


def test_before_the_fix_requests_during_a_held_lock_failed(before):
    # The same burst as below, before the codemod: nginx gave up after 3 s (504) or the client did.
    statuses = [item["status"] for item in before["burst"]]
    assert statuses and all(status in (504, "timeout") for status in statuses), statuses


def test_audit_reported_each_static_finding_with_file_and_line(audit):
    by_id = {}
    for finding in audit["findings"]:
        by_id.setdefault(finding["id"], []).append(finding["observed"])
    assert any(text.startswith("src/RequestLog.php:5:") for text in by_id["AQ-FLOCK-002"])
    assert any(text.startswith("src/bootstrap.php:8:") for text in by_id["AQ-FLOCK-003"])
    assert any(text.startswith("src/Rotating.php:6:") for text in by_id["AQ-FLOCK-001"])


def test_audit_runtime_finding_names_the_waiting_workers_and_the_code(audit):
    (runtime,) = [f["observed"] for f in audit["findings"] if f["id"] == "AQ-FLOCK-006"]
    assert re.search(r"\d+ php-fpm8\.2 worker\(s\) wait on /var/log/app/app\.log", runtime), runtime
    assert "written under LOCK_EX (path passed at public/index.php:6) by src/RequestLog.php:5" in runtime


def test_requests_during_a_held_lock_answer_in_their_normal_time(host):
    host.run("truncate -s 0 /var/log/app/app.log")
    results = burst(host, 5, 6) + burst(host, 0, 20)
    assert [item["status"] for item in results] == [200] * 26
    assert max(item["elapsed"] for item in results) < 2.0, results  # the hold is 5 s
    lines = host.file("/var/log/app/app.log").content_string.splitlines()
    assert len(lines) == 26  # one complete line per request, none lost or interleaved
    assert all(LINE.match(line) for line in lines), [line for line in lines if not LINE.match(line)][:3]


def test_edits_are_the_planned_ones_and_php_accepts_them(host, plan):
    assert sorted(plan["files"]) == ["/srv/app/src/RequestLog.php", "/srv/app/src/bootstrap.php"]
    request_log = host.file("/srv/app/src/RequestLog.php").content_string
    assert "FILE_APPEND);" in request_log and "LOCK_EX" not in request_log
    assert "null, false);" in host.file("/srv/app/src/bootstrap.php").content_string
    for path in plan["files"]:
        result = host.run("php -l %s", path)
        assert result.rc == 0 and "No syntax errors" in result.stdout


def test_the_rotating_logger_is_refused_and_byte_identical(host, plan):
    assert any(
        entry.startswith("/srv/app/src/Rotating.php:6: the lock also guards a rotation (rename)")
        for entry in plan["refused"]
    ), plan["refused"]
    assert host.run("cmp %s/app.prepared/src/Rotating.php /srv/app/src/Rotating.php", STATE).rc == 0


def test_backups_of_the_edited_files(host):
    found = host.run("find /var/backups/acceptq/php_flock_logging -name RequestLog.php -type f")
    assert found.rc == 0 and found.stdout.strip()
