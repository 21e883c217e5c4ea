"""php_fpm_backlog: each pool's listener takes the backlog sized from the declared workload."""

import json
import math
import os
from pathlib import Path

import pytest
import yaml

SCENARIO = Path(__file__).resolve().parents[1]
EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent"))
HOST_VARS = SCENARIO / "inventory" / "host_vars" / "acceptq-php-fpm-backlog.yml"
SOCKET = "/run/php/php8.2-fpm.sock"
# nginx_timeouts sets 75 % of the client timeout on every location passing to a pool; the sizing takes
# that target, whatever the location has now (seed: 1s, www: the 60 s default).
UPSTREAM_SHARE = 0.75
DEFAULT_QUEUE_WAIT_S = 0.25


def sized(pool):
    """The rule of docs/sizing.md, recomputed by hand from the declared inputs."""
    workload = yaml.safe_load(HOST_VARS.read_text())["acceptq_workload"]
    declared = workload["pools"][pool]
    client = declared.get("client_timeout_s", workload["client_timeout_s"])
    service = declared.get("service_time_s", workload["service_time_s"])
    queue_wait = declared.get("queue_wait_s", workload.get("queue_wait_s", DEFAULT_QUEUE_WAIT_S))
    wait = min(min(UPSTREAM_SHARE * workload["client_timeout_s"], client) - service, queue_wait)
    return max(workload["backlog_floor"], math.ceil(round(declared["peak_qps"] * wait, 9)))


def test_the_expected_sizes_are_the_documented_ones():
    assert (sized("seed"), sized("www")) == (50, 86)


def tcp_send_q(host, port):
    fields = host.check_output("ss -Hltn sport = :%d" % port).split()
    return int(fields[2])


def unix_send_q(host, path):
    for line in host.check_output("ss -Hlx").splitlines():
        fields = line.split()
        if path in fields:
            state = fields.index("LISTEN")
            return int(fields[state + 2])
    raise AssertionError("no unix listener on %s" % path)


def test_seed_tcp_pool_listener_has_its_sized_backlog(host):
    assert tcp_send_q(host, 9000) == sized("seed")


def test_stock_unix_pool_listener_has_its_sized_backlog(host):
    assert unix_send_q(host, SOCKET) == sized("www")


def test_backlog_set_once_in_each_pools_own_file(host):
    seed = host.file("/etc/php/8.2/fpm/pool.d/seed.conf").content_string.splitlines()
    assert [line for line in seed if line.startswith("listen.backlog")] == ["listen.backlog = %d" % sized("seed")]
    www = host.file("/etc/php/8.2/fpm/pool.d/www.conf").content_string.splitlines()
    set_lines = [number for number, line in enumerate(www) if line.startswith("listen.backlog")]
    assert len(set_lines) == 1 and www[set_lines[0]] == "listen.backlog = %d" % sized("www")
    # inserted inside [www], right after its listen line
    assert www[set_lines[0] - 1] == "listen = %s" % SOCKET
    other = host.check_output("grep -rl '^listen.backlog' /etc/php/8.2/fpm/ || true").split()
    assert sorted(other) == ["/etc/php/8.2/fpm/pool.d/seed.conf", "/etc/php/8.2/fpm/pool.d/www.conf"]


def test_the_originals_were_backed_up_outside_php_fpms_includes(host):
    backups = host.check_output("find /var/backups/acceptq/php-fpm -name seed.conf").split()
    assert len(backups) == 1
    assert "listen.backlog = 65535" in host.file(backups[0]).content_string


@pytest.mark.parametrize(("port", "pool"), [(8081, "seed"), (8082, "www")])
def test_a_php_page_through_nginx_answers_200(host, port, pool):
    out = host.check_output("curl -s -o /dev/stdout -w ' %%{http_code}' http://127.0.0.1:%d/index.php" % port)
    assert out.endswith(" 200") and ("served by %s" % pool) in out


def backlog_ids(report):
    return sorted(finding["id"] for finding in report["findings"] if finding["id"].startswith("AQ-BACKLOG"))


def test_audit_reports_backlog_findings_before_and_none_after(acceptq_audit):
    before = json.loads((EPHEMERAL / "audit-before.json").read_text())
    deep = [finding for finding in before["findings"] if finding["id"] == "AQ-BACKLOG-001"]
    assert {finding["evidence"]["pool"] for finding in deep} == {"seed", "www"}, before["findings"]
    assert {finding["evidence"]["sized"] for finding in deep} == {sized("seed"), sized("www")}

    # Debian's process_control_timeout = 0: every reload kills the requests in flight.
    assert "AQ-BACKLOG-006" in backlog_ids(before)

    after = acceptq_audit(SCENARIO)
    assert after["hosts"]["acceptq-php-fpm-backlog"]["status"] == "ok"
    # The backlogs were applied live (no restart), so the process_control_timeout the role set is in the
    # file but not yet in the running master: said at info until php-fpm restarts, nothing else.
    assert backlog_ids(after) in ([], ["AQ-BACKLOG-006"]), after["findings"]
    for finding in after["findings"]:
        if finding["id"] == "AQ-BACKLOG-006":
            assert finding["severity"] == "info" and "changed after php-fpm last read it" in finding["observed"]
