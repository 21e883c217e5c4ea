"""Remediation under load: the live change and the drain fail no request; a plain restart does."""

import json
import re

import pytest
import testinfra

SOCKET = "/run/php/php8.2-fpm.sock"
BACKENDS = ("aq-rul-b1", "aq-rul-b2")


@pytest.fixture(scope="module")
def backends():
    return dict((name, testinfra.get_host("podman://%s" % name)) for name in BACKENDS)


def load(host, name):
    report = json.loads(host.file("/var/lib/aq/load-%s.json" % name).content_string)
    for target, counts in sorted(report["targets"].items()):
        print(
            "load %s, %s: %d sent over %ss at %s/s: %s"
            % (name, target, counts["sent"], report["seconds"], report["rate"], counts["outcomes"])
        )
    return report["targets"]


def failed(counts):
    return sum(number for outcome, number in counts["outcomes"].items() if not outcome.startswith("2"))


def configured_backlog(host, path):
    found = re.findall(r"(?m)^listen\.backlog = (\d+)$", host.file(path).content_string)
    assert len(found) == 1, "one listen.backlog line in %s" % path
    return int(found[0])


def test_the_converge_failed_no_request(host):
    targets = load(host, "converge")
    for target in ("live", "drain"):
        counts = targets[target]
        assert counts["sent"] > 100, "the load ran through the converge"
        assert failed(counts) == 0, "%s: %s" % (target, counts["failures"])


def test_the_live_change_kept_the_master_and_its_socket(host):
    sized = configured_backlog(host, "/etc/php/8.2/fpm/pool.d/www.conf")
    assert sized == 50
    before = host.file("/var/lib/aq/master-before").content_string.strip()
    after = host.file("/var/lib/aq/master-after").content_string.strip()
    assert before == after and before != "0", "php-fpm's master was not restarted"


def test_the_live_backlog_is_in_force(host):
    # After the plain restart below too: the file carries it.
    assert int(host.check_output("ss -Hlx src %s" % SOCKET).split()[3]) == 50


def test_each_backend_restarted_exactly_once_with_the_new_backlog(backends):
    for name, backend in backends.items():
        assert configured_backlog(backend, "/var/lib/aq/app.conf.after") == 50
        assert int(backend.file("/var/lib/aq/send-q-after").content_string) == 50, name
        before = int(backend.file("/var/lib/aq/starts-before").content_string)
        after = int(backend.file("/var/lib/aq/starts-after").content_string)
        assert after - before == 1, "%s started %d times" % (name, after - before)


def test_nothing_is_left_drained(host):
    assert host.file("/etc/nginx/sites-enabled/rul").content == host.file("/var/lib/aq/rul.orig").content
    assert "down" not in host.check_output("nginx -T 2>/dev/null | sed -n '/^upstream app/,/^}/p'")


def test_a_backend_that_never_drains_is_undrained_and_named(host, backends):
    message = backends["aq-rul-b1"].file("/var/lib/aq/drain-timeout.msg").content_string
    print("drain timeout: %s" % message.strip())
    assert "aq-rul-b1: pools app of php8.2-fpm" in message
    assert "9000 did not drain within 3s" in message
    assert "Every upstream server marked down was put back and nginx reloaded (aq-rul-front)" in message
    b1 = backends["aq-rul-b1"]
    # Not restarted: the old process keeps serving, with the old backlog.
    assert (
        b1.check_output("systemctl show -p MainPID --value php8.2-fpm")
        == b1.file("/var/lib/aq/master-after").content_string.strip()
    )
    assert int(b1.check_output("ss -Hltn sport = :9000").split()[2]) == 50


def test_a_restart_that_fails_puts_the_old_files_back_and_serves(host, backends):
    b2 = backends["aq-rul-b2"]
    message = b2.file("/var/lib/aq/restart-failure.msg").content_string
    print("restart failure: %s" % message.strip())
    assert "aq-rul-b2: pools app of php8.2-fpm: php8.2-fpm did not come back after its restart" in message
    assert "Its pool files were restored (/etc/php/8.2/fpm/pool.d/app.conf)" in message
    assert "it was started again on them and serves (the new backlog is not applied). Every upstream" in message
    assert "Every upstream server marked down was put back" in message
    assert b2.file("/etc/php/8.2/fpm/pool.d/app.conf").content == b2.file("/var/lib/aq/app.conf.after").content
    assert b2.service("php8.2-fpm").is_running
    assert int(b2.check_output("ss -Hltn sport = :9000").split()[2]) == 50


def test_the_plain_restart_fails_requests(host):
    counts = load(host, "restart")["live"]
    assert counts["sent"] > 30
    assert failed(counts) > 0, "a restart under load must fail requests, or this test could not fail"
