import pytest

from ansible_collections.acceptq.remediation.plugins.module_utils.registry import run_checks

FIXTURES = "tests/fixtures/nginx/"
LOG_LINE = '127.0.0.1 [24/Nov/2026:10:00:00 +0000] "GET /slow.php HTTP/1.1" {status} {upstream} 2.001 -'


def evidence(stdout=None, logs=None, pools=None):
    if stdout is None:
        with open(FIXTURES + "seed-dump.txt") as handle:
            stdout = handle.read()
    return {
        "nginx": {
            "binary": "/usr/sbin/nginx",
            "conf_path": "/etc/nginx/nginx.conf",
            "dump": {"returncode": 0, "stdout": stdout, "stderr": ""},
            "cpu_count": 2,
            "worker_count": 2,
            "logs": logs or {},
        },
        "php_fpm": {"pools": pools or []},
    }


def by_id(findings, finding_id):
    return [finding for finding in findings if finding.id == finding_id]


@pytest.fixture(scope="module")
def seed_findings():
    pools = [
        {
            "name": "seed",
            "binary": "/usr/sbin/php-fpm8.2",
            "listen": "127.0.0.1:9000",
            "settings": {"pm.max_children": "8"},
        }
    ]
    return run_checks("web1", evidence(pools=pools), {}, {"client_timeout_s": 2})


def test_the_seed_vhost_b_default_timeout_outlasts_the_client(seed_findings):
    leaves_first = by_id(seed_findings, "AQ-NGINX-001")
    observed = [finding.observed for finding in leaves_first]
    assert any(
        "vhost-b" in text and "fastcgi_read_timeout 60s (nginx's default) >= client timeout 2s" in text
        for text in observed
    )
    assert any("proxy_read_timeout 90s (/etc/nginx/sites-enabled/seed:36)" in text for text in observed)
    assert all("1500ms" in finding.fix or "1500ms" in finding.fix for finding in leaves_first)
    assert not any("vhost-a" in text and "read_timeout" in text for text in observed)


def test_the_seed_vhost_a_100ms_fails_healthy_requests(seed_findings):
    (below,) = by_id(seed_findings, "AQ-NGINX-002")
    assert "fastcgi_read_timeout 100ms (/etc/nginx/sites-enabled/seed:14) < expected p99 1s (assumed" in below.observed
    assert below.evidence["assumed"] == ["p99_s"]


def test_the_seed_upstream_fail_timeout_and_single_server(seed_findings):
    (long_timeout,) = by_id(seed_findings, "AQ-NGINX-004")
    assert "upstream php_backend server 127.0.0.1:9000 (/etc/nginx/sites-enabled/seed:3): fail_timeout=300s" in (
        long_timeout.observed
    )
    (single,) = by_id(seed_findings, "AQ-NGINX-005")
    assert "has one server" in single.observed


def test_next_upstream_off(seed_findings):
    (off,) = by_id(seed_findings, "AQ-NGINX-006")
    assert "fastcgi_next_upstream off (/etc/nginx/sites-enabled/seed:31)" in off.observed


def test_keepalive_pins_workers(seed_findings):
    (pins,) = by_id(seed_findings, "AQ-NGINX-007")
    assert "keepalive 16 (/etc/nginx/sites-enabled/seed:4) x 2 nginx workers = 32" in pins.observed
    assert ">= pm.max_children 8 of pool seed" in pins.observed


def test_combined_log_format_is_blind(seed_findings):
    blind = by_id(seed_findings, "AQ-NGINX-008")
    assert [finding.evidence["path"] for finding in blind] == ["/var/log/nginx/access.log"]
    assert blind[0].evidence["missing"] == ["$upstream_status", "$request_time", "$upstream_response_time"]


def test_499_share_from_the_access_log():
    lines = [LOG_LINE.format(status=200, upstream=200)] * 90 + [LOG_LINE.format(status=499, upstream="-")] * 10
    logs = {"/var/log/nginx/vhost-a.log": {"lines": lines + ["garbage"], "error": None}}
    (aborts,) = by_id(run_checks("web1", evidence(logs=logs)), "AQ-NGINX-009")
    assert "10 of the last 100 requests were 499 (10.0%)" in aborts.observed
    assert aborts.evidence["unparsed_lines"] == 1


def test_few_lines_are_not_judged():
    logs = {"/var/log/nginx/vhost-a.log": {"lines": [LOG_LINE.format(status=499, upstream="-")] * 5, "error": None}}
    assert by_id(run_checks("web1", evidence(logs=logs)), "AQ-NGINX-009") == []


def test_max_fails_zero_and_good_config_is_quiet():
    dump = (
        "# configuration file /etc/nginx/nginx.conf:\nworker_processes 1;\nhttp {\n"
        " log_format t '$status $upstream_status $request_time $upstream_response_time';\n"
        " access_log /var/log/nginx/a.log t;\n"
        " upstream pool { server 10.0.0.1:9000 max_fails=0; server 10.0.0.2:9000; }\n"
        " server {\n  listen 80;\n  location / {\n   fastcgi_read_timeout 30s;\n   fastcgi_send_timeout 30s;\n"
        "   fastcgi_connect_timeout 500ms;\n   fastcgi_pass pool;\n  }\n }\n}\n"
    )
    findings = run_checks("web1", evidence(dump), {}, {"client_timeout_s": 60})
    assert [finding.id for finding in findings] == ["AQ-NGINX-003"]
    assert "upstream pool server 10.0.0.1:9000 (/etc/nginx/nginx.conf:5): max_fails=0" in findings[0].observed


def test_parse_errors_are_findings_and_the_rest_is_audited():
    dump = (
        "# configuration file /etc/nginx/nginx.conf:\nhttp {\n include /etc/nginx/sites/*;\n}\n"
        "# configuration file /etc/nginx/sites/broken:\nserver {\n listen 80;\n location / {\n}\n"
        "# configuration file /etc/nginx/sites/good:\nserver {\n listen 81;\n"
        " location / { fastcgi_pass 127.0.0.1:9000; }\n}\n"
    )
    findings = run_checks("web1", evidence(dump), {}, {"client_timeout_s": 2})
    (unreadable,) = by_id(findings, "AQ-NGINX-010")
    assert unreadable.observed.startswith("/etc/nginx/sites/broken:")
    assert by_id(findings, "AQ-NGINX-001")


def test_no_nginx_no_findings():
    assert run_checks("web1", {"nginx": {"binary": None}}) == []


def test_findings_about_a_location_name_its_server_and_location(seed_findings):
    """Reports and scenarios read evidence.server and evidence.location of the (first) place."""
    leaves_first = [finding for finding in by_id(seed_findings, "AQ-NGINX-001") if "vhost-b" in finding.observed]
    assert ("vhost-b",) in [tuple(finding.evidence["server"]) for finding in leaves_first]
    assert all(finding.evidence["location"] for finding in leaves_first)
