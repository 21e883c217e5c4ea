"""The CLI end to end: real ansible-runner runs against this machine."""

import json
import subprocess
import sys

import pytest
from conftest import ROOT

FINDING_FIELDS = {"id", "severity", "host", "concern", "title", "observed", "expected", "fix", "evidence"}


def acceptq(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "acceptq.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "src")},
    )


def write_inventory(tmp_path, hosts):
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps({"all": {"hosts": hosts}}))
    return str(path)


LOCAL = {
    "ansible_connection": "local",
    "ansible_python_interpreter": sys.executable,
    "acceptq_become": False,
    "acceptq_counter_sample_interval": 0.2,
}


def test_missing_inventory_is_a_clear_error(tmp_path):
    result = acceptq("audit", "-i", str(tmp_path / "nope.yml"))
    assert result.returncode == 2
    assert result.stderr.strip() == "acceptq: inventory not found: %s" % (tmp_path / "nope.yml")
    assert "Traceback" not in result.stderr


def test_default_audit_of_this_machine_prints_kernel_report():
    result = acceptq("audit", "--fail-on", "none")
    assert result.returncode == 0, result.stderr
    assert "somaxconn=" in result.stdout and "ListenOverflows=" in result.stdout
    assert "finding(s) on 1 host(s)" in result.stdout
    assert "localhost ok" in result.stderr  # progress per host


def test_json_report_unreachable_host_and_threshold(tmp_path):
    inventory = write_inventory(
        tmp_path,
        {
            "here": dict(LOCAL, acceptq_policy={"somaxconn_min": 10**9}),
            "ghost": {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 1},
        },
    )
    report = tmp_path / "r.json"
    result = acceptq("audit", "-i", inventory, "--format", "json", "--output", str(report), "--fail-on", "error")
    document = json.loads(report.read_text())
    assert document["hosts"]["here"]["status"] == "ok"
    assert document["hosts"]["ghost"]["status"] == "unreachable"
    by_id = {finding["id"]: finding for finding in document["findings"]}
    assert set(by_id["AQ-KERNEL-002"]) == FINDING_FIELDS
    assert by_id["AQ-KERNEL-002"]["host"] == "here"
    assert by_id["AQ-HOST-001"]["host"] == "ghost" and by_id["AQ-HOST-001"]["severity"] == "error"
    assert result.returncode == 1  # the unreachable host is an error
    warning_only = acceptq("audit", "-i", inventory, "--limit", "here", "--fail-on", "error", "--format", "json")
    assert warning_only.returncode == 0, warning_only.stderr
    assert acceptq("audit", "-i", inventory, "--limit", "here", "--fail-on", "warning").returncode == 1


def test_bad_policy_fails_that_host_with_a_clear_message(tmp_path):
    inventory = write_inventory(tmp_path, {"here": dict(LOCAL, acceptq_policy={"somaxconn": 5})})
    result = acceptq("audit", "-i", inventory, "--format", "json")
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["id"] == "AQ-HOST-002"
    assert "unknown policy key 'somaxconn'" in finding["observed"]
    assert result.returncode == 1


def test_no_hosts_matched(tmp_path):
    inventory = write_inventory(tmp_path, {"here": LOCAL})
    result = acceptq("audit", "-i", inventory, "--limit", "nobody")
    assert result.returncode == 2  # a usage error, as the README and --help say
    assert "no hosts matched" in result.stderr and "limit nobody" in result.stderr


@pytest.mark.parametrize("flag", ["--format", "--fail-on"])
def test_bad_choices_are_usage_errors(flag):
    result = acceptq("audit", flag, "bogus")
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_output_into_a_missing_directory_is_refused_before_auditing(tmp_path):
    result = acceptq("audit", "--format", "json", "--output", str(tmp_path / "no" / "r.json"))
    assert result.returncode == 2
    assert (
        "cannot write %s: directory %s does not exist" % (tmp_path / "no" / "r.json", tmp_path / "no") in result.stderr
    )
    assert "acceptq audit: inventory" not in result.stderr  # refused before any host was touched
