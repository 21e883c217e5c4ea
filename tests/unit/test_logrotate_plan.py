"""The logrotate_schedule planner and its prune job, on the lab fixture and synthetic cases."""

import copy
import importlib.machinery
import importlib.util
import json
import os
import time

import pytest
from conftest import ROOT

from ansible_collections.acceptq.remediation.plugins.module_utils.logrotate import model, plan

FIXTURE = ROOT / "tests" / "fixtures" / "logrotate" / "debian12-app-reload.json"
OPTIONS = {
    "pool": "web",
    "members": ["web1", "web2", "web3"],
    "window_start": "01:00",
    "window_end": "05:00",
    "seed": None,
    "prune": [],
    "prune_delay_minutes": 30,
    "prune_batch": 200,
    "prune_pause_ms": 200,
    "prune_replaces": [],
    "manage_signals": True,
}


def _section():
    return json.loads(FIXTURE.read_text())["logrotate"]


def _plan(section=None, options=None, disk=None, host="web1"):
    section = section or _section()
    return plan.plan(host, section, model.parse(section), dict(OPTIONS, **(options or {})), disk or {})


def test_slots_are_deterministic_unique_and_inside_the_window():
    members = ["web%d" % number for number in range(1, 41)]
    table = plan.slots(members, "01:00", "05:00", "web", prune_delay=30)
    minutes = [minute for minute, _prune in table.values()]
    prunes = [prune for _minute, prune in table.values()]
    assert all(60 <= minute < 300 for minute in minutes)
    assert len(set(minutes + prunes)) == 80  # no rotation or prune minute shared in the pool
    assert plan.slots(list(reversed(members)), "01:00", "05:00", "web", prune_delay=30) == table
    other = plan.slots(members, "01:00", "05:00", "api", prune_delay=30)
    assert other != table  # another pool's seed draws other minutes


def test_a_window_across_midnight_and_one_too_small():
    table = plan.slots(["a", "b", "c"], "23:30", "00:30", "web")
    assert all(minute >= 23 * 60 + 30 or minute < 30 for minute, _prune in table.values())
    with pytest.raises(plan.PlanError, match="has 2 minutes for 3 hosts"):
        plan.slots(["a", "b", "c"], "01:00", "01:02", "web")
    with pytest.raises(plan.PlanError, match="not a time of day"):
        plan.slots(["a"], "25:00", "01:00", "web")


def test_plan_on_the_lab_host_writes_the_dropin_and_takes_over_the_reloading_stanza():
    planned = _plan()
    assert planned["refused"] == [] and planned["daemon_reload"]
    files = dict((item["path"], item["content"]) for item in planned["files"])
    assert sorted(files) == [plan.STANZA, plan.DROPIN]
    dropin = files[plan.DROPIN]
    assert "OnCalendar=\nOnCalendar=*-*-* %s:00\nAccuracySec=1s\nRandomizedDelaySec=0\n" % planned["slot"] in dropin
    stanza = files[plan.STANZA]
    assert "# Takes over /etc/logrotate.d/app:1" in stanza
    assert "/var/log/app/*.log {\n\tignoreduplicates\n\tdaily\n\trotate 7\n" in stanza
    assert "\t\t/usr/lib/php/php8.2-fpm-reopenlogs\n" in stanza and "systemctl reload" not in stanza
    assert "\tsharedscripts\n" in stanza
    # Blocks that only send USR1 with sharedscripts (nginx, php8.2-fpm) are left to their package.
    assert "/var/log/nginx" not in stanza and "/var/log/php8.2-fpm.log" not in stanza


def test_the_managed_stanza_parses_and_wins_over_the_original():
    section = _section()
    planned = _plan(section)
    stanza = [item["content"] for item in planned["files"] if item["path"] == plan.STANZA][0]
    section["files"][plan.STANZA] = {"text": stanza, "error": None, "truncated": False}
    include = section["config"]["includes"][0]
    include["files"] = sorted(include["files"] + [plan.STANZA])
    parsed = model.parse(section)
    assert parsed["complete"], parsed["errors"]
    first = [block for block in parsed["blocks"] if "/var/log/app/*.log" in block["patterns"]][0]
    assert first["file"] == plan.STANZA and first["settings"]["sharedscripts"]
    assert [signal["action"] for signal in first["signals"]] == ["usr1"]
    # A second plan over the result writes nothing: idempotent.
    disk = dict((item["path"], item["content"]) for item in planned["files"])
    section["systemd"]["timers"][0]["DropInPaths"] = plan.DROPIN
    assert _plan(section, disk=disk)["files"] == []


def test_the_slot_does_not_depend_on_the_run_or_the_member_order():
    first = _plan(options={"members": ["web3", "web1", "web2"]})
    assert first["slot"] == _plan()["slot"]
    assert len(set(_plan(host=name)["slot"] for name in OPTIONS["members"])) == 3


