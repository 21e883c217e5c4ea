"""AQ-BACKLOG-006: process_control_timeout = 0 kills requests in flight on every reload; its planned fix."""

import pytest

from ansible_collections.acceptq.remediation.plugins.module_utils.backlog import collect as _phpfpm
from ansible_collections.acceptq.remediation.plugins.module_utils.backlog import plan as _plan
from ansible_collections.acceptq.remediation.plugins.module_utils.backlog import rules as _rules
from ansible_collections.acceptq.remediation.plugins.module_utils.registry import effective_workload

PHP_FPM_CONF = """\
;;;;;;;;;;;;;;;;;;;;;
; FPM Configuration ;
;;;;;;;;;;;;;;;;;;;;;
[global]
pid = /run/php/php8.2-fpm.pid
error_log = /var/log/php8.2-fpm.log
;process_control_timeout = 0
include=%s/pool.d/*.conf
"""
POOL = "[www]\nuser = www-data\nlisten = /run/php/php8.2-fpm.sock\npm = static\npm.max_children = 8\n"


def evidence(tmp_path, conf=PHP_FPM_CONF, value="0s", terminate="0s"):
    (tmp_path / "pool.d").mkdir(exist_ok=True)
    (tmp_path / "pool.d" / "www.conf").write_text(POOL)
    main = tmp_path / "php-fpm.conf"
    main.write_text(conf % tmp_path if "%s" in conf else conf)
    located = _phpfpm.locate_pools(str(main))
    binary = {
        "binary": "/usr/sbin/php-fpm8.2",
        "conf": str(main),
        "ok": True,
        "global": {"process_control_timeout": value},
        "global_definition": located["global"],
    }
    pool = {
        "name": "www",
        "binary": "/usr/sbin/php-fpm8.2",
        "listen": "/run/php/php8.2-fpm.sock",
        "listen_backlog": 50,
        "settings": {"request_terminate_timeout": terminate, "pm.max_children": "8", "pm": "static"},
        "definition": _phpfpm.definition_record(located, "www"),
    }
    return {"php_fpm": {"binaries": [binary], "pools": [pool]}, "sockets": {"listeners": []}, "kernel": {}}


def texts(tmp_path):
    return dict((str(path), path.read_text()) for path in (tmp_path / "php-fpm.conf", tmp_path / "pool.d" / "www.conf"))


def findings(found_evidence):
    return _rules.check_process_control("web1", found_evidence, {"workload": effective_workload({})})


@pytest.mark.parametrize("value, seconds", [("0s", 0), ("0", 0), ("30s", 30), ("5m", 300), ("1h", 3600), ("x", None)])
def test_fpm_seconds(value, seconds):
    assert _rules.fpm_seconds(value) == seconds


def test_debians_default_is_reported_with_the_place_to_set_it(tmp_path):
    (finding,) = findings(evidence(tmp_path))
    assert finding.id == "AQ-BACKLOG-006"
    assert "process_control_timeout = 0s (unset in %s/php-fpm.conf" % tmp_path in finding.observed
    assert "pools www" in finding.observed
    assert finding.expected.startswith("process_control_timeout = 60s (nginx's default read timeout")


def test_the_pools_request_terminate_timeout_is_the_target(tmp_path):
    (finding,) = findings(evidence(tmp_path, terminate="45s"))
    assert finding.expected.startswith("process_control_timeout = 45s (the pools' longest request_terminate_timeout")


def test_a_set_timeout_is_not_reported(tmp_path):
    assert findings(evidence(tmp_path, value="30s")) == []


def test_the_fix_is_one_line_after_the_global_header(tmp_path):
    found = evidence(tmp_path)
    planned = _plan.plan(found, effective_workload({}), only_pools=["www"])
    (item,) = planned["process_control"]
    assert item["seconds"] == 60 and item["file"] == str(tmp_path / "php-fpm.conf")
    assert planned["restarts"][0]["service"] == "php8.2-fpm"  # so that php-fpm -t validates the edit
    main = str(tmp_path / "php-fpm.conf")
    files, refused = _plan.render_files(planned["edits"], texts(tmp_path))
    assert refused == []
    content = [item for item in files if item["path"] == main][0]["content"]
    assert "[global]\nprocess_control_timeout = 60s\npid = " in content


def test_an_existing_zero_is_replaced_in_place_keeping_its_comment(tmp_path):
    conf = PHP_FPM_CONF.replace(";process_control_timeout = 0", "  process_control_timeout = 0 ; Debian")
    found = evidence(tmp_path, conf=conf)
    planned = _plan.plan(found, effective_workload({}), only_pools=["www"], process_control_timeout_s=20)
    main = str(tmp_path / "php-fpm.conf")
    files, refused = _plan.render_files(planned["edits"], texts(tmp_path))
    assert refused == []
    content = [item for item in files if item["path"] == main][0]["content"]
    assert "\n  process_control_timeout = 20s ; Debian\n" in content and content.count("process_control_timeout") == 1


