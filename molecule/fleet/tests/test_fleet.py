"""fleet: nginx on web passes to php-fpm on app; both judged and remediated together."""

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import testinfra
import yaml

SCENARIO = Path(__file__).resolve().parents[1]
ROOT = SCENARIO.parents[1]
INVENTORY = SCENARIO / "inventory" / "hosts.yml"
EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent"))
WEB, APP = "acceptq-fleet-web", "acceptq-fleet-app"
BIN = Path(sys.executable).parent
# docs/sizing.md: the defaults the scenario leaves undeclared.
SERVICE_TIME_S, QUEUE_WAIT_S, BACKLOG_FLOOR = 0.1, 0.25, 16
DURATION = re.compile(r"fastcgi_read_timeout\s+(\d+)(ms|s)\s*;")


@pytest.fixture(scope="module")
def web():
    return testinfra.get_host("podman://%s" % WEB)


@pytest.fixture(scope="module")
def app():
    return testinfra.get_host("podman://%s" % APP)


def declared():
    return yaml.safe_load(INVENTORY.read_text())["all"]["children"]["app"]["hosts"][APP]["acceptq_workload"]


def web_read_timeouts(web):
    """Every fastcgi_read_timeout web's vhosts set now, in seconds (60 s where unset)."""
    found = []
    for name in ("vhost-a", "vhost-b"):
        text = web.file("/etc/nginx/sites-enabled/%s" % name).content_string
        values = [int(number) / (1000.0 if unit == "ms" else 1.0) for number, unit in DURATION.findall(text)]
        found.append(min(values) if values else 60.0)
    return found


def sized(web):
    """The pool's backlog, recomputed by hand from web's timeouts and app's declared workload."""
    workload = declared()
    wait = min(min(web_read_timeouts(web)) - SERVICE_TIME_S, workload["client_timeout_s"], QUEUE_WAIT_S)
    return max(BACKLOG_FLOOR, math.ceil(round(workload["pools"]["seed"]["peak_qps"] * wait, 9)))


def cli_audit(tmp_path):
    report = tmp_path / "cli.json"
    subprocess.run(
        [str(BIN / "acceptq"), "audit", "-i", str(INVENTORY), "--format", "json", "--output", str(report)]
        + ["--fail-on", "none"],
        check=True,
        timeout=300,
    )
    return json.loads(report.read_text())


def playbook_audit():
    """The findings ansible-playbook's own run shows (json callback), not a report file."""
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_HOME=str(ROOT / ".ansible"))
    env["ANSIBLE_COLLECTIONS_PATH"] = str(ROOT / ".ansible" / "collections")
    completed = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(INVENTORY), str(ROOT / "playbooks" / "audit.yml")],
        check=True,
        timeout=300,
        env=env,
        stdout=subprocess.PIPE,
    )
    output = json.loads(completed.stdout)
    (judge,) = [task for play in output["plays"] for task in play["tasks"] if task["task"]["name"].startswith("Judge")]
    (result,) = judge["hosts"].values()
    return result["findings"]


def test_before_the_pool_is_judged_on_webs_timeouts_not_assumed_ones():
    before = json.loads((EPHEMERAL / "audit-before.json").read_text())["findings"]
    deep = [finding for finding in before if finding["id"] == "AQ-BACKLOG-001"]
    assert {finding["host"] for finding in deep} == {APP}, before  # the seed pool, and app's stock www pool
    (finding,) = [finding for finding in deep if finding["evidence"]["pool"] == "seed"]
    timeouts = finding["evidence"]["upstream_timeouts"]
    assert len(timeouts) == 2 and all(label.startswith(WEB + ": ") for label in timeouts), timeouts
    assert "reached from %s" % WEB in finding["observed"]
    nginx = {finding["host"] for finding in before if finding["id"].startswith("AQ-NGINX")}
    assert nginx == {WEB}
    assert not [finding for finding in before if finding["id"] == "AQ-HOST-004"]


def test_after_the_pools_send_q_is_sized_from_webs_new_read_timeout(web, app):
    fields = app.check_output("ss -Hltn sport = :9000").split()
    assert int(fields[2]) == sized(web), fields
    assert max(web_read_timeouts(web)) <= 1.5  # nginx_timeouts left 75 % of the 2 s client timeout


def test_each_role_acted_only_where_its_service_runs(web, app):
    assert not web.exists("php-fpm8.2") and not app.exists("nginx")
    assert "listen.backlog = %d" % sized(web) in app.file("/etc/php/8.2/fpm/pool.d/seed.conf").content_string
    assert web.check_output("sysctl -n net.core.somaxconn") == "4096"


def test_a_request_through_web_reaches_app(web):
    assert web.check_output("curl -s -o /dev/null -w '%{http_code}' -m 5 http://127.0.0.1:8082/fast.php") == "200"


def test_after_no_backlog_or_timeout_findings_and_both_entry_points_agree(tmp_path):
    cli = cli_audit(tmp_path)["findings"]
    # process_control_timeout is written with the backlog but read by php-fpm only at its next
    # restart, which the live change avoids: reported as pending (info), not as a problem.
    pending = [f for f in cli if f["id"] == "AQ-BACKLOG-006" and f["severity"] == "info" and f["host"] == APP]
    left = [
        f["id"]
        for f in cli
        if (f["id"].startswith("AQ-BACKLOG") or f["id"] in ("AQ-NGINX-001", "AQ-NGINX-002")) and f not in pending
    ]
    assert left == [], cli
    playbook = playbook_audit()
    assert sorted((f["id"], f["host"]) for f in playbook) == sorted((f["id"], f["host"]) for f in cli)
