"""logrotate_schedule on three hosts of one group: slots, stability, rotation under load, rollback."""

import hashlib
import json
import os
import pathlib
import re
import shutil
import subprocess

import pytest
import testinfra

HOSTS = ("acceptq-lr-1", "acceptq-lr-2", "acceptq-lr-3")
EPHEMERAL = pathlib.Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "."))
SCENARIO = pathlib.Path(__file__).resolve().parent.parent


def _host(name):
    return testinfra.get_host("podman://%s" % name)


def _next_elapse(name):
    out = _host(name).check_output("systemctl show logrotate.timer -p NextElapseUSecRealtime --value")
    match = re.search(r"(\d\d):(\d\d):00", out)
    assert match, out
    return int(match.group(1)) * 60 + int(match.group(2))


def test_before_the_fleet_rotated_in_one_minute_and_a_postrotate_reloaded_php_fpm():
    report = json.loads((EPHEMERAL / "audit-before.json").read_text())
    findings = report["findings"]
    fleet = [f for f in findings if f["id"] == "AQ-LOGROTATE-015"]
    assert fleet and sorted(fleet[0]["evidence"]["hosts"]) == list(HOSTS), fleet
    assert fleet[0]["evidence"]["minute"] == 0 and fleet[0]["evidence"]["capacity_share"] == 1.0
    reloads = [f for f in findings if f["id"] == "AQ-LOGROTATE-003"]
    assert sorted(f["host"] for f in reloads) == list(HOSTS)
    assert reloads[0]["observed"].startswith("/etc/logrotate.d/app:9 (postrotate of /var/log/app/*.log)")


def test_each_host_has_its_own_slot_in_the_window_stable_across_daemon_reload():
    slots = dict((name, _next_elapse(name)) for name in HOSTS)
    assert all(60 <= minute < 300 for minute in slots.values()), slots
    assert len(set(slots.values())) == 3, slots
    for name in HOSTS:
        _host(name).check_output("systemctl daemon-reload")
    assert slots == dict((name, _next_elapse(name)) for name in HOSTS)


def test_prune_job_replaces_the_find_delete_line_and_keeps_the_cron_file():
    host = _host(HOSTS[0])
    cron = host.file("/etc/cron.d/app-cleanup").content_string
    assert cron.startswith("# disabled by acceptq") and "find /var/log/app" in cron
    assert host.service("acceptq-prune.timer").is_enabled
    out = host.check_output("systemctl show acceptq-prune.timer -p NextElapseUSecRealtime --value")
    assert re.search(r"\d\d:\d\d:00", out)


def test_the_managed_stanza_sorts_first_and_logrotate_d_prints_no_error():
    host = _host(HOSTS[0])
    stanza = host.file("/etc/logrotate.d/00-acceptq").content_string
    assert "ignoreduplicates" in stanza and "sharedscripts" in stanza
    assert "/usr/lib/php/php8.2-fpm-reopenlogs" in stanza and "systemctl reload" not in stanza
    debug = host.run("logrotate -d /etc/logrotate.conf")
    assert debug.rc == 0 and not re.search(r"(?m)^error:", debug.stdout + debug.stderr), debug.stderr


def _workers(host):
    return set(host.check_output("pgrep -d ' ' -f '^php-fpm: pool'").split())


def _rotate_under_load(host, command):
    pid = host.check_output("cat /run/php/php8.2-fpm.pid")
    workers = _workers(host)
    out = host.check_output("python3 /usr/local/bin/rotload.py --rate 20 --duration 8 --during %s" % command)
    return pid, dict(json.loads(out), workers_before=sorted(workers), workers_after=sorted(_workers(host)))


@pytest.mark.parametrize("phase", ["before", "after"])
def test_forced_rotation_under_load(phase):
    host = _host(HOSTS[1])
    host.check_output("echo line >> /var/log/app/app.log")
    # before: the application's own stanza, as it was (reload in postrotate).
    config = "/etc/logrotate.d/app" if phase == "before" else "/etc/logrotate.conf"
    pid, result = _rotate_under_load(host, "'logrotate -f %s'" % config)
    failed = dict((key, count) for key, count in result["outcomes"].items() if not key.endswith(" 200"))
    # The figures, for the record (docs and the report): the ephemeral directory outlives verify.
    (EPHEMERAL / ("rotation-under-load-%s.json" % phase)).write_text(json.dumps(dict(result, pid=pid)) + "\n")
    if phase == "before":
        assert failed, result  # in-flight requests killed by the reload
        assert not set(result["workers_before"]) & set(result["workers_after"]), result  # every worker killed
    else:
        assert not failed, result
        assert host.check_output("cat /run/php/php8.2-fpm.pid") == pid
        # nginx and php-fpm write to the new files: no open log is a rotated copy or a deleted file.
        pids = host.check_output("pgrep -d ' ' -f '^(nginx|php-fpm: master)'").split()
        links = host.check_output("ls -l %s" % " ".join("/proc/%s/fd" % pid for pid in pids))
        stale = [line for line in links.splitlines() if re.search(r"-> /var/log/\S*(\.log\.\d|\(deleted\))", line)]
        assert not stale, stale
        assert host.file("/var/log/nginx/access.log").size > 0


def test_a_configuration_broken_between_plan_and_validation_is_restored_byte_for_byte():
    host = _host(HOSTS[2])
    paths = ["/etc/logrotate.d/00-acceptq", "/etc/systemd/system/logrotate.timer.d/acceptq-slot.conf"]
    before = dict((path, hashlib.sha256(host.file(path).content).hexdigest()) for path in paths)
    pid = host.check_output("cat /run/php/php8.2-fpm.pid")
    playbook = SCENARIO / "rollback.yml"
    project = pathlib.Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", SCENARIO.parent.parent))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(project / ".ansible" / "collections"))
    playbook_binary = shutil.which("ansible-playbook") or str(project / ".venv" / "bin" / "ansible-playbook")
    inventory = str(SCENARIO / "inventory" / "hosts.yml")
    run = subprocess.run(
        [playbook_binary, "-i", inventory, "-l", HOSTS[2], str(playbook)], capture_output=True, text=True, env=env
    )
    assert run.returncode != 0 and "logrotate -d" in run.stdout, run.stdout[-3000:]
    after = dict((path, hashlib.sha256(host.file(path).content).hexdigest()) for path in paths)
    assert after == before
    assert host.check_output("cat /run/php/php8.2-fpm.pid") == pid
    host.check_output("rm -f /etc/logrotate.d/zz-broken")
