"""kernel_queues: the settings, the file, and their observable effect."""

import json
import os
import time
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parents[1]
ROOT = SCENARIO.parents[1]
EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent"))
QUEUE_IDS = {"AQ-KERNEL-001", "AQ-KERNEL-002", "AQ-KERNEL-003", "AQ-KERNEL-004"}
SEED_LISTENERS = {"0.0.0.0:80", "127.0.0.1:9100"}


def listener(host, port):
    """(Recv-Q, Send-Q) of the TCP listener on a port, as ss shows it."""
    fields = host.check_output("ss -Hltn sport = :%d" % port).split()
    return int(fields[1]), int(fields[2])


def ids(report):
    return {finding["id"] for finding in report["findings"]}


def capped_listeners(report):
    return {f["evidence"]["listener"] for f in report["findings"] if f["id"] == "AQ-KERNEL-001"}


def test_sysctls_applied(host):
    assert host.sysctl("net.core.somaxconn") == 4096
    assert host.sysctl("net.ipv4.tcp_max_syn_backlog") == 4096
    assert host.sysctl("net.ipv4.tcp_syncookies") == 1


def test_sysctl_file_holds_sorted_settings(host):
    conf = host.file("/etc/sysctl.d/60-acceptq-queues.conf")
    assert conf.mode == 0o644 and conf.user == "root"
    settings = [line for line in conf.content_string.splitlines() if line and not line.startswith("#")]
    assert settings == [
        "net.core.somaxconn=4096",
        "net.ipv4.tcp_max_syn_backlog=4096",
        "net.ipv4.tcp_syncookies=1",
    ]
    assert "Ansible managed" in conf.content_string


def test_settings_survive_a_reload_of_sysctl_d(host):
    # The seed's own file (10-seed.conf) sorts first; ours must win.
    host.check_output("sysctl --system")
    assert host.sysctl("net.core.somaxconn") == 4096


def test_nginx_restarted_by_the_role_takes_its_own_backlog(host):
    assert listener(host, 80)[1] == 511  # nginx's default, no longer cut to 16


@pytest.fixture(scope="module")
def recreated_listener(host):
    host.check_output("systemctl restart aq-listener")
    for _ in range(50):
        depth, limit = listener(host, 9100)
        if depth >= 30:  # the flood has reconnected
            break
        time.sleep(0.2)
    return listener(host, 9100)


def test_recreated_listener_shows_the_new_cap(recreated_listener):
    depth, limit = recreated_listener
    assert limit == 64  # what it asks for, no longer cut to 16
    assert depth < limit


def test_audit_reports_overflow_before_and_not_after(recreated_listener, acceptq_audit):
    before = json.loads((EPHEMERAL / "audit-before.json").read_text())
    assert ids(before) >= QUEUE_IDS, before["findings"]
    assert capped_listeners(before) >= SEED_LISTENERS

    after = acceptq_audit(SCENARIO)
    assert not {"AQ-KERNEL-002", "AQ-KERNEL-003", "AQ-KERNEL-004"} & ids(after), after["findings"]
    # php8.2-fpm's stock pool (listen.backlog -1) is still capped: the backlog role's concern.
    assert not SEED_LISTENERS & capped_listeners(after)
    assert after["hosts"]["acceptq-kernel-queues"]["status"] == "ok"
