"""The logrotate concern: the host collector, the parser, the host and fleet rules.

The fixture debian12-app-reload.json was gathered by collect_logrotate in the
lab image (Debian 12, logrotate 3.21.0, stock timer) with an application
stanza that reloads php-fpm, 30 rotated copies and a find -delete cron line.
"""

import json
import os

import pytest
from conftest import ROOT

from ansible_collections.acceptq.remediation.plugins.module_utils.core.fleet import Fleet, HostView
from ansible_collections.acceptq.remediation.plugins.module_utils.logrotate import collect, model, rules

FIXTURE = ROOT / "tests" / "fixtures" / "logrotate" / "debian12-app-reload.json"
POLICY = {
    "logrotate_delete_files_max": 1000,
    "logrotate_delete_bytes_max": 1 << 30,
    "logrotate_copytruncate_bytes_max": 256 << 20,
    "logrotate_stale_grace_days": 1,
    "logrotate_peak_hours": ["07:00-23:00"],
}


def _evidence():
    return {"logrotate": json.loads(FIXTURE.read_text())["logrotate"]}


def _section(files, main="/etc/logrotate.conf", includes=(), live=(), rotated=(), **extra):
    section = {
        "now": 1796194523,
        "binary": "/usr/sbin/logrotate",
        "version": "3.21.0",
        "service_manager": None,
        "systemd": None,
        "cron": {"files": {}},
        "config": {"main": main, "order": list(files), "includes": list(includes)},
        "files": dict((path, {"text": text, "error": None, "truncated": False}) for path, text in files.items()),
        "logs": {"live": list(live), "rotated": list(rotated), "totals": {}},
        "state": None,
        "io": {},
        "machine_id_sha256": None,
    }
    section.update(extra)
    return section


def _ids(findings):
    return sorted(finding.id for finding in findings)


def _run_all(evidence, policy=POLICY):
    found = []
    for check in rules.CHECKS:
        found.extend(check("web1", evidence, dict(policy)))
    return found


# -- the parser


def test_stock_debian_configuration_parses_complete_with_file_and_line():
    parsed = model.parse(_evidence()["logrotate"])
    assert parsed["complete"], parsed["errors"]
    app = [block for block in parsed["blocks"] if block["file"] == "/etc/logrotate.d/app"][0]
    assert app["line"] == 1 and app["settings"]["rotate"] == 7 and app["settings"]["maxage"] == 14
    assert app["signals"] == [
        {
            "line": 8,
            "daemon": "php-fpm",
            "action": "reload",
            "command": "systemctl reload php8.2-fpm",
            "script": "postrotate",
        }
    ]
    fpm = [block for block in parsed["blocks"] if block["file"] == "/etc/logrotate.d/php8.2-fpm"][0]
    # The packaged stanza's "[ -x ...reopenlogs ]" test runs nothing; the next line sends USR1.
    assert [(signal["line"], signal["action"]) for signal in fpm["signals"]] == [(10, "usr1")]
    nginx = [block for block in parsed["blocks"] if block["file"] == "/etc/logrotate.d/nginx"][0]
    assert nginx["settings"]["sharedscripts"] and nginx["signals"][0]["action"] == "usr1"
    # Globals before the include reach the blocks it reads: weekly, rotate 4, create.
    wtmp = [block for block in parsed["blocks"] if block["file"] == "/etc/logrotate.d/wtmp"][0]
    assert wtmp["settings"]["frequency"] == "monthly" and wtmp["settings"]["create"]


def test_what_logrotate_d_accepts_silently_is_an_error_with_file_and_line():
    text = "/var/log/a.log {\n  daily\n  bogus 3\n  postrotate\n    kill -USR1 1\n"
    parsed = model.parse(_section({"/etc/logrotate.conf": text}))
    assert not parsed["complete"]
    messages = [(error["line"], error["accepted"], error["message"].split(" ")[0]) for error in parsed["errors"]]
    assert (3, True, "unknown") in messages
    assert (4, True, "script") in messages  # endscript missing
    assert (1, True, "block") in messages  # '}' missing


