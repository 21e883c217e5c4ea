"""Backlog evidence and checks: where php-fpm pools are defined, and the AQ-BACKLOG findings."""

import shutil

import pytest
from conftest import FIXTURES

from ansible_collections.acceptq.remediation.plugins.module_utils.backlog import collect as _phpfpm
from ansible_collections.acceptq.remediation.plugins.module_utils.backlog import plan as _backlog_plan
from ansible_collections.acceptq.remediation.plugins.module_utils.backlog import rules as _checks_backlog
from ansible_collections.acceptq.remediation.plugins.module_utils.nginx import model as _nginx
from ansible_collections.acceptq.remediation.plugins.module_utils.registry import (
    DEFINITIONS,
    effective_policy,
    effective_workload,
    run_checks,
)

CONF = FIXTURES / "php-fpm" / "conf"


@pytest.fixture
def etc(tmp_path):
    """The fixture configuration trees under tmp_path, their include= globs pointing there."""
    for source in CONF.rglob("*"):
        target = tmp_path / source.relative_to(CONF)
        if source.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(source.read_text().replace("@ROOT@", str(tmp_path)))
    return tmp_path


def conf82(root):
    return str(root / "etc/php/8.2/fpm/php-fpm.conf")


# -- locating pools ----------------------------------------------------------


def test_stock_and_seed_pools_are_located_through_the_include_glob(etc):
    located = _phpfpm.locate_pools(conf82(etc))
    assert located["errors"] == []
    assert located["files"][0] == conf82(etc) and len(located["files"]) == 3
    www, seed = located["pools"]["www"], located["pools"]["seed"]
    assert (www["file"], www["line"]) == (str(etc / "etc/php/8.2/fpm/pool.d/www.conf"), 4)
    assert www["backlog"] is None  # ";listen.backlog = 511" is a comment
    assert www["sections"][0]["keys"]["listen"]["value"] == "/run/php/php8.2-fpm.sock"
    assert seed["line"] == 2 and seed["complete"]
    assert seed["backlog"]["value"] == "65535" and seed["backlog"]["line"] == 6  # trailing comment dropped


def test_a_pool_continued_in_a_second_section_keeps_the_last_backlog_and_pool_variables(etc):
    located = _phpfpm.locate_pools(str(etc / "etc/php/7.4/fpm/php-fpm.conf"))
    legacy = located["pools"]["legacy"]
    assert [section["line"] for section in legacy["sections"]] == [2, 14]
    assert legacy["backlog"]["value"] == "1024" and legacy["backlog"]["line"] == 16
    keys = legacy["sections"][0]["keys"]
    assert keys["listen"]["value"] == "/run/php/$pool.sock"  # -tt has the expanded value; the file keeps $pool
    assert keys["php_admin_value[error_log]"]["value"] == "/var/log/php/$pool.log"


def test_a_pool_file_that_does_not_parse_is_an_error_with_file_and_line(etc):
    bad = etc / "etc/php/8.2/fpm/pool.d/bad.conf"
    bad.write_text('[bad]\nlisten = 127.0.0.1:9001\npm.max_children 5\nlisten.backlog = "128\n')
    located = _phpfpm.locate_pools(conf82(etc))
    messages = {(error["file"], error["line"]): error["message"] for error in located["errors"]}
    assert "not a [pool] header" in messages[(str(bad), 3)]
    assert "unterminated quote" in messages[(str(bad), 4)]
    record = _phpfpm.definition_record(located, "bad")
    assert record["complete"] is False and len(record["errors"]) == 2
    assert _phpfpm.definition_record(located, "www")["complete"] is True


def test_relative_unreadable_and_too_deep_includes_are_errors(etc, tmp_path):
    main = tmp_path / "main.conf"
    loop = tmp_path / "loop.conf"
    main.write_text("[global]\ninclude = pool.d/*.conf\ninclude=%s\n" % loop)
    loop.write_text("include=%s\n" % loop)
    located = _phpfpm.locate_pools(str(main))
    messages = [(error["file"], error["line"], error["message"]) for error in located["errors"]]
    assert (str(main), 2, "relative include pool.d/*.conf: acceptq only follows absolute paths") in messages
    assert (str(loop), 1, "include loop: %s includes itself through %s -> %s" % (loop, main, loop)) in messages
    missing = _phpfpm.locate_pools(str(tmp_path / "absent.conf"))
    assert (
        missing["errors"][0]["file"] == str(tmp_path / "absent.conf")
        and "cannot read" in missing["errors"][0]["message"]
    )


