"""queue_facts: the fact and acceptq.prom report the real queue conditions we build."""

import json
import shlex
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

LISTENER_PORT, BACKLOG, FLOOD = 9200, 8, 20
CLOSE_WAIT_PORT, CLOSE_WAIT = 9201, 4
LOCK_PATH, WAITERS = "/var/log/aq-test.log", 3
PROM = "/var/lib/prometheus/node-exporter/acceptq.prom"
STATE = "/var/lib/acceptq/fact-state.json"


def ss_listener(host, port):
    fields = host.check_output("ss -Hltn sport = :%d" % port).split()
    return int(fields[1]), int(fields[2])


@pytest.fixture(scope="module")
def conditions(host):
    """A full listener, CLOSE_WAIT sockets, and a lock with blocked waiters."""
    units = {
        "aq-full": "/usr/local/bin/aq-listener 127.0.0.1 %d %d" % (LISTENER_PORT, BACKLOG),
        "aq-flood": "/usr/local/bin/aq-flood 127.0.0.1 %d %d" % (LISTENER_PORT, FLOOD),
        "aq-closewait": "/usr/local/bin/aq-closewait %d %d" % (CLOSE_WAIT_PORT, CLOSE_WAIT),
        "aq-lock-holder": "/usr/local/bin/aq-lock %s" % LOCK_PATH,
    }
    for number in range(WAITERS):
        units["aq-lock-waiter-%d" % number] = "/usr/local/bin/aq-lock %s" % LOCK_PATH
    for unit, command in units.items():
        host.check_output("systemd-run --unit %s %s" % (unit, command))
        if unit in ("aq-full", "aq-lock-holder"):
            time.sleep(0.5)  # the listener must exist before the flood, the holder before the waiters
    for _ in range(50):
        if ss_listener(host, LISTENER_PORT)[0] > BACKLOG and host.run(
            "grep -c -- '->' /proc/locks"
        ).stdout.strip() == str(WAITERS):
            break
        time.sleep(0.2)
    yield
    host.run("systemctl stop %s" % " ".join(units))


def fact(host):
    return json.loads(host.check_output("/etc/ansible/facts.d/acceptq.fact"))


def test_fact_reports_the_full_listener(host, conditions):
    (listener,) = [item for item in fact(host)["listeners"] if item["local"] == "127.0.0.1:%d" % LISTENER_PORT]
    assert (listener["queue_depth"], listener["queue_limit"]) == (BACKLOG + 1, BACKLOG)
    assert listener["process"] == "aq-listener" or listener["process"].startswith("python")
    assert listener["queue_ratio"] == round((BACKLOG + 1) / BACKLOG, 3)


def test_fact_reports_close_wait_and_flock_waiters(host, conditions):
    document = fact(host)
    assert document["connections_by_port"][str(CLOSE_WAIT_PORT)] == {"CLOSE_WAIT": CLOSE_WAIT}
    (locked,) = [item for item in document["flock"]["files"] if item["path"] == LOCK_PATH]
    assert locked["waiters"] == WAITERS
    assert sum(locked["waiters_by_process"].values()) == WAITERS
    assert document["errors"] == []


def test_fact_counts_ports_its_last_run_did_not_see(host, conditions):
    # The last run's ports start the connection dump; a port new since is counted apart.
    fact(host)
    state = json.loads(host.file(STATE).content_string)
    assert CLOSE_WAIT_PORT in state["listened_ports"]
    state["listened_ports"] = [LISTENER_PORT]
    host.check_output("printf '%%s' %s > %s" % (shlex.quote(json.dumps(state)), STATE))
    document = fact(host)
    assert document["connections_by_port"][str(CLOSE_WAIT_PORT)] == {"CLOSE_WAIT": CLOSE_WAIT}
    assert document["errors"] == []
    assert CLOSE_WAIT_PORT in json.loads(host.file(STATE).content_string)["listened_ports"]


def test_fact_reports_php_fpm_pool_and_status(host):
    (pool,) = [item for item in fact(host)["php_fpm_pools"] if item["name"] == "www"]
    assert pool["binary"] == "/usr/sbin/php-fpm8.2"
    assert (pool["listen"], pool["listen_kind"], pool["listen_backlog"]) == ("/run/php/php8.2-fpm.sock", "unix", -1)
    status = pool["status"]
    assert status["pool"] == "www" and status["accepted conn"] >= 1
    # php-fpm's own counter reads 0 for unix pools; the listener's Recv-Q is the truthful depth.
    assert status["listen queue len"] == 0
    (listener,) = [item for item in fact(host)["listeners"] if item["local"] == "/run/php/php8.2-fpm.sock"]
    assert listener["queue_limit"] == 4096  # listen.backlog -1, capped at somaxconn


def test_second_run_gives_rates(host, conditions):
    fact(host)
    time.sleep(2)
    document = fact(host)
    assert 1.5 <= document["rate_interval_s"] <= 10
    overflows = document["counters"]["ListenOverflows"]
    assert overflows["delta"] > 0 and overflows["rate_per_s"] > 0  # the flood keeps overflowing the full queue


def test_textfile_reports_the_same_numbers_and_parses(host, conditions):
    host.check_output("/usr/local/sbin/acceptq-textfile")
    time.sleep(1)
    host.check_output("/usr/local/sbin/acceptq-textfile")
    families = {f.name: f for f in text_string_to_metric_families(host.file(PROM).content_string)}

    def value(name, **labels):
        matches = [s.value for s in families[name].samples if all(s.labels.get(k) == v for k, v in labels.items())]
        assert len(matches) == 1, (name, labels, families[name].samples)
        return matches[0]

    local = "127.0.0.1:%d" % LISTENER_PORT
    assert value("acceptq_listen_queue_depth", listener=local) == BACKLOG + 1
    assert value("acceptq_listen_queue_limit", listener=local) == BACKLOG
    assert value("acceptq_tcp_connections", port=str(CLOSE_WAIT_PORT), state="CLOSE_WAIT") == CLOSE_WAIT
    assert value("acceptq_flock_waiters_by_file", path=LOCK_PATH) == WAITERS
    assert value("acceptq_counter_rate_per_second", counter="ListenOverflows") > 0
    assert host.file(PROM).mode == 0o644


def test_timer_is_active_and_no_temp_files_are_left(host):
    assert host.service("acceptq-textfile.timer").is_enabled
    assert host.service("acceptq-textfile.timer").is_running
    leftovers = host.check_output("find /var/lib/prometheus/node-exporter -name '.acceptq.prom.*'")
    assert leftovers == ""