def test_duplicate_log_entries_and_ignoreduplicates():
    files = {
        "/etc/logrotate.conf": "include /etc/logrotate.d\n",
        "/etc/logrotate.d/00-acceptq": "/var/log/app/*.log {\n  ignoreduplicates\n}\n",
        "/etc/logrotate.d/app": "/var/log/app/*.log {\n  daily\n}\n",
        "/etc/logrotate.d/zz": "/var/log/app/x.log {\n  daily\n}\n",
    }
    include = {
        "file": "/etc/logrotate.conf",
        "line": 1,
        "target": "/etc/logrotate.d",
        "kind": "directory",
        "files": sorted(files)[1:],
        "skipped": [],
    }
    live = [{"path": "/var/log/app/x.log", "size": 1, "mtime": 0}]
    parsed = model.parse(_section(files, includes=[include], live=live))
    assert parsed["complete"], parsed["errors"]
    files["/etc/logrotate.d/00-acceptq"] = "/var/log/app/*.log {\n  daily\n}\n"
    parsed = model.parse(_section(files, includes=[include], live=live))
    duplicates = [error for error in parsed["errors"] if "duplicate" in error["message"]]
    assert [(error["file"], error["line"]) for error in duplicates] == [
        ("/etc/logrotate.d/app", 1),
        ("/etc/logrotate.d/zz", 1),
    ]
    assert "/etc/logrotate.d/00-acceptq:1" in duplicates[0]["message"]


def test_missing_include_unreadable_file_and_include_loop_are_errors_never_tracebacks():
    include = {"file": "/etc/logrotate.conf", "line": 2, "target": "/nope", "kind": "missing", "files": []}
    loop = {
        "file": "/etc/b",
        "line": 1,
        "target": "/etc/logrotate.conf",
        "kind": "file",
        "files": ["/etc/logrotate.conf"],
    }
    to_b = {"file": "/etc/logrotate.conf", "line": 3, "target": "/etc/b", "kind": "file", "files": ["/etc/b"]}
    files = {
        "/etc/logrotate.conf": "weekly\ninclude /nope\ninclude /etc/b\n",
        "/etc/b": "include /etc/logrotate.conf\n",
    }
    parsed = model.parse(_section(files, includes=[include, loop, to_b]))
    messages = " | ".join("%s:%s %s" % (e["file"], e["line"], e["message"]) for e in parsed["errors"])
    assert "/etc/logrotate.conf:2 include /nope: no such file" in messages
    assert "included from itself" in messages
    section = _section({})
    section["files"]["/etc/logrotate.conf"] = {"text": None, "error": "Permission denied", "truncated": False}
    assert "Permission denied" in model.parse(section)["errors"][0]["message"]


@pytest.mark.parametrize(
    "text",
    [
        "}\n",
        '"/var/log/unterminated {\n',
        "rotate many\n",
        "size 10Q\n",
        "/var/log/a.log\n",
        "endscript\n",
        "/var/log/a.log {\n include /etc/x\n}\n",
        "{\n}\n",
        "\x00\xff garbage \x01\n" * 3,
    ],
)
def test_unparseable_input_is_reported_not_raised(text):
    parsed = model.parse(_section({"/etc/logrotate.conf": text}))
    assert parsed["errors"] and all(error["line"] for error in parsed["errors"])
    assert not parsed["complete"]


def test_huge_configuration_parses_in_bounded_time():
    text = "".join("/var/log/app%d.log {\n  daily\n  rotate 3\n}\n" % number for number in range(20000))
    parsed = model.parse(_section({"/etc/logrotate.conf": text}))
    assert parsed["complete"] and len(parsed["blocks"]) == 20000


def test_script_actions_classify_reload_restart_and_usr1():
    lines = list(
        enumerate(
            [
                "systemctl reload php8.2-fpm",
                "service nginx restart",
                "/etc/init.d/php7.4-fpm reload > /dev/null",
                "invoke-rc.d nginx rotate >/dev/null 2>&1",
                "kill -USR2 `cat /run/php/php8.2-fpm.pid`",
                "kill -USR1 $(cat /run/nginx.pid)",
                "nginx -s reload",
                "[ ! -f /run/nginx.pid ] || kill -HUP $(cat /run/nginx.pid)",
                "# systemctl restart nginx",
            ],
            1,
        )
    )
    found = [(action["line"], action["daemon"], action["action"]) for action in model.script_actions(lines)]
    assert found == [
        (1, "php-fpm", "reload"),
        (2, "nginx", "restart"),
        (3, "php-fpm", "reload"),
        (4, "nginx", "usr1"),
        (5, "php-fpm", "reload"),
        (6, "nginx", "usr1"),
        (7, "nginx", "reload"),
        (8, "nginx", "reload"),
    ]