def test_the_main_file_comes_from_php_fpms_own_words():
    stock = (FIXTURES / "php-fpm" / "tt-stock.txt").read_text()
    assert _phpfpm.conf_path("/usr/sbin/php-fpm8.2", stock) == "/etc/php/8.2/fpm/php-fpm.conf"
    broken = (FIXTURES / "php-fpm" / "tt-broken.txt").read_text()
    assert _phpfpm.conf_path("/usr/sbin/php-fpm8.2", broken) == "/etc/php/8.2/fpm/php-fpm.conf"
    assert (
        _phpfpm.binary_version("/usr/sbin/php-fpm7.4") == "7.4" and _phpfpm.binary_version("/usr/sbin/php-fpm") is None
    )


def fake_binary(tmp_path, version, root, fixture):
    """A php-fpm<version> that prints a captured -tt output for the fixture tree under root."""
    text = (FIXTURES / "php-fpm" / fixture).read_text().replace("/etc/php/8.2/", "%s/etc/php/%s/" % (root, version))
    output = tmp_path / ("tt-%s.txt" % version)
    output.write_text(text)
    binary = tmp_path / ("php-fpm%s" % version)
    binary.write_text("#!/bin/sh\ncat %s\n" % output)
    binary.chmod(0o755)
    return str(binary)


def test_two_php_versions_side_by_side_each_with_its_own_files(etc, tmp_path):
    bin82 = fake_binary(tmp_path, "8.2", etc, "tt-two-pools.txt")
    bin74 = fake_binary(tmp_path, "7.4", etc, "tt-stock.txt")
    context = {"errors": []}
    section = _phpfpm.collect_php_fpm(context, binaries=[bin74, bin82])
    assert [binary["version"] for binary in section["binaries"]] == ["7.4", "8.2"]
    assert section["binaries"][0]["conf"] == str(etc / "etc/php/7.4/fpm/php-fpm.conf")
    where = {(pool["binary"], pool["name"]): pool["definition"] for pool in section["pools"]}
    assert where[(bin82, "seed")]["file"] == str(etc / "etc/php/8.2/fpm/pool.d/seed.conf")
    assert where[(bin82, "www")]["file"] == str(etc / "etc/php/8.2/fpm/pool.d/www.conf")
    # -tt of the 7.4 binary printed a www pool its own files do not define.
    assert where[(bin74, "www")] is None


def test_php_fpm_not_installed_is_an_empty_section():
    context = {"errors": []}
    assert _phpfpm.collect_php_fpm(context, binaries=[]) == {"binaries": [], "pools": []}
    evidence = {"php_fpm": {"binaries": [], "pools": []}, "kernel": {"sysctls": {"net.core.somaxconn": 4096}}}
    assert run_checks("h", evidence) == []


# -- checks ------------------------------------------------------------------


def listener(local, send_q, depth=0, family="inet", owner="php-fpm8.2"):
    record = {"family": family, "path": local} if family == "unix" else {"family": family}
    if family != "unix":
        address, _sep, port = local.rpartition(":")
        record.update(address=address.strip("[]"), port=int(port))
    return dict(
        record,
        local=local,
        queue_depth=depth,
        backlog_limit=send_q,
        owner={"pid": 1, "name": owner},
    )


def pool(name, listen, backlog, definition_line=2, file="/etc/php/8.2/fpm/pool.d/seed.conf", backlog_line=6):
    return {
        "binary": "/usr/sbin/php-fpm8.2",
        "name": name,
        "listen": listen,
        "listen_kind": "unix" if listen.startswith("/") else "tcp",
        "listen_backlog": backlog,
        "settings": {"pm.max_children": "8"},
        "status": None,
        "definition": {
            "file": file,
            "line": definition_line,
            "complete": True,
            "errors": [],
            "backlog": None
            if backlog < 0
            else {"value": str(backlog), "file": file, "line": backlog_line, "text": "listen.backlog = %d" % backlog},
            "sections": [],
        },
    }


def evidence(pools, listeners, somaxconn=4096, nginx=None, counters=None):
    kernel = {"sysctls": {"net.core.somaxconn": somaxconn}, "counters": None, "counters_previous": None}
    if counters:
        kernel["counters_previous"], kernel["counters"] = counters
        kernel["counter_interval_s"] = 1.0
    return {
        "kernel": kernel,
        "sockets": {"listeners": listeners},
        "php_fpm": {"binaries": [{"binary": "/usr/sbin/php-fpm8.2", "conf_errors": []}], "pools": pools},
        "nginx": nginx,
    }


