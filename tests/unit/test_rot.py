"""CLOSE_WAIT per port and flock waiters: parsers on captures, live kernel state, checks."""

import fcntl
import socket
import subprocess
import sys
import time

import pytest
from conftest import FIXTURES

from ansible_collections.acceptq.remediation.plugins.module_utils import concerns
from ansible_collections.acceptq.remediation.plugins.module_utils.core import evidence as _evidence
from ansible_collections.acceptq.remediation.plugins.module_utils.core import sockdiag as _sockdiag
from ansible_collections.acceptq.remediation.plugins.module_utils.registry import run_checks
from ansible_collections.acceptq.remediation.plugins.module_utils.rot import collect as _rot


def test_captured_close_wait_counted_on_the_server_port():
    counts = _sockdiag.count_states_by_port((FIXTURES / "overflow" / "conn_diag.bin").read_bytes())
    assert counts[9001] == {"CLOSE_WAIT": 6}
    assert counts[9000] == {"ESTABLISHED": 17}  # the queued, never-accepted connections


def test_captured_locks_with_nested_waiters():
    entries = _rot.parse_locks((FIXTURES / "overflow" / "proc" / "locks").read_text())
    assert [entry["waiting"] for entry in entries] == [False, True, True, True]
    assert {entry["device"] for entry in entries} == {"254:0"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1: FLOCK ADVISORY WRITE\n", "/proc/locks:1: expected 8 fields"),
        ("1: FLOCK ADVISORY WRITE 12 fe:00:1 0 EOF\n2: POSIX ADVISORY READ x fe:00:1 0 EOF\n", "/proc/locks:2: cannot"),
        ("1: FLOCK ADVISORY WRITE 12 fe00 0 EOF\n", "/proc/locks:1: cannot read pid or device:inode"),
    ],
)
def test_malformed_locks_name_the_line(text, message):
    with pytest.raises(_evidence.EvidenceError, match=message):
        _rot.parse_locks(text)


def test_unreadable_locks_is_an_error_not_a_traceback(tmp_path):
    context = {"proc_root": str(tmp_path), "errors": [], "counter_sample_interval": 0}
    assert _rot.collect_locks(context) == {"files": [], "waiters_total": 0}
    assert context["errors"][0]["source"] == str(tmp_path / "locks")


def test_rot_findings_on_the_capture(evidence_of):
    findings = [f for f in run_checks("lab", evidence_of("overflow")) if f.concern == "rot"]
    assert [f.id for f in findings] == ["AQ-ROT-001", "AQ-ROT-002"]
    close_wait, waiters = findings
    assert close_wait.evidence["port"] == 9001 and close_wait.evidence["states"] == {"CLOSE_WAIT": 6}
    assert "3 process(es) blocked on FLOCK lock" in waiters.observed
    assert waiters.evidence["path"] is None  # the capture's processes are gone: no path, no guess


def test_thresholds_come_from_policy(evidence_of):
    findings = run_checks("lab", evidence_of("overflow"), {"close_wait_min": 7, "flock_waiters_min": 4})
    assert not [f for f in findings if f.concern == "rot"]


def test_live_close_wait_and_flock_waiters(tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]
    held = []
    for _ in range(5):
        client = socket.create_connection(("127.0.0.1", port))
        held.append(server.accept()[0])
        client.close()
    log = tmp_path / "app.log"
    log.touch()
    holder = open(log, "a")  # noqa: SIM115 - held across the test on purpose
    fcntl.flock(holder, fcntl.LOCK_EX)
    script = "import fcntl; f = open(%r, 'a'); fcntl.flock(f, fcntl.LOCK_EX)" % str(log)
    waiters = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(2)]
    try:
        for _ in range(50):
            evidence = concerns.collect(["sockets", "connections", "locks"], counter_sample_interval=0)
            if evidence["locks"]["waiters_total"] >= 2:
                break
            time.sleep(0.1)
        assert evidence["connections"]["by_local_port"][str(port)] == {"CLOSE_WAIT": 5}
        (record,) = [item for item in evidence["locks"]["files"] if item["path"] == str(log)]
        assert record["waiters"] == 2 and sum(record["waiters_by_process"].values()) == 2
        assert record["holders"][0]["pid"] > 0
        ids = {f.id for f in run_checks("here", evidence)}
        assert {"AQ-ROT-001", "AQ-ROT-002"} <= ids
    finally:
        for process in waiters:
            process.kill()
        holder.close()
        for sock in held + [server]:
            sock.close()