def test_cron_parsing_names_bad_lines():
    jobs, errors = model.parse_cron(
        "/etc/cron.d/x",
        "SHELL=/bin/sh\n30 0 * * * root find /var/log/app -delete\n@daily root rm -f /tmp/x\n61 x\n@often root a\n",
    )
    assert [(job["line"], job["minute"], job["hour"]) for job in jobs] == [(2, "30", "0"), (3, "0", "0")]
    assert [(error["line"], error["message"].split(":")[0]) for error in errors] == [
        (4, "not a cron line"),
        (5, "unknown schedule '@often'"),
    ]


def test_state_file_and_timespans():
    entries, errors = model.parse_state('logrotate state -- version 2\n"/var/log/a" 2026-12-1-0:0:5\nbroken\n')
    assert entries == {"/var/log/a": 1796083205} and errors[0]["line"] == 3
    assert model.parse_timespan("1h") == 3600 and model.parse_timespan("1min 30s") == 90
    assert model.parse_timespan("0") == 0 and model.elapse_minute("Thu 2026-12-03 02:17:00 UTC") == 137


# -- the host collector's own parts


def test_collector_follows_includes_and_skips_taboo_names(tmp_path):
    drop = tmp_path / "d"
    drop.mkdir()
    (drop / "app").write_text("/var/log/app.log {\n  daily\n}\n")
    (drop / "app.dpkg-old").write_text("junk\n")
    (drop / "app~").write_text("junk\n")
    (drop / ".hidden").write_text("/var/log/h.log {\n}\n")
    main = tmp_path / "logrotate.conf"
    main.write_text("weekly\ninclude %s\ninclude %s/missing\n" % (drop, tmp_path))
    reader = collect._Reader([], "logrotate")
    config = collect.collect_config(reader, str(main))
    assert config["order"] == [str(main), str(drop / ".hidden"), str(drop / "app")]
    assert config["includes"][0]["skipped"] == ["app.dpkg-old", "app~"]
    assert config["includes"][1]["kind"] == "missing"
    assert collect.log_patterns((drop / "app").read_text()) == ["/var/log/app.log"]


def test_collector_lists_rotated_copies(tmp_path):
    (tmp_path / "a.log").write_text("x")
    for name in ("a.log.1", "a.log.2.gz", "a.log-20261201.gz", "b.txt"):
        (tmp_path / name).write_text("xx")
    listed = collect.list_logs([str(tmp_path / "*.log")])
    assert [os.path.basename(record["path"]) for record in listed["live"]] == ["a.log"]
    assert sorted(os.path.basename(record["path"]) for record in listed["rotated"]) == [
        "a.log-20261201.gz",
        "a.log.1",
        "a.log.2.gz",
    ]
    assert listed["totals"]["rotated_bytes"] == 6


def test_collector_without_systemd_cron_or_logrotate_returns_evidence(monkeypatch):
    monkeypatch.setattr(collect, "BINARY_CANDIDATES", ())
    monkeypatch.setattr(collect.shutil, "which", lambda name: None)
    monkeypatch.setattr(collect, "DEFAULT_CONF", "/nonexistent/logrotate.conf")
    monkeypatch.setattr(collect, "CRON_PATHS", ())
    monkeypatch.setattr(collect, "CRON_DIRS", ())
    context = {"errors": [], "proc_root": "/proc"}
    section = collect.collect_logrotate(context)
    assert section["binary"] is None and section["config"] is None and section["systemd"] is None
    assert _run_all({"logrotate": section}) == []


# -- host rules


def test_incident_host_gets_schedule_reload_deletion_and_copytruncate_findings():
    evidence = _evidence()
    evidence["php_fpm"] = {
        "binaries": [{"global": {"process_control_timeout": "0"}}],
        "pools": [{"name": "www", "settings": {"access.log": "/var/log/fpm-access.log", "pm.max_children": "5"}}],
    }
    policy = dict(POLICY, logrotate_delete_files_max=10, logrotate_copytruncate_bytes_max=1)
    found = _run_all(evidence, policy)
    ids = _ids(found)
    for expected in ("001", "003", "004", "005", "006", "008", "009", "010"):
        assert "AQ-LOGROTATE-%s" % expected in ids, (expected, found)
    fixed = [finding for finding in found if finding.id == "AQ-LOGROTATE-001"][0]
    assert "00:00" in fixed.observed and "AccuracySec=3600s coalesces" in fixed.observed
    reload = [finding for finding in found if finding.id == "AQ-LOGROTATE-003"][0]
    assert reload.observed.startswith("/etc/logrotate.d/app:8 (postrotate of /var/log/app/*.log)")
    deletion = [finding for finding in found if finding.id == "AQ-LOGROTATE-005"][0]
    assert "deletes 24 rotated file(s)" in deletion.observed  # 30 copies, rotate 7: all but 6 go
    job = [finding for finding in found if finding.id == "AQ-LOGROTATE-006"][0]
    assert job.observed.startswith("/etc/cron.d/app-cleanup:1 (30 0 * * *)") and job.severity == "warning"