def backlog_findings(evidence_document, workload=None):
    return [
        finding
        for finding in run_checks("h", evidence_document, {}, workload or {})
        if finding.id.startswith("AQ-BACKLOG")
    ]


WORKLOAD = {"pools": {"seed": {"peak_qps": 1000, "client_timeout_s": 0.3, "service_time_s": 0.2}}}


def test_the_seed_65535_cut_to_somaxconn_is_too_deep_and_misconfigured():
    document = evidence([pool("seed", "127.0.0.1:9000", 65535)], [listener("127.0.0.1:9000", 4096)])
    found = {finding.id: finding for finding in backlog_findings(document, WORKLOAD)}
    assert set(found) == {"AQ-BACKLOG-001", "AQ-BACKLOG-002"}
    deep = found["AQ-BACKLOG-001"]
    # 4097 connections at 1000 req/s wait 4.1 s, longer than the client's 0.3 s: error.
    assert deep.severity == "error" and deep.evidence["sized"] == 100
    assert (
        "seed.conf:2" in deep.observed
        and "listen.backlog = 65535 at /etc/php/8.2/fpm/pool.d/seed.conf:6" in deep.observed
    )
    assert "listen.backlog = 100" in deep.fix and "restart php8.2-fpm" in deep.fix
    cut = found["AQ-BACKLOG-002"]
    assert cut.severity == "info" and "Send-Q 4096" in cut.observed  # the cut is below what is needed anyway


def test_the_stock_unix_pool_unset_means_somaxconn():
    document = evidence(
        [pool("www", "/run/php/php8.2-fpm.sock", -1, definition_line=4)],
        [listener("/run/php/php8.2-fpm.sock", 4096, family="unix")],
    )
    (deep,) = backlog_findings(document, {"client_timeout_s": 1.1, "queue_wait_s": 60})
    assert deep.id == "AQ-BACKLOG-001" and "unset (-1" in deep.observed
    assert deep.evidence["sized"] == 80 and deep.evidence["send_q"] == 4096  # 8 / 0.1 s x (1.1 - 0.1) s
    assert "assumed: service_time_s" in deep.expected


def test_a_sized_backlog_gives_no_finding():
    document = evidence([pool("seed", "127.0.0.1:9000", 100)], [listener("127.0.0.1:9000", 100)])
    assert backlog_findings(document, WORKLOAD) == []


def test_a_cut_that_starves_the_pool_is_a_warning_saying_to_raise_somaxconn():
    workload = {"pools": {"seed": {"peak_qps": 1000, "client_timeout_s": 1.2, "queue_wait_s": 60}}}
    document = evidence([pool("seed", "127.0.0.1:9000", 2000)], [listener("127.0.0.1:9000", 512)], somaxconn=512)
    (cut,) = backlog_findings(document, workload)
    assert cut.id == "AQ-BACKLOG-002" and cut.severity == "warning"
    assert "Raise net.core.somaxconn to at least 1100" in cut.fix


NGINX_ERROR_LOG = [
    "2026/11/24 16:10:24 [error] 812#812: *9 connect() to unix:/run/php/php8.2-fpm.sock failed (11: Resource "
    'temporarily unavailable) while connecting to upstream, client: 127.0.0.1, server: _, request: "GET /a.php '
    'HTTP/1.1", upstream: "fastcgi://unix:/run/php/php8.2-fpm.sock:", host: "localhost"',
    "2026/11/24 16:10:25 [error] 812#812: *10 connect() failed (111: Connection refused) while connecting to "
    'upstream, client: 127.0.0.1, server: _, request: "GET /b.php HTTP/1.1", upstream: "fastcgi://127.0.0.1:9001", '
    'host: "localhost"',
]