def test_a_configuration_that_does_not_parse_in_full_is_refused():
    section = _section()
    section["files"]["/etc/logrotate.d/app"]["text"] += "/var/log/other.log {\n  daily\n"
    planned = _plan(section)
    assert planned["files"] == []
    assert planned["refused"][0]["file"] == "/etc/logrotate.d/app"
    assert "'}' missing" in planned["refused"][0]["message"]


def test_no_reopen_script_is_refused_naming_the_line():
    section = _section()
    section["reopen_scripts"] = []
    planned = _plan(section)
    assert [(entry["file"], entry["line"]) for entry in planned["refused"]] == [("/etc/logrotate.d/app", 1)]
    assert "/etc/logrotate.d/app:8" in planned["refused"][0]["message"]


def test_older_logrotate_is_edited_at_the_parsed_lines():
    section = _section()
    section["version"] = "3.18.0"
    disk = {"/etc/logrotate.d/app": section["files"]["/etc/logrotate.d/app"]["text"]}
    planned = _plan(section, disk=disk)
    edited = [item["content"] for item in planned["files"] if item["path"] == "/etc/logrotate.d/app"][0]
    lines = edited.split("\n")
    assert lines[1] == "\tsharedscripts"
    assert lines[8] == "\t\t/usr/lib/php/php8.2-fpm-reopenlogs"
    assert not any(item["path"] == plan.STANZA for item in planned["files"])


def test_without_systemd_a_cron_line_and_a_note_about_cron_daily():
    section = _section()
    section["service_manager"] = None
    section["cron"]["files"]["/etc/cron.daily/logrotate"] = {"text": "#!/bin/sh\n/usr/sbin/logrotate x\n"}
    planned = _plan(section)
    cron = [item["content"] for item in planned["files"] if item["path"] == plan.CRON_FILE][0]
    minute = plan.parse_hhmm(planned["slot"])
    assert "%d %d * * * root test -x /usr/sbin/logrotate" % (minute % 60, minute // 60) in cron
    assert "cron.daily" in planned["notes"][0]


def test_prune_job_units_config_and_replaced_cron_line():
    section = _section()
    disk = {"/etc/cron.d/app-cleanup": section["cron"]["files"]["/etc/cron.d/app-cleanup"]["text"]}
    options = {
        "prune": [{"path": "/var/log/app", "pattern": "app.log.*", "age_days": 7.0}],
        "prune_replaces": ["/etc/cron.d/app-cleanup", "/etc/cron.d/missing"],
    }
    planned = _plan(section, options, disk)
    files = dict((item["path"], item["content"]) for item in planned["files"])
    assert json.loads(files[plan.PRUNE_CONFIG])["targets"][0]["pattern"] == "app.log.*"
    assert "OnCalendar=*-*-* %s:00" % planned["prune_slot"] in files[plan.PRUNE_TIMER]
    assert "IOSchedulingClass" not in files[plan.PRUNE_SERVICE]  # the lab's overlay has no scheduler
    assert files["/etc/cron.d/app-cleanup"].startswith("# disabled by acceptq")
    assert planned["refused"] == [
        {"file": "/etc/cron.d/missing", "message": "listed in prune_replaces but cannot be read"}
    ]
    section["io"] = {"scheduler": "bfq"}
    planned = _plan(section, options, disk)
    assert "IOSchedulingClass=idle" in [i["content"] for i in planned["files"] if i["path"] == plan.PRUNE_SERVICE][0]


def _prune_module():
    path = str(ROOT / "roles" / "logrotate_schedule" / "files" / "acceptq_prune.py")
    loader = importlib.machinery.SourceFileLoader("acceptq_prune", path)
    spec = importlib.util.spec_from_loader("acceptq_prune", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_prune_script_deletes_only_old_matching_regular_files(tmp_path):
    prune = _prune_module()
    old = time.time() - 10 * 86400
    for name in ("app.log.1", "app.log.2.gz", "app.log", "other.1", "keep.log.1"):
        (tmp_path / name).write_text("x")
        os.utime(tmp_path / name, (old, old))
    os.utime(tmp_path / "keep.log.1", None)  # new: kept
    (tmp_path / "dir.log.1").mkdir()
    os.utime(tmp_path / "dir.log.1", (old, old))
    os.symlink("/etc/hostname", tmp_path / "link.log.1")
    config = {"targets": [{"path": str(tmp_path), "pattern": "*.log.*", "age_days": 7}], "batch": 1, "pause_ms": 0}
    assert prune.prune(copy.deepcopy(config), dry_run=True) == (2, 0)
    assert prune.prune(config) == (2, 0)
    assert sorted(os.listdir(tmp_path)) == ["app.log", "dir.log.1", "keep.log.1", "link.log.1", "other.1"]
    config_path = tmp_path / "bad.json"
    config_path.write_text("{")
    assert prune.main(["acceptq-prune", str(config_path)]) == 2