def test_stock_host_with_default_policy_has_only_the_schedule_finding():
    evidence = _evidence()
    section = evidence["logrotate"]
    section["files"] = dict(
        (path, record) for path, record in section["files"].items() if path != "/etc/logrotate.d/app"
    )
    section["config"]["includes"][0]["files"].remove("/etc/logrotate.d/app")
    section["cron"]["files"].pop("/etc/cron.d/app-cleanup")
    assert _ids(_run_all(evidence)) == ["AQ-LOGROTATE-001"]


def test_random_delay_without_fixed_and_io_priority_under_mq_deadline():
    evidence = _evidence()
    timer = rules._timer(evidence["logrotate"])
    timer.update(RandomizedDelayUSec="1h", FixedRandomDelay="no")
    evidence["logrotate"]["io"] = {"path": "/var/log", "device": "254:1", "block": "vda", "scheduler": "mq-deadline"}
    services = evidence["logrotate"]["systemd"]["services"]
    [service for service in services if service["Id"] == "logrotate.service"][0]["IOSchedulingClass"] = "3"
    ids = _ids(_run_all(evidence))
    assert "AQ-LOGROTATE-002" in ids and "AQ-LOGROTATE-001" not in ids and "AQ-LOGROTATE-007" in ids


def test_no_schedule_and_stale_state():
    section = _section({"/etc/logrotate.conf": "/var/log/a.log {\n  daily\n}\n"})
    section["logs"]["live"] = [{"path": "/var/log/a.log", "size": 10, "mtime": 0}]
    section["state"] = {"path": "/var/lib/logrotate/status", "text": '"/var/log/a.log" 2026-11-1-0:0:0\n'}
    section["cron"]["files"] = {"/etc/cron.d/bad": {"text": "* * root\n"}}
    found = _run_all({"logrotate": section})
    assert _ids(found) == ["AQ-LOGROTATE-012", "AQ-LOGROTATE-013", "AQ-LOGROTATE-014"]
    stale = [finding for finding in found if finding.id == "AQ-LOGROTATE-012"][0]
    assert stale.observed.startswith("/etc/logrotate.conf:1 (daily): /var/log/a.log last rotated")


def test_cron_schedule_and_deletion_in_peak_hours():
    section = _section({"/etc/logrotate.conf": "/var/log/a.log {\n  daily\n}\n"})
    section["cron"]["files"] = {
        "/etc/cron.d/rot": {"text": "15 3 * * * root /usr/sbin/logrotate /etc/logrotate.conf\n"},
        "/etc/cron.d/clean": {"text": "15 3 * * * root find /var/log -name '*.gz' -delete\n"},
        "/etc/cron.d/day": {"text": "0 12 * * * root rm -rf /var/tmp/cache\n"},
        "/etc/cron.d/nice": {"text": "0 12 * * * root ionice -c3 find /x -delete\n"},
    }
    found = _run_all({"logrotate": section})
    jobs = sorted((finding.observed.split(" ")[0], finding.severity) for finding in found if finding.id.endswith("006"))
    assert jobs == [("/etc/cron.d/clean:1", "error"), ("/etc/cron.d/day:1", "error")]
    # An admin's own cron time is left to the fleet rule; the packaged midnight is not.
    assert "AQ-LOGROTATE-001" not in _ids(found) and rules.schedule(section)["minute"] == 195
    section["cron"]["files"]["/etc/cron.d/rot"]["text"] = "0 0 * * * root /usr/sbin/logrotate /etc/logrotate.conf\n"
    assert (
        "cron 0 0 * * * at 00:00" in [f for f in _run_all({"logrotate": section}) if f.id.endswith("001")][0].observed
    )


# -- fleet rules