def test_too_shallow_with_nginx_refusals_for_that_upstream_is_an_error():
    nginx = {"binary": None, "logs": {"/var/log/nginx/error.log": {"lines": NGINX_ERROR_LOG, "error": None}}}
    document = evidence(
        [pool("www", "/run/php/php8.2-fpm.sock", 8, definition_line=4)],
        [listener("/run/php/php8.2-fpm.sock", 8, depth=9, family="unix")],
        nginx=nginx,
    )
    (shallow,) = backlog_findings(document, {"pools": {"www": {"peak_qps": 200}}, "client_timeout_s": 1.1})
    assert shallow.id == "AQ-BACKLOG-003" and shallow.severity == "error"
    assert "1 nginx error-log line(s)" in shallow.observed  # the 111 line is another upstream
    assert list(shallow.evidence["nginx_queue_errors"]) == ["/var/log/nginx/error.log"]


def test_too_shallow_with_overflows_rising_while_full_and_without_any_sign():
    rising = ({"ListenOverflows": 5, "ListenDrops": 5}, {"ListenOverflows": 9, "ListenDrops": 9})
    document = evidence(
        [pool("seed", "127.0.0.1:9000", 16)], [listener("127.0.0.1:9000", 16, depth=17)], counters=rising
    )
    (shallow,) = backlog_findings(document, WORKLOAD)
    assert shallow.severity == "error" and "ListenOverflows/ListenDrops rising" in shallow.observed
    quiet = evidence([pool("seed", "127.0.0.1:9000", 16)], [listener("127.0.0.1:9000", 16)])
    (shallow,) = backlog_findings(quiet, WORKLOAD)
    assert shallow.severity == "info" and "no refused connection seen yet" in shallow.observed


def test_port_only_listen_matches_the_wildcard_listener():
    document = evidence([pool("seed", "9000", 65535)], [listener("0.0.0.0:9000", 65535)], somaxconn=65535)
    (deep,) = backlog_findings(document, WORKLOAD)
    assert deep.evidence["listener"] == "0.0.0.0:9000"


def test_unlocated_and_unparsed_pools_are_reported_with_file_and_line():
    unparsed = pool("seed", "127.0.0.1:9000", 100)
    unlocated = pool("other", "127.0.0.1:9002", 100)
    unlocated["definition"] = None
    document = evidence([unparsed, unlocated], [listener("127.0.0.1:9000", 100), listener("127.0.0.1:9002", 100)])
    document["php_fpm"]["binaries"][0].update(
        conf="/etc/php/8.2/fpm/php-fpm.conf",
        conf_errors=[{"file": "/etc/php/8.2/fpm/pool.d/seed.conf", "line": 3, "message": "not a [pool] header"}],
    )
    found = [f for f in backlog_findings(document, WORKLOAD) if f.id == "AQ-BACKLOG-005"]
    observed = sorted(finding.observed for finding in found)
    assert observed[0].startswith("/etc/php/8.2/fpm/pool.d/seed.conf:3 (read from /etc/php/8.2/fpm/php-fpm.conf)")
    assert "no [other] section found in /etc/php/8.2/fpm/php-fpm.conf" in observed[1]


def seed_nginx():
    dump = (FIXTURES / "nginx" / "seed-dump.txt").read_text()
    return {
        "binary": "/usr/sbin/nginx",
        "conf_path": "/etc/nginx/nginx.conf",
        "dump": {"returncode": 0, "stdout": dump},
    }


def test_nginx_listen_backlog_above_somaxconn_is_reported_once_per_socket():
    document = evidence([], [], somaxconn=4096, nginx=seed_nginx())
    (cut,) = backlog_findings(document)
    assert cut.id == "AQ-BACKLOG-004"
    assert "sites-enabled/seed" in cut.observed and "backlog=65535" in cut.observed
    assert "it will get 4096" in cut.observed  # nginx is not listening in this evidence
    assert backlog_findings(evidence([], [], somaxconn=65535, nginx=seed_nginx())) == []


def test_nginx_listen_backlog_judged_against_its_listeners_send_q():
    # Opened when somaxconn was 65535, lowered since: the listener still has it, nothing is cut now.
    opened_before = evidence([], [listener("0.0.0.0:8081", 65535, owner="nginx")], somaxconn=4096, nginx=seed_nginx())
    assert backlog_findings(opened_before) == []
    cut_now = evidence(
        [],
        [listener("0.0.0.0:8081", 4096, owner="nginx"), listener("[::]:8082", 512, family="inet6")],
        4096,
        seed_nginx(),
    )
    found = sorted(finding.observed for finding in backlog_findings(cut_now))
    assert len(found) == 2
    assert "listen [::]:8082 backlog=1024 asks for backlog=1024, its listener [::]:8082 got Send-Q 512" in found[1]
    assert "its listener 0.0.0.0:8081 got Send-Q 4096" in found[0]


