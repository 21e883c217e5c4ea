"""audit_schedule on a control node: the timer fires a real audit, a run
while another holds the lock is skipped, the history stays bounded, and the
textfile metrics parse with prometheus_client and tell the truth."""

import json
import shlex
import time

from prometheus_client.parser import text_string_to_metric_families

PROM = "/var/lib/prometheus/node-exporter/acceptq_audit.prom"
HISTORY = "/var/lib/acceptq/history"
LOCK = "/run/lock/acceptq-audit.lock"
SCRIPT = "/usr/local/sbin/acceptq-scheduled-audit /etc/acceptq/audit-schedule.json"


def metrics(host):
    families = text_string_to_metric_families(host.file(PROM).content_string)
    return {family.name: family.samples for family in families}


def reports(host):
    return sorted(host.check_output("ls -1 %s | grep '^audit-.*json$' || true" % HISTORY).split())


def wait_idle(host, timeout=180):
    deadline = time.time() + timeout
    while host.run("flock -n %s true" % LOCK).rc != 0:
        assert time.time() < deadline, "a run still holds the lock"
        time.sleep(0.5)


def quiet(host):
    """No timer run from here on: the runs below must not be skipped for overlap."""
    host.check_output("systemctl stop acceptq-audit.timer")
    wait_idle(host)


def test_the_timer_fires_a_real_audit(host):
    timer = host.run("systemctl show acceptq-audit.timer -p ActiveState -p UnitFileState")
    assert "ActiveState=active" in timer.stdout and "UnitFileState=enabled" in timer.stdout
    deadline = time.time() + 90
    while time.time() < deadline:
        runs = host.run(
            "journalctl -u acceptq-audit.service -o cat --no-pager | grep -c 'running /usr/local/bin/acceptq'"
        )
        if runs.stdout.strip() not in ("", "0") and host.file(PROM).exists:
            break
        time.sleep(2)
    else:
        raise AssertionError("the timer never ran the audit:\n" + host.run("systemctl status acceptq-audit.*").stdout)
    wait_idle(host)
    samples = metrics(host)
    assert samples["acceptq_last_run_success"][0].value == 1.0
    assert abs(samples["acceptq_last_run_timestamp_seconds"][0].value - time.time()) < 120
    latest = json.loads(host.file(HISTORY + "/latest.json").content_string)
    assert latest["complete"] is True and latest["hosts"]["localhost"]["status"] == "ok"
    exported = {(s.labels["id"], s.labels["host"]) for s in samples.get("acceptq_findings", [])}
    assert exported == {(f["id"], f["host"]) for f in latest["findings"]}
    for sample in samples.get("acceptq_findings", []):
        assert set(sample.labels) == {"id", "severity", "host"}


def test_a_run_while_another_runs_is_skipped(host):
    quiet(host)  # the timer was proven above; from here on the runs are started by hand
    host.check_output("systemctl start --no-block acceptq-audit.service")
    deadline = time.time() + 30
    while host.run("flock -n %s true" % LOCK).rc == 0:  # until the first run holds the lock
        assert time.time() < deadline, "the service never took the lock"
        time.sleep(0.1)
    second = host.run(SCRIPT)
    assert second.rc == 0
    assert "still holds %s: this run is skipped" % LOCK in second.stderr
    wait_idle(host)
    samples = metrics(host)
    skipped = samples["acceptq_last_skipped_timestamp_seconds"][0].value
    assert abs(skipped - time.time()) < 60
    assert samples["acceptq_last_run_success"][0].value == 1.0


def test_history_is_bounded(host):
    quiet(host)
    # The timer's run and the overlap test's made two already: a third must prune the oldest.
    before = reports(host)
    assert len(before) == 2
    run = host.run(SCRIPT)
    assert run.rc == 0, run.stderr
    after = reports(host)
    assert len(after) == 2 and before[0] not in after and before[1] in after  # audit_schedule_history_keep
    logs = host.check_output("ls -1 %s | grep -c '^audit-.*log$'" % HISTORY)
    assert int(logs) == 2


def test_a_failed_run_says_so_and_keeps_the_last_findings(host):
    quiet(host)
    before = metrics(host)
    config = json.loads(host.file("/etc/acceptq/audit-schedule.json").content_string)
    broken = dict(config, inventory="/etc/acceptq/missing-inventory.yml")
    host.check_output("printf '%%s' %s > /tmp/broken.json" % shlex.quote(json.dumps(broken)))
    failed = host.run("/usr/local/sbin/acceptq-scheduled-audit /tmp/broken.json")
    assert failed.rc == 1
    after = metrics(host)
    assert after["acceptq_last_run_success"][0].value == 0.0
    assert after["acceptq_last_run_exit_code"][0].value == 2.0
    # The findings of the last complete audit stay, with the time they were seen.
    assert after.get("acceptq_findings") == before.get("acceptq_findings")
    assert (
        after["acceptq_last_success_timestamp_seconds"][0].value
        == before["acceptq_last_success_timestamp_seconds"][0].value
    )
    # The next good run restores the truth.
    assert host.run(SCRIPT).rc == 0
    assert metrics(host)["acceptq_last_run_success"][0].value == 1.0