def _host(name, minute, machine="aa", groups=("web",), children=5, fixed=False):
    evidence = _evidence()
    timer = rules._timer(evidence["logrotate"])
    timer["NextElapseUSecRealtime"] = "Thu 2026-12-03 %02d:%02d:00 UTC" % (minute // 60, minute % 60)
    if fixed:
        timer.update(RandomizedDelayUSec="1h", FixedRandomDelay="yes")
    evidence["logrotate"]["machine_id_sha256"] = machine * 32
    evidence["logrotate"]["cron"]["files"].pop("/etc/cron.d/app-cleanup")
    evidence["php_fpm"] = {"pools": [{"name": "www", "settings": {"pm.max_children": str(children)}}]}
    return HostView(name, evidence=evidence, groups=groups)


def test_fleet_same_minute_names_hosts_and_capacity_share():
    fleet = Fleet([_host("a", 0, "aa"), _host("b", 0, "bb", children=15), _host("c", 97, "cc")])
    found = rules.check_fleet_minutes(fleet, POLICY)
    assert len(found) == 1
    assert found[0].evidence == {"pool": "group web", "minute": 0, "hosts": ["a", "b"], "capacity_share": 0.8}
    assert "2 of 3 hosts of group web act at 00:00" in found[0].observed and "80%" in found[0].observed
    fleet = Fleet([_host("a", 61), _host("b", 62), _host("c", 97)])
    assert rules.check_fleet_minutes(fleet, POLICY) == []


def test_fleet_machine_id_clones_escalate_under_fixed_random_delay():
    fleet = Fleet([_host("a", 5, "aa"), _host("b", 6, "aa"), _host("c", 7, "cc")])
    found = rules.check_machine_id_clones(fleet, POLICY)
    assert [(finding.evidence["hosts"], finding.severity) for finding in found] == [(["a", "b"], "warning")]
    fleet = Fleet([_host("a", 5, "aa", fixed=True), _host("b", 5, "aa", fixed=True)])
    assert rules.check_machine_id_clones(fleet, POLICY)[0].severity == "error"


def test_a_timer_systemd_cannot_load_is_named():
    evidence = _evidence()
    evidence["logrotate"]["systemd"]["timers"].append(
        {"Id": "cleanup.timer", "LoadState": "bad-setting", "FragmentPath": "/etc/systemd/system/cleanup.timer"}
    )
    found = [finding for finding in _run_all(evidence) if finding.id == "AQ-LOGROTATE-014"]
    assert [finding.observed for finding in found] == [
        "/etc/systemd/system/cleanup.timer: cleanup.timer does not load (LoadState=bad-setting)"
    ]


class _Link(object):
    def __init__(self, nginx_host, upstream, backend_host):
        self.nginx_host, self.upstream, self.backend_host, self.target = nginx_host, upstream, backend_host, None


def test_hosts_behind_one_nginx_upstream_are_a_pool_even_in_different_groups():
    hosts = [_host("a", 0, "aa", groups=("dc1",)), _host("b", 0, "bb", groups=("dc2",)), _host("c", 0, "cc", groups=())]
    fleet = Fleet(hosts)
    fleet._links = [_Link("lb", "php_backend", "a"), _Link("lb", "php_backend", "b"), _Link("lb", "other", "c")]
    assert rules.pools_of(fleet) == {"upstream php_backend on lb": ["a", "b"]}
    found = rules.check_fleet_minutes(fleet, POLICY)
    assert [(finding.evidence["pool"], finding.evidence["hosts"]) for finding in found] == [
        ("upstream php_backend on lb", ["a", "b"])
    ]


def test_after_the_role_the_host_rules_are_quiet():
    """The lab host as the role leaves it: a slot drop-in, the managed stanza, the cron line disabled."""
    from ansible_collections.acceptq.remediation.plugins.module_utils.logrotate import plan

    evidence = _evidence()
    section = evidence["logrotate"]
    options = {
        "pool": "web",
        "members": ["web1", "web2"],
        "window_start": "01:00",
        "window_end": "05:00",
        "prune": [{"path": "/var/log/app", "pattern": "app.log.*", "age_days": 7}],
        "prune_delay_minutes": 30,
        "prune_batch": 200,
        "prune_pause_ms": 200,
        "prune_replaces": ["/etc/cron.d/app-cleanup"],
    }
    disk = {"/etc/cron.d/app-cleanup": section["cron"]["files"]["/etc/cron.d/app-cleanup"]["text"]}
    planned = plan.plan("web1", section, model.parse(section), options, disk)
    files = dict((item["path"], item["content"]) for item in planned["files"])
    section["files"][plan.STANZA] = {"text": files[plan.STANZA], "error": None, "truncated": False}
    section["config"]["includes"][0]["files"].insert(0, plan.STANZA)
    section["cron"]["files"]["/etc/cron.d/app-cleanup"] = {"text": files["/etc/cron.d/app-cleanup"]}
    timer = rules._timer(section)
    timer.update(DropInPaths=plan.DROPIN, NextElapseUSecRealtime="Thu 2026-12-03 %s:00 UTC" % planned["slot"])
    section["systemd"]["unit_files"][plan.DROPIN] = {"text": files[plan.DROPIN]}
    evidence["php_fpm"] = {"binaries": [{"global": {"process_control_timeout": "0"}}], "pools": []}
    app = [block for block in model.parse(section)["blocks"] if block["file"] == "/etc/logrotate.d/app"][0]
    assert app["superseded_by"] == plan.STANZA + ":3"
    # Left: the deletion inside the run (the app keeps 7 copies of 3000 until the prune job runs).
    assert _ids(_run_all(evidence, dict(POLICY, logrotate_delete_files_max=10))) == ["AQ-LOGROTATE-005"]


def test_deletion_inside_a_run_in_peak_hours_is_an_error():
    evidence = _evidence()
    policy = dict(POLICY, logrotate_delete_files_max=10)
    found = [f for f in _run_all(evidence, policy) if f.id == "AQ-LOGROTATE-005"]
    assert found[0].severity == "warning"  # 00:00 is outside 07:00-23:00
    found = [f for f in _run_all(evidence, dict(policy, logrotate_peak_hours=["23:30-00:30"])) if f.id.endswith("005")]
    assert found[0].severity == "error" and "in peak hours 23:30-00:30" in found[0].observed


def test_the_prune_timer_counts_as_a_throttled_deletion_of_its_own_minute():
    section = _evidence()["logrotate"]
    section["systemd"]["timers"].append(
        {
            "Id": "acceptq-prune.timer",
            "Unit": "acceptq-prune.service",
            "LoadState": "loaded",
            "TimersCalendar": "{ OnCalendar=*-*-* 02:47:00 ; next_elapse=Thu 2026-12-03 02:47:00 UTC }",
            "NextElapseUSecRealtime": "Thu 2026-12-03 02:47:00 UTC",
        }
    )
    section["systemd"]["services"].append(
        {
            "Id": "acceptq-prune.service",
            "ExecStart": "{ path=/usr/bin/python3 ; argv[]=/usr/bin/python3 /usr/local/lib/acceptq/acceptq_prune.py "
            "/etc/acceptq/prune.json ; ignore_errors=no }",
        }
    )
    jobs = [job for job in rules.deletion_jobs(section) if job["acceptq"]]
    assert [(job["minutes"], job["throttled"]) for job in jobs] == [([167], True)]
    assert not [f for f in _run_all({"logrotate": section}) if f.id.endswith("006") and "prune" in f.observed]


def _block(root, name, scheduler=None, parent=None):
    node = (parent or (root / "devices")) / name
    node.mkdir(parents=True)
    if scheduler:
        (node / "queue").mkdir()
        (node / "queue" / "scheduler").write_text(scheduler + "\n")
    return node


def test_io_scheduler_follows_partitions_and_device_mapper_to_the_disk(tmp_path):
    disk = _block(tmp_path, "vda", "none [mq-deadline] kyber bfq")
    part = _block(tmp_path, "vda1", parent=disk)
    (part / "partition").write_text("1\n")
    dm = _block(tmp_path, "dm-0", "none")
    (dm / "slaves").mkdir()
    os.symlink(part, dm / "slaves" / "vda1")
    (tmp_path / "dev" / "block").mkdir(parents=True)
    os.symlink(dm, tmp_path / "dev" / "block" / "254:0")
    os.symlink(part, tmp_path / "dev" / "block" / "253:1")

    class Stat:
        st_dev = os.makedev(254, 0)

    found = collect.block_device_scheduler("/var/log", str(tmp_path), lambda path: Stat)
    assert (found["block"], found["scheduler"], found["via"]) == ("vda", "mq-deadline", ["dm-0"])
    Stat.st_dev = os.makedev(253, 1)
    found = collect.block_device_scheduler("/var/log", str(tmp_path), lambda path: Stat)
    assert (found["block"], found["scheduler"], found["via"]) == ("vda", "mq-deadline", [])
    Stat.st_dev = os.makedev(0, 28)
    found = collect.block_device_scheduler("/var/log", str(tmp_path), lambda path: Stat)
    assert found["scheduler"] is None and "not a block device" in found["reason"]