def test_the_seed_vhosts_read_timeout_bounds_the_pools_wait():
    # vhost A passes to 127.0.0.1:9000 with fastcgi_read_timeout 100ms; sized for the 150 ms nginx_timeouts
    # leaves there (75 % of a 0.2 s client timeout): at a 50 ms service time, 100 ms of queue.
    document = evidence(
        [pool("seed", "127.0.0.1:9000", 65535)], [listener("127.0.0.1:9000", 65535)], 65535, seed_nginx()
    )
    workload = {"pools": {"seed": {"peak_qps": 1000, "service_time_s": 0.05}}, "client_timeout_s": 0.2}
    (deep,) = [f for f in backlog_findings(document, workload) if f.id == "AQ-BACKLOG-001"]
    assert deep.evidence["sized"] == 100 and "fastcgi_read_timeout 100ms, 150ms once nginx_timeouts" in deep.expected


def test_every_backlog_id_is_registered():
    assert {"AQ-BACKLOG-00%d" % n for n in range(1, 6)} <= set(DEFINITIONS)
    policy = effective_policy({})
    policy["workload"] = effective_workload({})
    assert _checks_backlog.check_backlogs("h", {}, policy) == []


def test_the_model_helper_tolerates_no_nginx():
    assert _checks_backlog.nginx_model({"nginx": {"binary": None}}) is None
    assert _nginx.listen_matches("unix:/run/php/x.sock", "/run/php/x.sock")


def test_missing_fixture_tree_is_not_silently_empty():
    assert (CONF / "etc/php/8.2/fpm/pool.d/www.conf").read_text().count("[www]") == 1
    assert shutil.which("sh")


# -- the role's plan -----------------------------------------------------------


def located_evidence(etc, somaxconn=4096):
    """Evidence with the fixture tree's real pool definitions, as collect_php_fpm attaches them."""
    located = _phpfpm.locate_pools(conf82(etc))
    www = pool("www", "/run/php/php8.2-fpm.sock", -1)
    seed = pool("seed", "127.0.0.1:9000", 65535)
    for record in (www, seed):
        record["definition"] = _phpfpm.definition_record(located, record["name"])
    document = evidence(
        [www, seed],
        [
            listener("127.0.0.1:9000", min(65535, somaxconn)),
            listener("/run/php/php8.2-fpm.sock", somaxconn, family="unix"),
        ],
        somaxconn=somaxconn,
    )
    document["php_fpm"]["binaries"][0]["conf"] = conf82(etc)
    return document


PLAN_WORKLOAD = {
    "client_timeout_s": 3,
    "queue_wait_s": 60,  # no queueing cap here: these tests follow the timeouts
    "pools": {"seed": {"peak_qps": 200, "client_timeout_s": 2}, "www": {"peak_qps": 40}},
}


def texts(etc, planned):
    return {path: open(path).read() for path in planned["edits"]}


def test_plan_replaces_the_seeds_line_and_inserts_into_the_stock_pool(etc):
    planned = _backlog_plan.plan(located_evidence(etc), effective_workload(PLAN_WORKLOAD))
    actions = {item["pool"]: (item["sized"], item["action"]) for item in planned["pools"]}
    # No nginx passes to them: seed 200 x (2 - 0.1), www 40 x (3 - 0.1).
    assert actions == {"seed": (380, "set"), "www": (116, "set")}
    assert planned["restarts"] == [{"service": "php8.2-fpm", "binary": "/usr/sbin/php-fpm8.2", "conf": conf82(etc)}]
    files, refused = _backlog_plan.render_files(planned["edits"], texts(etc, planned))
    assert refused == []
    by_path = {item["path"]: item["content"] for item in files}
    seed = by_path[str(etc / "etc/php/8.2/fpm/pool.d/seed.conf")].splitlines()
    assert seed[5] == 'listen.backlog = 380   ; "as deep as possible"'  # the trailing comment is kept
    assert sum(line.startswith("listen.backlog") for line in seed) == 1
    www_before = (etc / "etc/php/8.2/fpm/pool.d/www.conf").read_text().splitlines()
    www = by_path[str(etc / "etc/php/8.2/fpm/pool.d/www.conf")].splitlines()
    listen_line = www_before.index("listen = /run/php/php8.2-fpm.sock")
    assert www[: listen_line + 1] == www_before[: listen_line + 1]
    assert www[listen_line + 1] == "listen.backlog = 116" and www[listen_line + 2 :] == www_before[listen_line + 1 :]


