"""nginx_timeouts on the seed's vhosts: the 499 becomes a 504 nginx counts, vhost A serves its healthy pages,
and the files changed only on the planned lines."""

import difflib
import json
import os
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parents[1]
EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent"))
STATE = "/var/lib/acceptq-test"
# Findings of the role's concern that must be gone once it ran (AQ-NGINX-005, a single
# upstream server, stays: only a second server fixes it; AQ-NGINX-009 reads old log lines).
FIXED = {"AQ-NGINX-001", "AQ-NGINX-002", "AQ-NGINX-003", "AQ-NGINX-004", "AQ-NGINX-006"}
TIMEOUT_MESSAGE = "upstream timed out (110: Connection timed out) while reading response header from upstream"


@pytest.fixture(scope="module")
def before(host):
    return json.loads(host.file(STATE + "/before.json").content_string)


def lines(host, path):
    return host.file(path).content_string.splitlines()


def status(host, url):
    """HTTP status seen by a client that gives up after 2 s (curl exits 28 then)."""
    result = host.run("curl -s -o /dev/null -w '%%{http_code}' -m 2 %s", url)
    return result.rc, result.stdout


def changed_lines(host, name, path):
    diff = list(difflib.ndiff(lines(host, "%s/%s.prepared" % (STATE, name)), lines(host, path)))
    removed = [line[2:] for line in diff if line.startswith("- ")]
    added = [line[2:] for line in diff if line.startswith("+ ")]
    return removed, added


def test_before_the_client_left_first_and_nginx_logged_499(before):
    assert any('"GET /slow.php HTTP/1.1" 499 ' in line for line in before["vhost_b_slow_log"])
    assert before["vhost_a_medium_status"] == "504"  # 100 ms against a 300 ms page


def test_after_nginx_answers_504_before_the_client_gives_up(host):
    access, error = "/var/log/nginx/vhost-b.access.log", "/var/log/nginx/error.log"
    seen_access, seen_error = len(lines(host, access)), len(lines(host, error))
    assert status(host, "http://127.0.0.1:8082/slow.php") == (0, "504")
    new_access = lines(host, access)[seen_access:]
    assert any('"GET /slow.php HTTP/1.1" 504 504 ' in line for line in new_access), new_access
    assert not any('" 499 ' in line for line in new_access)
    new_errors = lines(host, error)[seen_error:]
    assert any(TIMEOUT_MESSAGE in line and "server: vhost-b" in line for line in new_errors), new_errors


def test_vhost_a_serves_its_healthy_pages(host):
    assert status(host, "http://127.0.0.1:8081/fast.php") == (0, "200")
    assert status(host, "http://127.0.0.1:8081/medium.php") == (0, "200")


def test_vhost_a_changed_only_on_the_planned_lines(host):
    removed, added = changed_lines(host, "vhost-a", "/etc/nginx/sites-enabled/vhost-a")
    assert removed == ["    listen 8081;", "        fastcgi_read_timeout 100ms;"]
    assert sorted(added) == [
        "        fastcgi_connect_timeout 500ms;",
        "        fastcgi_read_timeout 1500ms;",
        "        fastcgi_send_timeout 1500ms;",
        "    listen 8081 backlog=128;",
    ]


def test_vhost_b_got_timeouts_inside_its_location(host):
    removed, added = changed_lines(host, "vhost-b", "/etc/nginx/sites-enabled/vhost-b")
    assert removed == ["    listen 8082;"]
    assert sorted(added) == [
        "        fastcgi_connect_timeout 500ms;",
        "        fastcgi_read_timeout 1500ms;",
        "        fastcgi_send_timeout 1500ms;",
        "    listen 8082 backlog=128;",
    ]
    location = lines(host, "/etc/nginx/sites-enabled/vhost-b").index("    location ~ \\.php$ {")
    assert "timeout" in lines(host, "/etc/nginx/sites-enabled/vhost-b")[location + 1]


def test_upstream_ejects_after_one_timeout_for_ten_seconds(host):
    removed, added = changed_lines(host, "seed-upstream.conf", "/etc/nginx/conf.d/seed-upstream.conf")
    assert removed == ["    server 127.0.0.1:9000 max_fails=10 fail_timeout=5m;"]
    assert added == ["    server 127.0.0.1:9000 max_fails=1 fail_timeout=10s;"]


def test_enabled_sites_are_still_links(host):
    for name in ("vhost-a", "vhost-b"):
        assert host.file("/etc/nginx/sites-enabled/" + name).linked_to == "/etc/nginx/sites-available/" + name


def test_reloaded_not_restarted(host, before):
    assert host.file("/run/nginx.pid").content_string.strip() == str(before["nginx_master_pid"])
    workers = host.check_output("pgrep -d, -f '^nginx: worker'")
    assert set(workers.split(",")).isdisjoint(str(before["nginx_worker_pids"]).split(","))


def test_reload_applied_the_changed_listen_backlog(host):
    for port in (8081, 8082):
        fields = host.check_output("ss -Hltn sport = :%s", str(port)).split()
        assert int(fields[2]) == 128


def test_backups_hold_the_prepared_files(host):
    backups = host.check_output("find /var/backups/acceptq/nginx -type f").split()
    by_name = {path.rsplit("/", 1)[1]: path for path in backups}
    assert sorted(by_name) == ["default", "seed-upstream.conf", "vhost-a", "vhost-b"]
    for name, prepared in (("vhost-a", "vhost-a"), ("seed-upstream.conf", "seed-upstream.conf")):
        assert host.run("cmp %s %s/%s.prepared", by_name[name], STATE, prepared).rc == 0


def test_audit_finds_the_seed_before_and_nothing_of_it_after(acceptq_audit):
    before = json.loads((EPHEMERAL / "audit-before.json").read_text())["findings"]
    seen = {(finding["id"], tuple(finding["evidence"].get("server") or ())) for finding in before}
    assert ("AQ-NGINX-001", ("vhost-b",)) in seen  # 60 s default >= the client's 2 s
    assert ("AQ-NGINX-002", ("vhost-a",)) in seen  # 100 ms below the p99
    assert "AQ-NGINX-004" in {finding["id"] for finding in before}  # fail_timeout=5m
    after = acceptq_audit(SCENARIO)["findings"]
    assert not FIXED & {finding["id"] for finding in after}, [f["observed"] for f in after]