def test_zero_declared_leaves_it_alone(tmp_path):
    planned = _plan.plan(evidence(tmp_path), effective_workload({}), only_pools=["www"], process_control_timeout_s=0)
    assert planned["process_control"] == [] and str(tmp_path / "php-fpm.conf") not in planned["edits"]


def test_an_unlocated_global_section_is_refused_with_the_file(tmp_path):
    found = evidence(tmp_path)
    found["php_fpm"]["binaries"][0]["global_definition"] = None
    planned = _plan.plan(found, effective_workload({}), only_pools=["www"])
    assert "process_control_timeout is 0 but [global] could not be located" in planned["refused"][0]["message"]


def pending_evidence(tmp_path, send_q):
    found = evidence(tmp_path, value="30s")
    found["kernel"] = {"sysctls": {"net.core.somaxconn": 4096}}
    found["sockets"]["listeners"] = [
        {
            "family": "unix",
            "path": "/run/php/php8.2-fpm.sock",
            "local": "/run/php/php8.2-fpm.sock",
            "queue_depth": 0,
            "backlog_limit": send_q,
            "owner": None,
        }
    ]
    return found


def backlog_findings(found):
    workload = effective_workload({"pools": {"www": {"peak_qps": 200}}, "client_timeout_s": 5})
    return _rules.check_pool_backlogs("web1", found, {"workload": workload, "fleet": None})


def test_a_backlog_in_the_file_but_not_on_the_socket_is_pending(tmp_path):
    found = pending_evidence(tmp_path, 4096)
    sized = _rules.plans(
        found,
        {"workload": effective_workload({"pools": {"www": {"peak_qps": 200}}, "client_timeout_s": 5}), "fleet": None},
    )[0][2]
    found["php_fpm"]["pools"][0]["listen_backlog"] = sized["sized"]
    (finding,) = backlog_findings(found)
    assert finding.id == "AQ-BACKLOG-007"
    assert (
        "runs with Send-Q 4096" in finding.observed
        and finding.expected == "Send-Q %d, as the file says" % sized["sized"]
    )


def test_an_applied_backlog_is_not_pending(tmp_path):
    found = pending_evidence(tmp_path, 50)
    found["php_fpm"]["pools"][0]["listen_backlog"] = 50
    assert [finding.id for finding in backlog_findings(found)] == []


def fake_proc(tmp_path, conf, master_start_ticks, boot=1_000_000):
    """A /proc with php-fpm's master and one worker, started master_start_ticks after boot."""
    proc = tmp_path / "proc"
    for pid, ppid, cmdline in ((10, 1, "php-fpm: master process (%s)" % conf), (11, 10, "php-fpm: pool www")):
        (proc / str(pid)).mkdir(parents=True)
        (proc / str(pid) / "cmdline").write_bytes(cmdline.encode() + b"\0")
        fields = ["S", str(ppid)] + ["0"] * 17 + [str(master_start_ticks)]
        (proc / str(pid) / "stat").write_text("%d (php-fpm8.2) %s\n" % (pid, " ".join(fields)))
    (proc / "stat").write_text("cpu 0 0 0 0\nbtime %d\n" % boot)
    return str(proc)


def test_a_timeout_set_after_php_fpm_started_is_reported_until_it_restarts(tmp_path):
    import os

    conf = PHP_FPM_CONF.replace(";process_control_timeout = 0", "process_control_timeout = 60s")
    found = evidence(tmp_path, conf=conf, value="60s")
    main = str(tmp_path / "php-fpm.conf")
    os.utime(main, (2_000_000, 2_000_000))
    ticks = os.sysconf("SC_CLK_TCK")
    binary = found["php_fpm"]["binaries"][0]
    # Started 10 s after boot, long before the file changed: not read.
    binary["liveness"] = _phpfpm.fpm_liveness(fake_proc(tmp_path / "a", main, 10 * ticks), main, [main])
    (finding,) = findings(found)
    assert finding.severity == "info" and "changed after php-fpm last read it" in finding.observed
    assert "process_control_timeout = 60s at %s:7" % main in finding.observed
    # Started after the change: read, nothing to say.
    binary["liveness"] = _phpfpm.fpm_liveness(fake_proc(tmp_path / "b", main, 1_500_000 * ticks), main, [main])
    assert findings(found) == []
    # Not running: nothing to compare.
    binary["liveness"] = _phpfpm.fpm_liveness(str(tmp_path), main, [main])
    assert findings(found) == []