def test_plan_is_idempotent_once_configured_and_running_right(etc):
    document = located_evidence(etc)
    for record, value in zip(document["php_fpm"]["pools"], (116, 380), strict=True):
        record["listen_backlog"] = value
    document["sockets"]["listeners"] = [
        listener("127.0.0.1:9000", 380),
        listener("/run/php/php8.2-fpm.sock", 116, family="unix"),
    ]
    planned = _backlog_plan.plan(document, effective_workload(PLAN_WORKLOAD))
    assert planned["edits"] == {} and planned["restarts"] == []
    assert {item["action"] for item in planned["pools"]} == {"none"}


def test_a_configured_but_stale_listener_only_needs_a_restart(etc):
    document = located_evidence(etc)
    for record, value in zip(document["php_fpm"]["pools"], (116, 380), strict=True):
        record["listen_backlog"] = value
    planned = _backlog_plan.plan(document, effective_workload(PLAN_WORKLOAD))
    assert planned["edits"] == {} and {item["action"] for item in planned["pools"]} == {"restart"}
    assert [item["service"] for item in planned["restarts"]] == ["php8.2-fpm"]


def test_plan_refuses_a_pool_whose_file_did_not_parse(etc):
    seed_file = etc / "etc/php/8.2/fpm/pool.d/seed.conf"
    seed_file.write_text(seed_file.read_text() + "this is not ini\n")
    planned = _backlog_plan.plan(located_evidence(etc), effective_workload(PLAN_WORKLOAD))
    (refused,) = planned["refused"]
    assert refused["file"] == str(seed_file) and refused["line"] == 2
    assert "%s:10: not a [pool] header" % seed_file in refused["message"]
    assert list(planned["edits"]) == [str(etc / "etc/php/8.2/fpm/pool.d/www.conf")]


def test_plan_refuses_a_file_that_changed_since_it_was_read(etc):
    planned = _backlog_plan.plan(located_evidence(etc), effective_workload(PLAN_WORKLOAD))
    current = texts(etc, planned)
    seed_path = str(etc / "etc/php/8.2/fpm/pool.d/seed.conf")
    current[seed_path] = current[seed_path].replace("listen.backlog = 65535", "listen.backlog = 511")
    files, refused = _backlog_plan.render_files(planned["edits"], current)
    assert [item["path"] for item in files] == [str(etc / "etc/php/8.2/fpm/pool.d/www.conf")]
    assert refused[0]["file"] == seed_path and refused[0]["line"] == 6 and "changed since" in refused[0]["message"]


def test_plan_raises_somaxconn_or_cuts_to_it(etc):
    workload = effective_workload({"pools": {"seed": {"peak_qps": 10000}, "www": {"peak_qps": 1}}, "queue_wait_s": 60})
    raised = _backlog_plan.plan(located_evidence(etc, somaxconn=4096), workload)
    assert raised["somaxconn_needed"] == 65535  # 10000 x 44.9 s, capped at the 16-bit maximum
    cut = _backlog_plan.plan(located_evidence(etc, somaxconn=4096), workload, raise_somaxconn=False)
    assert cut["somaxconn_needed"] is None
    assert {item["pool"]: item["sized"] for item in cut["pools"]}["seed"] == 4096


def test_plan_for_the_multi_section_pool_edits_the_last_backlog_line(etc):
    located = _phpfpm.locate_pools(str(etc / "etc/php/7.4/fpm/php-fpm.conf"))
    legacy = pool("legacy", "/run/php/legacy.sock", 1024)
    legacy["binary"] = "/usr/sbin/php-fpm7.4"
    legacy["definition"] = _phpfpm.definition_record(located, "legacy")
    document = evidence([legacy], [listener("/run/php/legacy.sock", 1024, family="unix")])
    document["php_fpm"]["binaries"] = [{"binary": "/usr/sbin/php-fpm7.4", "conf": located["conf"], "conf_errors": []}]
    planned = _backlog_plan.plan(document, effective_workload({"pools": {"legacy": {"peak_qps": 10}}}))
    ((path, (edit,)),) = planned["edits"].items()
    assert path.endswith("7.4/fpm/pool.d/legacy.conf") and edit["line"] == 16 and edit["kind"] == "replace"
    assert planned["restarts"][0]["service"] == "php7.4-fpm"
